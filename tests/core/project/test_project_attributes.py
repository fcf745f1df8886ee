"""Attributes of entities through the facade: the declaration, the values, and the inverse
of every change (``project.undo`` puts back exactly what was there)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.project import Project
from core.store.repo import AnnotationError
from core.types import AttributeSpec, DocumentRecord, EntitySpan

TEXT = "No evidence of pneumonia. Takes aspirin daily. History of asthma."
NEGATION = AttributeSpec("negation", ("Affirmed", "Negated"))
TIME = AttributeSpec("temporality", ("Recent", "Historical", "Not particular"), ("Condition",))


@pytest.fixture
def project(tmp_path: Path) -> Project:
    p = Project.create(tmp_path / "a.db", tasks={"ner": ["Condition", "Medication"]})
    p.annotations.add_task("ner", attributes=[NEGATION, TIME])
    p.documents.add([DocumentRecord(TEXT, external_id="n1", spans=(
        EntitySpan(15, 24, "Condition", {"negation": "Negated"}),
        EntitySpan(32, 39, "Medication"),
        EntitySpan(58, 64, "Condition", {"temporality": "Historical"}),
    ))])
    yield p
    p.close()


def _entities(project: Project) -> dict[str, dict[str, str]]:
    doc = project.documents.get(project.documents.filter()[0])
    assert doc is not None
    return {doc.text[e.start:e.end]: dict(e.attributes) for e in doc.entities}


def _ids(project: Project) -> dict[str, int]:
    doc = project.documents.get(project.documents.filter()[0])
    assert doc is not None
    return {doc.text[e.start:e.end]: e.id for e in doc.entities}


def test_declaration_is_read_back_in_order_with_defaults_filled(project: Project) -> None:
    assert project.annotations.attribute_specs() == (NEGATION, TIME)
    assert project.documents.tasks()["ner"].attributes == (NEGATION, TIME)
    # temporality applies to conditions only; unset values read as the default
    assert _entities(project) == {
        "pneumonia": {"negation": "Negated", "temporality": "Recent"},
        "aspirin": {"negation": "Affirmed"},
        "asthma": {"negation": "Affirmed", "temporality": "Historical"},
    }
    record = project.documents.records()[0]
    assert [dict(s.attributes) for s in record.spans] == list(_entities(project).values())
    assert "attribute" not in {k.value for k in project.documents.tasks()}


def test_set_values_is_validated_and_undone(project: Project) -> None:
    ids = _ids(project)
    before = _entities(project)
    changes = project.annotations.set_entity_attributes(ids["aspirin"], {"negation": "Negated"})
    assert _entities(project)["aspirin"] == {"negation": "Negated"}
    redo = project.undo(changes)
    assert _entities(project) == before
    project.undo(redo)
    assert _entities(project)["aspirin"] == {"negation": "Negated"}
    with pytest.raises(AnnotationError, match="unknown attribute 'certainty'"):
        project.annotations.set_entity_attributes(ids["aspirin"], {"certainty": "Possible"})
    with pytest.raises(AnnotationError, match="no value 'Maybe'.*'Affirmed', 'Negated'"):
        project.annotations.set_entity_attributes(ids["aspirin"], {"negation": "Maybe"})
    with pytest.raises(AnnotationError, match="does not apply to Medication"):
        project.annotations.set_entity_attributes(ids["aspirin"], {"temporality": "Recent"})
    # None takes the stored value away: the default again, and undo brings it back
    changes = project.annotations.set_entity_attributes(ids["pneumonia"], {"negation": None})
    assert _entities(project)["pneumonia"]["negation"] == "Affirmed"
    project.undo(changes)
    assert _entities(project)["pneumonia"]["negation"] == "Negated"


def test_removing_an_entity_and_undo_keep_its_values_and_provenance(project: Project) -> None:
    doc_id = project.documents.filter()[0]
    changes = project.annotations.remove_entity(doc_id, 15, 24)
    assert "pneumonia" not in _entities(project)
    project.undo(changes)
    assert _entities(project)["pneumonia"] == {"negation": "Negated", "temporality": "Recent"}
    with project.read() as s:
        from core.store.models import EntityAttribute

        row = s.query(EntityAttribute).filter_by(name="negation", value="Negated").one()
        assert row.origin == "imported"


def test_declaration_ops_and_their_inverses(project: Project) -> None:
    ann = project.annotations
    before_specs, before = ann.attribute_specs(), _entities(project)

    steps = [
        lambda: ann.add_attribute("certainty=Certain,Possible@Condition"),
        lambda: ann.rename_attribute("negation", "polarity"),
        lambda: ann.rename_attribute_value("temporality", "Historical", "Past"),
        lambda: ann.add_attribute_value("temporality", "Future", position=1),
        lambda: ann.set_attribute_default("negation", "Negated"),
        lambda: ann.set_attribute_labels("negation", ["Medication"]),
        lambda: ann.remove_attribute_value("temporality", "Historical"),
        lambda: ann.remove_attribute("negation"),
    ]
    expected = [
        lambda e, s: s[-1].name == "certainty" and e["pneumonia"]["certainty"] == "Certain"
        and "certainty" not in e["aspirin"],
        lambda e, s: e["pneumonia"]["polarity"] == "Negated" and "negation" not in e["pneumonia"],
        lambda e, s: e["asthma"]["temporality"] == "Past",
        lambda e, s: s[1].values == ("Recent", "Future", "Historical", "Not particular"),
        # the default moved: the medication, never set, now reads Negated
        lambda e, s: e["aspirin"]["negation"] == "Negated" and s[0].default == "Negated",
        lambda e, s: "negation" not in e["pneumonia"] and e["aspirin"]["negation"] == "Affirmed",
        # asthma had Historical: it reads the default again
        lambda e, s: e["asthma"]["temporality"] == "Recent",
        lambda e, s: all("negation" not in v for v in e.values()),
    ]
    for step, check in zip(steps, expected):
        changes = step()
        assert changes.labels and check(_entities(project), ann.attribute_specs())
        project.undo(changes)
        assert ann.attribute_specs() == before_specs and _entities(project) == before
    with pytest.raises(AnnotationError, match="at least two values"):
        ann.remove_attribute_value("negation", "Negated")
    with pytest.raises(AnnotationError, match="exists already"):
        ann.add_attribute("negation=Yes,No")
    with pytest.raises(AnnotationError, match="unknown attribute 'nope'"):
        ann.rename_attribute("nope", "x")
    with pytest.raises(AnnotationError, match="names label"):
        ann.set_attribute_labels("negation", ["Drug"])
    with pytest.raises(AnnotationError, match="holds ','"):
        ann.rename_attribute_value("negation", "Negated", "a,b")


def test_label_rename_and_delete_follow_into_the_declaration(project: Project) -> None:
    ner = project.documents.tasks()["ner"]
    condition = ner.label("Condition")
    assert condition is not None
    changes = project.annotations.update_label(condition.id, name="Problem")
    assert project.annotations.attribute_specs()[1].labels == ("Problem",)
    assert _entities(project)["asthma"]["temporality"] == "Historical"
    project.undo(changes)
    assert project.annotations.attribute_specs()[1].labels == ("Condition",)
    before = _entities(project)
    changes = project.annotations.delete_label(condition.id)
    assert project.annotations.attribute_specs()[1].labels == ()
    assert set(_entities(project)) == {"aspirin"}
    project.undo(changes)
    assert project.annotations.attribute_specs() == (NEGATION, TIME)
    assert _entities(project) == before


def test_import_refuses_unknown_attributes_naming_file_and_line(project: Project) -> None:
    from core.errors import InputError

    bad = DocumentRecord("Denies chest pain.", spans=(
        EntitySpan(7, 17, "Condition", {"negation": "Denied"}),), source="gold.jsonl", line=3)
    with pytest.raises(InputError, match=r"gold.jsonl:3: .*no value 'Denied'"):
        project.documents.add([DocumentRecord("fine", source="gold.jsonl", line=2), bad])
    assert len(project.documents.filter()) == 1  # nothing of the file was imported
    bad = DocumentRecord("Denies chest pain.", spans=(
        EntitySpan(7, 17, "Medication", {"temporality": "Recent"}),), source="g.jsonl", line=1)
    with pytest.raises(InputError, match="does not apply to Medication"):
        project.documents.add([bad])
