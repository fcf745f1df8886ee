"""SQuAD v1.1 / v2.0 JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from core.errors import InputError
from core.formats import guess_format, read_file, write_file
from core.types import Answer, DocumentRecord, Question

from .conftest import assert_input_error

MakeFile = Callable[[str, "str | bytes"], Path]

CONTEXT = "Metformin is a first-line drug for type 2 diabetes."


def squad(qas: list[dict[str, Any]], context: str = CONTEXT) -> dict[str, Any]:
    return {
        "version": "v2.0",
        "data": [
            {
                "title": "Drugs",
                "paragraphs": [
                    {"context": "Other paragraph.", "qas": []},
                    {"context": context, "qas": qas},
                ],
            }
        ],
    }


def test_reads_v2_with_multiple_and_impossible_answers(make_file: MakeFile) -> None:
    path = make_file(
        "s.json",
        json.dumps(
            squad(
                [
                    {
                        "id": "q1",
                        "question": "Which drug?",
                        "answers": [
                            {"text": "Metformin", "answer_start": 0},
                            {"text": "Metformin is", "answer_start": 0},
                        ],
                    },
                    {
                        "id": "q2",
                        "question": "Price?",
                        "answers": [],
                        "is_impossible": True,
                        "plausible_answers": [{"text": "drug", "answer_start": 26}],
                    },
                    {"id": "q3", "question": "Unanswered?", "answers": []},
                ]
            ),
            indent=2,
        ),
    )
    assert guess_format(path) == "squad"
    first, second = read_file(path)
    assert (first.text, first.questions, first.external_id) == ("Other paragraph.", (), "Drugs#0")
    assert second.external_id == "Drugs#1"
    assert second.meta == {"title": "Drugs"}
    assert second.questions == (
        Question(
            "Which drug?",
            (Answer(0, 9, "Metformin"), Answer(0, 12, "Metformin is")),
            external_id="q1",
        ),
        Question("Price?", (), is_impossible=True, external_id="q2"),
        Question("Unanswered?", (), external_id="q3"),
    )
    assert (first.line, second.line) == (8, 12)  # the "context" lines


def bad_answer_file(make_file: MakeFile, answer: dict[str, Any], **qa: Any) -> Path:
    question = {"id": "q9", "question": "Which drug?", "answers": [answer], **qa}
    return make_file(
        "bad.json",
        json.dumps(squad([{"id": "q1", "question": "x?", "answers": []}, question]), indent=2),
    )


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ({"text": "Metformin", "answer_start": 3}, ("q9", "qas[1].answers[0]", "reads 'formin is")),
        ({"text": "diabetes.", "answer_start": 60}, ("q9", "outside the context")),
        ({"text": "Metformin", "answer_start": -1}, ("q9", "outside the context")),
        ({"text": "Metformin", "answer_start": "0"}, ("q9", "whole number")),
        ({"text": "", "answer_start": 0}, ("q9", "non-empty")),
        ({"answer_start": 0}, ("q9", "text")),
    ],
)
def test_bad_answers_name_question_and_json_path(
    make_file: MakeFile, answer: dict[str, Any], words: tuple[str, ...]
) -> None:
    path = bad_answer_file(make_file, answer)
    with pytest.raises(InputError) as info:
        read_file(path)
    assert_input_error(info.value, path, 21, "data[0].paragraphs[1]", *words)


def test_impossible_with_answers(make_file: MakeFile) -> None:
    path = bad_answer_file(make_file, {"text": "Metformin", "answer_start": 0}, is_impossible=True)
    with pytest.raises(InputError) as info:
        read_file(path)
    assert_input_error(info.value, path, 21, "impossible but has answers")


@pytest.mark.parametrize(
    ("content", "line", "words"),
    [
        ('{"data": [{"paragraphs": [{"context": "abc", "qas": []}]}', 1, ("broken json",)),
        ('{"version": "1.1"}', 1, ("not squad",)),
        ('{"data": [{"title": "x"}]}', None, ('"paragraphs"',)),
        ('{"data": [{"paragraphs": [{"qas": []}]}]}', None, ('no "context"',)),
        ('{"data": [{"paragraphs": [{"context": ""}]}]}', 1, ("empty",)),
        (
            '{"data": [{"paragraphs": [{"context": "a", "qas": [{"id": "z", "answers": []}]}]}]}',
            1,
            ("question z", '"question"'),
        ),
    ],
)
def test_malformed(
    make_file: MakeFile, content: str, line: int | None, words: tuple[str, ...]
) -> None:
    path = make_file("bad.json", content)
    with pytest.raises(InputError) as info:
        read_file(path, "squad")
    assert_input_error(info.value, path, line, *words)


def test_write_v2(tmp_path: Path) -> None:
    records = [
        DocumentRecord(
            text=CONTEXT,
            external_id="Drugs#0",
            questions=(
                Question("Which drug?", (Answer(0, 9),), external_id="q1"),
                Question("Price?", (), is_impossible=True),
                Question("Not yet answered", ()),
            ),
        ),
        DocumentRecord(text="Second.", meta={"title": "Other"}),
    ]
    out = tmp_path / "out.json"
    assert write_file(records, out, "squad") == 2
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written == {
        "version": "v2.0",
        "data": [
            {
                "title": "Drugs",
                "paragraphs": [
                    {
                        "context": CONTEXT,
                        "qas": [
                            {
                                "id": "q1",
                                "question": "Which drug?",
                                "answers": [{"text": "Metformin", "answer_start": 0}],
                                "is_impossible": False,
                            },
                            {
                                "id": "Drugs#0-q1",
                                "question": "Price?",
                                "answers": [],
                                "is_impossible": True,
                            },
                        ],
                    }
                ],
            },
            {"title": "Other", "paragraphs": [{"context": "Second.", "qas": []}]},
        ],
    }
    back = read_file(out)
    assert [q.answers for q in back[0].questions] == [(Answer(0, 9, "Metformin"),), ()]


def test_write_without_text(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    records = [DocumentRecord(text=CONTEXT, questions=(Question("Which drug?", (Answer(0, 9),)),))]
    write_file(records, out, "squad", include_text=False)
    paragraph = json.loads(out.read_text(encoding="utf-8"))["data"][0]["paragraphs"][0]
    assert paragraph["context"] == ""
    assert paragraph["qas"][0]["answers"] == [{"text": "", "answer_start": 0}]
