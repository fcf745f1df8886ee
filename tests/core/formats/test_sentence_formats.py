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
        ["document_id", "external_id", "start", "end", "text", "label", "split", "before",
         "after"],
        ["4", "n1", "0", "13", "Smokes daily.", "smoking", "dev", "", " "],
        ["4", "n1", "14", "26", "Plan: patch.", "", "dev", "", " "],
        ["4", "n1", "27", "38", "Seen today.", "", "dev", "", ""],
        # formulas escaped, as in the document csv; the text after the sentence kept
        ["5", "", "0", "5", "'=cmd.", "'-x", "", "", " ok"],
    ]
    write_file(records[:1], out, "csv", unit="sentence", include_text=False,
               sentence_multi_label=True)
    assert _rows(out)[:2] == [["document_id", "external_id", "start", "end", "labels", "split"],
                              ["4", "n1", "0", "13", "smoking", "dev"]]
    multi = DocumentRecord("\n" + NOTE, sentences=(SentenceLabel(1, 14, ("a", "b")),))
    tsv = tmp_path / "out.tsv"
    write_file([multi], tsv, "csv", unit="sentence", sentence_multi_label=True)
    assert list(csv.reader(tsv.read_bytes().decode("utf-8-sig").splitlines(keepends=True),
                           delimiter="\t"))[1] == [
        "", "", "1", "14", "Smokes daily.", "a|b", "", "\n", " Plan: patch. Seen today."]


def _same(back: list[DocumentRecord], records: list[DocumentRecord]) -> None:
    def key(r: DocumentRecord) -> tuple[object, ...]:
        return r.text, r.external_id, r.split, r.sentences

    assert [key(r) for r in back] == [key(r) for r in records]


# Texts with what a CSV cell must carry: line ends of each kind, quotes, separators,
# spreadsheet formulas and leading apostrophes, spaces at the edges.
csv_text = st.lists(st.one_of(
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
    st.sampled_from(["\r\n", "\r", "\n", '"', ",", ";", "\t", "=", "'", " ", "|"]),
), min_size=1, max_size=30).map("".join)


@st.composite
def table_records(draw: st.DrawFn) -> list[DocumentRecord]:
    out = []
    for doc_id in range(1, draw(st.integers(1, 4)) + 1):
        text = draw(csv_text)
        cuts = sorted(draw(st.sets(st.integers(0, len(text)), min_size=2, max_size=10)))
        labels = st.lists(st.sampled_from(["a", "b", "c-d", "é"]), unique=True, max_size=2)
        sentences = tuple(SentenceLabel(start, end, tuple(draw(labels)))
                          for start, end in zip(cuts[::2], cuts[1::2], strict=False))
        out.append(DocumentRecord(
            text, external_id=draw(st.sampled_from([None, f"n{doc_id}", "=x"])),
            doc_id=doc_id, sentences=sentences,
            split=draw(st.sampled_from([None, Split.TRAIN, Split.TEST]))))
    return out


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=table_records(), multi=st.booleans(), suffix=st.sampled_from([".csv", ".tsv"]))
def test_csv_sentence_round_trip(tmp_path: Path, records: list[DocumentRecord], multi: bool,
                                 suffix: str) -> None:
    path = tmp_path / f"{uuid.uuid4().hex}{suffix}"
    write_file(records, path, "csv", unit="sentence", sentence_multi_label=multi)
    back = read_file(path)
    _same(back, records)
    assert all(r.labelled_for == ({TaskKind.SENTENCE} if any(s.labels for s in r.sentences)
                                  else set()) for r in back)


def test_csv_sentence_round_trip_through_projects(tmp_path: Path) -> None:
    """A project's sentence task exported to CSV and imported into a new project gives the
    same documents, sentences (a split one too) and classes."""
    from core.project import DocFilter, Project

    notes = [DocumentRecord(NOTE, external_id="n1", split=Split.TRAIN),
             DocumentRecord("HISTORY:\n  Dr. Lee saw her.\r\n\nPlan: 2.5 mg b.i.d.\n",
                            external_id="n2")]
    source = Project.create(tmp_path / "a.db", tasks={"sentence": ["smoking", "plan"]})
    source.documents.add(notes)
    first, second = source.documents.filter(DocFilter())
    s = source.documents.get(first).sentences
    source.annotations.set_sentence_classes(first, s[0].start, s[0].end, ["smoking"])
    source.annotations.split_sentence(first, s[1].start + 6)  # "Plan:" | "patch."
    last = source.documents.get(second).sentences[-1]
    source.annotations.set_sentence_classes(second, last.start, last.end, ["plan"])
    records = source.documents.records()
    source.close()
    out = tmp_path / "out.csv"
    write_file(records, out, "csv", unit="sentence")
    target = Project.create(tmp_path / "b.db", tasks={"sentence": ["smoking", "plan"]})
    target.documents.add(read_file(out))
    back = target.documents.records()
    target.close()
    _same(back, records)
    assert len(back[0].sentences) == 4 and back[0].sentences[0].labels == ("smoking",)


def test_csv_sentence_rows_in_any_order_read_the_same(make_file: MakeFile) -> None:
    header = "document_id,external_id,start,end,text,label,split,before,after\r\n"
    rows = ['4,n1,14,26,Plan: patch.,,dev,," "\r\n', '5,,0,4,Fine,x,,,\r\n',
            '4,n1,0,13,Smokes daily.,smoking,dev,," "\r\n', '4,n1,27,38,Seen today.,,dev,,\r\n']
    first, other = read_file(make_file("sorted.csv", header + "".join(rows)))
    assert (first.text, first.external_id, first.split, first.line) == (NOTE, "n1", Split.DEV, 2)
    assert first.sentences == (SentenceLabel(0, 13, ("smoking",)), SentenceLabel(14, 26),
                               SentenceLabel(27, 38))
    assert (other.text, other.external_id, other.sentences) == (
        "Fine", None, (SentenceLabel(0, 4, ("x",)),))
    # without the before and after columns, the gaps are spaces
    (bare,) = read_file(make_file("bare.csv", "document_id,start,end,sentence,label\n"
                                              "1,2,7,Hello,a\n1,9,14,world,\n"))
    assert bare.text == "  Hello  world" and bare.sentences == (
        SentenceLabel(2, 7, ("a",)), SentenceLabel(9, 14))


@pytest.mark.parametrize(
    ("rows", "line", "words"),
    [
        (["1,0,5,Hello,,,", "1,3,9,lo you,,,"], 3, ["[3, 9)", "overlaps", "line 2"]),
        (["1,0,5,Hello,,,", "1,7,10,you,,,"], 3, ["starts at 7", "is 5 characters", "missing"]),
        (["1,0,5,Hello,,, "], None, []),  # fine: one document
        (["1,0,4,Hello,,,"], 2, ["5 characters", "say 4"]),
        (["1,0,x5,Hello,,,"], 2, ["'end'", "whole number"]),
        (["1,5,5,Hello,,,"], 2, ["empty or reversed"]),
        (["1,0,5,Hello,,train,", "1,6,9,you,,dev,"], 3, ["split", "line 2", "one split"]),
        (["1,0,5,Hello,,,", "1,6,9,you,,,", "1,0,5"], 4, ["3 fields", "header has 7"]),
    ],
)
def test_bad_sentence_tables_name_file_line_and_problem(
    make_file: MakeFile, rows: list[str], line: int | None, words: list[str]
) -> None:
    path = make_file("bad.csv", "document_id,start,end,text,label,split,after\n"
                     + "\n".join(rows) + "\n")
    if line is None:
        assert read_file(path)[0].text == "Hello "
        return
    with pytest.raises(InputError) as info:
        read_file(path)
    assert_input_error(info.value, path, line, *words)


def test_a_sentence_table_without_its_text_says_it_cannot_be_imported(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    record = DocumentRecord(NOTE, doc_id=1, sentences=(SentenceLabel(0, 13, ("a",)),))
    write_file([record], out, "csv", unit="sentence", include_text=False)
    with pytest.raises(InputError) as info:
        read_file(out)
    assert_input_error(info.value, out, 1, "table of sentences", "--no-text", "jsonl")


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
