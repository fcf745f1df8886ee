"""Plain text: per file, paragraph or line; folders of .txt files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from core.errors import InputError
from core.formats import ExportError, guess_format, read_file, write_file
from core.types import DocumentRecord

from .conftest import assert_input_error

MakeFile = Callable[[str, "str | bytes"], Path]
NOTE = "First para\r\nstill first.\n\n  \nSecond.\n\n\nThird\n"


def test_whole_file_is_kept_verbatim(make_file: MakeFile) -> None:
    path = make_file("note.txt", NOTE)
    [record] = read_file(path)
    assert (record.text, record.line, record.source) == (NOTE, 1, str(path))


def test_paragraphs(make_file: MakeFile) -> None:
    records = read_file(make_file("note.txt", NOTE), "text", text_unit="paragraph")
    assert [(r.text, r.line) for r in records] == [
        ("First para\r\nstill first.", 1),
        ("Second.", 5),
        ("Third", 8),
    ]


def test_lines(make_file: MakeFile) -> None:
    records = read_file(make_file("note.txt", NOTE), "text", text_unit="line")
    assert [(r.text, r.line) for r in records] == [
        ("First para", 1),
        ("still first.", 2),
        ("Second.", 5),
        ("Third", 8),
    ]


def test_unknown_text_unit(make_file: MakeFile) -> None:
    with pytest.raises(InputError, match="sentence"):
        read_file(make_file("note.txt", NOTE), "text", text_unit="sentence")


def test_folder_reads_every_txt_sorted(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_text("bee", encoding="utf-8")
    (tmp_path / "a.txt").write_text("ay", encoding="utf-8")
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    (tmp_path / "skip.csv").write_text("text\nx\n", encoding="utf-8")
    assert guess_format(tmp_path) == "text"
    records = read_file(tmp_path)
    assert [(r.text, Path(r.source or "").name) for r in records] == [
        ("ay", "a.txt"),
        ("bee", "b.txt"),
    ]


def test_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no .txt files"):
        read_file(tmp_path)


def test_blank_file_is_no_documents(make_file: MakeFile) -> None:
    path = make_file("blank.txt", " \n\n")
    with pytest.raises(InputError) as info:
        read_file(path, "text")
    assert_input_error(info.value, path, None, "no documents")


def test_huge_single_line(make_file: MakeFile) -> None:
    text = "x" * 5_000_000
    [record] = read_file(make_file("big.txt", text), "text", text_unit="line")
    assert len(record.text) == 5_000_000


def test_write_paragraphs_and_read_back(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    assert (
        write_file([DocumentRecord(text="one\ntwo"), DocumentRecord(text="three")], out, "text")
        == 2
    )
    assert out.read_text(encoding="utf-8") == "one\ntwo\n\nthree\n\n"
    assert [r.text for r in read_file(out, "text", text_unit="paragraph")] == ["one\ntwo", "three"]
    with pytest.raises(ExportError):
        write_file([DocumentRecord(text="x")], out, "text", include_text=False)
