"""Sentences in JSONL (``"sentences": [{"start", "end", "label"}]``) and the CSV export of
one row per sentence."""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import InputError
from core.formats import ExportError, read_file, write_file
from core.types import DocumentRecord, EntitySpan, SentenceLabel, Split, TaskKind

from .conftest import assert_input_error

MakeFile = Callable[[str, "str | bytes"], Path]

NOTE = "Smokes daily. Plan: patch. Seen today."  # sentences [0, 13), [14, 26), [27, 38)


def jsonl(*objects: object) -> str:
    return "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects)


def test_reads_sentences_with_and_without_labels(make_file: MakeFile) -> None:
    path = make_file("s.jsonl", jsonl(
        {"id": "a", "text": NOTE, "sentences": [
            {"start": 0, "end": 13, "label": "smoking"},
            {"start": 14, "end": 26, "label": None},
            {"start": 27, "end": 38},
        ]},
        {"text": NOTE, "sentences": [{"start": 14, "end": 26, "labels": ["plan", "x", "plan"]},
                                     {"start": 0, "end": 13, "labels": []}]},
        {"text": NOTE, "sentences": [{"start": 0, "end": 13, "label": None}]},
        {"text": NOTE},
        {"text": NOTE, "sentences": []},
    ))
    first, second, unlabelled, bare, empty = read_file(path)
    assert first.sentences == (SentenceLabel(0, 13, ("smoking",)), SentenceLabel(14, 26),
                               SentenceLabel(27, 38))
    assert first.labelled_for == {TaskKind.SENTENCE} and first.external_id == "a"
    # put in order; repeated labels once
    assert second.sentences == (SentenceLabel(0, 13), SentenceLabel(14, 26, ("plan", "x")))
    # sentences without a class say how the text is split, not that it was labelled
    assert unlabelled.sentences == (SentenceLabel(0, 13),) and not unlabelled.labelled_for
    assert bare.sentences == () and empty.sentences == ()  # the project segments these


@pytest.mark.parametrize(
    ("sentences", "words"),
    [
        ([{"start": 0, "end": 99, "label": "a"}], ["item 1", "ends after the text", "38"]),
        ([{"start": -1, "end": 5}], ["item 1", "negative"]),
        ([{"start": 5, "end": 5}], ["item 1", "empty or reversed"]),
        ([{"start": 0, "end": 13}, {"start": 10, "end": 20}], ["items 1", "and 2", "overlap"]),
        ([{"start": 14, "end": 26}, {"start": 0, "end": 15}], ["items 2", "and 1", "overlap"]),
        ([{"start": 0, "end": 13}, {"start": 0, "end": 13}], ["overlap"]),
        ([{"start": 0.0, "end": 13}], ["item 1", "not a whole number"]),
        ([{"start": "0", "end": 13}], ["not a whole number"]),
        ([{"start": True, "end": 13}], ["not a whole number"]),
        ([{"start": 0, "end": 13, "label": ""}], ["item 1", "label", "non-empty"]),
        ([{"start": 0, "end": 13, "label": "  "}], ["non-empty"]),
        ([{"start": 0, "end": 13, "label": 3}], ["non-empty"]),
        ([{"start": 0, "end": 13, "labels": ["a", ""]}], ['"labels" item 2', "non-empty"]),
        ([{"start": 0, "end": 13, "labels": "a"}], ['"labels" should be a list']),
        ([{"start": 0, "end": 13, "label": "a", "labels": ["a"]}], ["not both"]),
        ([{"end": 13}], ["no start or end"]),
        ([[0, 13, "a"]], ["item 1", "expected an object"]),
        ({"start": 0, "end": 13}, ['"sentences" should be a list']),
    ],
)
def test_bad_sentences_name_file_line_and_problem(
    make_file: MakeFile, sentences: object, words: list[str]
) -> None:
    path = make_file("bad.jsonl", jsonl({"text": "fine"}, {"text": NOTE, "sentences": sentences}))
    with pytest.raises(InputError) as info:
        read_file(path)
    assert_input_error(info.value, path, 2, '"sentences"', *words)


def test_writes_every_sentence_null_or_empty_list_without_a_class(tmp_path: Path) -> None:
    record = DocumentRecord(NOTE, external_id="n1", split=Split.TRAIN, sentences=(
        SentenceLabel(0, 13, ("smoking",)), SentenceLabel(14, 26), SentenceLabel(27, 38)))
    out = tmp_path / "out.jsonl"
    write_file([record], out, "jsonl")
    assert json.loads(out.read_text(encoding="utf-8")) == {
        "id": "n1", "text": NOTE, "split": "train", "sentences": [
            {"start": 0, "end": 13, "label": "smoking"},
            {"start": 14, "end": 26, "label": None},
            {"start": 27, "end": 38, "label": None},
        ]}
    write_file([record], out, "jsonl", sentence_multi_label=True, include_text=False)
    obj = json.loads(out.read_text(encoding="utf-8"))
    assert "text" not in obj and [s["labels"] for s in obj["sentences"]] == [["smoking"], [], []]
    write_file([record], out, "jsonl", flavor="prodigy")
    obj = json.loads(out.read_text(encoding="utf-8"))
    assert obj["sentences"][0] == {"start": 0, "end": 13, "label": "smoking"}
    # no "spans": [] (which reads as "checked for entities"), nor doccano's empty "label"
    assert "spans" not in obj and read_file(out)[0].labelled_for == {TaskKind.SENTENCE}
    checked = DocumentRecord(NOTE, sentences=record.sentences,
                             labelled_for=frozenset({TaskKind.NER}))
    write_file([checked], out, "jsonl", flavor="prodigy")
    assert json.loads(out.read_text(encoding="utf-8"))["spans"] == []


def test_a_document_with_spans_classes_and_sentences_keeps_them_all(tmp_path: Path) -> None:
    record = DocumentRecord(NOTE, spans=(EntitySpan(0, 6, "Habit"),), classes=("smoker",),
                            sentences=(SentenceLabel(0, 13, ("a", "b")), SentenceLabel(14, 38)))
    out = tmp_path / "out.jsonl"
    for flavor in ("doccano", "prodigy"):
        write_file([record], out, "jsonl", flavor=flavor)  # single-label writer, 2 classes
        (back,) = read_file(out)
        assert (back.spans, back.classes, back.sentences) == (
            record.spans, record.classes, record.sentences)


@st.composite
def sentence_records(draw: st.DrawFn) -> DocumentRecord:
    """A text cut at random points into sentences (gaps between them allowed), some with
    one or several classes."""
    text = draw(st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=30))
    cuts = sorted(draw(st.sets(st.integers(0, len(text)), max_size=10)))
    labels = st.lists(st.sampled_from(["a", "b", "c-d", "é"]), unique=True, max_size=2)
    sentences = tuple(
        SentenceLabel(start, end, tuple(draw(labels)))
        for start, end in zip(cuts[::2], cuts[1::2], strict=False) if start < end
    )
    return DocumentRecord(text, sentences=sentences)


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(sentence_records(), min_size=1, max_size=4),
       multi=st.booleans(), flavor=st.sampled_from(["doccano", "prodigy"]))
def test_jsonl_sentence_round_trip(tmp_path: Path, records: list[DocumentRecord], multi: bool,
                                   flavor: str) -> None:
    path = tmp_path / f"{uuid.uuid4().hex}.jsonl"
    write_file(records, path, "jsonl", flavor=flavor, sentence_multi_label=multi)
    back = read_file(path)
    assert [(r.text, r.sentences) for r in back] == [(r.text, r.sentences) for r in records]


# --- CSV: one row per sentence -------------------------------------------------------------


def _rows(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(raw.decode("utf-8-sig").splitlines(keepends=True)))


def test_csv_one_row_per_sentence(tmp_path: Path) -> None:
    records = [
        DocumentRecord(NOTE, external_id="n1", doc_id=4, split=Split.DEV, sentences=(
            SentenceLabel(0, 13, ("smoking",)), SentenceLabel(14, 26), SentenceLabel(27, 38))),
        DocumentRecord("=cmd. ok", doc_id=5, sentences=(SentenceLabel(0, 5, ("-x",)),)),
        DocumentRecord("no sentences", doc_id=6),
    ]
    out = tmp_path / "out.csv"
    assert write_file(records, out, "csv", unit="sentence") == 3
    assert _rows(out) == [
        ["document_id", "external_id", "start", "end", "text", "label", "split"],
        ["4", "n1", "0", "13", "Smokes daily.", "smoking", "dev"],
        ["4", "n1", "14", "26", "Plan: patch.", "", "dev"],
        ["4", "n1", "27", "38", "Seen today.", "", "dev"],
        ["5", "", "0", "5", "'=cmd.", "'-x", ""],  # formulas escaped, as in the document csv
    ]
    write_file(records[:1], out, "csv", unit="sentence", include_text=False,
               sentence_multi_label=True)
    assert _rows(out)[:2] == [["document_id", "external_id", "start", "end", "labels", "split"],
                              ["4", "n1", "0", "13", "smoking", "dev"]]
    multi = DocumentRecord(NOTE, sentences=(SentenceLabel(0, 13, ("a", "b")),))
    tsv = tmp_path / "out.tsv"
    write_file([multi], tsv, "csv", unit="sentence", sentence_multi_label=True)
    assert tsv.read_bytes().decode("utf-8-sig").splitlines()[1] == "\t\t0\t13\tSmokes daily.\ta|b\t"


def test_csv_sentence_export_refuses_what_it_cannot_write(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    bad = DocumentRecord(NOTE, sentences=(SentenceLabel(0, 13, ("a|b",)),))
    with pytest.raises(ExportError, match="label"):
        write_file([bad], out, "csv", unit="sentence")
    with pytest.raises(ExportError, match="conll"):
        write_file([bad], out, "conll", unit="sentence")
    with pytest.raises(ExportError, match="unit"):
        write_file([bad], out, "csv", unit="paragraph")
    assert not out.exists()
