"""Word boundaries for snapping selections and model spans, on real clinical-style strings.

The sentences come from the shipped demo notes (resources/demo/demo_notes.json) and from the
NegEx training sentences (de-identified discharge summaries and reports).
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from core.engine.alignment import split_words
from core.words import move_edge, snap_selection, snap_span, snap_spans, tokens

DEMO = (
    "Referral letter. Dear colleague, I would be grateful if you could see Patient E (39) "
    "with poorly controlled heart failure despite bisoprolol 2.5 mg once daily. Please "
    "consider a chest X-ray. Also known migraine. Kind regards, Dr. Vale"
)
NEGEX_AGE = (
    "The patient is a **AGE[in 60s]-year-old gentleman who presented to **INSTITUTION   "
    "with complaints of SHORTNESS OF BREATH and was found to have staph   bacteremia."
)
NEGEX_NAME = "PATIENT NAME:  **NAME[AAA, BBB M]  ACCOUNT #:  **ID-NUM   **ROOM"
NEGEX_INR = "RACIC AORTIC ANEURYSM, he has a conservative  goal INR of 2-2.5 for his PE."
NEGEX_ECHO = "Wall Thickness:  1.0 cm (0.7-1.1 cm)      REFERRING DIAGNOSIS: CHEST PAIN"
NEGEX_DR = "EURYSM and underwent a coiling on   **DATE[Jul 20 2007], by Dr. **NAME[ZZZ]."
NEGEX_VITALS = "the patient was AFEBRILE 36.6, heart rate of 55, blood   pressure 122/64"


def words_of(text: str) -> list[str]:
    return [text[t.start:t.end] for t in tokens(text)]


def snapped(text: str, start: int, end: int, **kw: bool) -> str:
    s, e = snap_span(text, start, end, **kw)
    return text[s:e]


def test_numbers_stay_whole() -> None:
    toks = words_of(DEMO)
    assert "2.5" in toks and "2" not in toks
    assert words_of(NEGEX_ECHO)[3:9] == ["1.0", "cm", "(", "0.7-1.1", "cm", ")"]
    assert "2-2.5" in words_of(NEGEX_INR)
    assert words_of(NEGEX_VITALS)[4:6] == ["36.6", ","]  # a comma after a number stays out
    assert "122/64" in words_of(NEGEX_VITALS)
    assert words_of("give 1,000 mg then 0.25mg at 10:30, 5% dextrose; days 1,2") == [
        "give", "1,000", "mg", "then", "0.25mg", "at", "10:30", ",", "5%", "dextrose", ";",
        "days", "1", ",", "2",
    ]


def test_hyphens_abbreviations_and_placeholders() -> None:
    assert "X-ray" in words_of(DEMO)
    assert words_of("community-acquired pneumonia, COVID-19") == [
        "community-acquired", "pneumonia", ",", "COVID-19",
    ]
    assert words_of("metformin 500 mg p.o. b.i.d. e.g. with food") == [
        "metformin", "500", "mg", "p.o.", "b.i.d.", "e.g.", "with", "food",
    ]
    # Titles keep their dot; a full stop after an ordinary word does not.
    assert words_of(DEMO)[-4:] == ["regards", ",", "Dr.", "Vale"]
    assert words_of(NEGEX_DR)[-4:] == ["by", "Dr.", "**NAME[ZZZ]", "."]
    assert words_of(NEGEX_NAME) == [
        "PATIENT", "NAME", ":", "**NAME[AAA, BBB M]", "ACCOUNT", "#", ":", "**ID-NUM", "**ROOM",
    ]
    assert words_of(NEGEX_AGE)[4:8] == ["**AGE[in 60s]", "-", "year-old", "gentleman"]
    assert words_of("CROHN'S disease") == ["CROHN'S", "disease"]
    assert words_of("pain.The next day") == ["pain", ".", "The", "next", "day"]
    assert words_of("seen in.The") == ["seen", "in", ".", "The"]  # not an abbreviation


def test_snap_widens_to_whole_tokens() -> None:
    s = DEMO.index("bisoprolol")
    # The drag of the issue: from "bisoprolol" to just after "2" gives the whole number...
    assert snapped(DEMO, s, s + len("bisoprolol 2")) == "bisoprolol 2.5"
    # ...and one starting after "2" does not begin at ".5".
    d = DEMO.index("2.5")
    assert snapped(DEMO, d + 1, DEMO.index("daily") + 2) == "2.5 mg once daily"
    c = DEMO.index("chest X-")
    assert snapped(DEMO, c, c + len("chest X-")) == "chest X-ray"
    assert snapped(DEMO, c + 7, c + 8) == "X-ray"
    n = NEGEX_NAME.index("BBB")
    assert snapped(NEGEX_NAME, n, n + 2) == "**NAME[AAA, BBB M]"


def test_snap_trims_edge_punctuation_but_not_abbreviation_dots() -> None:
    d = DEMO.index("2.5")
    end = DEMO.index("daily.") + len("daily.")
    assert snapped(DEMO, d, end) == "2.5 mg once daily"
    assert snapped(DEMO, d, end + 1) == "2.5 mg once daily"  # and the space after it
    assert snapped(DEMO, d, end, keep_punctuation=True) == "2.5 mg once daily."
    text = "metformin 500 mg b.i.d."
    assert snapped(text, 10, len(text)) == "500 mg b.i.d."
    p = DEMO.index("(39)")
    assert snapped(DEMO, p, p + 4) == "(39)"  # brackets that pair up stay
    assert snapped(DEMO, p + 1, p + 4) == "39"
    assert snapped(DEMO, p - 1, p + 1) == ""  # only punctuation: nothing for a model span
    v = NEGEX_VITALS.index("36.6")
    assert snapped(NEGEX_VITALS, v, v + 5) == "36.6"
    assert snapped(NEGEX_INR, NEGEX_INR.index("PE"), len(NEGEX_INR)) == "PE"


def test_selection_of_only_punctuation_is_kept() -> None:
    p = DEMO.index("(39)")
    assert snap_selection(DEMO, p, p + 1) == (p, p + 1)
    assert snap_selection(DEMO, 0, 3) == (0, len("Referral"))
    assert snap_selection(DEMO, 8, 9) == (9, 9)  # only white space: empty


PIECES = ["2.5", "X-ray", " ", ".", ",", "b.i.d.", "**NAME[AAA]", "(", ")", "-", "Dr.", "é\u0301", "🙂", "\n"]
text_strategy = st.lists(
    st.one_of(st.characters(blacklist_categories=("Cs",)), st.sampled_from(PIECES)), max_size=30
).map("".join)


@given(text_strategy)
def test_token_boundaries_are_word_boundaries(text: str) -> None:
    """A token is a union of split_words' words, so snapped spans can be tagged per word."""
    words = split_words(text)
    starts, ends = {w.start for w in words}, {w.end for w in words}
    for t in tokens(text):
        assert t.start in starts and t.end in ends, (text, text[t.start:t.end])


@given(text_strategy, st.integers(0, 40), st.integers(0, 40))
def test_snap_is_stable_and_within_text(text: str, a: int, b: int) -> None:
    s, e = snap_span(text, min(a, len(text)), min(b, len(text)))
    assert 0 <= s <= e <= len(text)
    if e > s:
        assert not text[s].isspace() and not text[e - 1].isspace()
        assert snap_span(text, s, e) == (s, e)


def test_move_edge_by_one_token() -> None:
    s = DEMO.index("2.5")
    e = s + len("2.5 mg")
    grow = move_edge(DEMO, s, e, edge="end", step=1)
    assert DEMO[slice(*grow)] == "2.5 mg once"
    daily = DEMO.index("daily") + 5
    assert DEMO[slice(*move_edge(DEMO, s, daily, edge="end", step=1))] == "2.5 mg once daily."
    assert DEMO[slice(*move_edge(DEMO, s, e, edge="end", step=-1))] == "2.5"
    assert move_edge(DEMO, s, s + 3, edge="end", step=-1) == (s, s + 3)  # would be empty
    assert DEMO[slice(*move_edge(DEMO, s, e, edge="start", step=-1))] == "bisoprolol 2.5 mg"
    assert DEMO[slice(*move_edge(DEMO, s, e, edge="start", step=1))] == "mg"
    assert move_edge(DEMO, 0, 8, edge="start", step=-1) == (0, 8)  # at the text's start
    n = len(DEMO)
    assert move_edge(DEMO, n - 4, n, edge="end", step=1) == (n - 4, n)


def test_snap_spans_joins_and_resolves_overlaps() -> None:
    c = DEMO.index("chest")
    x = DEMO.index("X-ray")
    # "chest X-" and "ray" (a B tag after the hyphen) are one Procedure.
    pieces = [(c, x + 2, "Procedure"), (x + 2, x + 5, "Procedure")]
    assert snap_spans(DEMO, pieces) == [(c, x + 5, "Procedure")]
    # Neighbours with only a space between join, never across a line or punctuation.
    text = "renal ultrasound\nCOPD, asthma"
    two = [(0, 5, "Procedure"), (6, 16, "Procedure")]
    assert snap_spans(text, two) == [(0, 16, "Procedure")]
    assert snap_spans(text, [(17, 21, "Disease"), (23, 29, "Disease")]) == [
        (17, 21, "Disease"), (23, 29, "Disease"),
    ]
    assert snap_spans(text, [(6, 16, "Procedure"), (17, 21, "Procedure")]) == [
        (6, 16, "Procedure"), (17, 21, "Procedure"),
    ]
    # A neighbour of another label joins only when ``continues`` says so, under the first label.
    text = "urine dipstick booked. Continue metformin 500 mg"
    pieces = [(0, 5, "Procedure"), (6, 14, "Medication"), (32, 41, "Medication"),
              (42, 48, "Dosage")]
    assert snap_spans(text, pieces) == pieces
    asked = []

    def continues(before: str, label: str, start: int) -> bool:
        asked.append((before, label, text[start:start + 3]))
        return label == "Medication"

    assert snap_spans(text, pieces, continues=continues) == [
        (0, 14, "Procedure"), (32, 41, "Medication"), (42, 48, "Dosage"),
    ]
    assert asked == [("Procedure", "Medication", "dip"), ("Medication", "Dosage", "500")]
    # Different labels overlapping after snapping: the longer stays.
    assert snap_spans(DEMO, [(c, x + 1, "Procedure"), (x + 2, x + 5, "Disease")]) == [
        (c, x + 5, "Procedure"),
    ]
    assert snap_spans(DEMO, [(x + 4, x + 6, "Disease")]) == [(x, x + 5, "Disease")]


@given(text_strategy, st.integers(0, 40), st.integers(0, 40), st.integers(0, 3))
def test_snapping_near_a_span_sees_the_tokens_of_the_whole_text(
    text: str, a: int, b: int, pad: int
) -> None:
    """The snap looks only at the text around the span; padding the text far away (beyond the
    context it reads) must not change the result."""
    far = ("x " * 150 + "**NAME[A B] ") * pad
    s, e = min(a, len(text)), min(b, len(text))
    alone = snap_span(text, s, e)
    padded = snap_span(far + text + " " + far, s + len(far), e + len(far))
    assert padded == (alone[0] + len(far), alone[1] + len(far))
    for edge in ("start", "end"):
        for step in (-1, 1):
            lo, hi = sorted((s, e))
            if hi > lo:
                moved = move_edge(text, lo, hi, edge=edge, step=step)
                padded_move = move_edge(far + text + " " + far, lo + len(far), hi + len(far),
                                        edge=edge, step=step)
                if moved != (lo, hi):  # (unmoved at the text's ends, where padding has words)
                    assert padded_move == (moved[0] + len(far), moved[1] + len(far))
