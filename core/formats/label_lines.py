"""``<label> <text>`` a line, as in SST-2 and TREC: the label is the first field."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from core.errors import InputError
from core.formats._common import (
    LINE_BREAK_CHARS,
    ExportError,
    TextSink,
    check_no_nul,
    iter_lines,
    record_name,
)
from core.types import DocumentRecord, TaskKind

# One space or tab separates the label from the text; the rest of the line is the text verbatim.
_CLASSIFY = frozenset({TaskKind.CLASSIFY})
_LINE = re.compile(r"(\S+)[ \t](.*)", re.DOTALL)


def parse_label_lines(text: str, path: Path) -> list[DocumentRecord]:
    """Parse ``<label> <text>`` lines; blank lines are skipped."""
    records: list[DocumentRecord] = []
    source = str(path)
    for number, _, line in iter_lines(text):
        if not line.strip():
            continue
        match = _LINE.fullmatch(line)
        if match is None or not match.group(2).strip():
            raise InputError(
                path,
                number,
                "expected a label, a space and the text on this line, e.g. '1 a fine film'",
            )
        records.append(
            DocumentRecord(
                text=match.group(2), classes=(match.group(1),), source=source, line=number,
                labelled_for=_CLASSIFY,
            )
        )
    return records


def write_label_lines(records: Iterable[DocumentRecord], out: TextSink) -> int:
    """Write ``<label> <text>`` lines; each document needs exactly one class and one line
    of text (use csv or jsonl for anything else)."""
    count = 0
    for index, record in enumerate(records):
        name = record_name(index, record.external_id)
        if len(record.classes) != 1:
            raise ExportError(
                f"{name} has {len(record.classes)} labels; this format holds exactly one "
                "label per line: export as csv or jsonl instead"
            )
        label = record.classes[0]
        if not label or any(ch.isspace() for ch in label):
            raise ExportError(f"{name}: the label {label!r} is empty or holds a space")
        if not record.text.strip() or any(ch in LINE_BREAK_CHARS for ch in record.text):
            raise ExportError(
                f"{name}: the text is empty or spans several lines; export as csv or jsonl"
            )
        check_no_nul(label + record.text, index, record)
        out.write(f"{label} {record.text}\n")
        count += 1
    return count
