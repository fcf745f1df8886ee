"""Pattern files (Prodigy's JSONL) and plain term lists, read into :mod:`core.patterns`.

    {"label": "Disease", "pattern": "breast cancer"}
    {"label": "Disease", "pattern": [{"LOWER": "breast"}, {"TEXT": {"REGEX": "^[Cc]anc"}}]}

A term list is one term a line, all of one label (given by the caller); blank lines are
skipped. Any problem raises :class:`InputError` with the file, the line and what is wrong,
before anything is used.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from core.errors import InputError
from core.formats._common import atomic_output, iter_lines, kind, loads_json, read_text
from core.patterns import Pattern, PhrasePattern, TokenPattern, normalise_phrase, token_spec

__all__ = ["looks_like_pattern_file", "read_patterns", "write_patterns"]


def looks_like_pattern_file(text: str) -> bool:
    """Whether ``text`` is JSONL (its first line that is not blank is a JSON object)."""
    for _, _, line in iter_lines(text):
        if line.strip():
            return line.lstrip().startswith("{")
    return False


def read_patterns(
    path: str | Path, *, label: str | None = None, encoding: str | None = None
) -> list[Pattern]:
    """The patterns of ``path``: a JSONL pattern file, or, with ``label``, a term list
    (one term a line). A JSONL file given a ``label`` is refused, as is a term list
    without one, so nothing is guessed."""
    path = Path(path)
    text = read_text(path, encoding)
    jsonl = looks_like_pattern_file(text)
    if label is not None:
        if not label.strip():
            raise InputError(path, None, "the label of the term list is empty")
        if jsonl:
            raise InputError(path, None, "this is a pattern file (JSON objects, each with its "
                             "own label): leave --label out, or give a plain term list")
        return _term_list(text, label.strip())
    if not jsonl:
        raise InputError(path, None, "this is not a pattern file (a JSON object a line, "
                         'e.g. {"label": "Disease", "pattern": "breast cancer"}); for a '
                         "term list of one label, give --label LABEL")
    return _pattern_file(text, path)


def _term_list(text: str, label: str) -> list[Pattern]:
    seen: set[str] = set()
    out: list[Pattern] = []
    for _, _, line in iter_lines(text):
        term = normalise_phrase(line)
        if term and term.lower() not in seen:
            seen.add(term.lower())
            out.append(PhrasePattern(label, term))
    return out


def _pattern_file(text: str, path: Path) -> list[Pattern]:
    out: list[Pattern] = []
    for number, _, line in iter_lines(text):
        if not line.strip():
            continue
        obj = loads_json(line, path, number)
        if not isinstance(obj, dict):
            raise InputError(path, number, f"expected a JSON object, found {kind(obj)}")
        label = obj.get("label")
        if not isinstance(label, str) or not label.strip():
            raise InputError(path, number, f'"label" should be a non-empty name, found {label!r}')
        if "pattern" not in obj:
            raise InputError(path, number, 'this pattern has no "pattern" field')
        pattern = obj["pattern"]
        if isinstance(pattern, str):
            phrase = normalise_phrase(pattern)
            if not phrase:
                raise InputError(path, number, '"pattern" is an empty phrase')
            out.append(PhrasePattern(label.strip(), phrase))
        elif isinstance(pattern, list):
            if not pattern:
                raise InputError(path, number, '"pattern" is an empty list of tokens')
            specs = []
            for i, item in enumerate(pattern):
                if not isinstance(item, dict):
                    raise InputError(path, number, f'"pattern" token {i + 1}: expected an '
                                     f"object such as {{\"LOWER\": \"cancer\"}}, found {kind(item)}")
                try:
                    specs.append(token_spec(item))
                except ValueError as exc:
                    raise InputError(path, number, f'"pattern" token {i + 1}: {exc}') from None
            out.append(TokenPattern(label.strip(), tuple(specs)))
        else:
            raise InputError(path, number, '"pattern" should be a phrase or a list of token '
                             f"specs, found {kind(pattern)}")
    if not out:
        raise InputError(path, None, "the pattern file holds no pattern")
    return out


def write_patterns(patterns: Iterable[PhrasePattern], path: str | Path) -> int:
    """Write phrase patterns as a JSONL pattern file (atomically); returns how many."""
    n = 0
    with atomic_output(Path(path), encoding="utf-8") as out:
        for p in patterns:
            out.write(json.dumps({"label": p.label, "pattern": p.phrase}, ensure_ascii=False))
            out.write("\n")
            n += 1
    return n
