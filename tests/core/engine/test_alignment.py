"""Spans ↔ words ↔ BIO tags ↔ spans, and windowing: pure functions, property-tested."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from core.engine.alignment import (
    OUTSIDE,
    Word,
    common_word_tags,
    first_subword_positions,
    spans_to_word_tags,
    split_words,
    word_tags_to_spans,
)
from core.engine.decoding import (
    allowed_transitions,
    best_answer_span,
    fill_untokenized,
    greedy_decode,
    viterbi_decode,
)
from core.engine.windows import assign_windows, most_central_window, window_bounds
from core.types import EntitySpan

# Text drawn from a mix that stresses offsets: emoji (astral), combining marks, CJK,
# tabs, CRLF, no-break space, zero-width joiner, punctuation.
ALPHABET = st.sampled_from(
    list("ab cd\tef\r\n.,;-()'") + ["😀", "👍", "\U0001f3fd", "\u0301", "\u0308", "中", "文", "\u00a0",
                                    "\u200d", "é", "ß", "İ", "…"]
)
TEXTS = st.text(alphabet=ALPHABET, min_size=0, max_size=60)


@st.composite
def text_and_spans(draw: st.DrawFn) -> tuple[str, list[EntitySpan]]:
    """A text and non-overlapping spans whose first and last characters are not spaces."""
    text = draw(TEXTS)
    cuts = sorted(draw(st.sets(st.integers(0, len(text)), max_size=8)))
    spans: list[EntitySpan] = []
    for a, b in zip(cuts[::2], cuts[1::2]):
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a < b:
            spans.append(EntitySpan(a, b, draw(st.sampled_from(["X", "Y"]))))
    return text, spans


@given(text_and_spans())
@settings(max_examples=300, deadline=None)
def test_spans_words_tags_round_trip_exactly(case: tuple[str, list[EntitySpan]]) -> None:
    text, spans = case
    tagging = spans_to_word_tags(text, spans)
    assert tagging.dropped == ()
    assert word_tags_to_spans(tagging.words, tagging.tags) == spans


@given(TEXTS)
@settings(max_examples=200, deadline=None)
def test_words_cover_all_non_space_characters(text: str) -> None:
    words = split_words(text)
    covered = set()
    for w in words:
        assert 0 <= w.start < w.end <= len(text)
        assert not any(c.isspace() for c in text[w.start:w.end])
        covered.update(range(w.start, w.end))
    assert covered == {i for i, c in enumerate(text) if not c.isspace()}
    assert all(a.end <= b.start for a, b in zip(words, words[1:]))


def test_words_split_at_punctuation_and_span_boundaries() -> None:
    text = "Took aspirin-induced rash.\r\nCOVID19 ok"
    words = split_words(text, boundaries=[33])
    got = [text[w.start:w.end] for w in words]
    assert got == ["Took", "aspirin", "-", "induced", "rash", ".", "COVID", "19", "ok"]


def test_combining_mark_stays_with_its_letter() -> None:
    text = "cafe\u0301, ok"
    assert [text[w.start:w.end] for w in split_words(text)] == ["cafe\u0301", ",", "ok"]


def test_whitespace_is_trimmed_and_overlaps_are_reported() -> None:
    text = "a  bb cc"
    tagging = spans_to_word_tags(
        text, [EntitySpan(2, 6, "X"), EntitySpan(3, 8, "Y"), EntitySpan(1, 3, "Z")]
    )
    # Earliest start wins, then the longest; a blank span is dropped.
    assert word_tags_to_spans(tagging.words, tagging.tags) == [EntitySpan(3, 8, "Y")]
    assert {s.label for s in tagging.dropped} == {"X", "Z"}


def test_adjacent_entities_of_one_label_stay_apart() -> None:
    text = "abcd"
    spans = [EntitySpan(0, 2, "X"), EntitySpan(2, 4, "X")]
    tagging = spans_to_word_tags(text, spans)
    assert tagging.tags == ("B-X", "B-X")
    assert word_tags_to_spans(tagging.words, tagging.tags) == spans


def test_common_word_tags_score_exact_spans() -> None:
    text = "New York City"
    gold = [EntitySpan(0, 13, "LOC")]
    pred = [EntitySpan(0, 8, "LOC")]
    g, p = common_word_tags(text, gold, pred)
    assert g == ("B-LOC", "I-LOC", "I-LOC") and p == ("B-LOC", "I-LOC", OUTSIDE)


def test_first_subword_positions_skip_special_and_later_pieces() -> None:
    assert first_subword_positions([None, 0, 0, 1, 3, 3, None]) == {0: 1, 1: 3, 3: 4}


# --- windows -----------------------------------------------------------------------------


@given(st.integers(0, 3000), st.integers(2, 300), st.data())
@settings(max_examples=300, deadline=None)
def test_windows_cover_every_token_without_gaps(n: int, size: int, data: st.DataObject) -> None:
    stride = data.draw(st.integers(0, size - 1))
    bounds = window_bounds(n, size, stride)
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    for (a, b), (c, d) in zip(bounds, bounds[1:]):
        assert b - a == size and c <= b and c > a and d > b
        assert b - c >= stride
    assert all(0 < b - a <= size for a, b in bounds) or n == 0
    positions = list(range(n))
    chosen = assign_windows(positions, bounds)
    assert chosen == [most_central_window(p, bounds) for p in positions]


def test_most_central_window_prefers_the_middle() -> None:
    bounds = window_bounds(20, 10, 5)  # (0,10) (5,15) (10,20)
    assert bounds == [(0, 10), (5, 15), (10, 20)]
    assert most_central_window(2, bounds) == 0
    assert most_central_window(9, bounds) == 1
    assert most_central_window(11, bounds) == 1
    assert most_central_window(18, bounds) == 2


# --- decoding ----------------------------------------------------------------------------

TAGS = ("O", "B-X", "I-X", "B-Y", "I-Y")


def _valid(seq: list[str]) -> bool:
    prev = OUTSIDE
    for tag in seq:
        if tag.startswith("I-") and prev[2:] != tag[2:]:
            return False
        prev = tag
    return True


@given(st.lists(st.lists(st.floats(-5, 5), min_size=5, max_size=5), max_size=12))
@settings(max_examples=200, deadline=None)
def test_viterbi_output_is_always_valid_bio(rows: list[list[float]]) -> None:
    log_p = np.array(rows, dtype=np.float64).reshape(-1, 5)
    trans, start = allowed_transitions(TAGS)
    best = [TAGS[i] for i in viterbi_decode(log_p, trans, start)]
    assert _valid(best) and len(best) == len(rows)
    greedy = [TAGS[i] for i in greedy_decode(log_p)]
    if _valid(greedy):  # when argmax is already valid, Viterbi agrees with it
        score = lambda seq: sum(log_p[k, TAGS.index(t)] for k, t in enumerate(seq))  # noqa: E731
        assert abs(score(best) - score(greedy)) < 1e-9


def test_viterbi_repairs_an_i_after_o() -> None:
    log_p = np.log(np.array([[0.9, 0.05, 0.05, 0, 0], [0.1, 0.3, 0.6, 0, 0]]) + 1e-12)
    trans, start = allowed_transitions(TAGS)
    assert [TAGS[i] for i in viterbi_decode(log_p, trans, start)] == ["O", "B-X"]
    assert [TAGS[i] for i in greedy_decode(log_p)] == ["O", "I-X"]


def test_words_without_subwords_join_the_entity_around_them() -> None:
    assert fill_untokenized(["B-X", None, "I-X", None, "O"]) == ["B-X", "I-X", "I-X", "O", "O"]


def test_best_answer_span_respects_order_length_and_passage() -> None:
    start = np.array([9.0, 1.0, 5.0, 0.0, 0.0])
    end = np.array([9.0, 4.0, 0.0, 0.0, 6.0])
    allowed = np.array([False, True, True, True, True])
    choice = best_answer_span(start, end, allowed, max_answer_length=30)
    assert (choice.start, choice.end) == (2, 4)
    short = best_answer_span(start, end, allowed, max_answer_length=2)
    assert (short.start, short.end) == (3, 4)
    assert best_answer_span(start, end, np.zeros(5, dtype=bool)) is None


def test_word_is_a_plain_value() -> None:
    assert Word(1, 2) == Word(1, 2)
