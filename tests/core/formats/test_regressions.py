"""Cases found by the property tests (or while writing them), kept as plain tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.formats import ExportError, read_file, write_file
from core.types import DocumentRecord, EntitySpan, Split


def test_conll_nul_character_is_refused_not_written(tmp_path: Path) -> None:
    # Found by hypothesis: a NUL token was written, and the file then read as binary junk.
    out = tmp_path / "o.conll"
    with pytest.raises(ExportError, match="NUL"):
        write_file([DocumentRecord(text="\x00")], out, "conll")
    assert not out.exists()
    write_file([DocumentRecord(text="\x00")], out, "conll", include_text=False)
    assert out.read_text(encoding="utf-8") == "*\tO\n\n"


def test_csv_nul_character_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="NUL"):
        write_file([DocumentRecord(text="a\x00b")], tmp_path / "o.csv", "csv")


def test_jsonl_keeps_nul_characters(tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    write_file([DocumentRecord(text="a\x00b")], out, "jsonl")
    assert read_file(out)[0].text == "a\x00b"


@pytest.mark.parametrize("fmt", ["conll", "lines", "text"])
def test_leading_zero_width_no_break_space_survives(tmp_path: Path, fmt: str) -> None:
    # U+FEFF at the very start of the output would be taken for a byte-order mark.
    record = DocumentRecord(text="\ufeffword", classes=("L",), spans=(EntitySpan(0, 5, "X"),))
    out = tmp_path / f"o.{fmt}"
    write_file([record], out, fmt)
    back = read_file(out, fmt, text_unit="paragraph")
    assert back[0].text == "\ufeffword"


def test_csv_whitespace_only_text_and_lone_cr(tmp_path: Path) -> None:
    records = [
        DocumentRecord(text=" "),
        DocumentRecord(text="a\rb", external_id=" id ", split=Split.UNASSIGNED),
        DocumentRecord(text="\r\n", classes=("x",)),
    ]
    out = tmp_path / "o.csv"
    write_file(records, out, "csv")
    back = read_file(out)
    assert [(r.text, r.external_id, r.split, r.classes) for r in back] == [
        (" ", None, None, ()),
        ("a\rb", " id ", Split.UNASSIGNED, ()),
        ("\r\n", None, None, ("x",)),
    ]


def test_jsonl_unicode_line_separators_stay_inside_the_text(tmp_path: Path) -> None:
    record = DocumentRecord(text="a\u2028b\x85c\rd", spans=(EntitySpan(2, 5, "X"),))
    out = tmp_path / "o.jsonl"
    write_file([record], out, "jsonl")
    [back] = read_file(out)
    assert (back.text, back.spans) == (record.text, record.spans)


def test_conll_span_inside_a_word_and_across_a_line_break(tmp_path: Path) -> None:
    text = "pre😀fix\u2028e\u0301x"
    record = DocumentRecord(text=text, spans=(EntitySpan(3, 5, "A"), EntitySpan(6, 10, "B")))
    out = tmp_path / "o.conll"
    write_file([record], out, "conll")
    assert out.read_text(encoding="utf-8") == (
        "pre\tO\n😀f\tB-A\ni\tO\nx\tB-B\n\ne\u0301\tB-B\nx\tO\n\n"
    )
