"""Fixtures of the format tests: the shared corpora and small files written on the fly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from core.errors import InputError

REPO_ROOT = Path(__file__).resolve().parents[3]


def shared_data_dir() -> Path | None:
    """``../shared/data`` beside the repository, or None when it is not there."""
    candidate = (REPO_ROOT / ".." / "shared" / "data").resolve()
    return candidate if candidate.is_dir() else None


@pytest.fixture
def shared_data() -> Path:
    found = shared_data_dir()
    if found is None:
        pytest.skip("the shared corpora (../shared/data) are not available")
    return found


@pytest.fixture
def make_file(tmp_path: Path) -> Callable[[str, str | bytes], Path]:
    """Write a file under tmp_path from text (UTF-8) or bytes and return its path."""

    def make(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        data = content.encode("utf-8") if isinstance(content, str) else content
        path.write_bytes(data)
        return path

    return make


def assert_input_error(exc: InputError, path: Path, line: int | None, *words: str) -> None:
    """The error names the file, the line and says what is wrong."""
    message = str(exc)
    assert path.name in message
    assert exc.line == line, message
    if line is not None:
        assert f"{path.name}:{line}:" in message
    for word in words:
        assert word.lower() in message.lower(), message
