"""Sentences of a clinical note, as character offsets into its text.

Pure and Qt-free. :func:`segment` splits a note with a general-purpose segmenter (nupunkt,
chosen by measurement: docs/segmentation.md, benchmarks/bench_segmentation.py), told a few
Latin dosing abbreviations, and then applies rules about the lines of a note
(:func:`apply_line_rules`), which general segmenters do not know:

* a blank line ends a sentence;
* a line break made on purpose ends a sentence, full stop or not ("Lungs clear" on a line of
  its own): one after which the next line's first word would have fitted on the line (a note
  wrapped at a fixed width breaks a line only where the next word does not fit), or after a
  line too long to be a wrapped one;
* a line that starts with a field's label ("Heart: RRR", "HEENT: normal") starts a sentence;
* any other line break is a hard wrap inside a sentence: where the line before it ends
  without a full stop, a split the segmenter made there is undone;
* a heading on a line of its own ("HISTORY OF PRESENT ILLNESS:", "DISCHARGE SUMMARY") is a
  sentence;
* a list item ("1. ...", "2) ...", "a) ...", "- ...") starts a sentence, its marker included
  (never a sentence of its own).

Everything else (abbreviations such as "Dr." and "b.i.d.", decimals such as "2.5 mg",
de-identification placeholders such as ``**NAME[AAA, BBB M]``) is the base segmenter's.

A note's sentences are given as ``(start, end)`` pairs: ``text[start:end]`` has no white space
at either end, the pairs are in order and do not overlap, and together they hold every
character of the text that is not white space.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

BASE = "nupunkt"  # the general segmenter under the line rules (see docs/segmentation.md)
# Latin dosing abbreviations that nupunkt's model lacks (it knows "p.o.", "i.v.", "q.d.",
# "y.o."): without them "2.5 mg b.i.d. p.o." ends a sentence after "b.i.d.".
CLINICAL_ABBREVIATIONS = (
    "b.i.d", "t.i.d", "q.i.d", "q.h.s", "q.a.m", "q.p.m", "q.o.d", "p.r.n",
    *(f"q.{hours}h" for hours in (1, 2, 3, 4, 6, 8, 12, 24)),
)

# A line that is a heading: capitals, digits and a little punctuation, optionally ending with
# a colon; no full stop, no lower case.
_HEADING = re.compile(r"[A-Z][A-Z0-9 ,/&()'+#-]*:?")
_HEADING_WORDS = 6  # a heading without a colon has at most this many words
# A list item's marker at the start of a line, and the white space after it.
_LIST_MARKER = re.compile(r"(?:\d{1,2}[.)]|[a-zA-Z][.)]|\(\d{1,2}\)|[-*\u2022\u2013])[ \t]+(?=\S)")
_TERMINAL = re.compile(r"[.!?][\"'\u201d\u2019)\]]*$")
_WRAP_MAX = 100  # no editor wraps wider than this: a longer line is never a hard-wrapped one
# Room for the white space a wrap swallowed (a run of spaces, two after a full stop).
_WRAP_SLACK = 3
# A note is hard-wrapped when this many lines are within _WRAP_NEAR characters of its width.
_WRAPPED_LINES = 3
_WRAP_NEAR = 12
_USUAL_WIDTH = 72
_MIN_WIDTH = 40  # nobody wraps narrower: shorter lines are lines of their own
# A line that starts with a field's label ("Heart: RRR", "A/P: ...", "HEENT: normal").
_FIELD = re.compile(r"[A-Z][A-Za-z0-9/&+ -]{0,24}:(?:\s|$)")
_CAPS_END = re.compile(r"[A-Z]{2}$")  # a line ending in a word in capitals
_NON_SPACE = re.compile(r"\S")
_WORD = re.compile(r"\S+")


def segment(text: str) -> list[tuple[int, int]]:
    """The sentences of ``text`` as ``(start, end)`` character offsets (see the module
    docstring). Empty or white-space-only text has none."""
    if not text.strip():
        return []
    starts = starts_of(text, base_spans(text))
    return spans_from_starts(text, apply_line_rules(text, starts))


def base_spans(text: str) -> list[tuple[int, int]]:
    """The sentences the base segmenter (:data:`BASE` with :data:`CLINICAL_ABBREVIATIONS`)
    finds, before the line rules."""
    return [(start, end) for start, end in _tokenizer().span_tokenize(text)]


@lru_cache(maxsize=1)
def _tokenizer() -> Any:
    """nupunkt's default model (a JSON file in its wheel, read on the first call) with the
    clinical abbreviations added, in an instance of its own: nupunkt's cached default, which
    other code may use, stays as it is."""
    from nupunkt import PunktSentenceTokenizer
    from nupunkt.models import get_default_model_path

    tokenizer = PunktSentenceTokenizer.load(get_default_model_path())
    tokenizer.add_abbreviations(list(CLINICAL_ABBREVIATIONS))
    return tokenizer


def starts_of(text: str, spans: Iterable[tuple[int, int]]) -> list[int]:
    """Where sentences start: the first character that is not white space of each span (spans
    of only white space give none), plus the first such character of the text."""
    starts: set[int] = set()
    first = _next_non_space(text, 0)
    if first < len(text):
        starts.add(first)
    for start, end in spans:
        i = _next_non_space(text, start)
        if i < min(end, len(text)):
            starts.add(i)
    return sorted(starts)


def spans_from_starts(text: str, starts: Sequence[int]) -> list[tuple[int, int]]:
    """Sentences from their starts (sorted positions of characters that are not white space,
    the first of them the text's first such character): each runs to the last character that
    is not white space before the next start."""
    spans = []
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(text)
        while end > start and text[end - 1].isspace():
            end -= 1
        spans.append((start, end))
    return spans


def spans_from_strings(text: str, pieces: Iterable[str]) -> list[tuple[int, int]]:
    """Offsets into ``text`` of the sentence strings a segmenter returned, in order. White
    space may differ (a segmenter may drop, add or replace it); every other character must be
    ``text``'s, in order, or ``ValueError`` says where they part."""
    spans = []
    i, n = 0, len(text)
    for piece in pieces:
        start = end = -1
        for ch in piece:
            if ch.isspace():
                continue
            i = _next_non_space(text, i)
            if i >= n or text[i] != ch:
                raise ValueError(f"segment {piece[:40]!r} does not match the text at {i}")
            if start < 0:
                start = i
            i += 1
            end = i
        if start >= 0:
            spans.append((start, end))
    return spans


def apply_line_rules(text: str, starts: Sequence[int]) -> list[int]:
    """The sentence starts ``starts`` (sorted, as :func:`starts_of` gives them) after the
    rules about lines of the module docstring."""
    result = set(starts)
    # (index, begin, start, end) of the lines that are not blank
    lines = [(i, *line) for i, line in enumerate(_lines(text)) if line[1] < line[2]]
    width = _wrap_width([e - b for _, b, _, e in lines])
    headings = [_is_heading(text[s:e]) for _, _, s, e in lines]
    for k, (i, b, s, e) in enumerate(lines):
        content = text[s:e]
        wrapped = False  # whether this line continues the one before it (a hard wrap)
        if k == 0:
            result.add(s)
        else:
            pi, pb, ps, pe = lines[k - 1]
            if pi < i - 1 or headings[k - 1]:
                result.add(s)  # a blank line or a heading before
            elif _FIELD.match(content) and not _CAPS_END.search(text[ps:pe]):
                result.add(s)  # a field ("Heart: RRR"), not the wrapped end of a heading
            elif (pe - pb > _WRAP_MAX
                  or pe - pb + 1 + _first_word(text, s, e) + _WRAP_SLACK <= width):
                result.add(s)  # the first word would have fitted on the line before: on purpose
            elif _TERMINAL.search(text[ps:pe]):
                pass  # a full stop before a wrap: the segmenter's decision stands
            else:
                wrapped = True
                result.discard(s)
        if wrapped:
            continue
        marker = _LIST_MARKER.match(content)
        if marker:
            result.add(s)
            result.difference_update(range(s + 1, s + marker.end() + 1))
        elif headings[k]:
            result.add(s)
            result.difference_update(range(s + 1, e))
            after = _next_non_space(text, e)
            if after < len(text):
                result.add(after)
    return sorted(result)


def _next_non_space(text: str, i: int) -> int:
    m = _NON_SPACE.search(text, i)
    return m.start() if m else len(text)


def _lines(text: str) -> list[tuple[int, int, int]]:
    """Each line as (where it begins, where its content begins, where its content ends),
    content without the white space at its ends; a blank line's content is empty."""
    out = []
    pos = 0
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        start = pos + len(line) - len(line.lstrip()) if stripped else pos
        out.append((pos, start, start + len(stripped)))
        pos += len(line)
    return out


def _wrap_width(lengths: list[int]) -> int:
    """The width a note was hard-wrapped at: its longest line that could be a wrapped one
    when a few other lines come close to it; with fewer lines than that, at least the usual
    width (a short note's lines say little about it)."""
    width = max((n for n in lengths if n <= _WRAP_MAX), default=0)
    near = sum(width - _WRAP_NEAR <= n <= width for n in lengths)
    wrapped = near >= _WRAPPED_LINES and width >= _MIN_WIDTH
    return width if wrapped else max(width, _USUAL_WIDTH)


def _first_word(text: str, start: int, end: int) -> int:
    m = _WORD.match(text, start, end)
    return len(m.group()) if m else 0


def _is_heading(line: str) -> bool:
    if not _HEADING.fullmatch(line) or sum(ch.isalpha() for ch in line) < 3:
        return False
    return line.endswith(":") or len(line.split()) <= _HEADING_WORDS
