"""CoNLL/BIO reading and IOB2 writing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from core.errors import InputError
from core.formats import ExportError, read_file, write_file
from core.formats.conll import bio_sentences
from core.types import DocumentRecord, EntitySpan

from .conftest import assert_input_error

MakeFile = Callable[[str, "str | bytes"], Path]


def spans_text(record: DocumentRecord) -> list[tuple[str, str]]:
    return [(record.text[s.start : s.end], s.label) for s in record.spans]


def test_reads_sentences_tokens_and_spans(make_file: MakeFile) -> None:
    path = make_file(
        "a.conll",
        "-DOCSTART- -X- O O\n\nJohn\tB-PER\nSmith\tI-PER\nvisited\tO\nNew\tB-LOC\nYork\tI-LOC\n"
        "\t\nHi\tO\n  \n\nThere\tB-PER\n",
    )
    records = read_file(path)
    assert [r.text for r in records] == ["John Smith visited New York", "Hi", "There"]
    assert spans_text(records[0]) == [("John Smith", "PER"), ("New York", "LOC")]
    assert [r.line for r in records] == [3, 9, 12]
    assert all(r.source == str(path) for r in records)


def test_space_separated_columns_take_the_last_as_tag(make_file: MakeFile) -> None:
    path = make_file("a.conll", "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP B-MISC\n")
    assert spans_text(read_file(path)[0]) == [("EU", "ORG"), ("German", "MISC")]


def test_crlf_and_lone_cr_line_ends(make_file: MakeFile) -> None:
    path = make_file("a.conll", "a\tB-X\r\nb\tI-X\r\n\r\nc\tO\rd\tB-Y\r")
    records = read_file(path)
    assert [r.text for r in records] == ["a b", "c d"]
    assert spans_text(records[0]) == [("a b", "X")]
    assert [r.line for r in records] == [1, 4]


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        # I-X after O or after another type starts a new entity, as conlleval does.
        (["O", "I-X", "I-X"], [("b c", "X")]),
        (["B-X", "I-Y", "I-Y"], [("a", "X"), ("b c", "Y")]),
        (["B-X", "B-X", "I-X"], [("a", "X"), ("b c", "X")]),
        # IOBES / BILOU
        (["S-X", "B-X", "E-X"], [("a", "X"), ("b c", "X")]),
        (["U-X", "B-Y", "L-Y"], [("a", "X"), ("b c", "Y")]),
        (["B-X", "E-X", "I-X"], [("a b", "X"), ("c", "X")]),
        (["E-X", "O", "S-Y"], [("a", "X"), ("c", "Y")]),
    ],
)
def test_tag_schemes(make_file: MakeFile, tags: list[str], expected: list[tuple[str, str]]) -> None:
    lines = "".join(f"{token}\t{tag}\n" for token, tag in zip("abc", tags, strict=True))
    assert spans_text(read_file(make_file("a.bio", lines))[0]) == expected


def test_entity_types_may_hold_hyphens(make_file: MakeFile) -> None:
    path = make_file("a.conll", "Star\tB-creative-work\nWars\tI-creative-work\n")
    assert spans_text(read_file(path)[0]) == [("Star Wars", "creative-work")]


@pytest.mark.parametrize("tag", ["X-Foo", "B-", "PER", "b-per", "B_PER", "I-"])
def test_unknown_tag_is_an_error_with_its_line(make_file: MakeFile, tag: str) -> None:
    path = make_file("bad.conll", f"a\tO\nb\tB-X\n\nc\t{tag}\n")
    with pytest.raises(InputError) as info:
        read_file(path)
    assert_input_error(info.value, path, 4, "is not a tag")


def test_line_without_tag_is_an_error(make_file: MakeFile) -> None:
    path = make_file("bad.conll", "a\tO\nlonely\n")
    with pytest.raises(InputError) as info:
        read_file(path)
    assert_input_error(info.value, path, 2, "token and a tag")


def test_only_breaks_and_docstart_is_no_documents(make_file: MakeFile) -> None:
    path = make_file("empty.conll", "-DOCSTART- O\n\n\t\n")
    with pytest.raises(InputError) as info:
        read_file(path)
    assert_input_error(info.value, path, None, "no documents")


def test_bio_sentences_cut_tokens_at_span_boundaries() -> None:
    text = "xxAspirinyy and\nibuprofen."
    spans = (EntitySpan(2, 9, "Drug"), EntitySpan(16, 25, "Drug"))
    sentences = bio_sentences(text, spans)
    assert [[(text[s:e], tag) for s, e, tag in sentence] for sentence in sentences] == [
        [("xx", "O"), ("Aspirin", "B-Drug"), ("yy", "O"), ("and", "O")],
        [("ibuprofen", "B-Drug"), (".", "O")],
    ]


def test_bio_sentences_restart_an_entity_after_a_line_break() -> None:
    text = "New\nYork  City"
    sentences = bio_sentences(text, (EntitySpan(0, 14, "LOC"),))
    assert [[tag for _, _, tag in s] for s in sentences] == [["B-LOC"], ["B-LOC", "I-LOC"]]


def test_bio_sentences_adjacent_spans_of_one_type_stay_apart() -> None:
    sentences = bio_sentences("abcd", (EntitySpan(0, 2, "X"), EntitySpan(2, 4, "X")))
    assert sentences == [[(0, 2, "B-X"), (2, 4, "B-X")]]


def test_bio_sentences_span_starting_inside_whitespace() -> None:
    # The span's whitespace edge carries no token; the word inside it does.
    sentences = bio_sentences("a  b c", (EntitySpan(2, 4, "X"),))
    assert sentences == [[(0, 1, "O"), (3, 4, "B-X"), (5, 6, "O")]]


def test_bio_sentences_reject_overlaps() -> None:
    with pytest.raises(ValueError, match="overlap"):
        bio_sentences("abcdef", (EntitySpan(0, 3, "X"), EntitySpan(2, 5, "Y")))


def test_write_and_read_back(tmp_path: Path) -> None:
    records = [
        DocumentRecord(
            text="Patient has type 2 diabetes.\nNo asthma.",
            spans=(EntitySpan(12, 27, "Disease"), EntitySpan(32, 38, "Disease")),
        ),
        DocumentRecord(text="   "),
        DocumentRecord(text="fine"),
    ]
    out = tmp_path / "out.conll"
    assert write_file(records, out, "conll") == 3
    assert out.read_text(encoding="utf-8") == (
        "Patient\tO\nhas\tO\ntype\tB-Disease\n2\tI-Disease\ndiabetes\tI-Disease\n.\tO\n\n"
        "No\tO\nasthma\tB-Disease\n.\tO\n\nfine\tO\n\n"
    )
    back = read_file(out)
    assert [spans_text(r) for r in back] == [
        [("type 2 diabetes", "Disease")],
        [("asthma", "Disease")],
        [],
    ]


def test_write_without_text_uses_placeholders(tmp_path: Path) -> None:
    out = tmp_path / "out.conll"
    write_file(
        [DocumentRecord(text="Jane Doe", spans=(EntitySpan(0, 8, "PER"),))],
        out,
        "conll",
        include_text=False,
    )
    assert out.read_text(encoding="utf-8") == "*\tB-PER\n*\tI-PER\n\n"


def test_overlapping_spans_cannot_be_written_and_leave_no_file(tmp_path: Path) -> None:
    out = tmp_path / "out.conll"
    records = [
        DocumentRecord(
            text="abc def", spans=(EntitySpan(0, 7, "X"), EntitySpan(4, 7, "Y")), external_id="n1"
        )
    ]
    with pytest.raises(ExportError, match="n1.*overlap"):
        write_file(records, out, "conll")
    assert list(tmp_path.iterdir()) == []


def test_label_with_space_cannot_be_written(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="space"):
        write_file(
            [DocumentRecord(text="a", spans=(EntitySpan(0, 1, "two words"),))],
            tmp_path / "o.conll",
            "conll",
        )
