"""CoNLL-style token-per-line files with BIO/IOB1/IOBES/BILOU tags in the last column."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from itertools import pairwise
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
from core.types import DocumentRecord, EntitySpan, TaskKind

_TAG = re.compile(r"([BIESLU])-(\S+)")
_TOKEN = re.compile(r"\S+")
PLACEHOLDER_TOKEN = "*"
_NER = frozenset({TaskKind.NER})


def parse_tag(tag: str) -> tuple[str, str | None]:
    """Split a tag into ``(prefix, type)``: ``("O", None)``, ``("B", "Disease")``...
    Raises ValueError for anything else."""
    if tag == "O":
        return "O", None
    match = _TAG.fullmatch(tag)
    if match is None:
        raise ValueError(tag)
    return match.group(1), match.group(2)


def parse_conll(text: str, path: Path) -> list[DocumentRecord]:
    """Parse token-per-line sentences into documents (tokens joined by single spaces).

    The tag is the last column (tab- or space-separated), the token the first. Any
    whitespace-only line ends a sentence; ``-DOCSTART-`` lines are skipped. ``I-X`` after
    ``O`` or after another type starts a new entity, as conlleval does.
    """
    records: list[DocumentRecord] = []
    source = str(path)
    tokens: list[str] = []
    tags: list[tuple[str, str | None]] = []
    first_line = 0

    def flush() -> None:
        if tokens:
            doc_text, spans = _assemble(tokens, tags)
            records.append(
                # Every sentence of a tagged file is labelled, an all-``O`` one included.
                DocumentRecord(
                    text=doc_text, spans=spans, source=source, line=first_line,
                    labelled_for=_NER,
                )
            )
            tokens.clear()
            tags.clear()

    for number, _, line in iter_lines(text):
        if not line.strip():
            flush()
            continue
        if line.split(None, 1)[0] == "-DOCSTART-":
            flush()
            continue
        fields = line.split("\t") if "\t" in line.strip() else line.split()
        token, tag = fields[0].strip(), fields[-1].strip()
        if len(fields) < 2 or not token or not tag:
            raise InputError(
                path,
                number,
                f"expected a token and a tag separated by a tab, found {line[:80]!r}",
            )
        try:
            parsed = parse_tag(tag)
        except ValueError:
            raise InputError(
                path,
                number,
                f"column {len(fields)}: {tag[:80]!r} is not a tag; use O, or B-, I-, E-, S- "
                "followed by the entity type (e.g. B-Disease)",
            ) from None
        if not tokens:
            first_line = number
        tokens.append(token)
        tags.append(parsed)
    flush()
    return records


def _assemble(
    tokens: Sequence[str], tags: Sequence[tuple[str, str | None]]
) -> tuple[str, tuple[EntitySpan, ...]]:
    spans: list[EntitySpan] = []
    pos = 0
    current: tuple[int, int, str] | None = None  # (start, end, type) of the open entity
    for token, (prefix, kind) in zip(tokens, tags, strict=True):
        start, end = pos, pos + len(token)
        pos = end + 1
        continues = current is not None and current[2] == kind and prefix in ("I", "E", "L")
        if continues and current is not None:
            current = (current[0], end, current[2])
        else:
            if current is not None:
                spans.append(EntitySpan(*current))
            current = (start, end, kind) if kind is not None else None
        if prefix in ("E", "L", "S", "U") and current is not None:
            spans.append(EntitySpan(*current))
            current = None
    if current is not None:
        spans.append(EntitySpan(*current))
    return " ".join(tokens), tuple(spans)


def bio_sentences(text: str, spans: Sequence[EntitySpan]) -> list[list[tuple[int, int, str]]]:
    """Tokenize ``text`` for BIO export: ``[(start, end, tag), ...]`` per sentence.

    Tokens are the runs of non-whitespace cut again at every span boundary, so each token
    lies wholly inside or outside every span. Line breaks in the text end a sentence; an
    entity running across one starts again with ``B-``. Whitespace-only spans have no token
    and vanish. Raises ValueError for overlapping or out-of-range spans.
    """
    ordered = sorted(spans, key=lambda s: (s.start, s.end))
    for prev, span in zip(ordered, ordered[1:], strict=False):
        if span.start < prev.end:
            raise ValueError(
                f"spans [{prev.start}, {prev.end}) {prev.label} and [{span.start}, {span.end}) "
                f"{span.label} overlap; BIO tags cannot express that"
            )
    if ordered and ordered[-1].end > len(text):
        raise ValueError(f"a span ends at {ordered[-1].end}, after the text")
    cuts = sorted({b for s in ordered for b in (s.start, s.end)})
    sentences: list[list[tuple[int, int, str]]] = []
    sentence: list[tuple[int, int, str]] = []
    span_index = 0
    cut_index = 0
    previous_end = 0
    previous_span: EntitySpan | None = None
    for match in _TOKEN.finditer(text):
        if sentence and any(ch in LINE_BREAK_CHARS for ch in text[previous_end : match.start()]):
            sentences.append(sentence)
            sentence = []
        previous_end = match.end()
        pieces = [match.start()]
        while cut_index < len(cuts) and cuts[cut_index] <= match.start():
            cut_index += 1
        while cut_index < len(cuts) and cuts[cut_index] < match.end():
            pieces.append(cuts[cut_index])
            cut_index += 1
        pieces.append(match.end())
        for start, end in zip(pieces, pieces[1:], strict=False):
            while span_index < len(ordered) and ordered[span_index].end <= start:
                span_index += 1
            if span_index >= len(ordered) or ordered[span_index].start > start:
                sentence.append((start, end, "O"))
                previous_span = None
                continue
            span = ordered[span_index]
            inside = sentence and previous_span is span
            sentence.append((start, end, f"{'I' if inside else 'B'}-{span.label}"))
            previous_span = span
    if sentence:
        sentences.append(sentence)
    return sentences


def overlapping_pair(spans: Sequence[EntitySpan]) -> tuple[EntitySpan, EntitySpan] | None:
    """Two of ``spans`` that overlap or nest (the earliest such pair in text order), or None."""
    ordered = sorted(spans, key=lambda s: (s.start, s.end))
    for prev, span in pairwise(ordered):
        if span.start < prev.end:  # sorted by start: any overlap shows between neighbours
            return prev, span
    return None


def _refuse_overlaps(records: Sequence[DocumentRecord]) -> None:
    """Refuse, before anything is written, documents whose entities overlap or nest (an
    overlapping task's): BIO gives each token one tag."""
    found = [(i, r, pair) for i, r in enumerate(records)
             if (pair := overlapping_pair(r.spans)) is not None]
    if not found:
        return
    index, record, (a, b) = found[0]

    def shown(span: EntitySpan) -> str:
        return f"[{span.start}, {span.end}) {span.label} {record.text[span.start:span.end]!r}"

    n = len(found)
    raise ExportError(
        "CoNLL (BIO tags, one per token) cannot represent overlapping or nested entities: "
        f"{n} of the {len(records)} document{'s' if len(records) != 1 else ''} to write "
        f"{'has' if n == 1 else 'have'} them, the first {record_name(index, record.external_id)}: "
        f"{shown(a)} and {shown(b)} overlap. Nothing was written; export with --format jsonl "
        "or --format brat, which keep every entity"
    )


def write_conll(
    records: Iterable[DocumentRecord], out: TextSink, *, include_text: bool = True
) -> int:
    """Write ``token<TAB>tag`` lines (IOB2), a blank line after each sentence; see
    :func:`bio_sentences` for the tokenization. Without text every token is written as ``*``.
    Labels must not hold whitespace. Documents without any token are counted but write nothing.
    Documents with overlapping or nested entities are refused, all of them counted and the
    first named, before anything is written."""
    records = list(records)
    _refuse_overlaps(records)
    count = 0
    for index, record in enumerate(records):
        for span in record.spans:
            if not span.label or any(ch.isspace() for ch in span.label):
                raise ExportError(
                    f"{record_name(index, record.external_id)}: the label {span.label!r} "
                    "holds a space, which CoNLL cannot store"
                )
        if include_text:
            check_no_nul(record.text, index, record)
        try:
            sentences = bio_sentences(record.text, record.spans)
        except ValueError as exc:
            raise ExportError(
                f"{record_name(index, record.external_id)}: {exc}; export as jsonl instead"
            ) from None
        for sentence in sentences:
            for start, end, tag in sentence:
                token = record.text[start:end] if include_text else PLACEHOLDER_TOKEN
                out.write(f"{token}\t{tag}\n")
            out.write("\n")
        count += 1
    return count
