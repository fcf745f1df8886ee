"""Property tests: parsers never fail with anything but InputError; writers round-trip."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from core.errors import InputError
from core.formats import FORMATS, ExportError, guess_format, read_file, write_file
from core.formats.conll import bio_sentences
from core.types import DocumentRecord, EntitySpan, Split

FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
ROUND_TRIP = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
SUFFIX = {
    "text": ".txt",
    "csv": ".csv",
    "lines": ".txt",
    "jsonl": ".jsonl",
    "conll": ".conll",
    "squad": ".json",
    "brat": ".ann",  # without its .txt: refused (pairs are fuzzed in test_brat.py)
}


def fresh(folder: Path, suffix: str) -> Path:
    return folder / f"f{uuid.uuid4().hex}{suffix}"


def read_or_input_error(path: Path, fmt: str | None) -> None:
    try:
        records = read_file(path, fmt)
    except InputError as exc:
        assert exc.path == str(path)
        assert str(path) in str(exc)
        return
    assert records
    assert all(isinstance(r, DocumentRecord) and r.source and r.line for r in records)


# --- fuzzing ---------------------------------------------------------------------------

# Fragments that steer random text into the parsers' interesting corners.
FRAGMENTS = [
    "\n", "\r\n", "\r", "\t", " ", '"', ",", ";", "|", "{", "}", "[", "]", ":", "\\",
    "\\ud83d", "\\u0000", "O", "B-X", "I-Y", "E-", "S-Z", "-DOCSTART-", "text", "label",
    '"text": ', '"label": ', "0", "1", "-1", "😀", "é", "\x00", "\ufeff", "\u2028", "'=",
]  # fmt: skip
fuzz_text = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=4)), max_size=40).map(
    "".join
)

KEYS = [
    "text", "label", "labels", "spans", "entities", "accept", "answer", "cats", "id", "meta",
    "split", "start", "end", "start_offset", "end_offset", "data", "annotations", "completions",
    "result", "value", "type", "choices", "was_cancelled", "paragraphs", "context", "qas",
    "question", "answers", "answer_start", "is_impossible", "title", "version",
]  # fmt: skip
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
    st.sampled_from(KEYS + ["labels", "choices", "accept", "reject", "ignore", "train"]),
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS), children, max_size=6)
    ),
    max_leaves=25,
)

# One strategy (not a one_of, which hypothesis would flatten and then pick mostly).
junk: st.SearchStrategy[Any] = st.sampled_from(
    [None, True, -1, 0, 3, 2.5, "", "x", "train", "accept", [], {}]
)
offsets = st.one_of(st.integers(-2, 12), junk)
names = st.text(max_size=3) | junk
span_like = st.one_of(
    st.tuples(offsets, offsets, names).map(list),
    st.lists(offsets, max_size=4),
    st.fixed_dictionaries(
        {},
        optional={
            **{k: offsets for k in ("start", "end", "start_offset", "end_offset")},
            "label": names,
        },
    ),
    junk,
)
label_values = st.one_of(st.lists(span_like, max_size=3), names)
# Shapes close to real doccano / Prodigy / Label Studio records, so fuzzing gets past
# the first checks into offsets and labels.
record_like = st.one_of(
    st.fixed_dictionaries(
        {"text": st.text(min_size=1, max_size=10) | st.text(min_size=1) | junk},
        optional={
            "label": label_values,
            "labels": label_values,
            "spans": st.lists(span_like, max_size=3) | junk,
            "entities": st.lists(span_like, max_size=3),
            "accept": st.lists(names, max_size=3) | junk,
            "answer": st.sampled_from(["accept", "reject", "ignore"]) | junk,
            "cats": st.dictionaries(st.text(max_size=3), junk, max_size=3),
            "id": junk,
            "meta": json_values,
            "split": junk,
        },
    ),
    st.fixed_dictionaries(
        {
            "data": st.one_of(
                st.fixed_dictionaries({"text": st.text(min_size=1, max_size=10) | junk}),
                st.dictionaries(st.sampled_from(KEYS), junk, max_size=2),
            ),
        },
        optional={
            "id": junk,
            "annotations": st.lists(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "was_cancelled": st.booleans(),
                        "result": st.lists(
                            st.fixed_dictionaries(
                                {},
                                optional={
                                    "type": st.sampled_from(["labels", "choices", "textarea"]),
                                    "value": st.fixed_dictionaries(
                                        {},
                                        optional={
                                            "start": offsets,
                                            "end": offsets,
                                            "text": st.text(max_size=4),
                                            "labels": st.lists(names, max_size=2),
                                            "choices": st.lists(names, max_size=2),
                                        },
                                    )
                                    | junk,
                                },
                            ),
                            max_size=3,
                        )
                        | junk,
                    },
                ),
                max_size=2,
            )
            | junk,
        },
    ),
    json_values.map(lambda v: v),
)
answer_like = st.fixed_dictionaries(
    {"text": st.text(min_size=1, max_size=3) | junk, "answer_start": offsets}
)
qa_like = st.fixed_dictionaries(
    {"question": st.text(min_size=1, max_size=5) | junk},
    optional={
        "id": junk,
        "answers": st.lists(answer_like, max_size=3) | junk,
        "is_impossible": st.booleans() | junk,
        "plausible_answers": json_values,
    },
)
paragraph_like = st.fixed_dictionaries(
    {
        "context": st.text(min_size=1, max_size=12) | junk,
        "qas": st.lists(qa_like, max_size=3) | junk,
    }
)
squad_like = st.lists(
    st.fixed_dictionaries(
        {"paragraphs": st.lists(paragraph_like, max_size=3)},
        optional={"title": json_scalars},
    )
    | json_values.map(lambda v: v),
    max_size=3,
)


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(data=st.binary(max_size=200))
def test_random_bytes(tmp_path: Path, fmt: str, data: bytes) -> None:
    path = fresh(tmp_path, SUFFIX[fmt])
    path.write_bytes(data)
    read_or_input_error(path, fmt)


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(text=fuzz_text)
def test_random_text(tmp_path: Path, fmt: str, text: str) -> None:
    path = fresh(tmp_path, SUFFIX[fmt])
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    read_or_input_error(path, fmt)


@pytest.mark.parametrize("suffix", sorted(set(SUFFIX.values()) | {".tsv", ".bio"}))
@FUZZ
@given(text=fuzz_text)
def test_guess_then_read(tmp_path: Path, suffix: str, text: str) -> None:
    path = fresh(tmp_path, suffix)
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        assert guess_format(path) in FORMATS
    except InputError:
        return
    read_or_input_error(path, None)


@pytest.mark.parametrize("as_list", [False, True])
@FUZZ
@given(values=st.lists(record_like, min_size=1, max_size=4))
def test_random_json_records(tmp_path: Path, as_list: bool, values: list[Any]) -> None:
    path = fresh(tmp_path, ".json")
    if as_list:
        content = json.dumps(values, indent=1)
    else:
        content = "".join(json.dumps(v) + "\n" for v in values)
    path.write_text(content, encoding="utf-8")
    read_or_input_error(path, "jsonl")


@FUZZ
@given(data=squad_like | json_values)
def test_random_squad(tmp_path: Path, data: Any) -> None:
    path = fresh(tmp_path, ".json")
    path.write_text(json.dumps({"data": data}, indent=1), encoding="utf-8")
    read_or_input_error(path, "squad")


# --- round trips -----------------------------------------------------------------------

# Text made of awkward pieces: emoji (with ZWJ and skin tones), combining accents, CJK,
# right-to-left scripts, tabs, CRLF, lone CR, Unicode line separators, NBSP, plus any
# code point that is not a lone surrogate.
PIECES = [
    "👩‍⚕️", "😀", "👍🏽", "e\u0301", "\u0303", "中文", "日本語", "שלום", "مرحبا", "\u200f",
    "\t", "\r\n", "\r", "\n", "\u2028", "\u00a0", "\u3000", " ", "  ", "x", "Ab", "'", "=",
    "-", "+1", "@", '"', ",", ";", "|", "\ufeff", "\x0b", "\x1c", "\x85",
]  # fmt: skip
any_char = st.characters(exclude_categories=["Cs"])
unicode_text = st.lists(
    st.one_of(st.sampled_from(PIECES), st.text(any_char, min_size=1, max_size=3)),
    min_size=1,
    max_size=25,
).map("".join)
label_names = st.text(
    st.characters(categories=["Lu", "Ll", "Nd"], include_characters="-_.:"),
    min_size=1,
    max_size=6,
)


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, tuple[EntitySpan, ...]]:
    """A text and non-overlapping spans at random boundaries (possibly inside words)."""
    text = draw(unicode_text)
    cuts = sorted(draw(st.sets(st.integers(0, len(text)), max_size=8)))
    spans = []
    for start, end in zip(cuts[::2], cuts[1::2], strict=False):
        if start < end:
            spans.append(EntitySpan(start, end, draw(label_names)))
    return text, tuple(spans)


@ROUND_TRIP
@given(
    docs=st.lists(documents(), min_size=1, max_size=4),
    flavor=st.sampled_from(["doccano", "prodigy"]),
)
def test_jsonl_round_trip(
    tmp_path: Path, docs: list[tuple[str, tuple[EntitySpan, ...]]], flavor: str
) -> None:
    records = [DocumentRecord(text=text, spans=spans) for text, spans in docs]
    path = fresh(tmp_path, ".jsonl")
    assert write_file(records, path, "jsonl", flavor=flavor) == len(records)
    back = read_file(path)
    assert [(r.text, r.spans) for r in back] == docs


@ROUND_TRIP
@given(
    rows=st.lists(
        st.tuples(
            unicode_text,
            st.lists(label_names, unique=True, max_size=3),
            st.none() | unicode_text,
            st.none() | st.sampled_from(list(Split)),
        ),
        min_size=1,
        max_size=4,
    ),
    suffix=st.sampled_from([".csv", ".tsv"]),
)
def test_csv_round_trip(
    tmp_path: Path,
    rows: list[tuple[str, list[str], str | None, Split | None]],
    suffix: str,
) -> None:
    records = [
        DocumentRecord(text=text, classes=tuple(labels), external_id=ext, split=split)
        for text, labels, ext, split in rows
    ]
    path = fresh(tmp_path, suffix)
    if any("\x00" in f"{r.text}{r.external_id}" for r in records):
        with pytest.raises(ExportError, match="NUL"):
            write_file(records, path, "csv")
        return
    assert write_file(records, path, "csv") == len(records)
    back = read_file(path)
    assert [(r.text, r.classes, r.external_id or None, r.split) for r in back] == [
        (r.text, r.classes, r.external_id or None, r.split) for r in records
    ]


def token_tags(record: DocumentRecord) -> list[list[tuple[str, str]]]:
    return [
        [(record.text[s:e], tag) for s, e, tag in sentence]
        for sentence in bio_sentences(record.text, record.spans)
    ]


@ROUND_TRIP
@given(docs=st.lists(documents(), min_size=1, max_size=4))
@example(docs=[("\x00", ())])  # found by hypothesis: see test_regressions.py
@example(docs=[("\ufeffa\u2028b", (EntitySpan(0, 3, "X"),))])
def test_conll_round_trip(tmp_path: Path, docs: list[tuple[str, tuple[EntitySpan, ...]]]) -> None:
    records = [DocumentRecord(text=text, spans=spans) for text, spans in docs]
    written = [sentence for record in records for sentence in token_tags(record)]
    path = fresh(tmp_path, ".conll")
    if any("\x00" in r.text for r in records):
        with pytest.raises(ExportError, match="NUL"):
            write_file(records, path, "conll")
        return
    write_file(records, path, "conll")
    if not written:  # only whitespace: nothing to write, nothing to read
        with pytest.raises(InputError, match="no documents"):
            read_file(path)
        return
    back = read_file(path)
    # One document per sentence; its tokens and tags are exactly those written.
    assert [sentence for record in back for sentence in token_tags(record)] == written
    # Every token lies wholly inside or outside each span (no span lands on a wrong token).
    for record in records:
        for sentence in bio_sentences(record.text, record.spans):
            for start, end, tag in sentence:
                for span in record.spans:
                    inside = span.start <= start and end <= span.end
                    outside = end <= span.start or span.end <= start
                    assert inside or outside
                    if inside:
                        assert tag[2:] == span.label
                if tag == "O":
                    assert not any(s.start <= start < s.end for s in record.spans)
