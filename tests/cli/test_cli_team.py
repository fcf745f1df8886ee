"""``annotator assign``, ``annotator agreement`` and ``annotator adjudicate`` from the command
line, on a project whose layers two annotators labelled."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotator.cli.main import run
from core.project import Project
from core.types import DocumentRecord

TEXT = "Fever and cough since Monday; no rash. Started on aspirin."


def cli(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _label(db: Path, doc_id: int, name: str, phrases: dict[str, str], done: bool = True) -> None:
    with Project.open(db, annotator=name) as p:
        layer = p.team.layer_for(doc_id, name)
        assert layer is not None
        for phrase, label in phrases.items():
            start = TEXT.index(phrase)
            p.annotations.add_entity(layer, start, start + len(phrase), label)
        if done:
            p.annotations.set_review_status(layer, "reviewed")


@pytest.fixture
def db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "team.db"
    assert cli("init", str(path), "--task", "ner", "--labels", "Condition,Drug",
               capsys=capsys)[0] == 0
    with Project.open(path) as p:
        p.documents.add([DocumentRecord(TEXT if i == 0 else f"{TEXT} Day {i}.",
                                        external_id=f"d{i}") for i in range(4)])
    return path


def test_assign_agree_adjudicate(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli("assign", str(db), "--annotators", "ana,ben", "--double", "0.5",
                       "--seed", "3", "--json", capsys=capsys)
    assert code == 0
    assigned = json.loads(out)
    assert (assigned["documents"], assigned["double"], assigned["layers_made"]) == (4, 2, 4)
    code, out, _ = cli("adjudicate", str(db), "--json", capsys=capsys)
    docs = json.loads(out)["documents"]
    assert len(docs) == 2 and not any(d["ready"] for d in docs)
    first, second = docs[0]["id"], docs[1]["id"]
    _label(db, first, "ana", {"Fever": "Condition", "cough": "Condition", "aspirin": "Drug"})
    _label(db, first, "ben", {"Fever": "Condition", "aspirin": "Condition"})
    _label(db, second, "ana", {"rash": "Condition"})  # ben's layer stays open

    code, out, _ = cli("agreement", str(db), "--json", capsys=capsys)
    report = json.loads(out)
    assert report["documents"] == 1 and report["annotators"] == ["ana", "ben"]
    pair = report["entities"]["pairs"][0]
    assert (pair["a"], pair["b"], pair["documents"]) == ("ana", "ben", 1)
    assert pair["f1"] == pytest.approx(2 * 1 / (3 + 2), abs=1e-4)  # Fever shared
    assert pair["per_label"]["Drug"]["f1"] == 0.0
    code, out, _ = cli("agreement", str(db), capsys=capsys)
    assert "entities ana / ben: 1 documents, exact F1 0.400" in out

    # The ready document's items; the unfinished one is refused without --force.
    code, out, _ = cli("adjudicate", str(db), "--doc", str(first), "--json", capsys=capsys)
    items = json.loads(out)["items"]
    disputed = [i for i in items if not i["agreed"]]
    assert [i["kind"] for i in items if i["agreed"]] == ["entities"]
    assert len(disputed) == 2
    code, _, err = cli("adjudicate", str(db), "--doc", str(second), "--take", "ana",
                       capsys=capsys)
    assert code == 2 and "ben has not marked their layer done" in err
    aspirin = next(i["key"] for i in disputed if "Drug" in json.dumps(i))
    code, out, _ = cli("adjudicate", str(db), "--doc", str(first), "--take", "ben",
                       "--choose", f"{aspirin}=ana", "--annotator", "carla", "--json",
                       capsys=capsys)
    assert code == 0 and json.loads(out)["written"] == [first]
    with Project.open(db) as p:
        gold = p.documents.get(first)
        assert sorted((TEXT[e.start:e.end], e.label) for e in gold.entities) == [
            ("Fever", "Condition"), ("aspirin", "Drug")]  # cough: ben's version (none)
        assert gold.review_status == "reviewed"
        with p.read() as s:
            from sqlalchemy import text

            who = s.execute(text("SELECT DISTINCT annotator, origin FROM entity_annotations "
                                 f"WHERE document_id = {first}")).all()
        assert who == [("carla", "adjudicated")]


def test_queue_per_annotator(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cli("assign", str(db), "--annotators", "ana,ben", "--double", "0.5", "--seed", "3",
        capsys=capsys)
    seen: dict[str, set[int]] = {}
    for name in ("ana", "ben"):
        code, out, _ = cli("queue", str(db), "--task", "ner", "--strategy", "random",
                           "--annotator", name, "--limit", "0", "--json", capsys=capsys)
        assert code == 0
        seen[name] = {e["id"] for e in json.loads(out)["documents"]}
    assert len(seen["ana"]) == 3 and len(seen["ben"]) == 3  # 2 layers + 1 single each
    assert not seen["ana"] & seen["ben"]


def test_bad_team_input_is_refused(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli("assign", str(db), "--double", "0.2", capsys=capsys)
    assert code == 2 and "no annotators yet" in err
    code, _, err = cli("assign", str(db), "--annotators", "ana,gold", capsys=capsys)
    assert code == 2 and "names the adjudicated labels" in err
    code, _, err = cli("adjudicate", str(db), "--doc", "1", capsys=capsys)
    assert code == 2 and "not double-annotated" in err
    code, _, err = cli("adjudicate", str(db), "--take", "ana", capsys=capsys)
    assert code == 2 and "need --doc" in err


def test_import_records_the_annotator(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "a.db"
    data = tmp_path / "a.jsonl"
    data.write_text(json.dumps({"text": TEXT, "spans": [
        {"start": 0, "end": 5, "label": "Condition"}]}) + "\n", encoding="utf-8")
    assert cli("init", str(db), "--task", "ner", "--labels", "Condition", capsys=capsys)[0] == 0
    assert cli("import", str(db), str(data), "--annotator", "dana", capsys=capsys)[0] == 0
    with Project.open(db) as p, p.read() as s:
        from sqlalchemy import text

        assert s.execute(text("SELECT annotator, origin FROM entity_annotations")).all() == [
            ("dana", "imported")]
