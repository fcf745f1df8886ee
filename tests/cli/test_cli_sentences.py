"""Classes of sentences from the command line: init --unit sentence, JSONL import and export
of the sentences, the CSV export of one row per sentence, stats, and which task --task
classify means."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from annotator.cli.main import run

NOTE = "Smokes daily. Plan: patch. Seen today."  # sentences [0, 13), [14, 26), [27, 38)
OTHER = "Quit in May. No plan yet."  # [0, 12), [13, 25)


def cli(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def ok(*args: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code, out, err = cli(*args, "--json", capsys=capsys)
    assert code == 0, err
    result: dict[str, Any] = json.loads(out)
    return result


def write_jsonl(path: Path, *objects: object) -> Path:
    path.write_text("".join(json.dumps(o) + "\n" for o in objects), encoding="utf-8")
    return path


def sentences_of(
    db: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> list[tuple[str, list[tuple[int, int, list[str]]]]]:
    """(text, [(start, end, labels)]) of every document, read back through a jsonl export."""
    out = tmp_path / "_read.jsonl"
    ok("export", str(db), str(out), "--format", "jsonl", capsys=capsys)
    rows = []
    for line in out.read_text(encoding="utf-8").splitlines():
        obj = json.loads(line)
        rows.append((obj["text"], [
            (s["start"], s["end"], s.get("labels", [s["label"]] if s.get("label") else []))
            for s in obj["sentences"]
        ]))
    return rows


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    return write_jsonl(
        tmp_path / "notes.jsonl",
        {"id": "n1", "text": NOTE, "sentences": [
            {"start": 0, "end": 13, "label": "smoking"},
            {"start": 14, "end": 26, "label": "plan"},
            {"start": 27, "end": 38, "label": None}]},
        {"id": "n2", "text": OTHER},  # no sentences: the tool splits it
    )


def test_init_import_stats_export_and_import_again(
    tmp_path: Path, notes: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.db"
    init = ok("init", str(db), "--task", "classify", "--unit", "sentence", "--labels",
              "smoking,plan", capsys=capsys)
    assert (init["task"], init["unit"], init["labels"]) == ("sentence", "sentence",
                                                            ["smoking", "plan"])
    imported = ok("import", str(db), str(notes), capsys=capsys)
    assert imported["documents_added"] == 2 and imported["annotations_added"] == 2
    stats = ok("stats", str(db), capsys=capsys)
    assert (stats["sentences"], stats["sentences_classified"], stats["sentence_classes"]) == (
        5, 2, 2)
    assert stats["sentence_labels"] == {"smoking": 1, "plan": 1}
    assert stats["annotations"] == 2 and stats["labelled_documents"]["sentence"] == 1
    code, out, _ = cli("stats", str(db), capsys=capsys)
    assert code == 0
    assert "sentence labels: plan 1, smoking 1" in out
    assert "sentences: 5 (2 with a class, 2 sentence classes)" in out

    expected = [
        (NOTE, [(0, 13, ["smoking"]), (14, 26, ["plan"]), (27, 38, [])]),
        (OTHER, [(0, 12, []), (13, 25, [])]),
    ]
    assert sentences_of(db, capsys, tmp_path) == expected
    exported = tmp_path / "out.jsonl"
    assert ok("export", str(db), str(exported), "--format", "jsonl", capsys=capsys) == {
        "out": str(exported), "format": "jsonl", "documents": 2, "sentences": 5}
    first = json.loads(exported.read_text(encoding="utf-8").splitlines()[0])
    assert "label" not in first  # no document-level labels: only the sentences carry them
    assert first["sentences"][2] == {"start": 27, "end": 38, "label": None}

    # The export imported into a new project (no task yet) gives the same sentences.
    again = tmp_path / "again.db"
    ok("init", str(again), "--task", "sentence", capsys=capsys)
    ok("import", str(again), str(exported), capsys=capsys)
    assert sentences_of(again, capsys, tmp_path) == expected
    assert ok("stats", str(again), capsys=capsys)["sentence_labels"] == {"smoking": 1, "plan": 1}


def test_csv_export_one_row_per_sentence(
    tmp_path: Path, notes: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.db"
    ok("init", str(db), "--task", "classify", "--unit", "sentence", capsys=capsys)
    ok("import", str(db), str(notes), "--split", "train", capsys=capsys)
    out = tmp_path / "out.csv"
    payload = ok("export", str(db), str(out), "--format", "csv", capsys=capsys)
    assert payload == {"out": str(out), "format": "csv", "documents": 2, "sentences": 5,
                       "unit": "sentence"}
    rows = list(csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines()))
    texts = {"n1": NOTE, "n2": OTHER}
    # The rows are the project's sentences: same offsets, text and labels.
    assert [(r["external_id"], int(r["start"]), int(r["end"]), r["label"]) for r in rows] == [
        ("n1", 0, 13, "smoking"), ("n1", 14, 26, "plan"), ("n1", 27, 38, ""),
        ("n2", 0, 12, ""), ("n2", 13, 25, ""),
    ]
    assert all(r["text"] == texts[r["external_id"]][int(r["start"]):int(r["end"])]
               for r in rows)
    assert {r["split"] for r in rows} == {"train"} and len({r["document_id"] for r in rows}) == 2
    code, human, _ = cli("export", str(db), str(out), "--format", "csv", "--no-text",
                         capsys=capsys)
    assert code == 0 and human.strip() == f"wrote 5 sentences of 2 documents to {out}"
    assert out.read_text(encoding="utf-8-sig").splitlines()[0] == (
        "document_id,external_id,start,end,label,split")
    # --unit document: the usual one row per document
    ok("export", str(db), str(out), "--format", "csv", "--unit", "document", capsys=capsys)
    assert out.read_text(encoding="utf-8-sig").splitlines()[0] == "id,text,labels,split"


def test_multi_label_sentences(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "m.db"
    init = ok("init", str(db), "--task", "classify", "--unit", "sentence", "--multi-label",
              "--labels", "a,b", capsys=capsys)
    assert init["multi_label"] is True
    src = write_jsonl(tmp_path / "m.jsonl", {"text": NOTE, "sentences": [
        {"start": 0, "end": 13, "labels": ["a", "b"]}, {"start": 14, "end": 38, "labels": []}]})
    ok("import", str(db), str(src), capsys=capsys)
    out = tmp_path / "out.jsonl"
    ok("export", str(db), str(out), "--format", "jsonl", capsys=capsys)
    assert json.loads(out.read_text(encoding="utf-8"))["sentences"] == [
        {"start": 0, "end": 13, "labels": ["a", "b"]}, {"start": 14, "end": 38, "labels": []}]
    table = tmp_path / "out.csv"
    ok("export", str(db), str(table), "--format", "csv", capsys=capsys)
    rows = list(csv.DictReader(table.read_text(encoding="utf-8-sig").splitlines()))
    assert [r["labels"] for r in rows] == ["a|b", ""]


@pytest.mark.parametrize(
    ("sentence", "words"),
    [
        ({"start": 0, "end": 99, "label": "smoking"}, ["ends after the text"]),
        ({"start": 10, "end": 20, "label": "plan"}, ["overlap"]),
        ({"start": 14.5, "end": 26}, ["not a whole number"]),
        ({"start": 14, "end": 26, "label": ""}, ["non-empty"]),
    ],
)
def test_bad_sentences_exit_2_and_write_nothing(
    tmp_path: Path, notes: Path, capsys: pytest.CaptureFixture[str],
    sentence: dict[str, object], words: list[str],
) -> None:
    db = tmp_path / "s.db"
    ok("init", str(db), "--task", "classify", "--unit", "sentence", capsys=capsys)
    bad = write_jsonl(
        tmp_path / "bad.jsonl",
        {"text": "A first good one. Yes."},
        {"text": NOTE, "sentences": [{"start": 0, "end": 13, "label": "smoking"}, sentence]},
    )
    code, _, err = cli("import", str(db), str(bad), capsys=capsys)
    assert code == 2 and "bad.jsonl:2:" in err and '"sentences" item' in err
    assert all(w in err for w in words), err
    stats = ok("stats", str(db), capsys=capsys)
    assert stats["documents"] == 0 and stats["sentences"] == 0 and stats["sentence_classes"] == 0


def test_task_classify_means_the_sentence_task_unless_there_are_both(
    tmp_path: Path, notes: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.db"
    ok("init", str(db), "--task", "classify", "--unit", "sentence", "--labels", "x",
       capsys=capsys)
    assert ok("queue", str(db), "--task", "classify", capsys=capsys)["task"] == "sentence"
    assert ok("queue", str(db), "--task", "sentence", capsys=capsys)["task"] == "sentence"
    # a document classify task too: classify is that one, --unit sentence the other
    ok("init", str(db), "--task", "classify", "--labels", "pos,neg", capsys=capsys)
    ok("import", str(db), str(notes), capsys=capsys)
    assert ok("queue", str(db), "--task", "classify", capsys=capsys)["task"] == "classify"
    assert ok("queue", str(db), "--task", "classify", "--unit", "sentence",
              capsys=capsys)["task"] == "sentence"
    out = tmp_path / "out.csv"
    assert ok("export", str(db), str(out), "--format", "csv", capsys=capsys)["unit"] == "document"
    assert ok("export", str(db), str(out), "--format", "csv", "--unit", "sentence",
              capsys=capsys)["unit"] == "sentence"
    assert set(ok("stats", str(db), capsys=capsys)["tasks"]) == {"sentence", "classify"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["init", "{db}", "--task", "ner", "--unit", "sentence"], "--unit sentence applies to"),
        (["init", "{db}", "--task", "sentence", "--unit", "document"], "drop --unit document"),
        (["queue", "{db}", "--task", "qa", "--unit", "sentence"], "applies to --task classify"),
        (["export", "{db}", "{tmp}/o.conll", "--format", "conll", "--unit", "sentence"],
         "applies to the csv and jsonl formats"),
        (["export", "{plain}", "{tmp}/o.csv", "--format", "csv", "--unit", "sentence"],
         "no sentence task"),
    ],
)
def test_unit_misuse_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    db, plain = tmp_path / "s.db", tmp_path / "plain.db"
    ok("init", str(db), "--task", "sentence", capsys=capsys)
    ok("init", str(plain), "--task", "ner", capsys=capsys)
    argv = [a.format(db=db, plain=plain, tmp=tmp_path) for a in args]
    code, _, err = cli(*argv, capsys=capsys)
    assert code == 2 and message in err, err
    assert not list(tmp_path.glob("o.*"))


def test_help_says_what_classify_means(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        run(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--unit sentence (or --task sentence) picks the sentence one" in text
