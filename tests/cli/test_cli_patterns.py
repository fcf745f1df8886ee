"""``annotator patterns``: pattern files, term lists and the project's own labels as
suggestions; ``export --suggestions`` and its round trip; the report per source."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotator.cli.main import run
from core.project import Project
from core.types import DocumentRecord, EntitySpan, Split

TEXTS = [
    "Breast cancer and asthma run in the family.",
    "Her asthma got worse.",
    "No cancer here, only asthma.",
]


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "p.db"
    with Project.create(path, tasks={"ner": ["Disease"]}) as p:
        p.documents.add([
            DocumentRecord(TEXTS[0]),
            DocumentRecord(TEXTS[1], spans=(EntitySpan(4, 10, "Disease"),)),
            DocumentRecord(TEXTS[2]),
        ])
        p.documents.add([DocumentRecord("Asthma, a test document.")], split=Split.TEST)
    return path


def _pending(path: Path) -> list[tuple[str, str]]:
    with Project.open(path) as p:
        return [(s.text or "", s.source) for items in p.review.pending("ner").values()
                for s in items]


def test_a_pattern_file_twice_then_a_term_list(db: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    patterns = tmp_path / "diseases.jsonl"
    patterns.write_text(
        '{"label": "Disease", "pattern": "asthma"}\n'
        '{"label": "Disease", "pattern": [{"LOWER": "breast"}, {"REGEX": "^canc"}]}\n',
        encoding="utf-8")
    code, out, err = cli(capsys, "patterns", str(db), str(patterns), "--json")
    assert code == 0, err
    first = json.loads(out)
    assert (first["source"], first["suggestions"], first["documents"]) == (
        "patterns:diseases.jsonl", 3, 3)
    code, out, _ = cli(capsys, "patterns", str(db), str(patterns), "--json")
    assert json.loads(out)["suggestions"] == 0 and json.loads(out)["kept"] == 3
    terms = tmp_path / "terms.txt"
    terms.write_text("cancer\nasthma\n", encoding="utf-8")
    code, out, err = cli(capsys, "patterns", str(db), str(terms), "--label", "Disease")
    assert code == 0, err
    # "cancer" of document 1 is inside the pending "Breast cancer": one proposal per stretch.
    assert "1 new suggestions" in out and "3 over another source's pending ones" in out
    assert sorted(_pending(db)) == sorted([
        ("Breast cancer", "patterns:diseases.jsonl"), ("asthma", "patterns:diseases.jsonl"),
        ("asthma", "patterns:diseases.jsonl"), ("cancer", "patterns:terms.txt"),
    ])
    code, out, _ = cli(capsys, "stats", str(db), "--json")
    by_source = json.loads(out)["suggestions"]["ner"]["by_source"]
    assert by_source["patterns:diseases.jsonl"]["pending"] == 3
    assert by_source["patterns:terms.txt"]["pending"] == 1


def test_bad_pattern_files_write_nothing(db: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"label": "Disease", "pattern": "asthma"}\n{"label": "Disease"}\n',
                   encoding="utf-8")
    code, out, err = cli(capsys, "patterns", str(db), str(bad), "--json")
    assert code == 2 and f"{bad}:2" in err and 'no "pattern" field' in err
    assert json.loads(out)["error"]
    unknown = tmp_path / "drugs.txt"
    unknown.write_text("aspirin\n", encoding="utf-8")
    code, _, err = cli(capsys, "patterns", str(db), str(unknown), "--label", "Drug")
    assert code == 2 and "no label 'Drug'" in err
    code, _, err = cli(capsys, "patterns", str(db), str(unknown))
    assert code == 2 and "--label" in err
    code, _, err = cli(capsys, "patterns", str(db))
    assert code == 2 and "--from-labels" in err
    assert _pending(db) == []


def test_from_labels_saves_and_uses_the_projects_own_terms(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "mine.jsonl"
    code, out, err = cli(capsys, "patterns", str(db), "--from-labels", "--save", str(saved),
                         "--json")
    assert code == 0, err
    payload = json.loads(out)
    assert payload["source"] == "patterns:mine.jsonl" and payload["suggestions"] == 2
    assert payload["terms_saved_to"] == str(saved)
    assert [json.loads(x) for x in saved.read_text().splitlines()] == [
        {"label": "Disease", "pattern": "asthma"}]
    # The saved file applied again is the same source: nothing new.
    code, out, _ = cli(capsys, "patterns", str(db), str(saved), "--json")
    assert json.loads(out)["suggestions"] == 0


def test_export_writes_pending_suggestions_and_import_never_takes_them(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    terms = tmp_path / "terms.txt"
    terms.write_text("asthma\nbreast cancer\n", encoding="utf-8")
    assert cli(capsys, "patterns", str(db), str(terms), "--label", "Disease")[0] == 0
    for flavor in ("doccano", "prodigy"):
        out = tmp_path / f"{flavor}.jsonl"
        code, stdout, err = cli(capsys, "export", str(db), str(out), "--format", "jsonl",
                                "--flavor", flavor, "--suggestions", "--json")
        assert code == 0, err
        assert json.loads(stdout)["suggestions"] == 3
        rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
        first = next(r for r in rows if r["text"] == TEXTS[0])
        assert first["suggestions"] == [
            {"suggested": True, "kind": "entity", "source": "patterns:terms.txt",
             "confidence": 0.5, "start": 0, "end": 13, "label": "Disease"},
            {"suggested": True, "kind": "entity", "source": "patterns:terms.txt",
             "confidence": 0.5, "start": 18, "end": 24, "label": "Disease"},
        ]
        assert "suggestions" not in next(r for r in rows if r["text"] == TEXTS[1])
        again = tmp_path / f"again-{flavor}.db"
        assert cli(capsys, "init", str(again), "--task", "ner", "--labels", "Disease")[0] == 0
        code, stdout, err = cli(capsys, "import", str(again), str(out), "--json")
        assert code == 0, err
        assert json.loads(stdout)["annotations_added"] == 1  # the human "asthma" only
        with Project.open(again) as p:
            assert p.review.pending() == {}
    code, _, err = cli(capsys, "export", str(db), str(tmp_path / "x.csv"), "--format", "csv",
                       "--suggestions")
    assert code == 2 and "jsonl" in err
    # Without --suggestions nothing of them is written.
    plain = tmp_path / "plain.jsonl"
    assert cli(capsys, "export", str(db), str(plain), "--format", "jsonl")[0] == 0
    assert "suggest" not in plain.read_text(encoding="utf-8")
