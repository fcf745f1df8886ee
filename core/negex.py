"""NegEx (Chapman et al. 2001) for negation and ConText's historical and hypothetical
triggers (Chapman et al. 2007, Harkema et al. 2009) for temporality, for one condition (a
character span) in its sentence: the rules baseline of ``benchmarks/bench_attributes.py``.

The algorithm, as NegEx and ConText describe it (chapmanbe/negex: NegExAlgorithmDescription.md,
ConTextAlgorithmDescription.md; the code here is written for this project):

* The sentence is cut into words and punctuation marks; the condition is one unit (a
  "phrase"), and no trigger is matched inside it.
* Trigger terms are matched case-insensitively on word boundaries, the longest first, so a
  pseudo-trigger ("no increase", "history and physical") takes its words away from the
  trigger inside it ("no", "history") and then does nothing itself.
* A pre-condition trigger (``PREN``; ``PREP`` for NegEx's "possible", e.g. "rule out")
  reaches forward, a post-condition one (``POST``, ``POSP``) backward. Its scope ends at a
  termination term (``CONJ``: "but", "however", ...), at any other trigger (the closest
  trigger governs), and, for negation, at ``:``, ``)`` or ``}`` (as genConText does) and
  after ``negation_window`` words (NegEx's window of five; ``None``: to the end of the
  sentence, as the later NegEx versions and ConText do).
* Temporality: a hypothetical trigger ("if", "return", "should he", ...) in scope makes
  the condition "Not particular"; else a historical one ("history", "known to have",
  "for the past 3 weeks", ...) makes it "Historical"; else it is "Recent". Historical
  one-word triggers (``ONEW``: "prior", "s/p", "status post", "pre-existing") reach
  ``one_word_window`` words; "for the past N weeks / months / years" (``FSTT``) reaches
  both ways; "for the past N days" ends a historical scope, as in genConText.
* NegEx's "possible" (``PREP`` / ``POSP``) counts as "Negated", as NegEx's own evaluation of
  this test set counts it (genConText/evaluation.java).

Trigger terms: copied from chapmanbe/negex (Apache License 2.0, (c) Wendy Chapman and the
NegEx / ConText authors): ``negex.python/negex_triggers.txt`` (negation), ``genConText/
history_triggers.txt`` and ``genConText/hypothetical_triggers.txt`` (temporality), with
three spelling slips of the source corrected ("patinet" for "patient" in "can rule the
patient out for", "can rule the patient out against", "rule the patient out for"). Those
lists were developed by the authors of the NegEx test set, which
``../shared/data/attributes/negex-train.tsv`` is part of: the rules have seen sentences
like these.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

# --- the trigger terms (chapmanbe/negex, Apache-2.0) ---------------------------------------

NEGATION_TERMS: Mapping[str, str] = {
    "PSEU": """no increase|no suspicious change|no significant change|no change|
        no interval change|no definite change|no significant interval change|not extend|
        not cause|not drain|not certain if|not certain whether|gram negative|
        without difficulty|not necessarily|not only""",
    "PREN": """absence of|cannot|cannot see|checked for|declined|declines|denied|denies|
        denying|evaluate for|fails to reveal|free of|negative for|never developed|never had|
        no|no abnormal|no cause of|no complaints of|no evidence|no new evidence|
        no other evidence|no evidence to suggest|no findings of|no findings to indicate|
        no mammographic evidence of|no new|no radiographic evidence of|no sign of|
        no significant|no signs of|no suggestion of|no suspicious|not|not appear|
        not appreciate|not associated with|not complain of|not demonstrate|not exhibit|
        not feel|not had|not have|not know of|not known to have|not reveal|not see|
        not to be|patient was not|rather than|resolved|test for|to exclude|unremarkable for|
        with no|without|without any evidence of|without evidence|without indication of|
        without sign of|rules out|rules him out|rules her out|rules the patient out|
        rules out for|rules him out for|rules her out for|rules the patient out for|
        ruled out|ruled him out|ruled her out|ruled the patient out|ruled out for|
        ruled him out for|ruled her out for|ruled the patient out for|ruled out against|
        ruled him out against|ruled her out against|ruled the patient out against|
        did rule out|did rule out for|did rule out against|did rule him out|did rule her out|
        did rule the patient out|did rule him out for|did rule her out for|
        did rule him out against|did rule her out against|did rule the patient out for|
        did rule the patient out against|can rule out|can rule out for|can rule out against|
        can rule him out|can rule her out|can rule the patient out|can rule him out for|
        can rule her out for|can rule the patient out for|can rule him out against|
        can rule her out against|can rule the patient out against|adequate to rule out|
        adequate to rule him out|adequate to rule her out|adequate to rule the patient out|
        adequate to rule out for|adequate to rule him out for|adequate to rule her out for|
        adequate to rule the patient out for|adequate to rule the patient out against|
        sufficient to rule out|sufficient to rule him out|sufficient to rule her out|
        sufficient to rule the patient out|sufficient to rule out for|
        sufficient to rule him out for|sufficient to rule her out for|
        sufficient to rule the patient out for|sufficient to rule out against|
        sufficient to rule him out against|sufficient to rule her out against|
        sufficient to rule the patient out against""",
    "PREP": """rule out|r/o|ro|rule him out|rule her out|rule the patient out|rule out for|
        rule him out for|rule her out for|rule the patient out for|be ruled out for|
        should be ruled out for|ought to be ruled out for|may be ruled out for|
        might be ruled out for|could be ruled out for|will be ruled out for|
        can be ruled out for|must be ruled out for|is to be ruled out for|
        what must be ruled out is""",
    "POST": """unlikely|free|was ruled out|is ruled out|are ruled out|have been ruled out|
        has been ruled out""",
    "POSP": """did not rule out|not ruled out|not been ruled out|being ruled out|be ruled out|
        should be ruled out|ought to be ruled out|may be ruled out|might be ruled out|
        could be ruled out|will be ruled out|can be ruled out|must be ruled out|
        is to be ruled out""",
    "CONJ": """but|however|nevertheless|yet|though|although|still|aside from|except|
        apart from|secondary to|as the cause of|as the source of|as the reason of|
        as the etiology of|as the origin of|as the cause for|as the source for|
        as the reason for|as the etiology for|as the origin for|as the secondary cause of|
        as the secondary source of|as the secondary reason of|as the secondary etiology of|
        as the secondary origin of|as the secondary cause for|as the secondary source for|
        as the secondary reason for|as the secondary etiology for|
        as the secondary origin for|as a cause of|as a source of|as a reason of|
        as a etiology of|as a cause for|as a source for|as a reason for|as a etiology for|
        as a secondary cause of|as a secondary source of|as a secondary reason of|
        as a secondary etiology of|as a secondary origin of|as a secondary cause for|
        as a secondary source for|as a secondary reason for|as a secondary etiology for|
        as a secondary origin for|as an cause of|as an source of|as an reason of|
        as an etiology of|as an origin of|as an cause for|as an source for|
        as an reason for|as an etiology for|as an origin for|as an secondary cause of|
        as an secondary source of|as an secondary reason of|as an secondary etiology of|
        as an secondary origin of|as an secondary cause for|as an secondary source for|
        as an secondary reason for|as an secondary etiology for|
        as an secondary origin for|cause of|cause for|causes of|causes for|source of|
        source for|sources of|sources for|reason of|reason for|reasons of|reasons for|
        etiology of|etiology for|trigger event for|origin of|origin for|origins of|
        origins for|other possibilities of""",
}

HISTORICAL_TERMS: Mapping[str, str] = {
    "PSEU": """history and physical|history, physical|history taking|poor history|
        history and examination|history of chief complaint|history of present illness|
        social history|clinical history|patient history|day history of|by his wife|
        by her husband|if negative|history from|history, and|history and|know if|
        detailed history""",
    "PREN": "history|known to have|experiences|in the past for",
    "ONEW": "pre-existing|status post|s/p|prior",
    "CONJ": """sudden onset of|presented|presents|presenting|complains|complaining|
        coming in with|comes in with|was found|states|reports|reported|currently|today|
        noted|consistent with|ED|emergency department|recent""",
}

HYPOTHETICAL_TERMS: Mapping[str, str] = {
    "PSEU": "by his wife|by her husband|if negative|know if",
    "PREN": """if|return|returning|should he|should she|call|should there|should the|
        as needed|come back for|come back to|look out for""",
    "CONJ": "diagnosis|patient|who|his|her|patient's|since|because",
}

# genConText's time spans: "for (the past) N weeks / months / years" is a historical
# trigger both ways (FSTT), "for (the past) N days" a termination term of history.
_PERIOD = re.compile(
    r"\b(?:within the (?:last|past)|in the (?:last|past)|for the (?:last|past)"
    r"|over the (?:last|past)|for)(?:\s+[\w.]+){0,5}?\s+(days?|weeks?|months?|years?)\b",
    re.IGNORECASE,
)

PRE = frozenset({"PREN", "PREP", "ONEW", "FSTT"})
POST = frozenset({"POST", "POSP", "FSTT"})
NEGATION_STOPS = frozenset(":)}")  # genConText ends a negation's scope at these marks

# Words (with inner ' / - as in "patient's", "r/o", "pre-existing") and single marks.
_TOKEN = re.compile(r"[^\W_]+(?:['’/-][^\W_]+)*|[^\w\s]|_+")


@dataclass(frozen=True)
class Token:
    start: int
    end: int
    text: str  # lower-cased

    @property
    def is_word(self) -> bool:
        return self.text[0].isalnum()


def tokens(text: str) -> list[Token]:
    """The words and punctuation marks of ``text`` with their character offsets."""
    return [Token(m.start(), m.end(), m.group().lower()) for m in _TOKEN.finditer(text)]


class Lexicon:
    """Trigger terms by tag (``PREN``, ``POST``, ``PREP``, ``POSP``, ``ONEW``, ``PSEU``,
    ``CONJ``), looked up as word sequences, the longest first."""

    def __init__(self, terms: Mapping[str, str], *, periods: bool = False) -> None:
        self.by_words: dict[tuple[str, ...], str] = {}
        for tag, block in terms.items():
            for phrase in block.split("|"):
                words = tuple(t.text for t in tokens(phrase))
                if words:
                    # A phrase listed under two tags keeps the first (none is, today).
                    self.by_words.setdefault(words, tag)
        self.longest = max(map(len, self.by_words))
        self.periods = periods

    def __len__(self) -> int:
        return len(self.by_words)


@dataclass(frozen=True)
class Trigger:
    """A trigger term found in a sentence: its tag, its words and where they start."""

    tag: str
    phrase: str
    start: int


@dataclass(frozen=True)
class _Item:
    kind: Literal["word", "mark", "trigger", "phrase"]
    trigger: Trigger | None = None
    mark: str = ""


def _items(text: str, start: int, end: int, lexicon: Lexicon) -> tuple[list[_Item], int]:
    """The sentence as a list of words, marks, triggers and the condition (one item), and
    the condition's index in it."""
    toks = tokens(text)
    inside = [t.start < end and t.end > start for t in toks]
    claimed: dict[int, Trigger] = {}  # first token index -> trigger
    length: dict[int, int] = {}
    taken = list(inside)
    if lexicon.periods:
        for m in _PERIOD.finditer(text):
            idx = [i for i, t in enumerate(toks) if t.start >= m.start() and t.end <= m.end()]
            if idx and not any(taken[i] for i in idx):
                tag = "CONJ" if m.group(1).lower().startswith("day") else "FSTT"
                claimed[idx[0]] = Trigger(tag, m.group().lower(), toks[idx[0]].start)
                length[idx[0]] = len(idx)
                for i in idx:
                    taken[i] = True
    i = 0
    while i < len(toks):
        if taken[i]:
            i += 1
            continue
        for n in range(min(lexicon.longest, len(toks) - i), 0, -1):
            if any(taken[i:i + n]):
                continue
            words = tuple(t.text for t in toks[i:i + n])
            tag = lexicon.by_words.get(words)
            if tag is not None:
                claimed[i] = Trigger(tag, " ".join(words), toks[i].start)
                length[i] = n
                for k in range(i, i + n):
                    taken[k] = True
                break
        i += 1
    items: list[_Item] = []
    at = -1
    i = 0
    while i < len(toks):
        if inside[i]:
            if at < 0:
                at = len(items)
                items.append(_Item("phrase"))
            i += 1
        elif i in claimed:
            items.append(_Item("trigger", trigger=claimed[i]))
            i += length[i]
        else:
            tok = toks[i]
            items.append(_Item("word") if tok.is_word else _Item("mark", mark=tok.text))
            i += 1
    if at < 0:
        raise ValueError(f"the span [{start}, {end}) holds no word of the text")
    return items, at


def _closest(items: Iterable[_Item], tags: frozenset[str], windows: Mapping[str, int | None],
             stops: frozenset[str]) -> Trigger | None:
    """Walking away from the condition: the first trigger met, if it is one of ``tags``
    and no more than its window of words away; ``None`` at a termination term, another
    trigger, a stop mark, or past every window."""
    longest = None if None in windows.values() else max(w or 0 for w in windows.values())
    words = 0
    for item in items:
        if item.kind == "word":
            words += 1
            if longest is not None and words > longest:
                return None
        elif item.kind == "mark":
            if item.mark in stops:
                return None
        elif item.trigger is not None:
            tag = item.trigger.tag
            if tag in tags:
                window = windows.get(tag)
                return item.trigger if window is None or words <= window else None
            return None  # CONJ, PSEU or a trigger of the other direction ends the scope
    return None


def _find(text: str, start: int, end: int, lexicon: Lexicon,
          windows: Mapping[str, int | None], stops: frozenset[str]) -> Trigger | None:
    items, at = _items(text, start, end, lexicon)
    before = _closest(reversed(items[:at]), PRE, windows, stops)
    if before is not None:
        return before
    return _closest(items[at + 1:], POST, windows, stops)


@dataclass(frozen=True)
class RuleSettings:
    """``negation_window``: words a negation trigger reaches (NegEx: 5; ``None``: to the
    end of the sentence or a termination term); ``one_word_window``: words a historical
    one-word trigger reaches (genConText: 3); ``possible_as_negated``: NegEx's "possible"
    ("rule out") counts as Negated."""

    negation_window: int | None = 5
    one_word_window: int = 3
    possible_as_negated: bool = True

    def __post_init__(self) -> None:
        for name in ("negation_window", "one_word_window"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must be 0 or more, got {value}")


@dataclass(frozen=True)
class Assessment:
    """The rules' values for one condition, and the trigger that decided each (``None``:
    the default value, no trigger in scope)."""

    negation: str
    temporality: str
    negation_trigger: Trigger | None
    temporality_trigger: Trigger | None

    def values(self) -> dict[str, str]:
        return {"negation": self.negation, "temporality": self.temporality}


_LEXICONS: dict[str, Lexicon] = {}


def _lexicon(name: str) -> Lexicon:
    if name not in _LEXICONS:
        terms = {"negation": NEGATION_TERMS, "historical": HISTORICAL_TERMS,
                 "hypothetical": HYPOTHETICAL_TERMS}[name]
        _LEXICONS[name] = Lexicon(terms, periods=name == "historical")
    return _LEXICONS[name]


def assess(text: str, start: int, end: int,
           settings: RuleSettings | None = None) -> Assessment:
    """Negation (Affirmed / Negated) and temporality (Recent / Historical / Not
    particular) of the condition ``text[start:end]`` by the rules."""
    s = settings or RuleSettings()
    if not 0 <= start < end <= len(text):
        raise ValueError(f"bad span [{start}, {end}) for a text of {len(text)} characters")
    neg_windows = {tag: s.negation_window for tag in ("PREN", "POST", "PREP", "POSP")}
    negation = _find(text, start, end, _lexicon("negation"), neg_windows, NEGATION_STOPS)
    negated = negation is not None and (
        negation.tag in ("PREN", "POST") or s.possible_as_negated)
    hypothetical = _find(text, start, end, _lexicon("hypothetical"), {"PREN": None},
                         frozenset())
    historical = None
    if hypothetical is None:
        historical = _find(text, start, end, _lexicon("historical"),
                           {"PREN": None, "FSTT": None, "ONEW": s.one_word_window},
                           frozenset())
    temporality = ("Not particular" if hypothetical is not None
                   else "Historical" if historical is not None else "Recent")
    return Assessment(
        negation="Negated" if negated else "Affirmed",
        temporality=temporality,
        negation_trigger=negation if negated else None,
        temporality_trigger=hypothetical or historical,
    )
