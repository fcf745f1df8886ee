"""Conversions between the store's offsets (Python code points) and Qt's (UTF-16 units).

The store's character offsets are the one truth for every span; Qt's text widgets count
UTF-16 code units, in which a character outside the Basic Multilingual Plane (emoji, rare
CJK) takes two. Everything here is pure and Qt-free, so it is tested without a QApplication.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field

from core.words import snap_selection


def utf16_length(text: str) -> int:
    """The number of UTF-16 code units of ``text``."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def display_text(text: str) -> str:
    """The text as given to a QTextDocument, with the same length in code points.

    QTextDocument folds ``\\r\\n`` into a single block break, which would shift every later
    offset by one; a CR before LF becomes a space (invisible at a line's end) and a lone CR
    a LF, so code point ``i`` of the stored text stays code point ``i`` on screen.
    """
    return text.replace("\r\n", " \n").replace("\r", "\n")


@dataclass(frozen=True)
class Utf16Index:
    """Fast offset conversion for one text: O(log n) per position.

    ``wide`` holds the code-point positions of the characters that take two UTF-16 units.
    """

    text: str
    wide: tuple[int, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "wide", tuple(i for i, ch in enumerate(self.text) if ord(ch) > 0xFFFF)
        )

    @property
    def utf16_len(self) -> int:
        return len(self.text) + len(self.wide)

    def to_utf16(self, cp: int) -> int:
        """UTF-16 position of code-point position ``cp`` (0 <= cp <= len(text))."""
        if not 0 <= cp <= len(self.text):
            raise ValueError(f"code-point offset {cp} outside [0, {len(self.text)}]")
        return cp + bisect_left(self.wide, cp)

    def to_code_point(self, u16: int, *, round_up: bool = False) -> int:
        """Code-point position of UTF-16 position ``u16``.

        A position inside a surrogate pair (which Qt can report for a half-selected emoji)
        moves to the start of that character, or to its end with ``round_up``.
        """
        if not 0 <= u16 <= self.utf16_len:
            raise ValueError(f"UTF-16 offset {u16} outside [0, {self.utf16_len}]")
        # The number of wide characters starting before code point cp is bisect_left(wide, cp);
        # find the largest cp with cp + that count <= u16.
        lo, hi = 0, min(u16, len(self.text))
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if mid + bisect_left(self.wide, mid) <= u16:
                lo = mid
            else:
                hi = mid - 1
        if round_up and self.to_utf16(lo) != u16:
            return lo + 1
        return lo

    def span_to_utf16(self, start: int, end: int) -> tuple[int, int]:
        return self.to_utf16(start), self.to_utf16(end)

    def span_to_code_points(self, start16: int, end16: int) -> tuple[int, int]:
        """A UTF-16 selection as code points, widened to whole characters."""
        return self.to_code_point(start16), self.to_code_point(end16, round_up=True)


def code_point_to_utf16(text: str, cp: int) -> int:
    """UTF-16 position of code-point position ``cp`` in ``text``."""
    return Utf16Index(text).to_utf16(cp)


def utf16_to_code_point(text: str, u16: int, *, round_up: bool = False) -> int:
    """Code-point position of UTF-16 position ``u16`` in ``text``."""
    return Utf16Index(text).to_code_point(u16, round_up=round_up)


def snap_to_words(
    text: str, start: int, end: int, *, keep_punctuation: bool = False
) -> tuple[int, int]:
    """A selection widened to whole words, white space and edge punctuation trimmed.

    The word boundaries are :mod:`core.words`' (the same the model's suggestions snap to):
    "2.5", "X-ray", "b.i.d." and ``**NAME[...]`` stay whole, a sentence's full stop is left
    out unless ``keep_punctuation`` (a selection made with the keyboard keeps what it covers).
    One that is only white space (or empty) comes back empty, ``(start, start)``.
    """
    return snap_selection(text, start, end, keep_punctuation=keep_punctuation)
