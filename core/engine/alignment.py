"""Pure conversions between character-offset spans, words, BIO tags and sub-words.

Character offsets (Python code points) into the original text are the truth; words and
tags are derived views:

* :func:`split_words` cuts a text into words: runs of non-whitespace characters, further
  split around each punctuation character and at every given span boundary, so that every
  (whitespace-trimmed) span starts at a word start and ends at a word end.
* :func:`spans_to_word_tags` gives each word an IOB2 tag; :func:`word_tags_to_spans`
  turns tags back into spans. For non-overlapping spans whose ends are not whitespace,
  the round trip is exact.
* :func:`first_subword_positions` aligns words with the sub-words of a fast tokenizer
  (its ``word_ids()``): a word's label goes on its first sub-word only, as transformers'
  run_ner does; later sub-words and special tokens get -100.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from core.types import EntitySpan
from core.words import char_kind

OUTSIDE = "O"
IGNORE_INDEX = -100


@dataclass(frozen=True)
class Word:
    """A word: ``text[start:end]``."""

    start: int
    end: int


@dataclass(frozen=True)
class WordTagging:
    """The words of a text, one IOB2 tag per word, and the spans that BIO could not hold."""

    words: tuple[Word, ...]
    tags: tuple[str, ...]
    # Spans left out: empty after trimming whitespace, or overlapping an earlier span.
    dropped: tuple[EntitySpan, ...] = ()


def bio_tags(labels: Sequence[str]) -> tuple[str, ...]:
    """The tag set of entity ``labels``: ``O``, then ``B-x``, ``I-x`` for each label."""
    tags = [OUTSIDE]
    for label in labels:
        tags += [f"B-{label}", f"I-{label}"]
    return tuple(tags)


def trim_span(text: str, span: EntitySpan) -> EntitySpan | None:
    """``span`` without leading/trailing whitespace, or None when nothing is left."""
    start, end = span.start, min(span.end, len(text))
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start >= end:
        return None
    if (start, end) == (span.start, span.end):
        return span
    return EntitySpan(start, end, span.label)


def usable_spans(
    text: str, spans: Iterable[EntitySpan]
) -> tuple[list[EntitySpan], list[EntitySpan]]:
    """Split ``spans`` into (kept, dropped): kept are trimmed, in order, non-overlapping.

    Overlaps are resolved by position: the earliest start wins, then the longest.
    """
    kept: list[EntitySpan] = []
    dropped: list[EntitySpan] = []
    trimmed: list[tuple[EntitySpan, EntitySpan]] = []
    for span in spans:
        t = trim_span(text, span) if span.start < len(text) else None
        if t is None:
            dropped.append(span)
        else:
            trimmed.append((t, span))
    trimmed.sort(key=lambda pair: (pair[0].start, -pair[0].end))
    last_end = -1
    for t, original in trimmed:
        if t.start < last_end:
            dropped.append(original)
        else:
            kept.append(t)
            last_end = t.end
    return kept, dropped


def split_words(text: str, boundaries: Iterable[int] = ()) -> tuple[Word, ...]:
    """Words of ``text``: non-whitespace runs, split around punctuation and at ``boundaries``.

    A combining mark stays with the character before it unless a boundary falls there.
    """
    cuts = set(boundaries)
    words: list[Word] = []
    start: int | None = None
    prev_punct = False
    for i, char in enumerate(text):
        if char.isspace():
            if start is not None:
                words.append(Word(start, i))
                start = None
            continue
        punct, mark = char_kind(char)
        if start is not None and (i in cuts or (not mark and (punct or prev_punct))):
            words.append(Word(start, i))
            start = None
        if start is None:
            start = i
            prev_punct = punct
        elif not mark:
            prev_punct = punct
    if start is not None:
        words.append(Word(start, len(text)))
    return tuple(words)


def spans_to_word_tags(text: str, spans: Iterable[EntitySpan]) -> WordTagging:
    """The words of ``text`` with one IOB2 tag each, from character-offset ``spans``."""
    kept, dropped = usable_spans(text, spans)
    boundaries: list[int] = []
    for span in kept:
        boundaries += [span.start, span.end]
    words = split_words(text, boundaries)
    return WordTagging(words, tag_words(words, kept), tuple(dropped))


def tag_words(words: Sequence[Word], spans: Sequence[EntitySpan]) -> tuple[str, ...]:
    """IOB2 tags of ``words`` for sorted, non-overlapping ``spans`` whose ends are word ends.

    A word is inside a span when it lies wholly within it.
    """
    tags = [OUTSIDE] * len(words)
    j = 0
    for i, word in enumerate(words):
        while j < len(spans) and spans[j].end <= word.start:
            j += 1
        if j < len(spans) and spans[j].start <= word.start and word.end <= spans[j].end:
            prefix = "B" if word.start == spans[j].start else "I"
            tags[i] = f"{prefix}-{spans[j].label}"
    return tuple(tags)


def common_word_tags(
    text: str, gold: Sequence[EntitySpan], predicted: Sequence[EntitySpan]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Gold and predicted tags over one word split cut at both span sets' boundaries.

    Entity-level strict scores over these tags equal exact span matching.
    """
    gold_kept, _ = usable_spans(text, gold)
    pred_kept, _ = usable_spans(text, predicted)
    cuts = [o for s in [*gold_kept, *pred_kept] for o in (s.start, s.end)]
    words = split_words(text, cuts)
    return tag_words(words, gold_kept), tag_words(words, pred_kept)


def word_tags_to_spans(words: Sequence[Word], tags: Sequence[str]) -> list[EntitySpan]:
    """Spans from per-word IOB2 tags. An ``I-x`` that does not continue an ``x`` starts one."""
    if len(words) != len(tags):
        raise ValueError(f"{len(words)} words but {len(tags)} tags")
    return [
        EntitySpan(words[first].start, words[last - 1].end, label)
        for first, last, label in word_tag_groups(tags)
    ]


def word_tag_groups(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """Entity runs in ``tags`` as (first word, last word + 1, label), as word_tags_to_spans."""
    groups: list[tuple[int, int, str]] = []
    for i, tag in enumerate(tags):
        if tag == OUTSIDE or not tag:
            continue
        prefix, _, label = tag.partition("-")
        if prefix == "I" and groups and groups[-1][1] == i and groups[-1][2] == label:
            groups[-1] = (groups[-1][0], i + 1, label)
        else:
            groups.append((i, i + 1, label))
    return groups


def first_subword_positions(word_ids: Sequence[int | None]) -> dict[int, int]:
    """For each word, the position of its first sub-word in ``word_ids`` (a fast
    tokenizer's ``word_ids()``). Words the tokenizer dropped (e.g. only control
    characters) are absent."""
    positions: dict[int, int] = {}
    for pos, wid in enumerate(word_ids):
        if wid is not None and wid not in positions:
            positions[wid] = pos
    return positions
