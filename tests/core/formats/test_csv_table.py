"""CSV/TSV tables: column detection, labels, escaping of formula-like cells."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest

from core.errors import InputError
from core.formats import ExportError, guess_format, read_file, write_file
from core.formats.csv_table import escape_cell, unescape_cell
from core.types import DocumentRecord, Split

from .conftest import assert_input_error

MakeFile = Callable[[str, "str | bytes"], Path]


def test_reads_text_labels_id_split_and_keeps_other_columns(make_file: MakeFile) -> None:
    path = make_file(
        "notes.csv",
        "ID,Text,Labels,split,ward\r\n"
        'n1,"Fever, cough",flu|covid,train,A\r\n'
        'n2,"two\nlines",;,test,\r\n'
        ",,,,\r\n"
        "n3,plain,asthma; copd ,validation,B\r\n",
    )
    assert guess_format(path) == "csv"
    records = read_file(path)
    assert [(r.external_id, r.text, r.classes, r.split, r.meta, r.line) for r in records] == [
        ("n1", "Fever, cough", ("flu", "covid"), Split.TRAIN, {"ward": "A"}, 2),
        ("n2", "two\nlines", (), Split.TEST, {}, 3),
        ("n3", "plain", ("asthma", "copd"), Split.DEV, {"ward": "B"}, 6),
    ]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("a.tsv", "sentence\tclass\nhello world\tgreeting\n"),
        ("a.csv", "content;category\nhello world;greeting\n"),
        ("a.csv", "Document,Label\nhello world,greeting\n"),
    ],
)
def test_delimiters_and_column_names(make_file: MakeFile, name: str, content: str) -> None:
    path = make_file(name, content)
    assert guess_format(path) == "csv"
    [record] = read_file(path, "csv")
    assert (record.text, record.classes) == ("hello world", ("greeting",))


def test_only_column_is_the_text(make_file: MakeFile) -> None:
    records = read_file(make_file("a.csv", "notes\nfirst\nsecond\n"))
    assert [r.text for r in records] == ["first", "second"]


def test_several_label_columns_are_merged(make_file: MakeFile) -> None:
    [record] = read_file(make_file("a.csv", "text,label,category\nx,a,b\n"))
    assert record.classes == ("a", "b")


def test_huge_single_field(make_file: MakeFile) -> None:
    big = "word " * 400_000  # 2 MB in one cell, far above csv's default field limit
    [record] = read_file(make_file("big.csv", f'text\n"{big}"\n'))
    assert record.text == big


def test_no_text_column(make_file: MakeFile) -> None:
    path = make_file("bad.csv", "\nfoo,bar\n1,2\n")
    with pytest.raises(InputError) as info:
        read_file(path)
    assert_input_error(info.value, path, 2, "no text column", "'foo'")


def test_missing_label_cell(make_file: MakeFile) -> None:
    path = make_file("bad.csv", 'text,label\ngood,a\n"multi\nline",b\nshort\n')
    with pytest.raises(InputError) as info:
        read_file(path)
    assert_input_error(info.value, path, 5, "1 fields", "header has 2")


def test_unclosed_quote(make_file: MakeFile) -> None:
    path = make_file("bad.csv", 'text,label\nok,a\n"never closed,b\nmore\n')
    with pytest.raises(InputError) as info:
        read_file(path)
    assert info.value.line in (3, 4)
    assert "bad.csv" in str(info.value) and "csv" in str(info.value).lower()


def test_empty_text_cell(make_file: MakeFile) -> None:
    path = make_file("bad.csv", "text,label\nok,a\n,b\n")
    with pytest.raises(InputError) as info:
        read_file(path)
    assert_input_error(info.value, path, 3, "empty")


def test_bad_split(make_file: MakeFile) -> None:
    path = make_file("bad.csv", "text,split\nok,train\nno,holdout\n")
    with pytest.raises(InputError) as info:
        read_file(path)
    assert_input_error(info.value, path, 3, "split", "holdout")


def test_duplicate_column(make_file: MakeFile) -> None:
    path = make_file("bad.csv", "text,Text\na,b\n")
    with pytest.raises(InputError) as info:
        read_file(path)
    assert_input_error(info.value, path, 1, "twice")


def test_header_only_is_no_documents(make_file: MakeFile) -> None:
    path = make_file("empty.csv", "text,label\n")
    with pytest.raises(InputError, match="no documents"):
        read_file(path)


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("=1+1", "'=1+1"),
        ("+44 20", "'+44 20"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("'quoted", "''quoted"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_escape_cell(value: str, escaped: str) -> None:
    assert escape_cell(value) == escaped
    assert unescape_cell(escaped) == value


def test_export_escapes_formulas_and_reads_back(tmp_path: Path) -> None:
    records = [
        DocumentRecord(text='=HYPERLINK("http://evil","x")', classes=("-1",), external_id="@id"),
        DocumentRecord(text='+a, "quoted"\r\nline', classes=("a", "b"), split=Split.DEV),
        DocumentRecord(text="'already"),
    ]
    out = tmp_path / "out.csv"
    assert write_file(records, out, "csv") == 3
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # a BOM, so Excel reads UTF-8
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines(keepends=True)))
    assert rows[0] == ["id", "text", "labels", "split"]
    assert rows[1] == ["'@id", '\'=HYPERLINK("http://evil","x")', "'-1", ""]
    assert rows[3] == ["", "''already", "", ""]
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    back = read_file(out)
    assert [(r.text, r.classes, r.split, r.external_id) for r in back] == [
        (r.text, r.classes, r.split, r.external_id) for r in records
    ]


def test_export_without_text(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    write_file(
        [DocumentRecord(text="secret", classes=("a",), external_id="7")],
        out,
        "csv",
        include_text=False,
    )
    assert out.read_bytes().decode("utf-8-sig") == "id,labels,split\r\n7,a,\r\n"


def test_export_tsv_by_extension(tmp_path: Path) -> None:
    out = tmp_path / "out.tsv"
    write_file([DocumentRecord(text="a, b", classes=("x",))], out, "csv")
    assert out.read_bytes().decode("utf-8-sig") == "id\ttext\tlabels\tsplit\r\n\ta, b\tx\t\r\n"
    assert read_file(out, "csv")[0].text == "a, b"


@pytest.mark.parametrize("label", ["a|b", "a;b", " padded", ""])
def test_export_rejects_labels_csv_cannot_hold(tmp_path: Path, label: str) -> None:
    out = tmp_path / "out.csv"
    with pytest.raises(ExportError, match="label"):
        write_file([DocumentRecord(text="t", classes=(label,))], out, "csv")
    assert not out.exists()
