"""Team work through the facade: assignment with a double-annotated share, each annotator's
layer, the queue and the list per annotator, agreement of the layers, adjudication into the
gold labels, and training on gold or the single annotator's labels."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.engine.project_bridge import snapshot_task
from core.project import DocFilter, Project
from core.store.repo import AnnotationError
from core.types import AttributeSpec, DocumentRecord, TaskKind

NOTES = [f"Note {i}: patient has fever and cough, no asthma. Given aspirin." for i in range(10)]


@pytest.fixture
def project(tmp_path: Path) -> Project:
    p = Project.create(tmp_path / "team.db", tasks={"ner": ["Condition", "Medication"],
                                                     "classify": ["urgent", "routine"]})
    p.annotations.add_task("ner", attributes=[AttributeSpec("negation", ("Affirmed", "Negated"))])
    p.documents.add([DocumentRecord(t, external_id=f"n{i}") for i, t in enumerate(NOTES)])
    yield p
    p.close()


def _as(project: Project, name: str) -> Project:
    project.annotator = name
    return project


def _span(doc_text: str, phrase: str) -> tuple[int, int]:
    start = doc_text.index(phrase)
    return start, start + len(phrase)


def test_assign_gives_a_share_to_two_annotators_each_with_a_layer(project: Project) -> None:
    result = project.team.assign(annotators=["ana", "ben"], double_share=0.3, seed=1)
    assert (result.documents, result.double, result.layers_made) == (10, 3, 6)
    # 3 double (both), 7 single in turn from ana: ana 3 + 4, ben 3 + 3.
    assert result.per_annotator == {"ana": 7, "ben": 6}
    docs = project.team.documents()
    assert len(docs) == 3 and all(len(d.layers) == 2 for d in docs)
    assert {tuple(sorted(x.annotator for x in d.layers)) for d in docs} == {("ana", "ben")}
    # The layers are not documents of their own: counts, the plain list, exports.
    assert project.documents.stats()["documents"] == 10
    assert len(project.documents.filter()) == 10
    assert len(project.documents.records()) == 10
    assert project.documents.stats()["layers"] == {"ana": 3, "ben": 3}
    # Assigning again gives nothing new: every document has its annotators.
    assert project.team.assign().documents == 0


def test_each_annotator_sees_and_queues_their_own_documents(project: Project) -> None:
    project.team.assign(annotators=["ana", "ben"], double_share=0.3, seed=1)
    given = project.team.assignments()
    double = {d.doc_id for d in project.team.documents()}
    for name in ("ana", "ben"):
        queue = [e.doc_id for e in project.review.queue("ner", strategy="random",
                                                         annotator=name)]
        mine = {d for d, who in given.items() if who == [name]}
        layers = {project.team.layer_for(d, name) for d in double}
        assert set(queue) == mine | layers
        # The list shows their layer in the document's place, and others' layers never.
        listed = project.documents.filter(DocFilter(annotator=name))
        assert len(listed) == 10
        assert layers <= set(listed) and not double & set(listed)
    # Someone with no layer sees the documents themselves (the gold).
    assert set(project.documents.filter(DocFilter(annotator="carla"))) >= double


def test_labels_go_to_the_layer_of_whoever_works(project: Project) -> None:
    project.team.assign(annotators=["ana", "ben"], double_share=0.3, seed=1)
    doc = project.team.documents()[0]
    ana_layer = project.team.layer_for(doc.doc_id, "ana")
    assert ana_layer is not None
    text = project.documents.get(ana_layer).text
    _as(project, "ana").annotations.add_entity(ana_layer, *_span(text, "fever"), "Condition")
    original = project.documents.get(doc.doc_id)
    assert original.entities == ()  # nobody overwrote the gold
    layer = project.documents.get(ana_layer)
    assert [e.label for e in layer.entities] == ["Condition"]
    assert (layer.layer_of, layer.layer) == (doc.doc_id, "ana")
    with project.read() as s:
        from core.store.models import EntityAnnotation

        assert [e.annotator for e in s.query(EntityAnnotation)] == ["ana"]


def _label_layers(project: Project, doc_id: int) -> None:
    """ana and ben agree on fever (ben calls it negated), disagree on aspirin's label,
    and only ana marks cough; both mark the layer done."""
    for name in ("ana", "ben"):
        layer = project.team.layer_for(doc_id, name)
        assert layer is not None
        p = _as(project, name)
        text = p.documents.get(layer).text
        p.annotations.add_entity(layer, *_span(text, "fever"), "Condition")
        if name == "ben":
            fever = p.documents.get(layer).entities[0]
            p.annotations.set_entity_attributes(fever.id, {"negation": "Negated"})
        if name == "ana":
            p.annotations.add_entity(layer, *_span(text, "cough"), "Condition")
        p.annotations.add_entity(layer, *_span(text, "aspirin"),
                                 "Medication" if name == "ana" else "Condition")
        p.annotations.set_classes(layer, ["urgent"] if name == "ana" else ["routine"])
        p.annotations.set_review_status(layer, "reviewed")


def test_agreement_of_the_layers(project: Project) -> None:
    project.team.assign(annotators=["ana", "ben"], double_share=0.3, seed=1)
    docs = project.team.documents()
    assert project.team.agreement()["documents"] == 0  # nobody is done yet
    _label_layers(project, docs[0].doc_id)
    report = project.team.agreement()
    pair = report["entities"]["pairs"][0]
    assert (pair["a"], pair["b"], pair["documents"]) == ("ana", "ben", 1)
    # ana: fever, cough, aspirin/Medication; ben: fever, aspirin/Condition -> 1 of 3 + 2.
    assert pair["f1"] == pytest.approx(2 * 1 / (3 + 2), abs=1e-4)
    assert pair["per_label"]["Condition"]["f1"] == pytest.approx(2 * 1 / (2 + 2), abs=1e-4)
    attrs = report["attributes"]["pairs"][0]["per_attribute"]["negation"]
    assert (attrs["entities"], attrs["agreement"]) == (1, 0.0)
    classes = report["classes"]["pairs"][0]
    assert classes["documents"] == 1 and classes["observed"] == 0.0


def test_adjudication_merges_agreed_items_and_takes_the_chosen_version(
        project: Project) -> None:
    project.team.assign(annotators=["ana", "ben"], double_share=0.3, seed=1)
    doc_id = project.team.documents()[0].doc_id
    with pytest.raises(AnnotationError, match="not marked their layer done"):
        project.team.gold_op(doc_id)
    _label_layers(project, doc_id)
    adj = project.team.adjudication(doc_id)
    assert adj.ready and adj.annotators == ("ana", "ben")
    kinds = sorted((i.kind, i.agreed) for i in adj.items)
    # fever agreed (its negation not), cough and aspirin disputed, classes disputed.
    assert kinds == [("attribute", False), ("classes", False), ("entities", False),
                     ("entities", False), ("entities", True)]
    choices = {i.key: ("ben" if i.kind == "attribute" else "ana") for i in adj.disputed}
    changes = _as(project, "carla").team.adjudicate(doc_id, choices)
    gold = project.documents.get(doc_id)
    text = gold.text
    assert sorted((text[e.start:e.end], e.label, e.attributes.get("negation"))
                  for e in gold.entities) == [("aspirin", "Medication", "Affirmed"),
                                              ("cough", "Condition", "Affirmed"),
                                              ("fever", "Condition", "Negated")]
    assert gold.classes == ("urgent",) and gold.review_status == "reviewed"
    assert {e.origin for e in gold.entities} == {"adjudicated"}
    # Training reads the gold, and says where each document came from.
    snap = snapshot_task(project, TaskKind.NER)
    assert snap.sources == {"single_annotator": 0, "gold": 1, "awaiting_adjudication": 2}
    assert [r.doc_id for r in snap.train] == [doc_id]
    project.undo(changes)
    assert project.documents.get(doc_id).entities == ()
    assert project.documents.get(doc_id).review_status == "unreviewed"


def test_a_left_out_disputed_item_is_not_in_the_gold(project: Project) -> None:
    project.team.assign(annotators=["ana", "ben"], double_share=0.3, seed=1)
    doc_id = project.team.documents()[0].doc_id
    _label_layers(project, doc_id)
    project.team.adjudicate(doc_id, {})
    gold = project.documents.get(doc_id)
    assert [gold.text[e.start:e.end] for e in gold.entities] == ["fever"]
    with pytest.raises(AnnotationError, match="has no layer"):
        project.team.gold_op(doc_id, {project.team.adjudication(doc_id).disputed[0].key: "zoe"})


def test_names_are_checked(project: Project) -> None:
    with pytest.raises(AnnotationError, match="names the adjudicated"):
        project.team.configure(annotators=["ana", "gold"])
    with pytest.raises(AnnotationError, match="at least two annotators"):
        project.team.assign(annotators=["ana"], double_share=0.5)
    with pytest.raises(AnnotationError, match="between 0 and 1"):
        project.team.configure(double_share=1.5)


def test_a_project_without_a_team_behaves_as_before(project: Project) -> None:
    doc = project.documents.filter()[0]
    project.annotations.add_entity(doc, 0, 4, "Condition")
    snap = snapshot_task(project, TaskKind.NER)
    assert snap.sources is None and [r.doc_id for r in snap.train] == [doc]
    assert project.team.documents() == []
    assert project.documents.stats()["layers"] == {}


def test_sentence_agreement_counts_the_sentences_someone_classified(tmp_path: Path) -> None:
    """Three sentences; ana and ben each classify the first, differently, and leave the
    other two alone: one item of disagreement, not two thirds of agreement."""
    with Project.create(tmp_path / "s.db", tasks={"sentence": ["pos", "neg"]}) as p:
        p.documents.add([DocumentRecord("Good food. The room. The street.")])
        doc = p.documents.filter()[0]
        p.team.assign(annotators=["ana", "ben"], double_share=1.0)
        for name, label in (("ana", "pos"), ("ben", "neg")):
            p.annotator = name
            layer = p.team.layer_for(doc, name)
            first = p.documents.get(layer).sentences[0]
            assert len(p.documents.get(layer).sentences) == 3
            p.annotations.set_sentence_classes(layer, first.start, first.end, [label])
            p.annotations.set_review_status(layer, "reviewed")
        pair = p.team.agreement("sentence")["sentences"]["pairs"][0]
        assert (pair["documents"], pair["observed"]) == (1, 0.0)
        # adjudication: the one disputed sentence, ben's version taken
        adj = p.team.adjudication(doc)
        assert [i.kind for i in adj.disputed] == ["sentence"] and not adj.agreed
        p.team.adjudicate(doc, {adj.disputed[0].key: "ben"})
        assert [s.labels for s in p.documents.get(doc).sentences] == [("neg",), (), ()]
