"""Patterns and term lists: entity spans found by rules, before (or beside) a model.

Pure and Qt-free; reading pattern files is :mod:`core.formats.patterns`, storing the matches
as suggestions :mod:`core.active.pattern_suggestions`.

Two kinds of pattern, as Prodigy's pattern files write them:

* a :class:`PhrasePattern` (``{"label": "Disease", "pattern": "breast cancer"}``, or a line
  of a term list): the phrase anywhere in the text, ignoring case, on word boundaries (the
  characters just outside the match are not letters or digits where the match's own edge
  characters are: "cancer" is found in "breast cancer." and "X-cancer", not in "cancers").
  White space inside a phrase matches one space exactly. All phrases are looked for at once
  with an Aho-Corasick automaton (``pyahocorasick``), so 10,000 terms cost about what one
  does;
* a :class:`TokenPattern` (``{"label": ..., "pattern": [{"LOWER": "breast"}, {"TEXT":
  "Cancer"}, {"REGEX": "^canc"}]}``): consecutive tokens of :func:`core.words.tokens`, each
  meeting every condition of its spec (:class:`TokenSpec`).

Among overlapping matches the longest wins (then the earlier, then the pattern listed
first); a match that overlaps a span in ``blocked`` (a human label) is never proposed.
"""

from __future__ import annotations

import re
from bisect import bisect_left, insort
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.words import tokens

__all__ = [
    "TOKEN_ATTRIBUTES",
    "Pattern",
    "PatternMatch",
    "PatternMatcher",
    "PhrasePattern",
    "TokenCondition",
    "TokenPattern",
    "TokenSpec",
    "normalise_phrase",
    "terms_from_spans",
]

# The token attributes a token pattern may test (ORTH is spaCy's older name of TEXT).
TOKEN_ATTRIBUTES = ("LOWER", "TEXT", "ORTH", "REGEX")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class PhrasePattern:
    """``phrase`` (matched ignoring case, on word boundaries) is a ``label``."""

    label: str
    phrase: str


@dataclass(frozen=True)
class TokenCondition:
    """One test on a token: its ``attr`` ("text" or "lower") equals ``value``, is one of
    ``values``, or ``regex`` searches it."""

    attr: str
    value: str | None = None
    values: frozenset[str] | None = None
    regex: re.Pattern[str] | None = None

    def holds(self, text: str, lower: str) -> bool:
        s = lower if self.attr == "lower" else text
        if self.regex is not None:
            return self.regex.search(s) is not None
        if self.values is not None:
            return s in self.values
        return s == self.value


@dataclass(frozen=True)
class TokenSpec:
    """The conditions one token must all meet."""

    conditions: tuple[TokenCondition, ...]

    def holds(self, text: str, lower: str) -> bool:
        return all(c.holds(text, lower) for c in self.conditions)

    def literal(self) -> tuple[str, str] | None:
        """``(attr, value)`` of a plain equality, used to index patterns by first token."""
        for c in self.conditions:
            if c.value is not None:
                return c.attr, c.value
        return None


@dataclass(frozen=True)
class TokenPattern:
    """Consecutive tokens, one per spec, are a ``label``."""

    label: str
    tokens: tuple[TokenSpec, ...]


Pattern = PhrasePattern | TokenPattern


@dataclass(frozen=True)
class PatternMatch:
    """``text[start:end]`` is a ``label``, found by the pattern at index ``pattern``."""

    start: int
    end: int
    label: str
    pattern: int


def normalise_phrase(phrase: str) -> str:
    """A phrase as it is matched: trimmed, inner white space one space."""
    return _SPACE.sub(" ", phrase.strip())


def _lower(text: str) -> str:
    """``text.lower()`` with one character for each character, so offsets stay those of
    ``text`` (the few characters whose lower case is longer, e.g. "İ", are kept)."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


class PatternMatcher:
    """All patterns, compiled once; :meth:`find` gives the matches in one text."""

    def __init__(self, patterns: Sequence[Pattern]) -> None:
        import ahocorasick

        self.patterns = tuple(patterns)
        self._automaton: Any = None
        first: dict[str, int] = {}
        for i, p in enumerate(self.patterns):
            if isinstance(p, PhrasePattern):
                key = _lower(normalise_phrase(p.phrase))
                if key:
                    first.setdefault(key, i)  # the same phrase twice: the first label wins
        if first:
            automaton = ahocorasick.Automaton()
            for key, i in first.items():
                automaton.add_word(key, (len(key), i))
            automaton.make_automaton()
            self._automaton = automaton
        # Token patterns by their first token's literal, and those that start with a test.
        self._by_first: dict[tuple[str, str], list[int]] = {}
        self._open: list[int] = []
        for i, p in enumerate(self.patterns):
            if isinstance(p, TokenPattern):
                lit = p.tokens[0].literal()
                if lit is None:
                    self._open.append(i)
                else:
                    self._by_first.setdefault(lit, []).append(i)

    def candidates(self, text: str) -> list[PatternMatch]:
        """Every match in ``text``, overlapping ones included."""
        return [PatternMatch(s, e, self.patterns[i].label, i) for s, e, i in self._raw(text)]

    def _raw(self, text: str) -> list[tuple[int, int, int]]:
        """``(start, end, pattern index)`` of every match (tuples: this is the hot loop)."""
        out: list[tuple[int, int, int]] = []
        if self._automaton is not None:
            n = len(text)
            for last, (length, i) in self._automaton.iter(_lower(text)):
                start, end = last - length + 1, last + 1
                if start > 0 and text[start - 1].isalnum() and text[start].isalnum():
                    continue
                if end < n and text[end].isalnum() and text[end - 1].isalnum():
                    continue
                out.append((start, end, i))
        if self._by_first or self._open:
            out += self._token_candidates(text)
        return out

    def _token_candidates(self, text: str) -> list[tuple[int, int, int]]:
        toks = tokens(text)
        strings = [text[t.start:t.end] for t in toks]
        lowers = [s.lower() for s in strings]
        out: list[tuple[int, int, int]] = []
        for k in range(len(toks)):
            ids = (self._by_first.get(("text", strings[k]), [])
                   + self._by_first.get(("lower", lowers[k]), []) + self._open)
            for i in sorted(set(ids)):
                p = self.patterns[i]
                assert isinstance(p, TokenPattern)
                n = len(p.tokens)
                if k + n <= len(toks) and all(
                    spec.holds(strings[k + j], lowers[k + j]) for j, spec in enumerate(p.tokens)
                ):
                    out.append((toks[k].start, toks[k + n - 1].end, i))
        return out

    def find(
        self, text: str, *, blocked: Iterable[tuple[int, int]] = ()
    ) -> list[PatternMatch]:
        """The matches to propose in ``text``: none overlapping a span of ``blocked``, none
        overlapping each other (the longest wins, then the earlier, then the pattern listed
        first), in text order."""
        found = self._raw(text)
        stops = sorted(blocked)
        if stops:
            found = [m for m in found if not _overlaps_any(stops, m[0], m[1])]
        found.sort(key=lambda m: (m[0] - m[1], m[0], m[2]))
        chosen: list[tuple[int, int]] = []
        kept: list[tuple[int, int, int]] = []
        for start, end, i in found:
            if chosen and _overlaps_sorted(chosen, start, end):
                continue
            insort(chosen, (start, end))
            kept.append((start, end, i))
        kept.sort()
        return [PatternMatch(s, e, self.patterns[i].label, i) for s, e, i in kept]


def _overlaps_any(spans: Sequence[tuple[int, int]], start: int, end: int) -> bool:
    return any(s < end and start < e for s, e in spans)


def _overlaps_sorted(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether ``[start, end)`` overlaps one of ``spans``, disjoint and sorted by start."""
    i = bisect_left(spans, (start, end))
    if i < len(spans) and spans[i][0] < end:
        return True
    return i > 0 and spans[i - 1][1] > start


def terms_from_spans(spans: Iterable[tuple[str, str]]) -> list[PhrasePattern]:
    """A term list from labelled ``(text, label)`` pairs: each distinct text (ignoring case
    and inner white space) once, under the label it carries most often (the first name in
    alphabetical order on a tie); texts without a letter or digit are left out. Sorted by
    label, then term."""
    counts: dict[str, dict[str, int]] = {}
    shown: dict[str, str] = {}
    for text, label in spans:
        phrase = normalise_phrase(text)
        if not any(ch.isalnum() for ch in phrase):
            continue
        key = _lower(phrase)
        shown.setdefault(key, phrase)
        by_label = counts.setdefault(key, {})
        by_label[label] = by_label.get(label, 0) + 1
    out = []
    for key, by_label in counts.items():
        label = min(by_label, key=lambda name: (-by_label[name], name))
        out.append(PhrasePattern(label, shown[key]))
    out.sort(key=lambda p: (p.label, _lower(p.phrase)))
    return out


def token_spec(spec: Mapping[str, Any]) -> TokenSpec:
    """A token spec from its JSON (``{"LOWER": "x"}``, ``{"TEXT": {"REGEX": "^C"}}``,
    ``{"REGEX": "^canc"}``, ``{"LOWER": {"IN": ["a", "b"]}}``). Raises ValueError naming
    what is wrong."""
    if not spec:
        raise ValueError("a token spec is empty: give LOWER, TEXT or REGEX")
    conditions = []
    for key, value in spec.items():
        if key not in TOKEN_ATTRIBUTES:
            raise ValueError(
                f"token attribute {key!r} is not supported (use {', '.join(TOKEN_ATTRIBUTES)})"
            )
        if key == "REGEX":
            conditions.append(TokenCondition("text", regex=_regex(value)))
            continue
        attr = "lower" if key == "LOWER" else "text"
        if isinstance(value, str):
            if not value:
                raise ValueError(f"{key}: an empty string matches no token")
            conditions.append(TokenCondition(attr, value=value))
        elif isinstance(value, dict) and set(value) == {"REGEX"}:
            conditions.append(TokenCondition(attr, regex=_regex(value["REGEX"])))
        elif isinstance(value, dict) and set(value) == {"IN"} and isinstance(value["IN"], list) \
                and value["IN"] and all(isinstance(v, str) and v for v in value["IN"]):
            conditions.append(TokenCondition(attr, values=frozenset(value["IN"])))
        else:
            raise ValueError(
                f"{key}: expected a string, {{\"REGEX\": ...}} or {{\"IN\": [...]}}, "
                f"found {value!r}"
            )
    return TokenSpec(tuple(conditions))


def _regex(value: Any) -> re.Pattern[str]:
    if not isinstance(value, str) or not value:
        raise ValueError(f"REGEX: expected a regular expression, found {value!r}")
    try:
        return re.compile(value)
    except re.error as exc:
        raise ValueError(f"REGEX {value!r} is not a valid regular expression ({exc})") from None
