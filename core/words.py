"""Word boundaries for spans: where a user's selection and a model's span may start and end.

Pure and Qt-free. A *token* here is what a clinician reads as one word:

* a run of characters that are neither white space nor punctuation (letters, digits,
  symbols such as "°", combining marks);
* joined across inner punctuation where the parts make one word: numbers with decimals,
  thousands, ratios, times and percentages ("2.5", "0.25mg", "1,000", "120/80", "10:30",
  "5%"); hyphenated words ("X-ray", "community-acquired", "COVID-19"); apostrophes between
  letters ("Crohn's"); abbreviations with inner dots, final dot included ("b.i.d.", "e.g.",
  "p.o."); a few titles and Latin abbreviations with their dot ("Dr.", "vs.", "etc.");
* a de-identification placeholder as one piece, bracket and all (``**NAME[AAA, BBB M]``,
  ``**INSTITUTION``, ``**ID-NUM``);
* any other punctuation character on its own (".", ",", "(", ...).

Token boundaries are always boundaries of :func:`core.engine.alignment.split_words` (a token
is a union of its words), so a snapped span can still be tagged word by word.

Snapping (:func:`snap_span`) widens a span to whole tokens and trims white space and the
punctuation tokens at its edges: a sentence's full stop, a comma, a bracket whose partner is
outside the span. Punctuation that belongs to a token (the last dot of "b.i.d.", the bracket of
a placeholder) stays. :func:`snap_selection` is the same for a user's selection, except that a
selection of nothing but punctuation is kept as it is (that one was selected on purpose).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# Words whose following dot is part of them ("Dr. North", "aspirin vs. clopidogrel").
DOTTED_WORDS = frozenset({
    "dr", "mr", "mrs", "ms", "prof", "st", "sr", "jr", "vs", "etc", "approx", "cf", "al",
})
_HYPHENS = "-\u2010\u2011"
_APOSTROPHES = "'\u2019"
_OPENERS = {"(": ")", "[": "]", "{": "}", "\u201c": "\u201d", "\u2018": "\u2019"}
_CLOSERS = {v: k for k, v in _OPENERS.items()}
_PLACEHOLDER = re.compile(r"\*\*[A-Z][A-Z0-9_-]*(?:\[[^\]\n]{0,80}\])?")
_ABBREVIATION_PART = 3  # letters per part of an abbreviation with inner dots ("b.i.d.")
_MARGIN = 200  # characters of context a snap looks at beyond the span


@dataclass(frozen=True)
class Token:
    """A token ``text[start:end]``; ``punctuation`` when it is only punctuation/symbols."""

    start: int
    end: int
    punctuation: bool = False


def is_punctuation(ch: str) -> bool:
    """Punctuation as BERT's basic tokenizer (and so ``core.engine.alignment.split_words``)
    sees it: Unicode punctuation and every ASCII symbol."""
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_mark(ch: str) -> bool:
    return unicodedata.category(ch).startswith("M")


# (punctuation, combining mark) of each character met so far. Words and tokens look at every
# character of every text they cut; a dictionary hit costs less than the Unicode lookups.
_CHAR_KINDS: dict[str, tuple[bool, bool]] = {}


def char_kind(ch: str) -> tuple[bool, bool]:
    """(:func:`is_punctuation`, is a combining mark) of ``ch``, remembered."""
    kind = _CHAR_KINDS.get(ch)
    if kind is None:
        kind = _CHAR_KINDS[ch] = (is_punctuation(ch), _is_mark(ch))
    return kind


def _atoms(text: str) -> list[tuple[int, int, str]]:
    """(start, end, kind) of word runs ("w"), single punctuation characters ("p") and
    placeholders ("x"), in order; white space is left out. A combining mark stays with the
    character before it, as in ``split_words``."""
    atoms: list[tuple[int, int, str]] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch == "*" and (m := _PLACEHOLDER.match(text, i)):
            j, kind = m.end(), "x"
        elif char_kind(ch)[0]:
            j, kind = i + 1, "p"
        else:
            j, kind = i + 1, "w"
            while j < n and not text[j].isspace():
                punct, mark = char_kind(text[j])
                if punct and not mark:
                    break
                j += 1
        while j < n and char_kind(text[j])[1]:
            j += 1
        atoms.append((i, j, kind))
        i = j
    return atoms


def _joins(text: str, left: tuple[int, int, str], mark: str, right: tuple[int, int, str]) -> bool:
    """Whether word atoms ``left`` and ``right`` with the one character ``mark`` between them
    (all adjacent) make one token."""
    a, b = text[left[0]:left[1]], text[right[0]:right[1]]
    if mark in _HYPHENS:
        return True
    if mark in _APOSTROPHES:
        return a[-1].isalpha() and b[0].isalpha()
    digits = a[-1].isdigit() and b[0].isdigit()
    if mark == ",":
        return digits and len(b) == 3 and b.isdigit()  # thousands: "1,000" but not "1,2"
    if mark in "/:":
        return digits
    if mark == ".":
        # "b.i.d", "U.S", "Ph.D" but not a missing space after a full stop ("in.The").
        return digits or (
            _short_alpha(a) and _short_alpha(b) and not (a[0].islower() and b[0].isupper())
        )
    return False


def _short_alpha(word: str) -> bool:
    return word.isalpha() and len(word) <= _ABBREVIATION_PART


def tokens(text: str) -> tuple[Token, ...]:
    """The tokens of ``text`` (see the module docstring), in order."""
    atoms = _atoms(text)
    out: list[Token] = []
    i = 0
    while i < len(atoms):
        start, end, kind = atoms[i]
        j = i + 1
        dotted = False  # joined across an abbreviation's inner dot
        if kind == "w":
            while (
                j + 1 < len(atoms)
                and atoms[j][2] == "p" and atoms[j + 1][2] == "w"
                and atoms[j][0] == end and atoms[j + 1][0] == atoms[j][1]
                and _joins(text, atoms[j - 1], text[atoms[j][0]], atoms[j + 1])
            ):
                if text[atoms[j][0]] == "." and not text[end - 1].isdigit():
                    dotted = True
                end = atoms[j + 1][1]
                j += 2
            if j < len(atoms) and atoms[j][0] == end and atoms[j][2] == "p":
                mark = text[atoms[j][0]]
                word = text[atoms[j - 1][0]:atoms[j - 1][1]]
                if mark == "." and (dotted or (j == i + 1 and word.lower() in DOTTED_WORDS)):
                    end, j = end + 1, j + 1  # "b.i.d." and "Dr." keep their last dot
                elif mark == "%" and word[-1].isdigit():
                    end, j = end + 1, j + 1
        out.append(Token(start, end, kind == "p"))
        i = j
    return tuple(out)


def _tokens_near(text: str, start: int, end: int) -> tuple[Token, ...]:
    """The tokens of ``text`` around ``[start, end)``: those of a stretch reaching at least
    ``_MARGIN`` characters further on both sides, cut at white space. Token rules look at
    neighbouring characters only (a placeholder spans at most ~90), so the tokens near the
    span are the same as :func:`tokens` gives for the whole text; on a long note this keeps
    a snap fast (a mouse move during a drag snaps)."""
    lo, hi = max(0, start - _MARGIN), min(len(text), end + _MARGIN)
    while lo > 0 and not text[lo - 1].isspace():
        lo -= 1
    while hi < len(text) and not text[hi].isspace():
        hi += 1
    if lo == 0 and hi == len(text):
        return tokens(text)
    return tuple(Token(t.start + lo, t.end + lo, t.punctuation) for t in tokens(text[lo:hi]))


def _trim_space(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _covering(toks: Sequence[Token], ends: Sequence[int], start: int, end: int) -> list[Token]:
    """The tokens that share at least one character with ``[start, end)``; ``ends`` are
    the tokens' ends, for bisection."""
    out = []
    for t in toks[bisect_right(ends, start):]:
        if t.start >= end:
            break
        out.append(t)
    return out


def _balanced(text: str, tok: Token, inner: list[Token], *, opening: bool) -> bool:
    """Whether an edge bracket/quote ``tok`` has its partner inside the span ``inner``."""
    ch = text[tok.start:tok.end]
    partner = _OPENERS.get(ch) if opening else _CLOSERS.get(ch)
    if partner is None:
        return False
    return any(text[t.start:t.end] == partner for t in inner)


def snap_span(
    text: str, start: int, end: int, *, keep_punctuation: bool = False
) -> tuple[int, int]:
    """``text[start:end]`` widened to whole tokens, white space and edge punctuation trimmed.

    A span that ends inside a word takes the whole word ("chest X-" -> "chest X-ray",
    "bisoprolol 2" -> "bisoprolol 2.5"); a trailing full stop, comma or bracket whose
    partner is not in the span is dropped ("once daily." -> "once daily"), but not the dot of
    an abbreviation ("b.i.d."). With ``keep_punctuation`` edge punctuation is kept. Returns
    ``(s, s)`` (empty) when nothing but white space, or with the trimming nothing, is left.
    """
    start, end = max(0, min(start, end)), min(len(text), max(start, end))
    toks = _tokens_near(text, start, end)
    return _snap(text, toks, [t.end for t in toks], start, end, keep_punctuation)


def _snap(
    text: str, toks: Sequence[Token], ends: Sequence[int], start: int, end: int,
    keep_punctuation: bool,
) -> tuple[int, int]:
    start, end = max(0, min(start, end)), min(len(text), max(start, end))
    start, end = _trim_space(text, start, end)
    if start >= end:
        return start, start
    covered = _covering(toks, ends, start, end)
    if not covered:
        return start, start
    if not keep_punctuation:
        lo, hi = 0, len(covered)
        while lo < hi and covered[lo].punctuation and not _balanced(
            text, covered[lo], covered[lo + 1:hi], opening=True
        ):
            lo += 1
        while hi > lo and covered[hi - 1].punctuation and not _balanced(
            text, covered[hi - 1], covered[lo:hi - 1], opening=False
        ):
            hi -= 1
        if lo >= hi:
            return start, start
        covered = covered[lo:hi]
    return covered[0].start, covered[-1].end


def snap_selection(
    text: str, start: int, end: int, *, keep_punctuation: bool = False
) -> tuple[int, int]:
    """A user's selection snapped as :func:`snap_span`; one that covers only punctuation is
    taken as it is (widened to whole tokens), since it can only have been meant."""
    s, e = snap_span(text, start, end, keep_punctuation=keep_punctuation)
    if e > s:
        return s, e
    return snap_span(text, start, end, keep_punctuation=True)


def snap_spans(
    text: str,
    spans: Sequence[tuple[int, int, str]],
    *,
    continues: Callable[[str, str, int], bool] | None = None,
    overlapping: bool = False,
) -> list[tuple[int, int, str]]:
    """A model's ``(start, end, label)`` spans as a user would have drawn them.

    Each is snapped with :func:`snap_span` (dropped when nothing is left, e.g. a lone "."). Spans
    of one label that overlap, touch, or have only spaces or tabs between them become one
    entity ("chest X-" + "ray", "renal" + "ultrasound"); a line break keeps them apart. A
    neighbour of another label joins the span before it, taking its label, when
    ``continues(label_before, label, start)`` says so (the decoder asks the model whether the
    word at ``start`` belongs rather to the entity before: "urine" Procedure + "dipstick"
    Medication). Where snapping made spans of different labels overlap, the longer stays (the
    earlier on a tie). Sorted by start; never overlapping (unless ``overlapping``).

    Joining also merges two entities of one label that really are neighbours. In the NER
    data at hand that is rare (adjacent same-label entities: NCBI-disease dev 6 pairs in 787
    entities, WNUT-17 dev 6 in 836), while a model trained on a few notes often tags each
    word of a multi-word name B (it has seen "ultrasound" once, inside "renal ultrasound").

    ``overlapping`` (a task whose entities may overlap and nest): each label is snapped and
    joined on its own, as above, and spans of different labels are all kept, overlapping or
    nested ("left lower lobe" BodySite inside "left lower lobe pneumonia" Condition), even
    on the same extent; ``continues`` is not asked. Sorted by start, then end, then label.
    """
    toks = tokens(text)
    ends = [t.end for t in toks]
    snapped = []
    for start, end, label in spans:
        s, e = _snap(text, toks, ends, start, end, False)
        if e > s:
            snapped.append((s, e, label))
    if overlapping:
        merged: list[tuple[int, int, str]] = []
        for label in dict.fromkeys(lab for _, _, lab in snapped):
            merged += _joined(text, [sp for sp in snapped if sp[2] == label], None)
        return sorted(merged)
    return _joined(text, snapped, continues)


def _joined(text: str, snapped: list[tuple[int, int, str]],
            continues: Callable[[str, str, int], bool] | None) -> list[tuple[int, int, str]]:
    """:func:`snap_spans`' joining of snapped spans (the longer of two labels overlapping)."""
    snapped = sorted(snapped, key=lambda sp: (sp[0], -sp[1]))
    out: list[tuple[int, int, str]] = []
    for s, e, label in snapped:
        if out:
            ps, pe, plabel = out[-1]
            spaced = s >= pe and not text[pe:s].strip(" \t")
            if (plabel == label and (s <= pe or spaced)) or (
                spaced and continues is not None and continues(plabel, label, s)
            ):
                out[-1] = (ps, max(pe, e), plabel)
                continue
            if s < pe:  # different labels, overlapping after snapping
                if e - s > pe - ps:
                    out[-1] = (s, e, label)
                continue
        out.append((s, e, label))
    return out


def move_edge(text: str, start: int, end: int, *, edge: str, step: int) -> tuple[int, int]:
    """``[start, end)`` with one edge moved by one token: ``edge`` is "start" or "end",
    ``step`` -1 (left) or +1 (right).

    Moving an edge is deliberate, so punctuation tokens count ("daily" -> "daily."). The span
    never becomes empty or inside out; at the text's ends, or where a move would empty it, it
    comes back unchanged.
    """
    if edge not in ("start", "end") or step not in (-1, 1):
        raise ValueError(f"edge must be 'start' or 'end' and step -1 or 1, not {edge!r}, {step}")
    moved = _move_edge(_tokens_near(text, start, end), start, end, edge, step)
    if moved == (start, end):  # no token in reach: look at the whole text (rare)
        moved = _move_edge(tokens(text), start, end, edge, step)
    return moved


def _move_edge(
    toks: Sequence[Token], start: int, end: int, edge: str, step: int
) -> tuple[int, int]:
    if edge == "end":
        if step > 0:
            ends = [t.end for t in toks if t.end > end]
            return (start, ends[0]) if ends else (start, end)
        ends = [t.end for t in toks if start < t.end < end]
        return (start, ends[-1]) if ends else (start, end)
    if step < 0:
        starts = [t.start for t in toks if t.start < start]
        return (starts[-1], end) if starts else (start, end)
    starts = [t.start for t in toks if start < t.start < end]
    return (starts[0], end) if starts else (start, end)
