"""doccano / Prodigy JSON Lines and Label Studio JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from core.errors import InputError
from core.formats import ExportError, guess_format, read_file, write_file
from core.types import DocumentRecord, EntitySpan, Split

from .conftest import assert_input_error

MakeFile = Callable[[str, "str | bytes"], Path]


def jsonl(*objects: object) -> str:
    return "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects)


def test_doccano_spans_classes_and_ids(make_file: MakeFile) -> None:
    path = make_file(
        "d.jsonl",
        jsonl(
            {"id": 7, "text": "Aspirin for fever", "label": [[0, 7, "Drug"], [12, 17, "Symptom"]]},
            {"text": "good", "label": ["POS", "POS", "funny"]},
            {"text": "bad", "label": "NEG", "split": "test"},
            {"text": "older", "labels": [[0, 5, "X"]]},
            {
                "text": "rel",
                "entities": [{"id": 1, "start_offset": 0, "end_offset": 3, "label": "R"}],
            },
        )
        + "\n",
    )
    assert guess_format(path) == "jsonl"
    records = read_file(path)
    assert [(r.external_id, r.spans, r.classes, r.split, r.line) for r in records] == [
        ("7", (EntitySpan(0, 7, "Drug"), EntitySpan(12, 17, "Symptom")), (), None, 1),
        (None, (), ("POS", "funny"), None, 2),
        (None, (), ("NEG",), Split.TEST, 3),
        (None, (EntitySpan(0, 5, "X"),), (), None, 4),
        (None, (EntitySpan(0, 3, "R"),), (), None, 5),
    ]


def test_prodigy_records(make_file: MakeFile) -> None:
    path = make_file(
        "p.jsonl",
        jsonl(
            {
                "text": "Ann",
                "spans": [{"start": 0, "end": 3, "label": "PER", "token_start": 0}],
                "answer": "accept",
                "meta": {"source": "x"},
            },
            {"text": "skip me", "answer": "ignore"},
            {"text": "choice", "options": [{"id": "A"}], "accept": ["A", 2], "answer": "accept"},
            {"text": "binary", "label": "SPORTS", "answer": "reject"},
        ),
    )
    records = read_file(path)
    assert [(r.text, r.spans, r.classes, r.meta, r.line) for r in records] == [
        ("Ann", (EntitySpan(0, 3, "PER"),), (), {"source": "x"}, 1),
        ("choice", (), ("A", "2"), {}, 3),
        ("binary", (), (), {"answer": "reject", "rejected_label": "SPORTS"}, 4),
    ]


LABEL_STUDIO = [
    {
        "id": 12,
        "data": {"text": "Jane has flu 😀 and asthma"},
        "annotations": [
            {"was_cancelled": True, "result": []},
            {
                "result": [
                    {
                        "type": "labels",
                        "value": {"start": 0, "end": 4, "text": "Jane", "labels": ["PER"]},
                    },
                    # Counted in UTF-16 units after the emoji, as the browser does: converted.
                    {
                        "type": "labels",
                        "value": {"start": 20, "end": 26, "text": "asthma", "labels": ["Disease"]},
                    },
                    {"type": "choices", "value": {"choices": ["urgent"]}},
                    {"type": "textarea", "value": {"text": ["a note"]}},
                ]
            },
        ],
        "predictions": [],
    },
    {"id": 13, "data": {"note": "no labels yet"}, "annotations": []},
]


def test_label_studio_export(make_file: MakeFile) -> None:
    content = json.dumps(LABEL_STUDIO, ensure_ascii=False, indent=2)
    path = make_file("ls.json", content)
    second_task_line = content.split("\n").index('    "id": 13,')  # the line before it holds "{"
    assert guess_format(path) == "jsonl"
    first, second = read_file(path)
    assert first.external_id == "12"
    assert [(first.text[s.start : s.end], s.label) for s in first.spans] == [
        ("Jane", "PER"),
        ("asthma", "Disease"),
    ]
    assert first.classes == ("urgent",)
    assert first.meta == {"ignored_results": ["textarea"]}
    assert (second.text, second.spans, second.line) == ("no labels yet", (), second_task_line)
    assert first.line == 2


def test_label_studio_offsets_that_split_an_emoji(make_file: MakeFile) -> None:
    task = {
        "data": {"text": "a😀b"},
        "annotations": [
            {
                "result": [
                    {
                        "type": "labels",
                        "value": {"start": 2, "end": 4, "text": "\ude00b", "labels": ["X"]},
                    }
                ]
            }
        ],
    }
    path = make_file("ls.json", "[\n" + json.dumps(task) + "\n]")
    with pytest.raises(InputError) as info:
        read_file(path)
    assert_input_error(info.value, path, 2, "cuts a character")


def test_label_studio_text_mismatch(make_file: MakeFile) -> None:
    task = {
        "data": {"text": "abc"},
        "annotations": [
            {
                "result": [
                    {
                        "type": "labels",
                        "value": {"start": 0, "end": 1, "text": "z", "labels": ["X"]},
                    }
                ]
            }
        ],
    }
    path = make_file("ls.json", json.dumps([task]))
    with pytest.raises(InputError) as info:
        read_file(path)
    assert_input_error(info.value, path, 1, "'a'", "'z'")


def test_pretty_printed_single_object(make_file: MakeFile) -> None:
    path = make_file("one.json", json.dumps({"text": "hi", "label": ["A"]}, indent=2))
    assert [r.classes for r in read_file(path)] == [("A",)]


@pytest.mark.parametrize(
    ("content", "line", "words"),
    [
        ('{"text": "ok"}\n{"text": "cut', 2, ("broken json", "column 10")),
        ('{"text": "ok"}\n\n{"text": "x", "label": [[0, 1, "A"]]\n', 3, ("broken json",)),
        ('{"text": "ok"}\n[1, 2]\n', 2, ("json object",)),
        ('{"text": "ok"}\n{"label": []}\n', 2, ('"text"',)),
        ('{"text": ""}\n', 1, ("empty",)),
        ('{"text": 5}\n', 1, ("string",)),
        ('{"text": "abc", "label": [[2, 1, "A"]]}\n', 1, ("start >= end",)),
        ('{"text": "abc", "label": [[1, 1, "A"]]}\n', 1, ("empty",)),
        ('{"text": "abc", "label": [[-1, 2, "A"]]}\n', 1, ("negative",)),
        ('{"text": "abc", "label": [[0, 9, "A"]]}\n', 1, ("after the text", "3 characters")),
        ('{"text": "abc", "label": [[0.5, 2, "A"]]}\n', 1, ("whole number",)),
        ('{"text": "abc", "label": [["0", 2, "A"]]}\n', 1, ("whole number",)),
        ('{"text": "abc", "label": [[true, 2, "A"]]}\n', 1, ("whole number",)),
        ('{"text": "abc", "label": [[0, 2]]}\n', 1, ("[start, end, label]",)),
        ('{"text": "abc", "label": [[0, 2, ""]]}\n', 1, ("label",)),
        ('{"text": "abc", "label": 3}\n', 1, ("list or a class name",)),
        ('{"text": "abc", "spans": [{"start": 0, "end": 1}]}\n', 1, ("no label",)),
        ('{"text": "abc", "spans": [{"start": 0, "label": "X"}]}\n', 1, ("no start or end",)),
        ('{"text": "abc", "split": "holdout"}\n', 1, ("split",)),
        ('{"text": "abc", "n": NaN}\n', 1, ("nan",)),
        ('[{"text": "a"},\n{"text": "b"}\n', 2, ("truncated",)),
        ('[{"text": "a"},\n{"text": "b"\n', 3, ("broken json",)),
        ('[{"text": "a"}] x', 1, ("extra data",)),
        ('{"text": "\\ud83d is half an emoji"}\n', 1, ("half of a character",)),
        # UTF-16 offsets past the end, as a JavaScript tool would count them.
        ('{"text": "😀😀ab", "label": [[4, 6, "A"]]}\n', 1, ("utf-16", "javascript")),
        ('{"text": "ok"}\n' + "[" * 100_000 + "]" * 100_000 + "\n", 2, ("json",)),
    ],
)
def test_malformed(make_file: MakeFile, content: str, line: int, words: tuple[str, ...]) -> None:
    path = make_file("bad.jsonl", content)
    with pytest.raises(InputError) as info:
        read_file(path, "jsonl")
    assert_input_error(info.value, path, line, *words)


RECORDS = [
    DocumentRecord(
        text="Ann 😀 Lee",
        spans=(EntitySpan(0, 3, "PER"), EntitySpan(6, 9, "PER")),
        external_id="a1",
        split=Split.TRAIN,
    ),
    DocumentRecord(text="line\u2028sep\r\n", classes=("x", "y"), doc_id=5),
    DocumentRecord(text="both", spans=(EntitySpan(0, 4, "T"),), classes=("c",)),
]


@pytest.mark.parametrize("flavor", [None, "doccano", "prodigy"])
def test_write_and_read_back(tmp_path: Path, flavor: str | None) -> None:
    out = tmp_path / "out.jsonl"
    assert write_file(RECORDS, out, "jsonl", flavor=flavor) == 3
    back = read_file(out)
    assert [(r.text, r.spans, r.classes, r.split) for r in back] == [
        (r.text, r.spans, r.classes, r.split) for r in RECORDS
    ]
    assert [r.external_id for r in back] == ["a1", "5", None]


def test_write_shapes(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    write_file(RECORDS[:1], out, "jsonl")
    assert json.loads(out.read_text(encoding="utf-8")) == {
        "id": "a1",
        "text": "Ann 😀 Lee",
        "label": [[0, 3, "PER"], [6, 9, "PER"]],
        "split": "train",
    }
    write_file(RECORDS[1:2], out, "jsonl", flavor="prodigy", include_text=False)
    assert json.loads(out.read_text(encoding="utf-8")) == {
        "id": "5",
        "spans": [],
        "accept": ["x", "y"],
        "answer": "accept",
    }


def test_unknown_flavor(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="flavor"):
        write_file(RECORDS, tmp_path / "o.jsonl", "jsonl", flavor="brat")
    with pytest.raises(ExportError, match="flavor"):
        write_file(RECORDS, tmp_path / "o.csv", "csv", flavor="prodigy")
