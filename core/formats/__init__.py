"""Reading and writing labelled documents in common file formats.

Readers turn a file into a list of :class:`~core.types.DocumentRecord` (all or nothing: any
problem raises :class:`~core.errors.InputError` naming the file and line); writers take
records and replace the target file atomically (brat: the target folder). Pure Python: no
Qt, no database.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from core.errors import InputError
from core.formats._common import ExportError, atomic_output, bom_encoding, read_text
from core.formats.brat import BratReport, read_brat, write_brat
from core.formats.conll import parse_conll, write_conll
from core.formats.csv_table import guess_delimiter, parse_csv, write_csv, write_sentence_csv
from core.formats.jsonl import Records, parse_jsonl, suggestions_in, write_jsonl
from core.formats.label_lines import parse_label_lines, write_label_lines
from core.formats.plain_text import TEXT_UNITS, read_text_documents, write_text_documents
from core.formats.squad import parse_squad, write_squad
from core.types import AttributeSpec, DocumentRecord, RelationSpec

__all__ = [
    "FORMATS",
    "TEXT_UNITS",
    "UNITS",
    "BratReport",
    "Declarations",
    "ExportError",
    "Records",
    "guess_format",
    "read_brat",
    "read_file",
    "read_import",
    "suggestions_in",
    "write_file",
]

FORMATS = ("text", "csv", "lines", "jsonl", "conll", "squad", "brat")
# What one exported row is: a document, or (csv) one sentence of a document.
UNITS = ("document", "sentence")

_CONLL_SUFFIXES = (".conll", ".conllu", ".bio", ".iob", ".iob2", ".iobes", ".bilou")
_PEEK_CHARS = 65536
_PEEK_LINES = 200
_TAG_FIELD = re.compile(r"O|[BIESLU]-\S+")
_LABEL_FIELD = re.compile(r"[\w.:|+\-]{1,40}")


def guess_format(path: str | Path) -> str:
    """Tell a file's format from its extension and a look at its first lines.

    A folder is "brat" when it holds .ann files, else "text"; .ann is "brat", and so is a
    .txt with a .ann of the same name beside it; other .txt files are "conll" (token-tag
    lines), "lines" (``<label> <text>`` lines with few distinct labels) or "text"; .csv is
    "csv"; .tsv is "conll" or "csv"; .json/.jsonl is "squad" when it holds
    ``data``/``paragraphs``, else "jsonl"; .conll, .bio, .iob... are "conll". Raises
    InputError for other extensions.
    """
    path = Path(path)
    if path.is_dir():
        return "brat" if _holds_ann(path) else "text"
    suffix = path.suffix.lower()
    if suffix in _CONLL_SUFFIXES:
        return "conll"
    if suffix == ".ann" or (suffix == ".txt" and path.with_suffix(".ann").is_file()):
        return "brat"
    if suffix not in (".txt", ".csv", ".tsv", ".json", ".jsonl", ".ndjson"):
        raise InputError(
            path,
            None,
            f"cannot tell the format from the extension {suffix or '(none)'!r}; "
            f"choose one of {', '.join(FORMATS)} (--format)",
        )
    if suffix == ".csv":
        return "csv"
    head = _peek(path)
    if suffix == ".tsv":
        return "conll" if _looks_like_conll(head) else "csv"
    if suffix in (".json", ".jsonl", ".ndjson"):
        # Anything but SQuAD goes to the jsonl reader, which explains what is wrong.
        if head.lstrip().startswith("{") and '"paragraphs"' in head and '"data"' in head:
            return "squad"
        return "jsonl"
    if _looks_like_conll(head):
        return "conll"
    return "lines" if _looks_like_label_lines(head) else "text"


def _holds_ann(folder: Path) -> bool:
    try:
        return any(p.suffix.lower() == ".ann" and p.is_file() for p in folder.iterdir())
    except OSError as exc:
        raise InputError(folder, None, f"cannot list the folder: {exc.strerror or exc}") from None


def _peek(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            data = handle.read(_PEEK_CHARS)
    except OSError as exc:
        raise InputError(path, None, f"cannot read the file: {exc.strerror or exc}") from None
    # A character cut at the end of the peek is harmless here; the reader checks properly.
    bom = bom_encoding(data)
    if bom is not None:
        return data.decode(bom, errors="ignore")
    return data.decode("utf-8-sig", errors="replace")


def _sample_lines(head: str) -> list[str]:
    lines = head.splitlines()
    if len(head) >= _PEEK_CHARS and lines:
        lines.pop()  # probably cut short
    return [line for line in lines[:_PEEK_LINES] if line.strip()]


def _looks_like_conll(head: str) -> bool:
    lines = [line for line in _sample_lines(head) if not line.startswith("-DOCSTART-")]
    if not lines:
        return False
    for line in lines:
        fields = line.split("\t") if "\t" in line.strip() else line.split()
        if len(fields) < 2 or not _TAG_FIELD.fullmatch(fields[-1].strip()):
            return False
    return True


def _looks_like_label_lines(head: str) -> bool:
    lines = _sample_lines(head)
    if len(lines) < 3:
        return False
    labels = set()
    for line in lines:
        parts = line.split(None, 1)
        if len(parts) < 2 or not _LABEL_FIELD.fullmatch(parts[0]) or line[0].isspace():
            return False
        labels.add(parts[0])
    return len(labels) <= max(2, len(lines) // 4)


def read_file(
    path: str | Path,
    format: str | None = None,
    *,
    text_unit: str = "file",
    encoding: str | None = None,
    attributes: Sequence[AttributeSpec] | None = None,
    discontinuous: str = "refuse",
    skip: Collection[str] = (),
    overlapping: bool = False,
) -> Records:
    """Read every document of a file (or, for "text" and "brat", of a folder).

    ``format`` is one of :data:`FORMATS` (guessed when None); ``text_unit`` ("file",
    "paragraph", "line") applies to "text"; ``encoding`` overrides the UTF-8/UTF-16
    detection. Each record has ``source`` (the file) and ``line`` (1-based, where it starts;
    brat records have none, their errors name the .ann line). ``attributes`` (the project's
    declaration), ``discontinuous``, ``skip`` and ``overlapping`` apply to "brat": see
    :func:`core.formats.brat.read_brat`, which also tells what it joined and skipped.
    A JSONL file's suggestions, never labels, are counted in ``suggestions_left_out``.
    Raises InputError, and returns nothing, if anything is wrong or there is no document.
    """
    path = Path(path)
    if format is None:
        format = guess_format(path)
    if format not in FORMATS:
        raise InputError(path, None, f"unknown format {format!r}: use one of {', '.join(FORMATS)}")
    if format == "text":
        records = read_text_documents(path, text_unit=text_unit, encoding=encoding)
    elif format == "brat":
        records, _ = read_brat(path, encoding=encoding, attributes=attributes,
                               discontinuous=discontinuous, skip=skip,
                               overlapping=overlapping)
    else:
        text = read_text(path, encoding)
        if not text.strip():
            raise InputError(path, None, "no documents: the file is empty")
        if format == "csv":
            records = parse_csv(text, path)
        elif format == "lines":
            records = parse_label_lines(text, path)
        elif format == "jsonl":
            records = parse_jsonl(text, path)
        elif format == "conll":
            records = parse_conll(text, path)
        else:
            records = parse_squad(text, path)
    if not records:
        raise InputError(
            path, None, f"no documents found (the file is empty or holds no {format} records)"
        )
    return records if isinstance(records, Records) else Records(records)


class Declarations(Protocol):
    """What a project declares for its entities that a brat read maps to (its NER task's
    ``core.project.TaskInfo``)."""

    attributes: Sequence[AttributeSpec]
    relations: Sequence[RelationSpec]
    overlapping: bool


def read_import(
    path: str | Path,
    format: str | None = None,
    *,
    ner: Declarations | None,
    text_unit: str = "file",
    encoding: str | None = None,
    discontinuous: str = "refuse",
    skip: Collection[str] = (),
) -> tuple[Records, BratReport | None]:
    """Read a file to import into a project whose entities are declared as ``ner`` (None:
    the project has no entity task), with :func:`read_file`'s options; a brat corpus is read
    with the project's attributes, relation types and overlap rule, and also returns what
    the read joined and skipped (else None). Raises InputError, and returns nothing, if
    anything is wrong or there is no document (a brat refusal an option lifts carries it
    as ``remedy``)."""
    format = format or guess_format(path)
    if format != "brat":
        return read_file(path, format, text_unit=text_unit, encoding=encoding), None
    found, report = read_brat(
        path, encoding=encoding, attributes=ner.attributes if ner is not None else (),
        relations=ner.relations if ner is not None else (), discontinuous=discontinuous,
        skip=skip, overlapping=bool(ner is not None and ner.overlapping))
    if not found:
        raise InputError(path, None, "no documents found (the .txt files are empty)")
    return Records(found), report  # brat's hold no suggestions to leave out


def write_file(
    records: Iterable[DocumentRecord],
    path: str | Path,
    format: str,
    *,
    include_text: bool = True,
    flavor: str | None = None,
    unit: str = "document",
    sentence_multi_label: bool = False,
    suggestions: Mapping[int, Sequence[Any]] | None = None,
    attributes: Sequence[AttributeSpec] | None = None,
) -> int:
    """Write records to ``path`` in ``format`` and return how many documents were written.

    The file is written beside the target and then moved over it, so a failure (raised as
    ExportError) never leaves a half-written file. ``include_text=False`` leaves the text out
    for privacy: jsonl and csv omit the text field (ids, labels and offsets stay), conll
    writes each token as ``*``, squad writes empty contexts and answer texts. ``flavor``
    picks the jsonl shape: "doccano" (default) or "prodigy".

    What each format keeps: text (texts only, blank-line separated), lines (one class and a
    one-line text per document), csv (id, text, classes, split), jsonl (spans, classes,
    sentences, split), conll (spans, as IOB2 tags), squad (questions and answers; unanswered
    questions that are not marked impossible are skipped), brat (``path`` is a folder: a
    .txt and .ann per document with its spans, their attribute values and notes; with
    ``attributes``, the project's declaration, values equal to the default are left out).

    Sentences: jsonl writes every sentence of a record (``"sentences"``, with ``"label"``,
    or ``"labels"`` when ``sentence_multi_label``); ``unit="sentence"`` makes csv write one
    row per sentence (document_id, external_id, start, end, text, label(s), split, and the
    text before and after it, so reading the table back rebuilds the same documents).

    ``suggestions`` (pending suggestions by document id; jsonl only) adds each record's
    ``"suggestions"`` list (:func:`core.formats.jsonl.suggestion_json`), which no reader
    takes for labels.
    """
    path = Path(path)
    if format not in FORMATS:
        raise ExportError(f"unknown format {format!r}: use one of {', '.join(FORMATS)}")
    if flavor is not None and format != "jsonl":
        raise ExportError(f"flavor {flavor!r} applies only to the jsonl format")
    if unit not in UNITS:
        raise ExportError(f"unknown unit {unit!r}: use {' or '.join(UNITS)}")
    if unit == "sentence" and format not in ("csv", "jsonl"):
        raise ExportError(f"one row per sentence applies to csv (and jsonl), not {format}")
    if suggestions is not None and format != "jsonl":
        raise ExportError(f"suggestions are written to jsonl only, not {format}")
    if format == "brat":
        return write_brat(records, path, attributes=attributes, include_text=include_text)
    encoding = "utf-8-sig" if format == "csv" else "utf-8"  # the BOM makes Excel read UTF-8
    with atomic_output(path, encoding=encoding) as out:
        if format == "text":
            return write_text_documents(records, out, include_text=include_text)
        if format == "lines":
            if not include_text:
                raise ExportError("the lines format needs the text; use csv or jsonl")
            return write_label_lines(records, out)
        if format == "csv":
            delimiter = guess_delimiter("", path.suffix.lower())
            if unit == "sentence":
                return write_sentence_csv(records, out, include_text=include_text,
                                          delimiter=delimiter, multi_label=sentence_multi_label)
            return write_csv(records, out, include_text=include_text, delimiter=delimiter)
        if format == "jsonl":
            return write_jsonl(records, out, include_text=include_text, flavor=flavor,
                               sentence_multi_label=sentence_multi_label,
                               suggestions=suggestions)
        if format == "conll":
            return write_conll(records, out, include_text=include_text)
        return write_squad(records, out, include_text=include_text)
