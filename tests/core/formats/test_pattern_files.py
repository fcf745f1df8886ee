"""core.formats.patterns: Prodigy pattern files and term lists; every problem named with
the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import InputError
from core.formats.patterns import read_patterns, write_patterns
from core.patterns import PhrasePattern, TokenPattern


def _write(tmp_path: Path, text: str, name: str = "p.jsonl") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_pattern_file_of_phrases_and_token_lists(tmp_path: Path) -> None:
    path = _write(tmp_path, '{"label": "Disease", "pattern": "breast  cancer", "id": "x"}\n\n'
                  '{"label": "Disease", "pattern": [{"LOWER": "renal"}, {"REGEX": "^fail"}]}\n')
    phrase, tokens = read_patterns(path)
    assert phrase == PhrasePattern("Disease", "breast cancer")
    assert isinstance(tokens, TokenPattern) and len(tokens.tokens) == 2


def test_a_term_list_needs_its_label(tmp_path: Path) -> None:
    path = _write(tmp_path, "asthma\n\nBreast cancer \nasthma\nASTHMA\n", "terms.txt")
    assert read_patterns(path, label="Disease") == [
        PhrasePattern("Disease", "asthma"), PhrasePattern("Disease", "Breast cancer"),
    ]
    with pytest.raises(InputError, match="give --label"):
        read_patterns(path)
    jsonl = _write(tmp_path, '{"label": "D", "pattern": "x"}\n')
    with pytest.raises(InputError, match="leave --label out"):
        read_patterns(jsonl, label="D")


@pytest.mark.parametrize("line, problem", [
    ('{"label": "D", "pattern": "x"', "broken JSON"),
    ('["D", "x"]', "expected a JSON object"),
    ('{"pattern": "x"}', '"label" should be a non-empty name'),
    ('{"label": "D"}', 'no "pattern" field'),
    ('{"label": "D", "pattern": "  "}', "empty phrase"),
    ('{"label": "D", "pattern": []}', "empty list of tokens"),
    ('{"label": "D", "pattern": 3}', "should be a phrase or a list"),
    ('{"label": "D", "pattern": ["x"]}', "token 1: expected an object"),
    ('{"label": "D", "pattern": [{"LOWER": "a"}, {"OP": "+"}]}', "token 2: token attribute 'OP'"),
    ('{"label": "D", "pattern": [{"REGEX": "[a"}]}', "not a valid regular expression"),
])
def test_bad_lines_are_named_with_file_and_line(tmp_path: Path, line: str, problem: str) -> None:
    path = _write(tmp_path, '{"label": "D", "pattern": "fine"}\n' + line + "\n")
    with pytest.raises(InputError, match=problem) as info:
        read_patterns(path)
    assert info.value.path == str(path) and info.value.line == 2


def test_an_empty_pattern_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a pattern file"):
        read_patterns(_write(tmp_path, "\n\n"))


def test_written_patterns_read_back(tmp_path: Path) -> None:
    terms = [PhrasePattern("Disease", "asthma"), PhrasePattern("Disease", "Crohn's disease")]
    path = tmp_path / "terms.jsonl"
    assert write_patterns(terms, path) == 2
    assert read_patterns(path) == terms
