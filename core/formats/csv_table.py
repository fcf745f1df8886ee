"""CSV/TSV tables: a text column, optional label, id and split columns; or a table of
sentences (one row per sentence of a document, as ``write_sentence_csv`` writes it)."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
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
from core.types import DocumentRecord, SentenceLabel, TaskKind

TEXT_COLUMNS = ("text", "sentence", "document", "content")
LABEL_COLUMNS = ("label", "labels", "class", "classes", "category", "categories")
ID_COLUMNS = ("id", "external_id")
SPLIT_COLUMNS = ("split",)
# A header with all of these is a table of sentences: its rows are grouped into documents.
SENTENCE_TABLE_COLUMNS = ("document_id", "start", "end")
# The text around a sentence, so the document's text can be rebuilt: "before" the first
# sentence (on a document's first row) and "after" each one, up to the next or the end.
GAP_COLUMNS = ("before", "after")
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

    A header with ``document_id``, ``start`` and ``end`` is a table of sentences (see
    :func:`parse_sentence_table`): one document per ``document_id``, not per row.
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
    if all(name in names for name in SENTENCE_TABLE_COLUMNS):
        return parse_sentence_table(rows, header, names, path, header_line, delimiter)
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


@dataclass(frozen=True)
class _SentenceRow:
    line: int
    start: int
    end: int
    text: str
    labels: tuple[str, ...]
    before: str
    after: str


def parse_sentence_table(
    rows: Iterator[tuple[int, list[str]]], header: Sequence[str], names: list[str], path: Path,
    header_line: int, delimiter: str,
) -> list[DocumentRecord]:
    """Documents from a table of sentences, the rows after ``header``.

    A document is the rows sharing its ``document_id`` (and ``external_id``), wherever they
    are in the file (a sorted spreadsheet reads the same); a row with neither is a document
    of its own. Its text is rebuilt from its sentences in the order of ``start``: the first
    row's ``before``, then each sentence followed by its ``after``; without those columns,
    the gaps the offsets leave are spaces. The offsets must agree with that text; the
    sentences (with their ``label`` or ``labels``) become the document's segmentation.
    ``document_id`` (the exporting project's id) only groups the rows. A table without the
    text (exported with ``--no-text``) cannot be imported, and says so.
    """
    source = str(path)
    if not any(name in TEXT_COLUMNS for name in names):
        raise InputError(
            path, header_line,
            "this is a table of sentences (columns document_id, start, end) without their "
            "text, as an export with --no-text writes it: the documents cannot be rebuilt "
            "from it; export with the text (or as jsonl) to import it",
        )
    text_col, label_cols, id_col, split_col = _columns(names, path, header_line, delimiter)
    col = {name: i for i, name in enumerate(names)}
    gaps = any(name in col for name in GAP_COLUMNS)
    used = {text_col, *label_cols, id_col, split_col, *(col[n] for n in SENTENCE_TABLE_COLUMNS),
            *(col[n] for n in GAP_COLUMNS if n in col)}
    other = [(i, header[i].strip()) for i in range(len(names)) if i not in used]
    groups: dict[tuple[str, ...], list[_SentenceRow]] = {}
    firsts: dict[tuple[str, ...], tuple[int, str | None, str, dict[str, Any]]] = {}
    for line, row in rows:
        if len(row) != len(names):
            raise InputError(path, line, f"this row has {len(row)} fields but the header has "
                             f"{len(names)}; a cell may be missing, or hold an unquoted "
                             "separator or quote")
        cells = [unescape_cell(cell) for cell in row]
        doc_cell = cells[col["document_id"]].strip()
        external_id = cells[id_col] if id_col is not None and cells[id_col] else None
        key = (doc_cell, external_id or "") if doc_cell or external_id else (f"line {line}",)
        start, end = (_offset(cells[col[n]], n, path, line) for n in ("start", "end"))
        if start >= end:
            raise InputError(path, line, f"the sentence [{start}, {end}) is empty or reversed "
                             "(start >= end)")
        sentence = check_text(cells[text_col], path, line, f"the {header[text_col]!r} cell")
        if len(sentence) != end - start:
            raise InputError(path, line, f"the sentence text is {len(sentence)} characters "
                             f"long but start and end say {end - start} ({start} to {end})")
        labels = tuple(dict.fromkeys(x for c in label_cols for x in _split_labels(cells[c])))
        split_cell = cells[split_col] if split_col is not None else ""
        if key not in firsts:
            meta = {name: cells[i] for i, name in other if cells[i]}
            firsts[key] = (line, external_id, split_cell, meta)
        elif split_cell.strip().lower() != firsts[key][2].strip().lower():
            raise InputError(path, line, f"the split {split_cell!r} differs from "
                             f"{firsts[key][2]!r} on line {firsts[key][0]}, a row of the same "
                             "document: a document is in one split")
        groups.setdefault(key, []).append(_SentenceRow(
            line, start, end, sentence, labels,
            cells[col["before"]] if "before" in col else "",
            cells[col["after"]] if "after" in col else ""))
    records = []
    for key, group in groups.items():
        first_line, external_id, split_cell, meta = firsts[key]
        text, sentences = _rebuild_text(sorted(group, key=lambda r: r.start), gaps, path)
        try:
            split = parse_split(split_cell, path, first_line)
        except InputError as exc:
            raise InputError(path, first_line, f"column 'split': {exc.problem}") from None
        records.append(DocumentRecord(
            text=check_text(text, path, first_line, "the document's text"),
            external_id=external_id, sentences=sentences, split=split, meta=meta,
            source=source, line=first_line,
            labelled_for=(frozenset({TaskKind.SENTENCE}) if any(s.labels for s in sentences)
                          else frozenset()),
        ))
    return records


def _offset(cell: str, column: str, path: Path, line: int) -> int:
    value = cell.strip()
    if not value.isdigit() or not value.isascii():
        raise InputError(path, line, f"column {column!r}: {cell!r} is not a whole number of "
                         "characters from the document's start")
    return int(value)


def _rebuild_text(
    rows: Sequence[_SentenceRow], gaps: bool, path: Path
) -> tuple[str, tuple[SentenceLabel, ...]]:
    """A document's text and sentences from its rows, in the order of their start."""
    parts: list[str] = []
    length = 0
    previous: _SentenceRow | None = None
    for row in rows:
        if previous is not None and row.start < previous.end:
            raise InputError(path, row.line, f"the sentence [{row.start}, {row.end}) overlaps "
                             f"[{previous.start}, {previous.end}) on line {previous.line}, a "
                             "sentence of the same document")
        if gaps:
            gap = (previous.after if previous is not None else "") + row.before
            if length + len(gap) != row.start:
                raise InputError(
                    path, row.line,
                    f"the sentence starts at {row.start}, but the document's text before it "
                    f"(the sentences of its rows above and their 'before' and 'after' cells) "
                    f"is {length + len(gap)} characters long: a row of the document is "
                    "missing, or a cell or an offset was changed")
        else:
            gap = " " * (row.start - length)
        parts += [gap, row.text]
        length = row.end
        previous = row
    if previous is not None:
        parts.append(previous.after)
    sentences = tuple(SentenceLabel(r.start, r.end, r.labels) for r in rows)
    return "".join(parts), sentences


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
    ``text`` (the sentence), ``label`` (empty without a class) or, when ``multi_label``,
    ``labels`` joined with ``|``, ``split``, then ``before`` (on a document's first row: its
    text before the first sentence) and ``after`` (the text after the sentence, up to the
    next one or the end), so that :func:`parse_csv` rebuilds the documents exactly. When
    ``include_text`` is False, text, before and after are left out (such a table cannot be
    imported). Returns how many documents were written (one without sentences has no row)."""
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    header = ["document_id", "external_id", "start", "end", "text",
              "labels" if multi_label else "label", "split", *GAP_COLUMNS]
    if not include_text:
        header = [h for h in header if h not in ("text", *GAP_COLUMNS)]
    writer.writerow(header)
    count = 0
    for index, record in enumerate(records):
        external_id = record.external_id or ""
        split = record.split.value if record.split is not None else ""
        if include_text:
            check_no_nul(record.text, index, record)
        doc_id = "" if record.doc_id is None else str(record.doc_id)
        sentences = record.sentences
        for i, sentence in enumerate(sentences):
            _check_labels(sentence.labels, index, record)
            check_no_nul(external_id + "|".join(sentence.labels), index, record)
            row = [doc_id, external_id, str(sentence.start), str(sentence.end),
                   "|".join(sentence.labels), split]
            if include_text:
                following = sentences[i + 1].start if i + 1 < len(sentences) else None
                row[4:4] = [record.text[sentence.start:sentence.end]]
                row += [record.text[:sentence.start] if i == 0 else "",
                        record.text[sentence.end:following]]
            writer.writerow([escape_cell(cell) for cell in row])
        count += 1
    return count
