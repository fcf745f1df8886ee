"""UTF-16 ↔ code-point conversions and word snapping (no QApplication needed)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from annotator.app.offsets import (
    Utf16Index,
    code_point_to_utf16,
    display_text,
    snap_to_words,
    utf16_length,
    utf16_to_code_point,
)

SAMPLES = ["", "abc", "a🙂b", "🙂🙂", "e\u0301te\u0301", "診療記録を確認", "line1\r\nline2", "x\U0001F468\u200d\U0001F469y"]
# Pieces that stress the conversion: non-BMP (emoji, CJK extension B), combining accents,
# CJK, CRLF / lone CR, Unicode line separators; mixed with arbitrary characters.
PIECES = ["🙂", "\U00020000", "e\u0301", "\r\n", "\r", "中", "\u2028", " ", "a"]
text_strategy = st.lists(
    st.one_of(st.characters(blacklist_categories=("Cs",)), st.sampled_from(PIECES)), max_size=40
).map("".join)


def test_known_positions() -> None:
    text = "a🙂b"
    assert utf16_length(text) == 4
    assert [code_point_to_utf16(text, i) for i in range(4)] == [0, 1, 3, 4]
    assert utf16_to_code_point(text, 2) == 1  # inside the surrogate pair: start of 🙂
    assert utf16_to_code_point(text, 2, round_up=True) == 2


def test_samples_match_utf16_encoding() -> None:
    for text in SAMPLES:
        for cp in range(len(text) + 1):
            expected = len(text[:cp].encode("utf-16-le")) // 2
            assert code_point_to_utf16(text, cp) == expected


@given(text_strategy)
def test_round_trip_every_position(text: str) -> None:
    index = Utf16Index(text)
    assert index.utf16_len == len(text.encode("utf-16-le")) // 2
    for cp in range(len(text) + 1):
        u16 = index.to_utf16(cp)
        assert u16 == len(text[:cp].encode("utf-16-le")) // 2
        assert index.to_code_point(u16) == cp
        assert index.to_code_point(u16, round_up=True) == cp


@given(text_strategy, st.data())
def test_inside_pair_rounds_to_character(text: str, data: st.DataObject) -> None:
    index = Utf16Index(text)
    u16 = data.draw(st.integers(0, index.utf16_len))
    lo, hi = index.to_code_point(u16), index.to_code_point(u16, round_up=True)
    assert index.to_utf16(lo) <= u16 <= index.to_utf16(hi)
    assert hi - lo in (0, 1)


@given(text_strategy)
def test_display_text_keeps_length(text: str) -> None:
    shown = display_text(text)
    assert len(shown) == len(text)
    assert "\r" not in shown


def test_display_text_matches_qt_document(qapp) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QTextDocument

    for text in SAMPLES:
        doc = QTextDocument()
        doc.setPlainText(display_text(text))
        # QTextDocument ends with one extra block separator.
        assert doc.characterCount() - 1 == utf16_length(text)


def test_snap_to_words() -> None:
    text = "Patient has type 2 diabetes, café."
    assert snap_to_words(text, 14, 20) == (12, 27)  # "ype 2 d" → "type 2 diabetes"
    assert snap_to_words(text, 11, 12) == (12, 12)  # only white space
    s = text.index("caf")
    assert snap_to_words(text, s + 1, s + 2) == (s, s + 4)
    combining = "the cafe\u0301 is"
    assert snap_to_words(combining, 5, 6) == (4, 9)


@given(text_strategy, st.integers(0, 80), st.integers(0, 80))
def test_snap_is_within_text_and_trimmed(text: str, a: int, b: int) -> None:
    s, e = snap_to_words(text, min(a, len(text)), min(b, len(text)))
    assert 0 <= s <= e <= len(text)
    if e > s:
        assert not text[s].isspace() and not text[e - 1].isspace()
