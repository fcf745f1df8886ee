"""Relations between entities in JSON Lines: this tool's form (the ends' places in "spans")
and Prodigy's (``head_span`` / ``child_span``), read, written, round-tripped, imported,
exported, refused with the file and line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from core.errors import InputError
from core.formats import read_file, write_file
from core.project import Project
from core.types import DocumentRecord, EntitySpan, Relation, TaskKind

from .conftest import assert_input_error

MakeFile = Callable[[str, "str | bytes"], Path]
TEXT = "Take 10 mg of aspirin daily."
DOSE = {"start": 5, "end": 10, "label": "Dosage"}
DRUG = {"start": 14, "end": 21, "label": "Medication"}


def jsonl(*objects: object) -> str:
    return "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects)


def test_both_forms_are_read(make_file: MakeFile) -> None:
    path = make_file("a.jsonl", jsonl(
        # places in "spans": a suggested span in between is skipped but keeps its place
        {"text": TEXT, "spans": [DOSE, {**DRUG, "label": "Route", "start": 22, "end": 27,
                                        "suggested": True}, DRUG],
         "relations": [{"head": 0, "tail": 2, "label": "dosage_of"},
                       {"head": 0, "tail": 2, "label": "dosage_of"}]},
        # Prodigy's rel.manual: the ends by their spans; head/child (tokens) are not read
        {"text": TEXT, "spans": [DRUG, DOSE], "answer": "accept", "relations": [
            {"head": 1, "child": 4, "head_span": {**DOSE, "token_start": 1, "token_end": 2},
             "child_span": {"start": 14, "end": 21}, "label": "dosage_of"}]},
        {"text": TEXT, "spans": [DOSE, DRUG], "relations": []},
        {"text": TEXT, "spans": [DOSE, DRUG]},
    ))
    ours, prodigy, checked, silent = read_file(path)
    assert ours.spans == (EntitySpan(5, 10, "Dosage"), EntitySpan(14, 21, "Medication"))
    assert ours.relations == (Relation(0, 1, "dosage_of"),)  # the repeat kept once
    assert prodigy.relations == (Relation(1, 0, "dosage_of"),)
    assert checked.relations == () and TaskKind.RELATION in checked.labelled_for
    assert TaskKind.RELATION in ours.labelled_for
    assert TaskKind.RELATION not in silent.labelled_for


@pytest.mark.parametrize("relations, words", [
    ({"head": 0}, ["list"]),
    ([[0, 1, "dosage_of"]], ["item 1", "object"]),
    ([{"head": 0, "tail": 1}], ["no label"]),
    ([{"head": 0, "tail": 5, "label": "r"}], ['"tail" is 5', "3 item(s)"]),
    ([{"head": -1, "tail": 1, "label": "r"}], ['"head"', "place"]),
    ([{"head": 1, "tail": 1, "label": "r"}], ["itself"]),
    ([{"head": 0, "tail": 2, "label": "r"}], ["suggested"]),
    ([{"head": 1, "child": 3, "label": "r"}], ["head_span", "token indices"]),
    ([{"head_span": {"start": 0, "end": 4}, "child_span": DRUG, "label": "r"}],
     ["[0, 4)", "not one of the record's spans"]),
    ([{"head_span": {**DOSE, "label": "Route"}, "child_span": DRUG, "label": "r"}],
     ["'Route'", "'Dosage'"]),
    ([{"head_span": DOSE, "label": "r"}], ["child_span", "start"]),
])
def test_bad_relations_name_file_and_line(make_file: MakeFile, relations: object,
                                          words: list[str]) -> None:
    path = make_file("bad.jsonl", jsonl(
        {"text": "ok"},
        {"text": TEXT, "spans": [DOSE, DRUG, {**DRUG, "start": 22, "end": 27,
                                              "suggested": True}],
         "relations": relations},
    ))
    with pytest.raises(InputError) as info:
        read_file(path)
    assert_input_error(info.value, path, 2, *words)


def test_relations_without_a_spans_list_are_refused(make_file: MakeFile) -> None:
    path = make_file("doccano.jsonl", jsonl(
        {"text": TEXT, "label": [[5, 10, "Dosage"], [14, 21, "Medication"]],
         "relations": [{"head": 0, "tail": 1, "label": "dosage_of"}]}))
    with pytest.raises(InputError) as info:
        read_file(path)
    assert_input_error(info.value, path, 1, '"spans" list')


@pytest.mark.parametrize("flavor", ["doccano", "prodigy"])
def test_relations_round_trip(tmp_path: Path, flavor: str) -> None:
    spans = (EntitySpan(5, 10, "Dosage"), EntitySpan(14, 21, "Medication"),
             EntitySpan(32, 36, "Dosage"), EntitySpan(40, 48, "Medication"))
    records = [DocumentRecord(TEXT + " Or 5 mg of warfarin.", external_id="a", classes=("x",),
                              spans=spans,
                              relations=(Relation(0, 1, "dosage_of"), Relation(2, 3, "dosage_of"),
                                         Relation(3, 0, "odd_one"))),
               DocumentRecord(TEXT, external_id="b", spans=(EntitySpan(5, 10, "Dosage"),),
                              labelled_for=frozenset({TaskKind.RELATION}))]
    out = tmp_path / "out.jsonl"
    write_file(records, out, "jsonl", flavor=flavor)
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    if flavor == "prodigy":
        assert lines[0]["relations"][0] == {
            "head_span": DOSE, "child_span": DRUG, "label": "dosage_of"}
    else:
        assert lines[0]["relations"][0] == {"head": 0, "tail": 1, "label": "dosage_of"}
        assert lines[0]["label"] == ["x"]  # the spans are in "spans", the classes stay
    assert lines[1]["relations"] == []
    back = read_file(out)
    assert [(r.spans, r.relations, r.classes) for r in back] == [
        (r.spans, r.relations, r.classes) for r in records]
    assert TaskKind.RELATION in back[1].labelled_for


def test_import_checks_the_types_and_export_writes_the_relations(
    tmp_path: Path, make_file: MakeFile
) -> None:
    project = Project.create(tmp_path / "p.db", tasks={"ner": ["Dosage", "Medication"]})
    good_line = {"text": TEXT, "spans": [DOSE, DRUG],
                 "relations": [{"head": 0, "tail": 1, "label": "dosage_of"}]}
    undeclared = make_file("none.jsonl", jsonl(good_line))
    with pytest.raises(InputError) as info:
        project.documents.add(read_file(undeclared))
    assert_input_error(info.value, undeclared, 1, "declares no relation type", "--relation")
    project.annotations.add_relation_type("dosage_of=Dosage>Medication")
    for relation, words in [({"head": 1, "tail": 0, "label": "dosage_of"},
                             ["does not link a Medication entity to a Dosage"]),
                            ({"head": 0, "tail": 1, "label": "route_of"},
                             ["unknown relation 'route_of'", "'dosage_of'"])]:
        bad = make_file("bad.jsonl", jsonl(
            {"text": "Fever."}, {**good_line, "relations": [relation]}))
        with pytest.raises(InputError) as info:
            project.documents.add(read_file(bad))
        assert_input_error(info.value, bad, 2, *words)
        assert project.documents.filter() == []  # nothing imported
    project.documents.add(read_file(make_file("good.jsonl", jsonl(
        good_line, {"text": "Stop 5 mg of warfarin.", "spans": [
            {"start": 5, "end": 9, "label": "Dosage"}, {"start": 13, "end": 21,
                                                       "label": "Medication"}],
            "relations": []}))))
    doc = project.documents.get(project.documents.filter()[0])
    assert [(r.head, r.tail, r.label, r.origin) for r in doc.relations] == [
        ((5, 10), (14, 21), "dosage_of", "imported")]
    # the same file again adds nothing
    summary, _ = project.documents.add(read_file(tmp_path / "good.jsonl"))
    assert summary.annotations_added == 0
    assert len(project.documents.get(doc.id).relations) == 1
    out = tmp_path / "export.jsonl"
    write_file(project.documents.records(), out, "jsonl")
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [line["relations"] for line in lines] == [
        [{"head": 0, "tail": 1, "label": "dosage_of"}], []]
    project.close()


def test_a_pending_relation_suggestion_is_written_with_both_ends() -> None:
    from core.formats.jsonl import suggestion_json
    from core.review import PendingSuggestion

    s = PendingSuggestion(id=1, document_id=1, task=TaskKind.RELATION, kind="relation",
                          confidence=0.87654, model_version_id=3, start=5, end=21,
                          label="dosage_of", head=(5, 10, "Dosage"), tail=(14, 21, "Medication"))
    assert suggestion_json(s) == {
        "suggested": True, "kind": "relation", "source": "model", "confidence": 0.8765,
        "label": "dosage_of", "head": DOSE, "tail": DRUG, "model_version_id": 3}
