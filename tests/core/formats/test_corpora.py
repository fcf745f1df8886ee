"""Round trips on the real corpora of ../shared/data: import, export in the same format, compare."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.errors import InputError
from core.formats import guess_format, read_file, write_file

from .conftest import assert_input_error

NER_FILES = [
    "ner/ncbi-disease/train.tsv",
    "ner/ncbi-disease/devel.tsv",
    "ner/wnut17/train.conll",
    "ner/wnut17/dev.conll",
]


def token_tag_sentences(path: Path) -> list[list[tuple[str, str]]]:
    """Independent reading of a token<TAB>tag file: any whitespace-only line is a break."""
    sentences: list[list[tuple[str, str]]] = [[]]
    for line in path.read_text(encoding="utf-8").split("\n"):
        if not line.strip():
            if sentences[-1]:
                sentences.append([])
            continue
        token, tag = line.split("\t")
        sentences[-1].append((token, tag))
    return [s for s in sentences if s]


@pytest.mark.parametrize("name", NER_FILES)
def test_conll_corpus_round_trip(shared_data: Path, tmp_path: Path, name: str) -> None:
    source = shared_data / name
    assert guess_format(source) == "conll"
    records = read_file(source)
    expected = token_tag_sentences(source)
    assert len(records) == len(expected)
    for record, sentence in zip(records, expected, strict=True):
        assert record.text.split(" ") == [token for token, _ in sentence]
        assert record.source == str(source)
    out = tmp_path / "out.conll"
    assert write_file(records, out, "conll") == len(records)
    assert token_tag_sentences(out) == expected
    again = read_file(out, "conll")
    assert [(r.text, r.spans) for r in again] == [(r.text, r.spans) for r in records]


def test_conll_corpus_lines_point_at_sentence_starts(shared_data: Path) -> None:
    source = shared_data / "ner/wnut17/train.conll"
    lines = source.read_text(encoding="utf-8").split("\n")
    records = read_file(source)
    for record in records[:300]:
        assert record.line is not None
        assert lines[record.line - 1].split("\t")[0] == record.text.split(" ")[0]
        assert record.line == 1 or not lines[record.line - 2].strip()


def test_ncbi_spans_quote_the_disease_mentions(shared_data: Path) -> None:
    record = read_file(shared_data / "ner/ncbi-disease/train.tsv")[0]
    assert [(record.text[s.start : s.end], s.label) for s in record.spans] == [
        ("adenomatous polyposis coli tumour", "Disease")
    ]


@pytest.mark.parametrize(
    ("name", "encoding"),
    [
        ("classify/sst2/train.txt", None),
        ("classify/sst2/dev.txt", None),
        ("classify/trec/train.txt", "latin-1"),
        ("classify/trec/test.txt", None),
    ],
)
def test_label_lines_corpus_round_trip(
    shared_data: Path, tmp_path: Path, name: str, encoding: str | None
) -> None:
    source = shared_data / name
    assert guess_format(source) == "lines"
    records = read_file(source, encoding=encoding)
    raw = source.read_text(encoding=encoding or "utf-8").splitlines()
    assert [(r.classes[0], r.text) for r in records] == [tuple(line.split(" ", 1)) for line in raw]
    out = tmp_path / "out.txt"
    assert write_file(records, out, "lines") == len(raw)
    assert out.read_text(encoding="utf-8").splitlines() == raw
    for fmt, suffix in (("csv", ".csv"), ("jsonl", ".jsonl")):
        other = tmp_path / f"out{suffix}"
        write_file(records, other, fmt)
        back = read_file(other)
        assert [(r.text, r.classes) for r in back] == [(r.text, r.classes) for r in records]


def test_trec_train_is_not_utf8(shared_data: Path) -> None:
    # TREC's train file holds one Latin-1 byte ("sister\xf0city", line 66): a real case of
    # the wrong-encoding error and its advice.
    source = shared_data / "classify/trec/train.txt"
    with pytest.raises(InputError) as info:
        read_file(source)
    assert_input_error(info.value, source, 66, "byte 0xf0", "--encoding latin-1")


def test_squad_corpus_round_trip(shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / "qa/xquad-en.json"
    assert guess_format(source) == "squad"
    records = read_file(source)
    original = json.loads(source.read_text(encoding="utf-8"))
    paragraphs = [p for article in original["data"] for p in article["paragraphs"]]
    assert len(records) == len(paragraphs) == 240
    assert sum(len(r.questions) for r in records) == 1190

    def as_tuples(paras: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [
            (
                p["context"],
                [
                    (q["id"], q["question"], [(a["text"], a["answer_start"]) for a in q["answers"]])
                    for q in p["qas"]
                ],
            )
            for p in paras
        ]

    out = tmp_path / "out.json"
    assert write_file(records, out, "squad") == 240
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written["version"] == "v2.0"
    assert [a["title"] for a in written["data"]] == [a["title"] for a in original["data"]]
    assert as_tuples([p for a in written["data"] for p in a["paragraphs"]]) == as_tuples(paragraphs)
    again = read_file(out)
    assert [(r.text, r.questions, r.external_id) for r in again] == [
        (r.text, r.questions, r.external_id) for r in records
    ]


def test_squad_corpus_lines_point_at_contexts(shared_data: Path) -> None:
    source = shared_data / "qa/xquad-en.json"
    lines = source.read_text(encoding="utf-8").split("\n")
    for record in read_file(source):
        assert record.line is not None
        assert '"context"' in lines[record.line - 1]
