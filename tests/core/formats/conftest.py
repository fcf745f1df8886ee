"""Fixtures of the format tests: small files written on the fly (the shared corpora come
from ``shared_data`` in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from core.errors import InputError


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
