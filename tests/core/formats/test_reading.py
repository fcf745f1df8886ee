"""What every reader shares: decoding, binary and empty files, format guessing, safe writing."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from core.errors import InputError
from core.formats import FORMATS, ExportError, guess_format, read_file, write_file
from core.types import DocumentRecord

from .conftest import assert_input_error

MakeFile = Callable[[str, "str | bytes"], Path]

# One small valid file per format, with the extension that lets guess_format find it.
SAMPLES = {
    "text": ("note.txt", "Patient is well.\n"),
    "csv": ("t.csv", "text,label\nPatient is well.,ok\n"),
    "lines": ("l.txt", "ok Patient is well.\nok fine\nbad not fine\nok again\n"),
    "jsonl": ("d.jsonl", '{"text": "Patient is well.", "label": ["ok"]}\n'),
    "conll": ("c.conll", "Patient\tO\nis\tO\nwell\tB-State\n.\tO\n"),
    "squad": (
        "s.json",
        '{"data": [{"title": "t", "paragraphs": [{"context": "Patient is well.", '
        '"qas": [{"id": "1", "question": "How?", '
        '"answers": [{"text": "well", "answer_start": 11}]}]}]}]}',
    ),
}


# brat is pairs of files (name.txt + name.ann): tests/core/formats/test_brat.py.
FILE_FORMATS = tuple(f for f in FORMATS if f != "brat")


def test_formats_constant() -> None:
    assert FORMATS == ("text", "csv", "lines", "jsonl", "conll", "squad", "brat")
    assert set(SAMPLES) == set(FILE_FORMATS)


@pytest.mark.parametrize("fmt", FILE_FORMATS)
def test_guess_and_read_each_sample(make_file: MakeFile, fmt: str) -> None:
    path = make_file(*SAMPLES[fmt])
    assert guess_format(path) == fmt
    records = read_file(path)
    assert records and all(r.source == str(path) and r.line is not None for r in records)
    assert "Patient" in records[0].text


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("a.tsv", "text\tlabel\nhello\tx\n", "csv"),
        ("a.tsv", "hello\tO\nworld\tB-X\n\nbye\tO\n", "conll"),
        ("a.txt", "-DOCSTART- -X- O O\n\nEU\tB-ORG\nrejects\tO\n", "conll"),
        ("a.iob", "anything", "conll"),
        ("a.json", '[{"data": {"text": "x"}}]', "jsonl"),
        ("a.json", '{"text": "x"}\n{"text": "y"}\n', "jsonl"),
        ("a.jsonl", '{"version": "v2.0", "data": [{"paragraphs": []}]}', "squad"),
        ("a.json", "", "jsonl"),
    ],
)
def test_guess_format(make_file: MakeFile, name: str, content: str, expected: str) -> None:
    assert guess_format(make_file(name, content)) == expected


def test_guess_format_unknown_extension(make_file: MakeFile) -> None:
    path = make_file("notes.docx", "PK...")
    with pytest.raises(InputError) as info:
        guess_format(path)
    assert_input_error(info.value, path, None, ".docx", "--format")


def test_unknown_format_name(make_file: MakeFile) -> None:
    with pytest.raises(InputError, match="unknown format 'xml'"):
        read_file(make_file("a.txt", "x"), "xml")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    with pytest.raises(InputError) as info:
        read_file(path, "csv")
    assert_input_error(info.value, path, None, "not found")


def test_folder_for_a_file_format(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="folder"):
        read_file(tmp_path, "csv")


@pytest.mark.parametrize("fmt", FILE_FORMATS)
def test_empty_file_is_no_documents(make_file: MakeFile, fmt: str) -> None:
    path = make_file("empty" + Path(SAMPLES[fmt][0]).suffix, b"")
    with pytest.raises(InputError) as info:
        read_file(path, fmt)
    assert_input_error(info.value, path, None, "no documents")


@pytest.mark.parametrize("fmt", FILE_FORMATS)
def test_binary_junk(make_file: MakeFile, fmt: str) -> None:
    path = make_file("junk" + Path(SAMPLES[fmt][0]).suffix, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(InputError) as info:
        read_file(path, fmt)
    assert_input_error(info.value, path, 3, "binary file")  # NUL after two line ends


@pytest.mark.parametrize("fmt", FILE_FORMATS)
def test_wrong_encoding_names_line_column_and_byte(make_file: MakeFile, fmt: str) -> None:
    name, content = SAMPLES[fmt]
    good = content.replace("Patient", "Patiënt", 1).encode("cp1252")
    path = make_file(name, good)
    with pytest.raises(InputError) as info:
        read_file(path, fmt)
    line = 2 if fmt == "csv" else 1
    assert_input_error(info.value, path, line, "byte 0xeb", "--encoding latin-1", "column")
    records = read_file(path, fmt, encoding="cp1252")
    assert "Patiënt" in records[0].text


@pytest.mark.parametrize("codec", ["utf-8-sig", "utf-16", "utf-16-be", "utf-32"])
@pytest.mark.parametrize("fmt", FILE_FORMATS)
def test_byte_order_marks(make_file: MakeFile, fmt: str, codec: str) -> None:
    name, content = SAMPLES[fmt]
    data = content.encode(codec)
    if codec == "utf-16-be":
        data = b"\xfe\xff" + data
    path = make_file(name, data)
    assert guess_format(path) == fmt
    assert read_file(path)[0].text.startswith("Patient")


def test_unknown_encoding_name(make_file: MakeFile) -> None:
    with pytest.raises(InputError, match="unknown encoding"):
        read_file(make_file("a.txt", "x"), "text", encoding="klingon")


def test_utf16_without_bom_needs_the_encoding(make_file: MakeFile) -> None:
    path = make_file("a.txt", "hello\n".encode("utf-16-le"))
    with pytest.raises(InputError, match="--encoding utf-16"):
        read_file(path)
    assert read_file(path, encoding="utf-16-le")[0].text == "hello\n"


def test_write_replaces_atomically_and_keeps_the_old_file_on_error(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("old\n", encoding="utf-8")
    os.chmod(out, 0o640)

    def records() -> object:
        yield DocumentRecord(text="one", classes=("a",))
        raise RuntimeError("store went away")

    with pytest.raises(RuntimeError):
        write_file(records(), out, "jsonl")  # type: ignore[arg-type]
    assert out.read_text(encoding="utf-8") == "old\n"
    assert list(tmp_path.iterdir()) == [out]
    assert write_file([DocumentRecord(text="new")], out, "jsonl") == 1
    assert out.read_text(encoding="utf-8") == '{"text": "new", "label": []}\n'
    assert list(tmp_path.iterdir()) == [out]
    assert stat.S_IMODE(out.stat().st_mode) & 0o600 == 0o600


def test_write_into_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="cannot write"):
        write_file([DocumentRecord(text="x")], tmp_path / "no" / "out.jsonl", "jsonl")


def test_write_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="unknown format"):
        write_file([DocumentRecord(text="x")], tmp_path / "out.xml", "xml")


def test_broken_utf16(make_file: MakeFile) -> None:
    path = make_file("a.txt", b"\xff\xfea\x00\x00\xd8")  # cut after half a surrogate pair
    with pytest.raises(InputError) as info:
        read_file(path)
    assert_input_error(info.value, path, None, "byte offset 4", "not valid utf-16")
