"""Attributes of entities in JSON Lines: read, written, round-tripped, refused clearly."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from core.errors import InputError
from core.formats import read_file, write_file
from core.project import Project
from core.types import AttributeSpec, DocumentRecord, EntitySpan

from .conftest import assert_input_error

MakeFile = Callable[[str, "str | bytes"], Path]


def jsonl(*objects: object) -> str:
    return "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects)


def test_span_attributes_are_read_from_both_flavours(make_file: MakeFile) -> None:
    path = make_file("a.jsonl", jsonl(
        {"text": "No pneumonia.", "spans": [
            {"start": 3, "end": 12, "label": "Condition", "attributes": {"negation": "Negated"}}]},
        {"text": "Had asthma.", "label": [
            {"start": 4, "end": 10, "label": "Condition",
             "attributes": {"temporality": "Historical"}}, [0, 3, "Other"]]},
    ))
    first, second = read_file(path)
    assert first.spans == (EntitySpan(3, 12, "Condition", {"negation": "Negated"}),)
    assert second.spans[0].attributes == {"temporality": "Historical"}
    assert second.spans[1].attributes == {}


@pytest.mark.parametrize("attributes, words", [
    (["Negated"], ["attributes", "object"]),
    ({"negation": 1}, ["attributes", "strings"]),
    ({"": "x"}, ["attributes"]),
])
def test_bad_attribute_shapes_name_file_and_line(make_file: MakeFile, attributes: object,
                                                 words: list[str]) -> None:
    path = make_file("bad.jsonl", jsonl(
        {"text": "ok"},
        {"text": "No pneumonia.", "spans": [
            {"start": 3, "end": 12, "label": "Condition", "attributes": attributes}]},
    ))
    with pytest.raises(InputError) as info:
        read_file(path)
    assert_input_error(info.value, path, 2, *words)


@pytest.mark.parametrize("flavor", ["doccano", "prodigy"])
def test_attributes_round_trip(tmp_path: Path, flavor: str) -> None:
    records = [DocumentRecord("No pneumonia, on aspirin.", external_id="a", spans=(
        EntitySpan(3, 12, "Condition", {"negation": "Negated", "temporality": "Not particular"}),
        EntitySpan(17, 24, "Medication"),
    ))]
    out = tmp_path / "out.jsonl"
    write_file(records, out, "jsonl", flavor=flavor)
    back = read_file(out)
    assert back[0].spans == records[0].spans
    assert [dict(s.attributes) for s in back[0].spans] == [
        {"negation": "Negated", "temporality": "Not particular"}, {}]


def test_import_checks_the_declaration_and_export_writes_every_value(
    tmp_path: Path, make_file: MakeFile
) -> None:
    project = Project.create(tmp_path / "p.db", tasks={"ner": ["Condition"]})
    project.annotations.add_task(
        "ner", attributes=[AttributeSpec("negation", ("Affirmed", "Negated"))])
    bad = make_file("gold.jsonl", jsonl(
        {"text": "Fever.", "spans": [{"start": 0, "end": 5, "label": "Condition"}]},
        {"text": "No cough.", "spans": [
            {"start": 3, "end": 8, "label": "Condition", "attributes": {"negated": "yes"}}]},
    ))
    with pytest.raises(InputError) as info:
        project.documents.add(read_file(bad))
    assert_input_error(info.value, bad, 2, "unknown attribute 'negated'", "negation")
    assert project.documents.filter() == []  # nothing imported
    good = make_file("good.jsonl", jsonl(
        {"text": "Fever.", "spans": [{"start": 0, "end": 5, "label": "Condition"}]},
        {"text": "No cough.", "spans": [
            {"start": 3, "end": 8, "label": "Condition", "attributes": {"negation": "Negated"}}]},
    ))
    project.documents.add(read_file(good))
    out = tmp_path / "export.jsonl"
    write_file(project.documents.records(), out, "jsonl", flavor="prodigy")
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [s["attributes"] for line in lines for s in line["spans"]] == [
        {"negation": "Affirmed"}, {"negation": "Negated"}]
    project.close()
