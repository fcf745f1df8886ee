"""Relations in team work: agreement of two annotators' relations (pairwise F1 of head, tail
and type on their shared documents) and adjudication (a relation between two agreed
entities is an item where the layers differ; the chosen version goes into the gold, agreed
relations without a choice, and undo takes the gold back)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.agreement import relation_pair
from core.project import Project
from core.types import DocumentRecord

TEXT = "Note: patient has fever and cough, no asthma. Given aspirin."


def _at(phrase: str) -> tuple[int, int]:
    start = TEXT.index(phrase)
    return start, start + len(phrase)


FEVER, COUGH, ASTHMA, ASPIRIN = _at("fever"), _at("cough"), _at("asthma"), _at("aspirin")


@pytest.fixture
def project(tmp_path: Path) -> Project:
    p = Project.create(tmp_path / "team.db", tasks={"ner": ["Condition", "Medication"]})
    p.annotations.add_relation_type("treats=Medication>Condition")
    p.documents.add([DocumentRecord(TEXT, external_id="n0")])
    p.team.assign(annotators=["ana", "ben"], double_share=1.0, seed=1)
    yield p
    p.close()


def _label(project: Project, doc_id: int, name: str, conditions: list[tuple[int, int]],
           treated: list[tuple[int, int]]) -> None:
    project.annotator = name
    layer = project.team.layer_for(doc_id, name)
    assert layer is not None
    for span in conditions:
        project.annotations.add_entity(layer, *span, "Condition")
    project.annotations.add_entity(layer, *ASPIRIN, "Medication")
    for span in treated:
        project.annotations.add_relation(layer, ASPIRIN, span, "treats")
    project.annotations.set_review_status(layer, "reviewed")


def _gold(project: Project, doc_id: int) -> list[tuple[tuple[int, int], tuple[int, int], str, str]]:
    doc = project.documents.get(doc_id)
    assert doc is not None
    return [(r.head, r.tail, r.label, r.origin) for r in doc.relations]


def test_relation_agreement_is_the_f1_of_the_triples() -> None:
    a = {1: [((0, 5, "D"), (9, 16, "M"), "r"), ((0, 5, "D"), (20, 25, "M"), "r")], 2: []}
    b = {1: [((0, 5, "D"), (9, 16, "M"), "r"), ((0, 5, "D"), (20, 25, "M"), "s")], 3: []}
    pair = relation_pair(a, b)
    assert (pair["documents"], pair["f1"], pair["both"]) == (1, 0.5, 1)
    assert pair["per_label"]["r"]["f1"] == pytest.approx(2 / 3, abs=1e-4)
    assert pair["per_label"]["s"] == {"f1": 0.0, "a_relations": 0, "b_relations": 1, "both": 0}
    # an end labelled otherwise is another relation
    c = {1: [((0, 5, "X"), (9, 16, "M"), "r")]}
    assert relation_pair(c, {1: [((0, 5, "D"), (9, 16, "M"), "r")]})["f1"] == 0.0
    assert relation_pair({1: []}, {1: []})["f1"] == 1.0


def test_agreement_reports_relations(project: Project) -> None:
    doc = project.team.documents()[0].doc_id
    _label(project, doc, "ana", [FEVER, COUGH], [FEVER, COUGH])
    _label(project, doc, "ben", [FEVER, COUGH], [FEVER])
    pair = project.team.agreement("ner")["relations"]["pairs"][0]
    assert (pair["a"], pair["b"], pair["documents"]) == ("ana", "ben", 1)
    assert (pair["a_relations"], pair["b_relations"], pair["both"]) == (2, 1, 1)
    assert pair["f1"] == pytest.approx(2 / 3, abs=1e-4)


def test_adjudication_of_relations_between_agreed_entities(project: Project) -> None:
    doc = project.team.documents()[0].doc_id
    _label(project, doc, "ana", [FEVER, COUGH], [FEVER, COUGH])
    _label(project, doc, "ben", [FEVER, COUGH], [FEVER])
    adj = project.team.adjudication(doc)
    # every entity agreed; aspirin > fever agreed (no item), aspirin > cough disputed
    assert [(i.kind, i.agreed) for i in adj.items] == [
        ("entities", True), ("entities", True), ("entities", True), ("relation", False)]
    (item,) = adj.disputed
    assert item.title == (f"relation Medication {ASPIRIN[0]}-{ASPIRIN[1]} > Condition "
                          f"{COUGH[0]}-{COUGH[1]}")
    assert item.version_of("ana").value == ("treats",) and item.version_of("ben").value == ()
    project.annotator = "carla"
    changes = project.team.adjudicate(doc, {item.key: "ben"})
    assert _gold(project, doc) == [(ASPIRIN, FEVER, "treats", "adjudicated")]
    project.undo(changes)
    assert project.documents.get(doc).entities == () and _gold(project, doc) == []
    project.team.adjudicate(doc, {item.key: "ana"})
    assert _gold(project, doc) == [(ASPIRIN, FEVER, "treats", "adjudicated"),
                                   (ASPIRIN, COUGH, "treats", "adjudicated")]
    with project.read() as s:
        from core.store.models import EntityRelation

        assert {r.annotator for r in s.query(EntityRelation)
                if r.head.document_id == doc} == {"carla"}


def test_a_relation_to_a_disputed_entity_follows_the_chosen_version(project: Project) -> None:
    doc = project.team.documents()[0].doc_id
    _label(project, doc, "ana", [FEVER, ASTHMA], [FEVER, ASTHMA])  # only ana marks asthma
    _label(project, doc, "ben", [FEVER], [FEVER])
    adj = project.team.adjudication(doc)
    (asthma,) = adj.disputed
    assert asthma.kind == "entities" and asthma.start == ASTHMA[0]
    changes = project.team.adjudicate(doc, {asthma.key: "ana"})
    assert [(r.head, r.tail) for r in project.documents.get(doc).relations] == [
        (ASPIRIN, FEVER), (ASPIRIN, ASTHMA)]
    project.undo(changes)
    project.team.adjudicate(doc, {asthma.key: "ben"})
    assert [(r.head, r.tail) for r in project.documents.get(doc).relations] == [
        (ASPIRIN, FEVER)]
