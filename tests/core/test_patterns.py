"""core.patterns: phrase and token patterns, word boundaries, longest match, term lists."""

from __future__ import annotations

import random
import time

import pytest

from core.patterns import (
    PatternMatcher,
    PhrasePattern,
    TokenPattern,
    terms_from_spans,
    token_spec,
)


def _found(matcher: PatternMatcher, text: str, **kw: object) -> list[tuple[str, str]]:
    return [(text[m.start:m.end], m.label) for m in matcher.find(text, **kw)]  # type: ignore[arg-type]


def test_phrases_ignore_case_and_respect_word_boundaries() -> None:
    m = PatternMatcher([PhrasePattern("Disease", "breast cancer"), PhrasePattern("Disease", "cancer")])
    text = "Breast Cancer, cancers and anticancer drugs; (cancer) X-cancer."
    assert _found(m, text) == [
        ("Breast Cancer", "Disease"), ("cancer", "Disease"), ("cancer", "Disease"),
    ]
    starts = [text.index("(cancer") + 1, text.index("X-cancer") + 2]
    assert [x.start for x in m.find(text)][1:] == starts


def test_the_longest_of_overlapping_matches_wins_then_the_earlier_then_the_first_listed() -> None:
    m = PatternMatcher([
        PhrasePattern("A", "renal"), PhrasePattern("B", "renal failure"),
        PhrasePattern("C", "failure"), PhrasePattern("D", "acute renal"),
        PhrasePattern("E", "renal failure"),  # the same phrase again: the first label wins
    ])
    assert _found(m, "acute renal failure") == [("renal failure", "B")]
    assert _found(m, "acute renal") == [("acute renal", "D")]
    # Two of one length overlapping: the earlier.
    m2 = PatternMatcher([PhrasePattern("X", "a b"), PhrasePattern("Y", "b c")])
    assert _found(m2, "a b c") == [("a b", "X")]


def test_no_match_over_a_blocked_span() -> None:
    m = PatternMatcher([PhrasePattern("D", "breast cancer"), PhrasePattern("D", "cancer")])
    text = "breast cancer"
    # The longer one overlaps the human "breast": the shorter one still fits.
    assert _found(m, text, blocked=[(0, 6)]) == [("cancer", "D")]
    assert _found(m, text, blocked=[(0, 13)]) == []


def test_inner_white_space_and_offsets_with_case_changing_characters() -> None:
    m = PatternMatcher([PhrasePattern("D", "  breast \n cancer ")])
    text = "İİ breast cancer and breast  cancer"  # 'İ'.lower() is two characters
    assert [(x.start, x.end) for x in m.find(text)] == [(3, 16)]


def test_token_patterns_over_the_projects_words() -> None:
    m = PatternMatcher([
        TokenPattern("D", (token_spec({"LOWER": "breast"}), token_spec({"TEXT": "Cancer"}))),
        TokenPattern("D", (token_spec({"REGEX": "^[Cc]arcin"}),)),
        TokenPattern("D", (token_spec({"LOWER": {"IN": ["x-ray", "ct"]}}),
                           token_spec({"TEXT": {"REGEX": "^find"}}))),
    ])
    text = "BREAST Cancer, breast cancer, carcinoma; X-ray findings."
    assert _found(m, text) == [
        ("BREAST Cancer", "D"), ("carcinoma", "D"), ("X-ray findings", "D"),
    ]


def test_token_spec_refuses_what_it_cannot_do() -> None:
    for bad, message in [
        ({}, "empty"), ({"POS": "NOUN"}, "not supported"), ({"LOWER": ""}, "empty string"),
        ({"REGEX": "("}, "not a valid regular expression"), ({"TEXT": 3}, "expected a string"),
    ]:
        with pytest.raises(ValueError, match=message):
            token_spec(bad)


def test_terms_from_spans_keep_each_text_once_under_its_most_frequent_label() -> None:
    terms = terms_from_spans([
        ("Asthma", "Disease"), ("asthma", "Disease"), ("asthma", "Symptom"),
        ("breast  cancer", "Disease"), ("(", "Disease"), ("cough", "Symptom"),
    ])
    assert terms == [
        PhrasePattern("Disease", "Asthma"), PhrasePattern("Disease", "breast cancer"),
        PhrasePattern("Symptom", "cough"),
    ]


def test_ten_thousand_terms_over_many_sentences_are_fast() -> None:
    rng = random.Random(0)
    words = [f"w{i}" for i in range(3000)]
    terms = {" ".join(rng.sample(words, rng.randint(1, 3))) for _ in range(10_000)}
    m = PatternMatcher([PhrasePattern("T", t) for t in terms])
    sentences = [" ".join(rng.choices(words, k=25)) for _ in range(5_000)]
    started = time.perf_counter()
    found = sum(len(m.find(s)) for s in sentences)
    assert found > 0
    assert time.perf_counter() - started < 5  # ~0.3 s here; the benchmark measures it
