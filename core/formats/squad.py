"""SQuAD v1.1 / v2.0 JSON: articles of paragraphs, each a context with its questions."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from core.errors import InputError
from core.formats._common import (
    LineCounter,
    TextSink,
    check_text,
    export_id,
    kind,
    loads_json,
)
from core.types import Answer, DocumentRecord, Question, TaskKind

# Keys are the only JSON strings directly followed by a colon, so these find the paragraphs
# and questions in file order, which gives each its line number.
_CONTEXT_KEY = re.compile(r'"context"\s*:')
_QUESTION_KEY = re.compile(r'"question"\s*:')


def parse_squad(text: str, path: Path) -> list[DocumentRecord]:
    """Parse SQuAD JSON: one document per paragraph (``external_id`` "<title>#<index>").

    Every gold answer is kept; ``plausible_answers`` are ignored. Each answer must quote
    the context exactly at ``answer_start``.
    """
    root = loads_json(text, path)
    context_lines = _key_lines(text, _CONTEXT_KEY, root, "context")
    question_lines = _key_lines(text, _QUESTION_KEY, root, "question")
    if not isinstance(root, dict) or not isinstance(root.get("data"), list):
        raise InputError(path, 1, 'this is not SQuAD JSON: expected {"data": [...]} at the top')
    records: list[DocumentRecord] = []
    source = str(path)
    for a, article in enumerate(root["data"]):
        where = f"data[{a}]"
        if not isinstance(article, dict) or not isinstance(article.get("paragraphs"), list):
            raise InputError(path, None, f'{where} should be an object with a "paragraphs" list')
        title = article.get("title")
        title = title if isinstance(title, str) and title else str(a)
        for p, paragraph in enumerate(article["paragraphs"]):
            p_where = f"{where}.paragraphs[{p}]"
            has_context = isinstance(paragraph, dict) and "context" in paragraph
            p_line = next(context_lines, None) if has_context else None
            if not has_context:
                raise InputError(path, p_line, f'{p_where} has no "context"')
            context = check_text(paragraph["context"], path, p_line, f"{p_where}.context")
            qas = paragraph.get("qas", [])
            if not isinstance(qas, list):
                raise InputError(path, p_line, f"{p_where}.qas should be a list, found {kind(qas)}")
            questions = []
            for q, qa in enumerate(qas):
                has_question = isinstance(qa, dict) and "question" in qa
                q_line = next(question_lines, None) if has_question else p_line
                questions.append(_question(qa, context, path, q_line, f"{p_where}.qas[{q}]"))
            records.append(
                DocumentRecord(
                    text=context,
                    external_id=f"{title}#{p}",
                    questions=tuple(questions),
                    meta={"title": title},
                    source=source,
                    line=p_line,
                    labelled_for=frozenset({TaskKind.QA}),
                )
            )
    return records


def _key_lines(text: str, pattern: re.Pattern[str], root: Any, key: str) -> Iterator[int]:
    """Lines of the objects holding ``key``, in file order; none when the match is unsure."""
    lines = LineCounter(text)
    found = [lines.line_at(m.start()) for m in pattern.finditer(text)]
    return iter(found if len(found) == _count_key(root, key) else [])


def _count_key(root: Any, key: str) -> int:
    count = 0
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            count += key in node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return count


def _question(qa: Any, context: str, path: Path, line: int | None, where: str) -> Question:
    if not isinstance(qa, dict):
        raise InputError(path, line, f"{where} should be an object, found {kind(qa)}")
    qid = qa.get("id")
    if qid is not None and not isinstance(qid, (str, int)):
        raise InputError(path, line, f"{where}.id should be a string, found {kind(qid)}")
    name = f"question {qid} ({where})" if qid is not None else where
    question_text = check_text(qa.get("question"), path, line, f'{name}: the "question" field')
    impossible = qa.get("is_impossible", False)
    if not isinstance(impossible, bool):
        raise InputError(path, line, f"{name}: is_impossible should be true or false")
    raw_answers = qa.get("answers", [])
    if not isinstance(raw_answers, list):
        raise InputError(path, line, f"{name}: answers should be a list, found {kind(raw_answers)}")
    if impossible and raw_answers:
        raise InputError(path, line, f"{name} is marked impossible but has answers")
    answers = []
    for i, raw in enumerate(raw_answers):
        a_path = f"{where}.answers[{i}]"
        a_where = f"question {qid} ({a_path})" if qid is not None else a_path
        if not isinstance(raw, dict):
            raise InputError(path, line, f"{a_where} should be an object, found {kind(raw)}")
        answer_text, start = raw.get("text"), raw.get("answer_start")
        if not isinstance(answer_text, str) or not answer_text:
            raise InputError(path, line, f'{a_where}: "text" should be a non-empty string')
        if isinstance(start, bool) or not isinstance(start, int):
            raise InputError(
                path, line, f'{a_where}: "answer_start" {start!r} is not a whole number'
            )
        end = start + len(answer_text)
        if start < 0 or end > len(context):
            raise InputError(
                path,
                line,
                f"{a_where}: answer_start {start} puts the answer outside the context "
                f"({len(context)} characters)",
            )
        if context[start:end] != answer_text:
            raise InputError(
                path,
                line,
                f"{a_where}: the context at {start} reads {context[start:end]!r}, not the "
                f"answer {answer_text!r}",
            )
        answers.append(Answer(start, end, answer_text))
    return Question(
        text=question_text,
        answers=tuple(answers),
        is_impossible=impossible,
        external_id=str(qid) if qid is not None else None,
    )


def write_squad(
    records: Iterable[DocumentRecord], out: TextSink, *, include_text: bool = True
) -> int:
    """Write SQuAD v2.0 JSON; consecutive documents with the same title (``meta["title"]``,
    else the part of ``external_id`` before ``#``) form one article.

    Questions with no answer that are not marked impossible (not yet answered) are left out.
    Answer text is taken from the context at the answer's offsets. Without text, contexts
    and answer texts are written as "" (questions and offsets are kept). Returns the number
    of documents written. Questions without an id get one made of the document and position.
    """
    articles: list[dict[str, Any]] = []
    used_ids: set[str] = set()
    count = 0
    for index, record in enumerate(records):
        title = _title(record)
        if not articles or articles[-1]["title"] != title:
            articles.append({"title": title, "paragraphs": []})
        qas = []
        for q, question in enumerate(record.questions):
            if not question.answers and not question.is_impossible:
                continue
            qid = question.external_id or f"{export_id(record) or index}-q{q}"
            while qid in used_ids:
                qid += "'"
            used_ids.add(qid)
            qas.append(
                {
                    "id": qid,
                    "question": question.text,
                    "answers": [
                        {
                            "text": record.text[a.start : a.end] if include_text else "",
                            "answer_start": a.start,
                        }
                        for a in question.answers
                    ],
                    "is_impossible": question.is_impossible and not question.answers,
                }
            )
        articles[-1]["paragraphs"].append(
            {"context": record.text if include_text else "", "qas": qas}
        )
        count += 1
    json.dump({"version": "v2.0", "data": articles}, out, ensure_ascii=False, indent=1)
    out.write("\n")
    return count


def _title(record: DocumentRecord) -> str:
    title = record.meta.get("title")
    if isinstance(title, str) and title:
        return title
    if record.external_id and "#" in record.external_id:
        return record.external_id.rsplit("#", 1)[0]
    return "untitled"
