"""brat standoff (.txt + .ann): read, written, round-tripped, refused with the .ann line."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import ExportError, InputError
from core.formats import guess_format, read_brat, read_file, write_file
from core.project import Project
from core.types import AttributeSpec, DocumentRecord, EntitySpan, RelationSpec, TaskKind

from .conftest import assert_input_error

SPECS = (
    AttributeSpec("negation", ("Affirmed", "Negated"), ("Condition",)),
    AttributeSpec("temporality", ("Recent", "Historical", "Not particular"), ("Condition",)),
)


def pair(folder: Path, stem: str, text: str | bytes, ann: str | None) -> Path:
    """Write ``stem.txt`` (and ``stem.ann`` unless None) and return the .ann's path."""
    folder.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8") if isinstance(text, str) else text
    (folder / f"{stem}.txt").write_bytes(data)
    if ann is not None:
        (folder / f"{stem}.ann").write_bytes(ann.encode("utf-8"))
    return folder / f"{stem}.ann"


# --- reading ------------------------------------------------------------------------------


def test_entities_attributes_and_notes_are_read(tmp_path: Path) -> None:
    ann = pair(tmp_path, "note1", "No fever. Had asthma, on aspirin.", (
        "T1\tCondition 3 8\tfever\n"
        "T2\tCondition 14 20\tasthma\n"
        "T3\tMedication 25 32\taspirin\n"
        "A1\tNegated T1\n"                      # binary: a value of negation
        "M2\tTemporality T2 historical\n"       # old name, name and value ignoring case
        "#1\tAnnotatorNotes T2\tsince childhood\n"
    ))
    records, report = read_brat(ann, attributes=SPECS)
    (record,) = records
    assert record.external_id == "note1" and record.source == str(ann)
    assert record.labelled_for == frozenset({TaskKind.NER})
    assert record.spans == (
        EntitySpan(3, 8, "Condition", {"negation": "Negated"}),
        EntitySpan(14, 20, "Condition", {"temporality": "Historical"}),
        EntitySpan(25, 32, "Medication"),
    )
    assert [dict(s.attributes) for s in record.spans] == [
        {"negation": "Negated"}, {"temporality": "Historical"}, {}]
    assert record.meta["brat_notes"] == [
        {"start": 14, "end": 20, "label": "Condition", "note": "since childhood"}]
    assert (report.joined, report.skipped, report.notes) == (0, {}, 1)


def test_a_folder_reads_every_pair_in_natural_order(tmp_path: Path) -> None:
    pair(tmp_path, "doc10", "Cough.", "T1\tCondition 0 5\tCough\n")
    pair(tmp_path, "doc2", "Fever.", "T1\tCondition 0 5\tFever\n")
    pair(tmp_path, "doc3", "Nothing to label.", None)   # a .txt alone: no labels
    pair(tmp_path, "doc4", "Checked, no entity.", "")     # an empty .ann: labelled, none
    (tmp_path / "annotation.conf").write_text("[entities]\nCondition\n", encoding="utf-8")
    assert guess_format(tmp_path) == "brat"
    records = read_file(tmp_path)
    assert [r.external_id for r in records] == ["doc2", "doc3", "doc4", "doc10"]
    assert [len(r.spans) for r in records] == [1, 0, 0, 1]
    assert [bool(r.labelled_for) for r in records] == [True, False, True, True]
    assert records[1].source == str(tmp_path / "doc3.txt")
    assert records[3].text[records[3].spans[0].start:records[3].spans[0].end] == "Cough"


def test_a_single_txt_or_ann_is_one_document(tmp_path: Path) -> None:
    ann = pair(tmp_path, "a", "Fever.", "T1\tCondition 0 5\tFever\n")
    pair(tmp_path, "b", "Alone.", None)
    assert guess_format(ann) == "brat" and guess_format(tmp_path / "a.txt") == "brat"
    assert guess_format(tmp_path / "b.txt") == "text"
    assert read_file(tmp_path / "a.txt", "brat")[0].spans == (EntitySpan(0, 5, "Condition"),)
    (only,) = read_file(tmp_path / "b.txt", "brat")
    assert (only.external_id, only.spans, only.labelled_for) == ("b", (), frozenset())


@pytest.mark.parametrize("ann", [
    # brat's own count: it reads the text with universal newlines (a CRLF is one character)
    "T1\tCondition 4 9\tfever\nT2\tCondition 14 19\tcough\n",
    # as Python counts the text read with newline="": a CRLF is two characters
    "T1\tCondition 5 10\tfever\nT2\tCondition 16 21\tcough\n",
])
def test_windows_line_ends_are_kept_and_both_counts_are_read(tmp_path: Path, ann: str) -> None:
    text = "Hi.\r\nfever\r\nand cough"
    (record,) = read_file(pair(tmp_path, "crlf", text, ann))
    assert record.text == text  # kept as it is
    assert [record.text[s.start:s.end] for s in record.spans] == ["fever", "cough"]


@pytest.mark.parametrize("start", [1, 0])  # brat counts the BOM as a character; others do not
def test_a_byte_order_mark_is_dropped_and_offsets_follow(tmp_path: Path, start: int) -> None:
    ann = pair(tmp_path, "bom", b"\xef\xbb\xbfFever.",
               f"T1\tCondition {start} {start + 5}\tFever\n")
    (record,) = read_file(ann)
    assert record.text == "Fever."
    assert record.spans == (EntitySpan(0, 5, "Condition"),)


def test_non_ascii_offsets_count_characters(tmp_path: Path) -> None:
    text = "Café 😀 fièvre, ça va"
    ann = pair(tmp_path, "u", text, "T1\tCondition 7 13\tfièvre\n")
    assert read_file(ann)[0].spans == (EntitySpan(7, 13, "Condition"),)


def test_a_quote_differing_only_in_white_space_is_accepted(tmp_path: Path) -> None:
    ann = pair(tmp_path, "w", "left\nlung", "T1\tSite 0 9\tleft lung\n")
    assert read_file(ann)[0].spans == (EntitySpan(0, 9, "Site"),)


def test_discontinuous_entities_are_joined_on_request(tmp_path: Path) -> None:
    ann = pair(tmp_path, "d", "left and right lung", "T1\tSite 0 4;15 19\tleft lung\n")
    records, report = read_brat(ann, discontinuous="join")
    assert records[0].spans == (EntitySpan(0, 19, "Site"),)
    assert report.joined == 1


def test_relations_events_and_normalisations_are_skipped_on_request(tmp_path: Path) -> None:
    ann = pair(tmp_path, "r", "Aspirin 100 mg caused rash.", (
        "T1\tMedication 0 7\tAspirin\n"
        "T2\tDosage 8 14\t100 mg\n"
        "T3\tCause 15 21\tcaused\n"          # an event's trigger
        "T4\tCondition 22 26\trash\n"
        "R1\tdosage_of Arg1:T2 Arg2:T1\n"
        "E1\tCause:T3 Agent:T1 Theme:T4\n"
        "*\tEquiv T1 T1\n"
        "A1\tNegated E1\n"
        "#1\tAnnotatorNotes R1\tchecked\n"
        "N1\tReference T4 UMLS:C0015230\trash\n"
    ))
    records, report = read_brat(ann, attributes=SPECS, skip=("relations", "normalizations"))
    assert [s.label for s in records[0].spans] == ["Medication", "Dosage", "Condition"]
    assert report.skipped == {"relations": 1, "events": 1, "equivalences": 1,
                              "normalizations": 1, "event triggers": 1, "attributes": 1,
                              "notes": 1}


@pytest.mark.parametrize("ann, relations, option", [
    ("T1\tSite 0 4;15 19\tleft lung\n", None, ("discontinuous", "join")),
    ("T1\tSite 0 4\tleft\nN1\tReference T1 UMLS:C0225730\tleft\n", None,
     ("skip", "normalizations")),
    ("T1\tSite 0 4\tleft\nT2\tSite 15 19\tlung\nE1\tSite:T1 Theme:T2\n", None,
     ("skip", "relations")),
    ("T1\tSite 0 4\tleft\nT2\tSite 15 19\tlung\nR1\tpart_of Arg1:T1 Arg2:T2\n", (),
     ("skip", "relations")),
    ("T1\tSite 0 4\tleft\nT2\tSite 15 19\tlung\nR1\tpart_of Arg1:T1 Arg2:T2\n",
     (RelationSpec("dosage_of", ("Dosage",), ("Medication",)),), ("skip", "relations")),
    ("T1\tSite 0 4\tleft\nT2\tSite 15 19\tlung\nR1\tpart_of Arg1:T1 Arg2:T2\nA1\tNegated R1\n",
     None, ("skip", "relations")),
])
def test_a_refusal_an_option_lifts_carries_it_as_its_remedy(
        tmp_path: Path, ann: str, relations: Any, option: tuple[str, str]) -> None:
    """The app asks about the remedy (the CLI names the option): reading again with it
    reads the file; the remedy's problem is the message without the command line's words."""
    path = pair(tmp_path, "x", "left and right lung", ann)
    with pytest.raises(InputError) as caught:
        read_brat(path, attributes=SPECS, relations=relations)
    remedy = caught.value.remedy
    assert remedy is not None and (remedy.option, remedy.value) == option
    assert remedy.problem in caught.value.problem and "--" not in remedy.problem
    name, value = option
    records, _ = read_brat(path, attributes=SPECS, relations=relations,
                           **{name: value if name == "discontinuous" else (value,)})
    assert records[0].spans


def test_a_refusal_no_option_lifts_has_no_remedy(tmp_path: Path) -> None:
    path = pair(tmp_path, "x", "left and right lung", "T1\tSite 0 4\tlung\n")
    with pytest.raises(InputError) as caught:
        read_brat(path)
    assert caught.value.remedy is None


def test_binary_attribute_named_like_a_two_valued_attribute_sets_its_second_value(
    tmp_path: Path,
) -> None:
    specs = (AttributeSpec("negated", ("no", "yes")),
             AttributeSpec("temporality", ("Recent", "Not particular")))
    ann = pair(tmp_path, "b", "No fever, cough.", (
        "T1\tCondition 3 8\tfever\nA1\tNegated T1\n"
        "T2\tCondition 10 15\tcough\nA2\tTemporality T2 Not_particular\n"))
    assert [dict(s.attributes) for s in read_file(ann, attributes=specs)[0].spans] == [
        {"negated": "yes"}, {"temporality": "Not particular"}]


def test_two_lines_of_the_same_span_and_type_are_one_entity(tmp_path: Path) -> None:
    ann = pair(tmp_path, "t", "Fever.", (
        "T1\tCondition 0 5\tFever\nT2\tCondition 0 5\tFever\nA1\tNegated T2\n"))
    assert read_file(ann, attributes=SPECS)[0].spans == (
        EntitySpan(0, 5, "Condition", {"negation": "Negated"}),)


# --- refused, with the file and line --------------------------------------------------------

TEXT = "No fever. Had asthma, on aspirin."
BAD = [
    ("T1 Condition 3 8\tfever\n", 1, ["tab"]),
    ("T1\tCondition 3 8\tfever\nX1\tsomething\n", 2, ["unknown annotation type", "'X1'"]),
    ("T1\tCondition three 8\tfever\n", 1, ["not two offsets"]),
    ("T1\tCondition\tfever\n", 1, ["no offsets"]),
    ("T1\tCondition 3 99\tfever\n", 1, ["ends after the text", "33 characters"]),
    ("T1\tCondition 3 8\tfever\nT2\tCondition 14 20\tasthmatic\n", 2,
     ["holds 'asthma' there", "quotes 'asthmatic'", "changed"]),
    ("T1\tCondition 3 8\tfever\nT1\tCondition 14 20\tasthma\n", 2, ["T1", "line 1"]),
    ("T1\tCondition 14 20\tasthma\nT2\tCondition 3 5;14 20\tfe asthma\n", 2,
     ["discontinuous", "2 fragments", "--discontinuous join"]),
    ("T1\tCondition 3 8\tfever\nT2\tCondition 14 20\tasthma\nT3\tOther 10 20\tHad asthma\n",
     3, ["T3", "overlaps T2", "line 2", "cannot be imported yet"]),
    ("T1\tCondition 3 8\tfever\nT2\tMedication 3 8\tfever\n", 2, ["overlaps T1", "line 1"]),
    (("T1\tCondition 3 8\tfever\nT2\tCondition 14 20\tasthma\nR1\tx Arg1:T1 Arg2:T2\n"
      "R2\tx Arg1:T2 Arg2:T1\nE1\tCause:T1 Theme:T2\n"), 5,
     ["events and equivalences cannot be imported", "1 event (E line)",
      "--brat-skip relations"]),
    ("T1\tCondition 3 8\tfever\nN1\tReference T1 UMLS:C0015967\tFever\n", 2,
     ["1 normalisation (N line)", "--brat-skip normalizations"]),
    ("T1\tCondition 3 8\tfever\nA1\tNegated T7\n", 2, ["T7", "does not define"]),
    ("T1\tCondition 3 8\tfever\nA1\tUncertain T1\n", 2,
     ["binary attribute 'Uncertain'", "negation=Affirmed,Negated"]),
    ("T1\tCondition 3 8\tfever\nA1\tnegation T1 Maybe\n", 2,
     ["A1 on T1 Condition", "no value 'Maybe'", "'Affirmed', 'Negated'"]),
    ("T1\tCondition 3 8\tfever\nA1\tseverity T1 high\n", 2, ["unknown attribute 'severity'"]),
    ("T1\tMedication 25 32\taspirin\nA1\tNegated T1\n", 2,
     ["does not apply to Medication"]),
    ("T1\tCondition 3 8\tfever\nA1\tNegated T1\nA2\tnegation T1 Affirmed\n", 3,
     ["negation=Affirmed", "line 2", "Negated"]),
    ("T1\tCondition 3 8\tfever\n#1\tAnnotatorNotes T5\tx\n", 2, ["T5", "does not define"]),
    ("T1\tCondition 3 8\tfever\n#1\tAnnotatorNotes\tx\n", 2, ["AnnotatorNotes T1"]),
]


@pytest.mark.parametrize("ann, line, words", BAD)
def test_a_bad_line_names_the_ann_and_its_line(tmp_path: Path, ann: str, line: int,
                                               words: list[str]) -> None:
    path = pair(tmp_path, "bad", TEXT, ann)
    with pytest.raises(InputError) as info:
        read_file(tmp_path, attributes=SPECS)
    assert_input_error(info.value, path, line, *words)


def test_a_binary_attribute_needs_the_declaration(tmp_path: Path) -> None:
    path = pair(tmp_path, "b", TEXT, "T1\tCondition 3 8\tfever\nA1\tNegated T1\n")
    with pytest.raises(InputError) as info:
        read_file(path)
    assert_input_error(info.value, path, 2, "binary attribute 'Negated'", "into a project")
    # a multi-valued one is taken as written (the project checks it when importing)
    path.write_text("T1\tCondition 3 8\tfever\nA1\tnegation T1 Negated\n", encoding="utf-8")
    assert read_file(path)[0].spans[0].attributes == {"negation": "Negated"}


def test_offsets_counted_in_bytes_are_named(tmp_path: Path) -> None:
    path = pair(tmp_path, "b", "Café fever", "T1\tCondition 6 11\tfever\n")
    with pytest.raises(InputError) as info:
        read_file(path)
    assert_input_error(info.value, path, 1, "UTF-8 bytes")


def test_an_ann_without_its_txt_is_refused(tmp_path: Path) -> None:
    pair(tmp_path, "good", "Fever.", "T1\tCondition 0 5\tFever\n")
    orphan = tmp_path / "orphan.ann"
    orphan.write_text("T1\tCondition 0 5\tFever\n", encoding="utf-8")
    for target in (tmp_path, orphan):
        with pytest.raises(InputError) as info:
            read_file(target, "brat")
        assert_input_error(info.value, orphan, None, "no orphan.txt beside it")


def test_one_bad_pair_imports_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    pair(folder, "a", "Fever.", "T1\tCondition 0 5\tFever\n")
    bad = pair(folder, "b", "Cough.", "T1\tCondition 0 5\tCough\nR1\tx Arg1:T1 Arg2:T1\n")
    # (an entity linked to itself)
    project = Project.create(tmp_path / "p.db", tasks={"ner": ["Condition"]})
    try:
        with pytest.raises(InputError) as info:
            project.documents.add(read_file(folder))
        assert_input_error(info.value, bad, 2, "R1", "itself")
        assert project.documents.stats()["documents"] == 0
    finally:
        project.close()


# --- writing ------------------------------------------------------------------------------


def test_round_trip_with_attributes_non_ascii_and_line_ends(tmp_path: Path) -> None:
    records = [
        DocumentRecord("Pas de fièvre 😀.\r\nAsthme dans l'enfance,\nsous aspirine.",
                       external_id="note 1/é", spans=(
                           EntitySpan(7, 13, "Condition", {"negation": "Negated",
                                                           "temporality": "Recent"}),
                           EntitySpan(18, 24, "Condition", {"negation": "Affirmed",
                                                            "temporality": "Not particular"}),
                           EntitySpan(46, 54, "Medication"),
                       ), meta={"brat_notes": [{"start": 18, "end": 24, "label": "Condition",
                                                "note": "depuis\nl'enfance"}]},
                       labelled_for=frozenset({TaskKind.NER})),
        DocumentRecord("Checked, nothing here.", external_id="note 1/é",
                       labelled_for=frozenset({TaskKind.NER})),
        DocumentRecord("Line one\nline two: cough", spans=(EntitySpan(19, 24, "Condition"),),
                       labelled_for=frozenset({TaskKind.NER})),
    ]
    out = tmp_path / "out"
    assert write_file(records, out, "brat", attributes=SPECS) == 3
    assert sorted(p.name for p in out.iterdir()) == [
        "document-3.ann", "document-3.txt", "note_1_é-2.ann", "note_1_é-2.txt",
        "note_1_é.ann", "note_1_é.txt"]
    ann = (out / "note_1_é.ann").read_text(encoding="utf-8")
    # Only values other than the default; brat's offsets count the CRLF as one character.
    assert ann == ("T1\tCondition 7 13\tfièvre\nA1\tnegation T1 Negated\n"
                   "T2\tCondition 17 23\tAsthme\nA2\ttemporality T2 Not particular\n"
                   "T3\tMedication 45 53\taspirine\n"
                   "#1\tAnnotatorNotes T2\tdepuis l'enfance\n")
    assert (out / "note_1_é.txt").read_bytes() == records[0].text.encode("utf-8")
    back = sorted(read_file(out, attributes=SPECS), key=lambda r: r.external_id or "")
    assert [r.external_id for r in back] == ["document-3", "note_1_é", "note_1_é-2"]
    by_id = {r.external_id: r for r in back}
    first = by_id["note_1_é"]
    assert first.text == records[0].text
    filled = [dict(s.attributes) for s in first.spans]
    assert [(s.start, s.end, s.label) for s in first.spans] == [
        (s.start, s.end, s.label) for s in records[0].spans]
    # defaults were left out, so they read back as not given
    assert filled == [{"negation": "Negated"}, {"temporality": "Not particular"}, {}]
    assert first.meta["brat_notes"] == [{"start": 18, "end": 24, "label": "Condition",
                                         "note": "depuis l'enfance"}]
    assert by_id["note_1_é-2"].spans == () and by_id["note_1_é-2"].labelled_for
    assert by_id["document-3"].spans == records[2].spans


def test_without_the_declaration_every_value_is_written(tmp_path: Path) -> None:
    records = [DocumentRecord("Fever.", external_id="a", spans=(
        EntitySpan(0, 5, "Condition", {"negation": "Affirmed"}),))]
    write_file(records, tmp_path / "out", "brat")
    assert (tmp_path / "out" / "a.ann").read_text(encoding="utf-8") == (
        "T1\tCondition 0 5\tFever\nA1\tnegation T1 Affirmed\n")
    assert read_file(tmp_path / "out")[0].spans == records[0].spans


def test_a_failed_export_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    records = [DocumentRecord("Fever.", external_id="a", spans=(EntitySpan(0, 5, "C"),)),
               DocumentRecord("Cough.", external_id="b", spans=(EntitySpan(0, 5, "Body part"),))]
    with pytest.raises(ExportError, match="document 2 \\(id b\\).*'Body part' holds a space"):
        write_file(records, out, "brat")
    assert list(tmp_path.iterdir()) == []  # no target, no temporary folder
    write_file(records[:1], out, "brat")
    with pytest.raises(ExportError):
        write_file(records, out, "brat")
    assert sorted(p.name for p in out.iterdir()) == ["a.ann", "a.txt"]  # left as it was
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_an_export_replaces_a_brat_folder_and_refuses_others(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_file([DocumentRecord("Old.", external_id="old")], out, "brat")
    write_file([DocumentRecord("New.", external_id="new")], out, "brat")
    assert sorted(p.name for p in out.iterdir()) == ["new.ann", "new.txt"]
    (out / "annotation.conf").write_text("[entities]\n", encoding="utf-8")
    with pytest.raises(ExportError, match="annotation.conf"):
        write_file([DocumentRecord("New.")], out, "brat")
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(ExportError, match="is a file"):
        write_file([DocumentRecord("New.")], tmp_path / "file", "brat")
    with pytest.raises(ExportError, match="needs the text"):
        write_file([DocumentRecord("New.")], tmp_path / "other", "brat", include_text=False)


def test_a_span_ending_inside_a_crlf_is_written_as_python_counts(tmp_path: Path) -> None:
    records = [DocumentRecord("Fever\r\nnext", external_id="x", spans=(
        EntitySpan(0, 6, "Condition"), EntitySpan(7, 11, "Other")))]
    write_file(records, tmp_path / "out", "brat")
    assert read_file(tmp_path / "out")[0].spans == records[0].spans


# --- never anything but InputError ----------------------------------------------------------

FRAGMENTS = ["T1", "T2", "A1", "R1", "E1", "N1", "#1", "*", "M1", "\t", " ", "\n", "\r\n",
             ";", ":", "0", "3", "8", "99", "-1", "Condition", "Negated", "negation",
             "Arg1:T1", "fever", "T1\tCondition 3 8\tfever\n", "é", "😀", "\ufeff"]


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ann=st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=3)),
                    max_size=30).map("".join))
def test_random_ann_lines_give_records_or_an_input_error(tmp_path: Path, ann: str) -> None:
    folder = tmp_path / uuid.uuid4().hex
    pair(folder, "f", TEXT, ann)
    try:
        records = read_file(folder, attributes=SPECS, discontinuous="join")
    except InputError as exc:
        assert exc.path is not None and exc.path.endswith("f.ann")
        return
    for span in records[0].spans:
        assert 0 <= span.start < span.end <= len(TEXT)
