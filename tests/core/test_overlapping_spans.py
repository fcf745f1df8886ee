"""Overlapping and nested entities (issue 13), the data path: a task that allows them
stores, edits, imports, reads, suggests and adjudicates them; a task that does not behaves
as before. Two entities never share an extent, in either kind of task."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from core.active import preannotate as pre
from core.active.pattern_suggestions import suggest_from_patterns
from core.agreement import entity_report
from core.errors import InputError
from core.formats import ExportError, read_brat, read_file, write_file
from core.formats.conll import overlapping_pair
from core.patterns import PhrasePattern
from core.project import Project
from core.store import repo
from core.store.models import Document, ModelVersion, Suggestion, Task
from core.store.repo import AnnotationError
from core.tasks import kind_of
from core.tasks.base import NewSuggestion, nested_entity_clashes
from core.tasks.ner import EntityPayload
from core.types import DocumentRecord, EntitySpan, RelationSpec, TaskKind
from core.words import snap_spans

TEXT = "Chest X-ray: left lower lobe pneumonia. No pleural effusion."
LABELS = ["Condition", "BodySite"]


def at(phrase: str, text: str = TEXT) -> tuple[int, int]:
    start = text.index(phrase)
    return start, start + len(phrase)


CONDITION = at("left lower lobe pneumonia")
SITE = at("left lower lobe")
EFFUSION = at("pleural effusion")
PLEURAL = at("pleural")


def make(tmp_path: Path, *, overlapping: bool = True, name: str = "p.db",
         texts: tuple[str, ...] = (TEXT,)) -> Project:
    p = Project.create(tmp_path / name, tasks={TaskKind.NER: LABELS})
    if overlapping:
        p.annotations.add_task("ner", overlapping=True)
    p.documents.add([DocumentRecord(t, external_id=f"n{i + 1}") for i, t in enumerate(texts)])
    return p


@pytest.fixture
def project(tmp_path: Path) -> Project:
    p = make(tmp_path)
    yield p
    p.close()


def doc_id(p: Project, external_id: str = "n1") -> int:
    return next(int(r.doc_id or 0) for r in p.documents.records() if r.external_id == external_id)


def entities(p: Project, did: int | None = None) -> list[tuple[str, str, str]]:
    doc = p.documents.get(did if did is not None else doc_id(p))
    return sorted((doc.text[e.start:e.end], e.label, e.origin) for e in doc.entities)


# --- the setting --------------------------------------------------------------------------


def test_the_setting_is_off_by_default_and_an_undoable_op_switches_it(tmp_path: Path) -> None:
    p = make(tmp_path, overlapping=False)
    assert p.annotations.overlapping() is False
    assert p.documents.tasks()[TaskKind.NER].overlapping is False
    on = p.annotations.set_overlapping(True)
    assert p.annotations.overlapping() is True
    assert p.documents.tasks()[TaskKind.NER].overlapping is True
    off = p.undo(on)
    assert p.annotations.overlapping() is False
    p.undo(off)  # redo
    assert p.annotations.overlapping() is True
    p.close()


def test_switching_off_is_refused_naming_the_document_and_both_spans(project: Project) -> None:
    did = doc_id(project)
    project.annotations.add_entity(did, *CONDITION, "Condition")
    project.annotations.add_entity(did, *SITE, "BodySite")
    with pytest.raises(AnnotationError) as err:
        project.annotations.set_overlapping(False)
    message = str(err.value)
    for part in ("'n1'", f"[{CONDITION[0]}, {CONDITION[1]}) Condition",
                 f"[{SITE[0]}, {SITE[1]}) BodySite", "'left lower lobe'"):
        assert part in message
    assert project.annotations.overlapping() is True  # nothing changed
    project.annotations.remove_entity(did, *SITE)
    project.annotations.set_overlapping(False)  # no overlap left: allowed
    assert project.annotations.overlapping() is False


def test_overlapping_is_for_the_ner_task(tmp_path: Path) -> None:
    p = Project.create(tmp_path / "c.db", tasks={TaskKind.CLASSIFY: ["a", "b"]})
    with pytest.raises(AnnotationError, match="ner"):
        p.annotations.add_task("classify", overlapping=True)
    with pytest.raises(AnnotationError, match="no ner task"):
        p.annotations.set_overlapping(True)
    p.close()


# --- storing and editing ------------------------------------------------------------------


def test_nested_and_crossing_entities_are_stored_the_same_extent_never(project: Project) -> None:
    did = doc_id(project)
    project.annotations.add_entity(did, *CONDITION, "Condition")
    project.annotations.add_entity(did, *SITE, "BodySite")  # nested
    project.annotations.add_entity(did, *at("pneumonia. No pleural"), "Condition")  # crossing
    assert entities(project) == [
        ("left lower lobe", "BodySite", "human"),
        ("left lower lobe pneumonia", "Condition", "human"),
        ("pneumonia. No pleural", "Condition", "human"),
    ]
    with pytest.raises(AnnotationError, match="an entity already spans exactly 'left lower lobe'"):
        project.annotations.add_entity(did, *SITE, "Condition")
    with pytest.raises(AnnotationError, match="white space"):
        project.annotations.add_entity(did, SITE[1], SITE[1] + 1, "BodySite")
    with pytest.raises(AnnotationError, match="outside"):
        project.annotations.add_entity(did, 0, len(TEXT) + 1, "BodySite")
    assert len(entities(project)) == 3


def test_a_task_without_overlaps_still_refuses_them(tmp_path: Path) -> None:
    p = make(tmp_path, overlapping=False)
    did = doc_id(p)
    p.annotations.add_entity(did, *CONDITION, "Condition")
    with pytest.raises(AnnotationError, match="overlaps the Condition entity"):
        p.annotations.add_entity(did, *SITE, "BodySite")
    with p.write() as session:  # the store itself, told nothing, reads the task
        doc = session.get(repo.Document, did)
        with pytest.raises(AnnotationError, match="overlaps"):
            repo.check_entity_span(doc, *SITE)
        repo.check_entity_span(doc, *SITE, overlapping=True)  # told: allowed
    p.close()


def test_resize_relabel_remove_and_undo_redo_with_nested_entities(project: Project) -> None:
    did = doc_id(project)
    project.annotations.add_entity(did, *CONDITION, "Condition")
    project.annotations.add_entity(did, *SITE, "BodySite")
    # Resizing the inner one inside the outer, then onto the outer's extent (refused).
    lobe = at("lower lobe")
    resized = project.annotations.resize_entity(did, *SITE, *lobe)
    assert ("lower lobe", "BodySite", "human") in entities(project)
    with pytest.raises(AnnotationError, match="already spans exactly"):
        project.annotations.resize_entity(did, *lobe, *CONDITION)
    relabelled = project.annotations.relabel_entity(did, *lobe, "Condition")
    assert ("lower lobe", "Condition", "human") in entities(project)
    removed = project.annotations.remove_entity(did, *CONDITION)
    assert entities(project) == [("lower lobe", "Condition", "human")]
    project.undo(removed)
    project.undo(relabelled)
    project.undo(resized)
    assert entities(project) == [("left lower lobe", "BodySite", "human"),
                                 ("left lower lobe pneumonia", "Condition", "human")]
    redo = project.undo(project.annotations.remove_entity(did, *SITE))
    assert len(entities(project)) == 2
    project.undo(redo)
    assert entities(project) == [("left lower lobe pneumonia", "Condition", "human")]


def test_a_relation_between_nested_entities_survives_removing_and_undo(
        project: Project) -> None:
    project.annotations.add_relation_type(RelationSpec("site_of", ("BodySite",), ("Condition",)))
    did = doc_id(project)
    project.annotations.add_entity(did, *CONDITION, "Condition")
    project.annotations.add_entity(did, *SITE, "BodySite")
    project.annotations.add_relation(did, SITE, CONDITION, "site_of")
    removed = project.annotations.remove_entity(did, *CONDITION)
    assert project.documents.get(did).relations == ()
    project.undo(removed)
    (relation,) = project.documents.get(did).relations
    assert (relation.head, relation.tail, relation.label) == (SITE, CONDITION,
                                                                        "site_of")
    (record,) = project.documents.records()
    assert [(record.spans[r.head].label, record.spans[r.tail].label) for r in
            record.relations] == [("BodySite", "Condition")]


# --- imports and the records training reads ------------------------------------------------


def _jsonl(tmp_path: Path, spans: list[list[object]], name: str = "in.jsonl") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"text": TEXT, "label": spans}) + "\n", encoding="utf-8")
    return path


def test_jsonl_import_keeps_nested_spans_and_the_records_carry_them(
        project: Project, tmp_path: Path) -> None:
    path = _jsonl(tmp_path, [[*CONDITION, "Condition"], [*SITE, "BodySite"],
                             [*EFFUSION, "Condition"], [*PLEURAL, "BodySite"]])
    other = "Second note: left lower lobe pneumonia again."
    path.write_text(path.read_text() + json.dumps({"text": other, "label": [
        [*at("left lower lobe pneumonia", other), "Condition"],
        [*at("left lower lobe", other), "BodySite"]]}) + "\n", encoding="utf-8")
    summary, _ = project.documents.add(read_file(path))
    assert summary.annotations_added == 6
    records = {r.text: r for r in project.documents.records()}
    # What the trainer is handed: every span, in text order (the shorter first at a tie).
    assert [(s.start, s.end, s.label) for s in records[TEXT].spans] == [
        (*SITE, "BodySite"), (*CONDITION, "Condition"), (*PLEURAL, "BodySite"),
        (*EFFUSION, "Condition")]
    assert len(records[other].spans) == 2
    with project.read() as session:
        (record,) = repo.iter_records(session, doc_ids=[doc_id(project)])
    assert record.spans == records[TEXT].spans


def test_the_same_span_merged_into_a_known_document_is_not_added_twice(
        project: Project, tmp_path: Path) -> None:
    first = _jsonl(tmp_path, [[*CONDITION, "Condition"]], "a.jsonl")
    again = _jsonl(tmp_path, [[*CONDITION, "Condition"], [*SITE, "BodySite"]], "b.jsonl")
    project.documents.add(read_file(first))
    summary, _ = project.documents.add(read_file(again))
    assert (summary.annotations_added, list(summary.conflicts)) == (1, [])
    assert [e[:2] for e in entities(project)] == [("left lower lobe", "BodySite"),
                                                  ("left lower lobe pneumonia", "Condition")]


def test_another_label_on_a_known_entity_is_a_named_conflict(
        project: Project, tmp_path: Path) -> None:
    """Merged into a known document, a span of another label on an entity's extent is not
    dropped silently: the summary names its file, line and both labels, and the entity keeps
    its label."""
    first = _jsonl(tmp_path, [[*CONDITION, "Condition"]], "a.jsonl")
    again = _jsonl(tmp_path, [[*CONDITION, "BodySite"], [*SITE, "BodySite"]], "b.jsonl")
    project.documents.add(read_file(first))
    summary, _ = project.documents.add(read_file(again))
    assert summary.annotations_added == 1
    assert list(summary.conflicts) == [
        (f"{again}:1: entity [{CONDITION[0]}, {CONDITION[1]}) BodySite: the document already "
         "has Condition there; kept Condition")]
    assert [e[:2] for e in entities(project)] == [("left lower lobe", "BodySite"),
                                                  ("left lower lobe pneumonia", "Condition")]


def test_an_import_refuses_two_labels_on_one_extent_naming_file_and_line(
        project: Project, tmp_path: Path) -> None:
    path = _jsonl(tmp_path, [[*SITE, "BodySite"], [*SITE, "Condition"]])
    with pytest.raises(InputError) as err:
        project.documents.add(read_file(path))
    assert "in.jsonl:1:" in str(err.value)
    assert "same extent" in str(err.value)
    assert entities(project) == []


def test_a_project_without_overlaps_refuses_the_import_and_imports_nothing(
        tmp_path: Path) -> None:
    p = make(tmp_path, overlapping=False, texts=())
    path = _jsonl(tmp_path, [[*CONDITION, "Condition"], [*SITE, "BodySite"]])
    with pytest.raises(InputError) as err:
        p.documents.add(read_file(path))
    assert "in.jsonl:1:" in str(err.value) and "overlap" in str(err.value)
    assert "--overlapping" in str(err.value)
    assert p.documents.stats()["documents"] == 0
    p.close()


BRAT_ANN = (f"T1\tCondition {CONDITION[0]} {CONDITION[1]}\tleft lower lobe pneumonia\n"
            f"T2\tBodySite {SITE[0]} {SITE[1]}\tleft lower lobe\n")


def _brat(tmp_path: Path, ann: str) -> Path:
    folder = tmp_path / "brat"
    folder.mkdir(exist_ok=True)
    (folder / "n1.txt").write_text(TEXT, encoding="utf-8")
    (folder / "n1.ann").write_text(ann, encoding="utf-8")
    return folder


def test_brat_keeps_nested_entities_only_for_a_project_that_allows_them(
        tmp_path: Path) -> None:
    folder = _brat(tmp_path, BRAT_ANN)
    with pytest.raises(InputError, match=r"n1\.ann:2: .*overlaps T1"):
        read_brat(folder)
    records, _ = read_brat(folder, overlapping=True)
    assert [(s.label, TEXT[s.start:s.end]) for s in records[0].spans] == [
        ("Condition", "left lower lobe pneumonia"), ("BodySite", "left lower lobe")][::-1]
    assert read_file(folder, overlapping=True)[0].spans == records[0].spans
    twice = _brat(tmp_path, BRAT_ANN + f"T3\tCondition {SITE[0]} {SITE[1]}\tleft lower lobe\n")
    with pytest.raises(InputError, match=r"n1\.ann:3: .*same span as T2"):
        read_brat(twice, overlapping=True)


# --- export -----------------------------------------------------------------------------------


def test_conll_refuses_overlapping_documents_before_writing_anything(
        project: Project, tmp_path: Path) -> None:
    texts = [TEXT, "Plain note.", TEXT + " Again."]
    records = [
        DocumentRecord(texts[0], spans=(EntitySpan(*CONDITION, "Condition"),
                                        EntitySpan(*SITE, "BodySite")), external_id="n1"),
        DocumentRecord(texts[1], spans=(EntitySpan(0, 5, "Condition"),), external_id="n2"),
        DocumentRecord(texts[2], spans=(EntitySpan(*EFFUSION, "Condition"),
                                        EntitySpan(*PLEURAL, "BodySite")), external_id="n3"),
    ]
    out = tmp_path / "out" / "x.conll"
    out.parent.mkdir()
    with pytest.raises(ExportError) as err:
        write_file(records, out, "conll")
    message = str(err.value)
    for part in ("cannot represent overlapping or nested", "2 of the 3 documents",
                 "(id n1)", f"[{SITE[0]}, {SITE[1]}) BodySite 'left lower lobe'",
                 f"[{CONDITION[0]}, {CONDITION[1]}) Condition", "--format jsonl", "brat"):
        assert part in message
    assert list(out.parent.iterdir()) == []
    assert overlapping_pair(records[1].spans) is None
    # A project that allows overlaps but has none exports as any other.
    did = doc_id(project)
    project.annotations.add_entity(did, *CONDITION, "Condition")
    project.annotations.add_entity(did, *EFFUSION, "Condition")
    assert write_file(project.documents.records(), out, "conll") == 1
    assert "B-Condition" in out.read_text(encoding="utf-8")


def test_jsonl_and_brat_export_and_read_back_nested_entities(
        project: Project, tmp_path: Path) -> None:
    did = doc_id(project)
    project.annotations.add_entity(did, *CONDITION, "Condition")
    project.annotations.add_entity(did, *SITE, "BodySite")
    spans = project.documents.records()[0].spans
    write_file(project.documents.records(), tmp_path / "out.jsonl", "jsonl")
    assert read_file(tmp_path / "out.jsonl")[0].spans == spans
    write_file(project.documents.records(), tmp_path / "brat_out", "brat")
    assert read_brat(tmp_path / "brat_out", overlapping=True)[0][0].spans == spans


# --- suggestions -----------------------------------------------------------------------------


def test_the_clash_rule_of_nested_entities() -> None:
    human = [(*CONDITION, "Condition")]
    assert not nested_entity_clashes(human, *SITE, "BodySite")  # nested, another label
    assert nested_entity_clashes(human, *CONDITION, "BodySite")  # the same extent
    assert nested_entity_clashes(human, *SITE, "Condition")  # overlapping, same label
    assert not nested_entity_clashes(human, *EFFUSION, "Condition")  # apart


def _suggest(p: Project, did: int, span: tuple[int, int], label: str,
             confidence: float = 0.9) -> int:
    with p.write() as session:
        row = Suggestion(document_id=did, task_id=session.scalar(
            select(Task.id).where(Task.kind == "ner")), kind="entity",
            payload=EntityPayload(*span, label).to_json(), confidence=confidence)
        session.add(row)
        session.flush()
        return row.id


def test_a_suggestion_nested_in_a_human_entity_of_another_label_is_accepted(
        project: Project) -> None:
    did = doc_id(project)
    project.annotations.add_entity(did, *CONDITION, "Condition")
    nested = _suggest(project, did, SITE, "BodySite")
    changes = project.review.accept(did, [nested])
    assert ("left lower lobe", "BodySite", "accepted") in entities(project)
    project.undo(changes)
    assert entities(project) == [("left lower lobe pneumonia", "Condition", "human")]


def test_accepting_all_leaves_the_clashing_suggestions_pending(project: Project) -> None:
    did = doc_id(project)
    project.annotations.add_entity(did, *CONDITION, "Condition")
    fine = _suggest(project, did, SITE, "BodySite")
    same_label = _suggest(project, did, at("pneumonia. No"), "Condition")
    same_extent = _suggest(project, did, CONDITION, "BodySite")
    project.review.accept_above(did, "entity", 0.5)
    pending = {s.id for s in project.review.pending("ner").get(did, [])}
    assert fine not in pending and {same_label, same_extent} <= pending
    assert ("left lower lobe", "BodySite", "accepted") in entities(project)


def test_preannotation_stores_suggestions_that_nest_and_overlap_each_other(
        project: Project) -> None:
    did = doc_id(project)
    project.annotations.add_entity(did, *CONDITION, "Condition")
    new = [NewSuggestion(did, EntityPayload(*SITE, "BodySite"), 0.9),  # nested: kept
           NewSuggestion(did, EntityPayload(*CONDITION, "BodySite"), 0.9),  # extent: no
           NewSuggestion(did, EntityPayload(*at("lobe pneumonia"), "Condition"), 0.9),  # no
           NewSuggestion(did, EntityPayload(*EFFUSION, "Condition"), 0.8),  # kept
           NewSuggestion(did, EntityPayload(*PLEURAL, "BodySite"), 0.7)]  # kept: nests
    with project.write() as session:
        task = repo.require_task(session, TaskKind.NER)
        version = ModelVersion(task_id=task.id, version=1, base_model="x", path="x")
        session.add(version)
        session.flush()
        stored, _, skipped = pre._write_chunk(session, task.id, version.id, [did], new, {},
                                              TaskKind.NER)
    assert (stored, skipped) == (3, 2)
    assert sorted((TEXT[s.start:s.end], s.label) for s in project.review.pending("ner").get(did, [])) == [
        ("left lower lobe", "BodySite"), ("pleural", "BodySite"),
        ("pleural effusion", "Condition")]


@pytest.mark.parametrize("overlapping", [True, False])
def test_nested_entity_suggestions_get_attribute_suggestions_in_a_task_that_allows_them(
        tmp_path: Path, overlapping: bool) -> None:
    """What the attribute and relation heads predict on: the entities and the pending
    entity suggestions that could be accepted beside them (nested in another label's
    entity only where entities may overlap)."""
    from core.tasks.attributes import with_suggested_entities

    p = make(tmp_path, overlapping=overlapping)
    p.annotations.add_attribute("negation=Affirmed,Negated")
    did = doc_id(p)
    p.annotations.add_entity(did, *CONDITION, "Condition")
    _suggest(p, did, SITE, "BodySite")  # nested in the Condition
    _suggest(p, did, at("lobe pneumonia. No"), "Condition")  # overlaps its own label
    _suggest(p, did, EFFUSION, "Condition")  # outside
    _suggest(p, did, PLEURAL, "BodySite")  # nested in the suggestion before
    with p.read() as session:
        record = with_suggested_entities(session, session.get(Document, did))
    p.close()
    got = [(TEXT[s.start:s.end], s.label, s.attributes) for s in record.spans]
    affirmed = {"negation": "Affirmed"}
    nested = [("left lower lobe", "BodySite", affirmed)] if overlapping else []
    inner = [("pleural", "BodySite", affirmed)] if overlapping else []
    assert got == [("left lower lobe pneumonia", "Condition", affirmed), *nested,
                   ("pleural effusion", "Condition", affirmed), *inner]


def test_without_overlaps_a_nested_suggestion_clashes_as_before(tmp_path: Path) -> None:
    p = make(tmp_path, overlapping=False)
    did = doc_id(p)
    p.annotations.add_entity(did, *CONDITION, "Condition")
    with p.read() as session:
        clashes = kind_of(TaskKind.NER).clash_check(session, [did])
    assert clashes(did, None, EntityPayload(*SITE, "BodySite"), False)
    assert not clashes(did, None, EntityPayload(*EFFUSION, "BodySite"), False)
    p.close()


def test_patterns_nest_a_label_inside_a_person_entity_of_another(tmp_path: Path) -> None:
    patterns = [PhrasePattern(label="BodySite", phrase="left lower lobe"),
                PhrasePattern(label="Condition", phrase="lobe pneumonia"),
                PhrasePattern(label="Condition", phrase="pleural effusion"),
                PhrasePattern(label="BodySite", phrase="pleural")]
    found = {}
    for overlapping in (True, False):
        p = make(tmp_path, overlapping=overlapping, name=f"{overlapping}.db")
        did = doc_id(p)
        p.annotations.add_entity(did, *CONDITION, "Condition")
        suggest_from_patterns(p, "ner", patterns, source="patterns:t")
        found[overlapping] = sorted((TEXT[s.start:s.end], s.label)
                                    for s in p.review.pending("ner").get(did, []))
        p.close()
    # "lobe pneumonia" overlaps the person's Condition: never; "pleural" nests in a
    # suggested "pleural effusion" of another label: only when overlaps are allowed.
    assert found[True] == [("left lower lobe", "BodySite"), ("pleural", "BodySite"),
                           ("pleural effusion", "Condition")]
    assert found[False] == [("pleural effusion", "Condition")]


def test_label_all_places_a_phrase_inside_an_entity_of_another_label(tmp_path: Path) -> None:
    other = "Follow-up: left lower lobe pneumonia resolving; left lower lobe clear."
    p = make(tmp_path, texts=(TEXT, other))
    first, second = doc_id(p, "n1"), doc_id(p, "n2")
    p.annotations.add_entity(second, *at("left lower lobe pneumonia", other), "Condition")
    p.annotations.add_entity(first, *SITE, "BodySite")
    p.review.label_all(first, *SITE)
    assert [e[:2] for e in entities(p, second)] == [
        ("left lower lobe", "BodySite"), ("left lower lobe", "BodySite"),
        ("left lower lobe pneumonia", "Condition")]
    p.close()


def test_snapping_keeps_overlapping_spans_of_different_labels() -> None:
    spans = [(*CONDITION, "Condition"), (SITE[0], SITE[1] - 1, "BodySite")]  # "...lob"
    assert snap_spans(TEXT, spans) == [(*CONDITION, "Condition")]  # as before: the longer
    assert snap_spans(TEXT, spans, overlapping=True) == [(*SITE, "BodySite"),
                                                         (*CONDITION, "Condition")]
    # Within one label, overlapping pieces still join into one entity.
    pieces = [(*SITE, "BodySite"), (*at("lobe pneumonia"), "BodySite")]
    assert snap_spans(TEXT, pieces, overlapping=True) == [(*CONDITION, "BodySite")]


# --- team work --------------------------------------------------------------------------------


def test_agreement_and_adjudication_with_nested_entities(project: Project) -> None:
    assert entity_report({"ana": {1: [(*CONDITION, "Condition"), (*SITE, "BodySite")]},
                          "ben": {1: [(*CONDITION, "Condition")]}})["pairs"][0]["f1"] == \
        pytest.approx(2 * 1 / 3, abs=1e-4)
    project.team.assign(annotators=["ana", "ben"], double_share=1.0, seed=1)
    did = doc_id(project)
    for name, spans in (("ana", [(CONDITION, "Condition"), (SITE, "BodySite")]),
                        ("ben", [(CONDITION, "Condition")])):
        layer = project.team.layer_for(did, name)
        assert layer is not None
        project.annotator = name
        for span, label in spans:
            project.annotations.add_entity(layer, *span, label)
        project.annotations.set_review_status(layer, "reviewed")
    report = project.team.agreement()["entities"]["pairs"][0]
    assert report["f1"] == pytest.approx(2 * 1 / 3, abs=1e-4)
    assert report["per_label"]["Condition"]["f1"] == 1.0
    adj = project.team.adjudication(did)
    (item,) = [i for i in adj.items if i.kind == "entities"]
    assert not item.agreed
    project.annotator = "carla"
    project.team.adjudicate(did, {item.key: "ana"})
    assert [e[:2] for e in entities(project, did)] == [
        ("left lower lobe", "BodySite"), ("left lower lobe pneumonia", "Condition")]


def test_the_store_level_bulk_accept_uses_the_same_rule(project: Project) -> None:
    from core import review

    did = doc_id(project)
    project.annotations.add_entity(did, *CONDITION, "Condition")
    fine = _suggest(project, did, SITE, "BodySite")
    same_label = _suggest(project, did, at("pneumonia. No"), "Condition")
    with project.write() as session:
        assert review.accept_document(session, did, TaskKind.NER) == 1
    pending = {s.id for s in project.review.pending("ner").get(did, [])}
    assert pending == {same_label} and fine not in pending
