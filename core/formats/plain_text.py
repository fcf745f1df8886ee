"""Plain text: a document per file, per paragraph (blank-line separated) or per line."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from core.errors import InputError
from core.formats._common import (
    ExportError,
    TextSink,
    check_no_nul,
    iter_lines,
    read_text,
    record_name,
)
from core.types import DocumentRecord

TEXT_UNITS = ("file", "paragraph", "line")


def read_text_documents(
    path: Path, *, text_unit: str = "file", encoding: str | None = None
) -> list[DocumentRecord]:
    """Read a .txt file, or every ``*.txt`` of a folder (sorted by name), as documents.

    ``text_unit`` "file" keeps each file whole (verbatim, line ends included); "paragraph"
    makes a document of each run of non-blank lines; "line" of each non-blank line.
    Empty files in a folder are skipped.
    """
    if text_unit not in TEXT_UNITS:
        raise InputError(
            path, None, f"unknown text unit {text_unit!r}: use one of {', '.join(TEXT_UNITS)}"
        )
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".txt" and p.is_file())
        if not files:
            raise InputError(path, None, "this folder holds no .txt files")
    else:
        files = [path]
    records: list[DocumentRecord] = []
    for file in files:
        records.extend(_read_one(file, text_unit, encoding))
    return records


def _read_one(path: Path, text_unit: str, encoding: str | None) -> list[DocumentRecord]:
    text = read_text(path, encoding)
    source = str(path)
    if text_unit == "file":
        if not text.strip():
            return []
        return [DocumentRecord(text=text, source=source, line=1)]
    records: list[DocumentRecord] = []
    if text_unit == "line":
        for number, _, line in iter_lines(text):
            if line.strip():
                records.append(DocumentRecord(text=line, source=source, line=number))
        return records
    # Paragraphs: keep the original line ends inside a paragraph, drop the blank lines around.
    first: int | None = None
    begin = end = 0
    for number, start, line in iter_lines(text):
        if line.strip():
            if first is None:
                first, begin = number, start
            end = start + len(line)
        elif first is not None:
            records.append(DocumentRecord(text=text[begin:end], source=source, line=first))
            first = None
    if first is not None:
        records.append(DocumentRecord(text=text[begin:end], source=source, line=first))
    return records


def write_text_documents(
    records: Iterable[DocumentRecord], out: TextSink, *, include_text: bool = True
) -> int:
    """Write each document's text followed by a blank line (read back with
    ``text_unit="paragraph"`` when no document holds a blank line itself). Labels are dropped."""
    if not include_text:
        raise ExportError("a plain-text export without the text would be empty")
    count = 0
    for index, record in enumerate(records):
        if not record.text.strip():
            raise ExportError(f"{record_name(index, record.external_id)} has no text")
        check_no_nul(record.text, index, record)
        out.write(record.text)
        out.write("\n\n")
        count += 1
    return count
