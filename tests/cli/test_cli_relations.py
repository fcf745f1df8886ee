"""Relations from the command line: ``annotator init --relation`` declares the types, JSONL
relations are imported and exported, ``train`` reports the relation head beside the
tagger, ``train --task relation`` trains it alone and ``evaluate`` scores it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from annotator.cli.main import run

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tiny_models import build_tiny_bert  # noqa: E402

TEXT = "Take 10 mg of aspirin daily."


def cli(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_init_declares_repeated_relation_types(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "notes.db"
    code, out, _ = cli(
        "init", str(db), "--task", "ner", "--labels", "Dosage,Medication,Route",
        "--relation", "dosage_of=Dosage>Medication", "--relation", "route_of=Route>*",
        "--json", capsys=capsys)
    assert code == 0
    assert json.loads(out)["relations"] == [
        {"name": "dosage_of", "heads": ["Dosage"], "tails": ["Medication"]},
        {"name": "route_of", "heads": ["Route"], "tails": None},
    ]
    code, out, _ = cli("init", str(db), "--task", "ner", capsys=capsys)
    assert code == 0 and "relation dosage_of=Dosage>Medication" in out
    # the same again changes nothing; another declaration of a name is refused
    code, _, err = cli("init", str(db), "--task", "ner", "--relation",
                       "dosage_of=Medication>Dosage", capsys=capsys)
    assert code == 2 and "declared already as dosage_of=Dosage>Medication" in err


@pytest.mark.parametrize("args, words", [
    (["--task", "ner", "--labels", "A,B", "--relation", "r=A"], ["--relation", "write it as"]),
    (["--task", "ner", "--labels", "A,B", "--relation", "r=A>C"], ["'C'", "does not have"]),
    (["--task", "ner", "--labels", "A,B", "--relation", "r=A>B", "--relation", "r=B>A"],
     ["'r'", "twice"]),
    (["--task", "classify", "--labels", "A,B", "--relation", "r=A>B"], ["--task ner"]),
])
def test_bad_relation_types_are_refused_and_nothing_is_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], words: list[str],
) -> None:
    db = tmp_path / "notes.db"
    code, _, err = cli("init", str(db), *args, capsys=capsys)
    assert code == 2
    for word in words:
        assert word in err, err
    assert not db.exists()


def test_import_train_evaluate_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "notes.db"
    cli("init", str(db), "--task", "ner", "--labels", "Dosage,Medication",
        "--relation", "dosage_of=Dosage>Medication", capsys=capsys)
    lines = []
    for i in range(24):
        related = i % 2 == 0
        text = f"Day {i}: take {i % 9 + 1} mg {'of' if related else 'no'} aspirin."
        dose = text.index("mg") - 2
        drug = text.index("aspirin")
        lines.append({"text": text, "spans": [
            {"start": dose, "end": dose + 4, "label": "Dosage"},
            {"start": drug, "end": drug + 7, "label": "Medication"}],
            "relations": [{"head": 0, "tail": 1, "label": "dosage_of"}] if related else []})
    data = tmp_path / "notes.jsonl"
    data.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({**lines[0], "relations": [
        {"head": 1, "tail": 0, "label": "dosage_of"}]}) + "\n", encoding="utf-8")
    code, _, err = cli("import", str(db), str(bad), capsys=capsys)
    assert code == 2 and "bad.jsonl:1:" in err and "does not link a Medication" in err
    assert cli("import", str(db), str(data), capsys=capsys)[0] == 0
    base = build_tiny_bert(tmp_path / "bert", words=["mg", "aspirin", "day", "take"])
    args = ["--base-model", str(base), "--preset", "seed-002", "--epochs", "2", "--lr", "3e-3",
            "--batch-size", "8", "--device", "cpu", "--no-predict",
            "--json"]
    code, out, err = cli("train", str(db), "--task", "ner", *args, capsys=capsys)
    assert code == 0, err
    payload = json.loads(out)
    assert payload["status"] == "completed" and "attributes" not in payload
    head = payload["relations"]
    assert head["status"] == "completed" and head["model_version"] == 1
    assert set(head["dev"]) >= {"precision", "recall", "f1", "per_label"}
    # As text: the head's epochs under a line of their own, after the tagger's.
    code, out, err = cli("train", str(db), "--task", "ner", *args[:-1], capsys=capsys)
    assert code == 0, err
    lines_out = out.splitlines()
    at = lines_out.index("relations model:")
    epoch_lines = [i for i, line in enumerate(lines_out) if line.split()[:1] in (["1"], ["2"])]
    assert [i < at for i in epoch_lines] == [True, True, False, False]
    code, out, _ = cli("train", str(db), "--task", "relation", *args, capsys=capsys)
    assert code == 0 and json.loads(out)["model_version"] == 3  # after the text-mode run's 2
    code, out, _ = cli("evaluate", str(db), "--task", "ner", "--data", str(data), "--json",
                       capsys=capsys)
    assert code == 0
    scored = json.loads(out)
    assert scored["relations"]["support"] == 12
    assert scored["relation_model"]["model_version"] == 3
    out_file = tmp_path / "out.jsonl"
    assert cli("export", str(db), str(out_file), "--format", "jsonl", capsys=capsys)[0] == 0
    written = [json.loads(x) for x in out_file.read_text(encoding="utf-8").splitlines()]
    assert [x["relations"] for x in written] == [x["relations"] for x in lines]


def test_agreement_prints_the_relations(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    from core.project import Project
    from core.types import DocumentRecord

    db = tmp_path / "team.db"
    cli("init", str(db), "--task", "ner", "--labels", "Dosage,Medication",
        "--relation", "dosage_of=Dosage>Medication", capsys=capsys)
    with Project.open(db) as p:
        p.documents.add([DocumentRecord(TEXT)])
        p.team.assign(annotators=["ana", "ben"], double_share=1.0)
        doc = p.documents.filter()[0]
        for name in ("ana", "ben"):
            p.annotator = name
            layer = p.team.layer_for(doc, name)
            p.annotations.add_entity(layer, 5, 10, "Dosage")
            p.annotations.add_entity(layer, 14, 21, "Medication")
            if name == "ana":
                p.annotations.add_relation(layer, (5, 10), (14, 21), "dosage_of")
            p.annotations.set_review_status(layer, "reviewed")
    code, out, _ = cli("agreement", str(db), "--task", "ner", capsys=capsys)
    assert code == 0
    assert "relations ana / ben: F1 0.000 (0 shared of 1 / 0)" in out
    assert "dosage_of: F1 0.000" in out
