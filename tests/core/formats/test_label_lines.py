"""``<label> <text>`` lines (SST-2, TREC)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from core.errors import InputError
from core.formats import ExportError, guess_format, read_file, write_file
from core.types import DocumentRecord

from .conftest import assert_input_error

MakeFile = Callable[[str, "str | bytes"], Path]


def test_reads_label_and_text_verbatim(make_file: MakeFile) -> None:
    path = make_file("a.txt", "1 good film\n\n0 bad  film \r\nNEG\ttabbed\n")
    records = read_file(path, "lines")
    assert [(r.classes, r.text, r.line) for r in records] == [
        (("1",), "good film", 1),
        (("0",), "bad  film ", 3),
        (("NEG",), "tabbed", 4),
    ]


def test_label_without_text(make_file: MakeFile) -> None:
    path = make_file("bad.txt", "1 fine\n0 also fine\n1\n")
    with pytest.raises(InputError) as info:
        read_file(path, "lines")
    assert_input_error(info.value, path, 3, "label, a space and the text")


def test_guess_tells_label_lines_from_prose(make_file: MakeFile) -> None:
    lines = make_file("l.txt", "".join(f"{i % 3} sentence number {i}\n" for i in range(20)))
    prose = make_file("p.txt", "The patient came in.\nShe had a fever.\nWe gave fluids.\n")
    short = make_file("s.txt", "1 one line only\n")
    assert [guess_format(p) for p in (lines, prose, short)] == ["lines", "text", "text"]


def test_write(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    records = [
        DocumentRecord(text="good", classes=("POS",)),
        DocumentRecord(text=" x", classes=("0",)),
    ]
    assert write_file(records, out, "lines") == 2
    assert out.read_text(encoding="utf-8") == "POS good\n0  x\n"
    assert [(r.text, r.classes) for r in read_file(out, "lines")] == [
        ("good", ("POS",)),
        (" x", ("0",)),
    ]


@pytest.mark.parametrize(
    ("record", "words"),
    [
        (DocumentRecord(text="a"), "0 labels"),
        (DocumentRecord(text="a", classes=("x", "y")), "2 labels"),
        (DocumentRecord(text="a\nb", classes=("x",)), "several lines"),
        (DocumentRecord(text="a", classes=("x y",)), "space"),
    ],
)
def test_write_rejects_what_a_line_cannot_hold(
    tmp_path: Path, record: DocumentRecord, words: str
) -> None:
    with pytest.raises(ExportError, match=words):
        write_file([DocumentRecord(text="ok", classes=("1",)), record], tmp_path / "o.txt", "lines")
    assert list(tmp_path.iterdir()) == []
