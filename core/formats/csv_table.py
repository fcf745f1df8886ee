"""CSV/TSV tables: a text column, optional label, id and split columns."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from core.errors import InputError
from core.formats._common import (
    LINE_END,
    ExportError,
    TextSink,
    check_no_nul,
    check_text,
    export_id,
    parse_split,
    record_name,
)
from core.types import DocumentRecord, TaskKind

TEXT_COLUMNS = ("text", "sentence", "document", "content")
LABEL_COLUMNS = ("label", "labels", "class", "classes", "category", "categories")
ID_COLUMNS = ("id", "external_id")
SPLIT_COLUMNS = ("split",)
# Cells starting with these run as formulas in spreadsheets (OWASP "CSV injection"); the
# apostrophe is included so that escaping can be undone without ambiguity.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


def escape_cell(value: str) -> str:
    """Prefix ``'`` to a cell a spreadsheet would run as a formula, or that starts with ``'``."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def unescape_cell(value: str) -> str:
    """Undo :func:`escape_cell`."""
    if len(value) >= 2 and value[0] == "'" and value[1] in _FORMULA_START:
        return value[1:]
    return value


def guess_delimiter(text: str, suffix: str) -> str:
    """Tab for .tsv; otherwise the most frequent of , ; tab in the header line (default ,)."""
    if suffix == ".tsv":
        return "\t"
    header = text[: text.find("\n")] if "\n" in text[:65536] else text[:65536]
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _raise_field_limit(size: int) -> None:
    # The limit is process-wide; raising it (never lowering) is safe for other readers.
    limit = min(max(size + 1, csv.field_size_limit()), sys.maxsize)
    while True:
        try:
            csv.field_size_limit(limit)
            return
        except OverflowError:
            limit //= 2


def parse_csv(text: str, path: Path) -> list[DocumentRecord]:
    """Parse a table whose first row names the columns.

    The text column is named text, sentence, document or content (any case), or is the only
    column. Label columns (label(s), class(es), category/categories) may hold several labels
    separated by ``|`` or ``;``. ``id`` and ``split`` are optional; other columns go to
    ``meta``. Rows of empty cells are skipped.
    """
    _raise_field_limit(len(text))
    delimiter = guess_delimiter(text, path.suffix.lower())
    reader = csv.reader(_physical_lines(text), delimiter=delimiter, strict=True)
    source = str(path)
    rows = _rows(reader, path)
    try:
        header_line, header = next(rows)
    except StopIteration:
        return []
    names = [unescape_cell(cell).strip().lower() for cell in header]
    columns = _columns(names, path, header_line, delimiter)
    text_col, label_cols, id_col, split_col = columns
    other = [
        (i, header[i].strip())
        for i in range(len(names))
        if i != text_col and i not in label_cols and i not in (id_col, split_col)
    ]
    records: list[DocumentRecord] = []
    for line, row in rows:
        if len(row) != len(names):
            raise InputError(
                path,
                line,
                f"this row has {len(row)} fields but the header has {len(names)}; "
                "a cell may be missing, or hold an unquoted separator or quote",
            )
        cells = [unescape_cell(cell) for cell in row]
        doc_text = check_text(cells[text_col], path, line, f"the {header[text_col]!r} cell")
        classes: list[str] = []
        for col in label_cols:
            classes.extend(_split_labels(cells[col]))
        external_id = cells[id_col] if id_col is not None and cells[id_col] else None
        try:
            split = parse_split(cells[split_col], path, line) if split_col is not None else None
        except InputError as exc:
            raise InputError(path, line, f"column 'split': {exc.problem}") from None
        meta: dict[str, Any] = {name: cells[i] for i, name in other if cells[i]}
        records.append(
            DocumentRecord(
                text=doc_text,
                external_id=external_id,
                classes=tuple(classes),
                split=split,
                meta=meta,
                source=source,
                line=line,
                labelled_for=frozenset({TaskKind.CLASSIFY}) if classes else frozenset(),
            )
        )
    return records


def _physical_lines(text: str) -> Iterator[str]:
    """The lines of ``text`` with their line ends, as csv wants them (like a file opened
    with ``newline=""``), without copying the whole text at once."""
    pos = 0
    for match in LINE_END.finditer(text):
        yield text[pos : match.end()]
        pos = match.end()
    if pos < len(text):
        yield text[pos:]


def _rows(reader: Any, path: Path) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(first_line, row)`` for each non-empty row, turning csv errors into InputError."""
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                raise InputError(
                    path,
                    start,
                    'a quote (") opened in this row is never closed, so the rest of the file '
                    "reads as one cell",
                ) from None
            raise InputError(
                path, reader.line_num or start, f"broken CSV ({exc}); check the quotes on this line"
            ) from None
        if any(row):
            yield start, row


def _columns(
    names: list[str], path: Path, line: int, delimiter: str
) -> tuple[int, list[int], int | None, int | None]:
    for name in set(names):
        if name and names.count(name) > 1:
            raise InputError(path, line, f"the column {name!r} appears twice in the header")
    text_cols = [i for i, name in enumerate(names) if name in TEXT_COLUMNS]
    if len(text_cols) > 1:
        found = ", ".join(names[i] for i in text_cols)
        raise InputError(path, line, f"several text columns ({found}): keep only one")
    if text_cols:
        text_col = text_cols[0]
    elif len(names) == 1:
        text_col = 0
    else:
        sep = {"\t": "tabs", ";": "semicolons"}.get(delimiter, "commas")
        raise InputError(
            path,
            line,
            f"no text column among {', '.join(repr(n) for n in names)} (separated by {sep}); "
            f"name the column holding the text 'text' (or {', '.join(TEXT_COLUMNS[1:])})",
        )
    label_cols = [i for i, name in enumerate(names) if name in LABEL_COLUMNS]
    id_col = next((i for i, name in enumerate(names) if name in ID_COLUMNS), None)
    split_col = next((i for i, name in enumerate(names) if name in SPLIT_COLUMNS), None)
    return text_col, label_cols, id_col, split_col


def _split_labels(cell: str) -> list[str]:
    sep = "|" if "|" in cell else ";"
    return [label.strip() for label in cell.split(sep) if label.strip()]


def write_csv(
    records: Iterable[DocumentRecord],
    out: TextSink,
    *,
    include_text: bool = True,
    delimiter: str = ",",
) -> int:
    """Write columns id, text, labels, split (``text`` left out when ``include_text`` is
    False). Labels are joined with ``|``; spans and questions are not part of this format.
    Cells that a spreadsheet would run as a formula get a leading ``'``."""
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    header = ["id", "text", "labels", "split"] if include_text else ["id", "labels", "split"]
    writer.writerow(header)
    count = 0
    for index, record in enumerate(records):
        _check_labels(record.classes, index, record)
        external_id = export_id(record) or ""
        check_no_nul(external_id + "|".join(record.classes), index, record)
        if include_text:
            check_no_nul(record.text, index, record)
        split = record.split.value if record.split is not None else ""
        row = [external_id, record.text, "|".join(record.classes), split]
        if not include_text:
            del row[1]
        writer.writerow([escape_cell(cell) for cell in row])
        count += 1
    return count


def _check_labels(labels: Iterable[str], index: int, record: DocumentRecord) -> None:
    for label in labels:
        if not label.strip() or "|" in label or ";" in label or label != label.strip():
            raise ExportError(
                f"{record_name(index, record.external_id)}: the label {label!r} cannot be "
                "written to CSV (empty, surrounding spaces, or holds | or ;)"
            )


def write_sentence_csv(
    records: Iterable[DocumentRecord],
    out: TextSink,
    *,
    include_text: bool = True,
    delimiter: str = ",",
    multi_label: bool = False,
) -> int:
    """Write one row per sentence of each record, in order: ``document_id`` (the project's
    id), ``external_id``, ``start``, ``end`` (character offsets into the document),
    ``text`` (the sentence; left out when ``include_text`` is False), ``label`` (empty
    without a class) or, when ``multi_label``, ``labels`` joined with ``|``, and ``split``.
    Returns how many documents were written (a document without sentences has no row)."""
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    header = ["document_id", "external_id", "start", "end", "text",
              "labels" if multi_label else "label", "split"]
    if not include_text:
        header.remove("text")
    writer.writerow(header)
    count = 0
    for index, record in enumerate(records):
        external_id = record.external_id or ""
        split = record.split.value if record.split is not None else ""
        for sentence in record.sentences:
            _check_labels(sentence.labels, index, record)
            text = record.text[sentence.start:sentence.end]
            check_no_nul(external_id + "|".join(sentence.labels), index, record)
            if include_text:
                check_no_nul(text, index, record)
            doc_id = "" if record.doc_id is None else str(record.doc_id)
            row = [doc_id, external_id, str(sentence.start), str(sentence.end), text,
                   "|".join(sentence.labels), split]
            if not include_text:
                del row[4]
            writer.writerow([escape_cell(cell) for cell in row])
        count += 1
    return count
