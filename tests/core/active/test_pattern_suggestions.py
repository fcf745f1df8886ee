"""Patterns as suggestions: own source, never over human labels, idempotent, reviewed as
the model's, kept by pre-annotation, counted apart in the report."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from al_helpers import TinyModels
from sqlalchemy import select

from core.active.pattern_suggestions import suggest_from_patterns
from core.active.preannotate import preannotate
from core.patterns import PhrasePattern, TokenPattern, token_spec
from core.project import Project
from core.store import repo
from core.store.models import ModelVersion, Suggestion
from core.store.repo import AnnotationError
from core.types import DocumentRecord, EntitySpan, Split

SOURCE = "patterns:terms.txt"
TERMS = [PhrasePattern("Disease", "breast cancer"), PhrasePattern("Disease", "asthma"),
         PhrasePattern("Disease", "cancer")]


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    p = Project.create(tmp_path / "p.db", tasks={"ner": ["Disease", "DRUG"]})
    p.documents.add([
        DocumentRecord("Breast cancer and asthma run in the family."),
        DocumentRecord("Her asthma got worse.", spans=(EntitySpan(4, 10, "Disease"),)),
        DocumentRecord("No cancer here, only asthma."),
    ])
    p.documents.add([DocumentRecord("Asthma in a test document.")], split=Split.TEST)
    yield p
    p.close()


def _pending(project: Project) -> list[tuple[str, str, str]]:
    by_doc = project.review.pending("ner")
    out = []
    for doc_id, items in sorted(by_doc.items()):
        for s in items:
            assert s.text == project.documents.get(doc_id).text[s.start:s.end]
            out.append((s.text, s.label, s.source))
    return out


def test_matches_become_pending_suggestions_of_their_source(project: Project) -> None:
    result = project.review.apply_patterns("ner", TERMS, source=SOURCE)
    assert (result.documents, result.suggestions, result.matches) == (3, 4, 4)
    assert _pending(project) == [
        ("Breast cancer", "Disease", SOURCE), ("asthma", "Disease", SOURCE),
        ("cancer", "Disease", SOURCE), ("asthma", "Disease", SOURCE),
    ]  # not the human "asthma" of document 2, not the test document
    with project.read() as s:
        rows = s.scalars(select(Suggestion)).all()
        assert {r.confidence for r in rows} == {0.5} and {r.model_version_id for r in rows} == {None}


def test_running_twice_changes_nothing_and_a_rejection_is_remembered(project: Project) -> None:
    project.review.apply_patterns("ner", TERMS, source=SOURCE)
    before = project.review.pending("ner")
    again = project.review.apply_patterns("ner", TERMS, source=SOURCE)
    assert (again.suggestions, again.kept, again.removed) == (0, 4, 0)
    assert project.review.pending("ner") == before  # the same rows, ids and all
    doc, first = next(iter(before.items()))
    project.review.reject(doc, [first[0].id])
    third = project.review.apply_patterns("ner", TERMS, source=SOURCE)
    assert (third.suggestions, third.decided_before, third.kept) == (0, 1, 3)
    # Patterns dropped from the list: their pending suggestions go.
    fewer = project.review.apply_patterns("ner", TERMS[2:], source=SOURCE)
    # "cancer" inside the rejected "Breast cancer" is a match of its own now.
    assert (fewer.removed, fewer.kept, fewer.suggestions) == (2, 1, 1)
    assert [t for t, _, _ in _pending(project)] == ["cancer", "cancer"]


def test_accepting_one_makes_a_human_label_and_a_new_run_respects_it(project: Project) -> None:
    project.review.apply_patterns("ner", TERMS, source=SOURCE)
    doc, items = next(iter(project.review.pending("ner").items()))
    project.review.accept(doc, [items[0].id])
    view = project.documents.get(doc)
    assert [(e.start, e.end, e.label) for e in view.entities] == [(0, 13, "Disease")]
    project.review.edit(doc, items[1].id, label="DRUG")
    result = project.review.apply_patterns("ner", TERMS, source=SOURCE)
    assert result.suggestions == 0
    report = project.review.report("ner")
    assert report["by_source"][SOURCE] == {"pending": 2, "accepted": 1, "edited": 1, "rejected": 0}
    assert report["rates_by_source"][SOURCE] == {"acceptance_rate": 0.5, "useful_rate": 1.0}


def test_labels_made_meanwhile_and_other_sources_are_respected(project: Project) -> None:
    first = project.review.apply_patterns("ner", TERMS, source=SOURCE)
    other = project.review.apply_patterns("ner", TERMS, source="patterns:other.jsonl")
    assert other.suggestions == 0 and other.other_source == first.suggestions
    doc = project.documents.filter()[2]
    project.annotations.add_entity(doc, 3, 9, "Disease")  # "cancer" by hand
    project.review.apply_patterns("ner", TERMS, source=SOURCE)
    assert ("cancer", "Disease", SOURCE) not in _pending(project)


def test_token_patterns_are_stored_too(project: Project) -> None:
    pattern = TokenPattern("Disease", (token_spec({"LOWER": "breast"}), token_spec({"REGEX": "^canc"})))
    assert project.review.apply_patterns("ner", [pattern], source=SOURCE).suggestions == 1


def test_refused_before_anything_is_written(project: Project) -> None:
    with pytest.raises(AnnotationError, match="no label 'Symptom'"):
        project.review.apply_patterns("ner", [PhrasePattern("Symptom", "cough")], source=SOURCE)
    with pytest.raises(AnnotationError, match="patterns:<name>"):
        project.review.apply_patterns("ner", TERMS, source="model")
    with pytest.raises(AnnotationError, match="not classify"):
        suggest_from_patterns(project, "classify", TERMS, source=SOURCE)
    with pytest.raises(AnnotationError, match="confidence"):
        project.review.apply_patterns("ner", TERMS, source=SOURCE, confidence=2)
    assert project.review.pending("ner") == {}


def test_label_terms_come_from_human_entities_outside_test(project: Project) -> None:
    test_doc = project.documents.filter()[-1]
    project.annotations.add_entity(test_doc, 0, 6, "DRUG")  # a test label never leaks
    assert project.review.label_terms() == [PhrasePattern("Disease", "asthma")]


def test_preannotation_replaces_the_models_suggestions_only(
    tmp_path: Path, tiny_models: TinyModels
) -> None:
    p = Project.create(tmp_path / "m.db", tasks={"ner": ["DRUG"]})
    try:
        p.documents.add([DocumentRecord("take aspirin daily"), DocumentRecord("no aspirin now")])
        with p.write() as s:
            s.add(ModelVersion(task_id=repo.require_task(s, "ner").id, version=1,
                               base_model="tiny", path=str(tiny_models["ner"]), is_active=True))
        p.review.apply_patterns("ner", [PhrasePattern("DRUG", "aspirin")], source=SOURCE)
        preannotate(p, "ner")
        with p.write() as s:  # a second model version predicts again
            s.scalars(select(ModelVersion)).one().version = 1
            s.add(ModelVersion(task_id=repo.require_task(s, "ner").id, version=2,
                               base_model="tiny", path=str(tiny_models["ner"]), is_active=True))
            s.scalars(select(ModelVersion).where(ModelVersion.version == 1)).one().is_active = False
        preannotate(p, "ner")
        sources = [x.source for items in p.review.pending("ner").values() for x in items]
        assert sources.count(SOURCE) == 2
        assert set(sources) <= {SOURCE, "model"}
    finally:
        p.close()
