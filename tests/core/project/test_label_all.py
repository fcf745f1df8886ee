"""Label all occurrences: one entity's label on every other place of its phrase, applied
as one undoable step or stored as suggestions of their own source."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.project import Project
from core.store.repo import AnnotationError
from core.types import DocumentRecord, EntitySpan, Split

TEXTS = {
    "a": "Type 2 diabetes, well controlled. Diabetes education given.",
    "b": "No DIABETES. Prediabetes noted; diabetes mellitus excluded.",
    "c": "Family history of diabetes.",  # test split: left alone
    "d": "Diabetes again.",  # reviewed: left alone
    "e": "Gestational diabetes in 2019.",  # a human label there already
}


@pytest.fixture
def project(tmp_path: Path) -> Project:
    p = Project.create(tmp_path / "p.db", tasks={"ner": ["Disease", "Drug"]})
    records = [DocumentRecord(text=t, external_id=k) for k, t in TEXTS.items()]
    records[0] = DocumentRecord(text=TEXTS["a"], external_id="a",
                                spans=(EntitySpan(7, 15, "Disease"),))
    records[2] = DocumentRecord(text=TEXTS["c"], external_id="c", split=Split.TEST)
    records[4] = DocumentRecord(text=TEXTS["e"], external_id="e",
                                spans=(EntitySpan(0, 20, "Disease"),))
    p.documents.add(records)
    ids = _ids(p)
    p.annotations.set_review_status(ids["d"], "reviewed")
    yield p
    p.close()


def _ids(project: Project) -> dict[str, int]:
    return {r.external_id: r.doc_id for r in project.documents.records()}


def _spans(project: Project) -> dict[str, set[tuple[int, int, str]]]:
    return {r.external_id: {(s.start, s.end, s.label) for s in r.spans}
            for r in project.documents.records()}


def test_label_all_applies_on_word_boundaries_and_undoes_whole(project: Project) -> None:
    ids = _ids(project)
    before = _spans(project)
    changes = project.review.label_all(ids["a"], 7, 15)
    after = _spans(project)
    # "Diabetes" later in a, "DIABETES" and "diabetes" in b; not "Prediabetes", not in the
    # test note c, the reviewed note d or over the human label of e.
    assert after["a"] - before["a"] == {(34, 42, "Disease")}
    assert after["b"] - before["b"] == {(3, 11, "Disease"), (32, 40, "Disease")}
    assert after["c"] == before["c"] and after["d"] == before["d"] and after["e"] == before["e"]
    assert 'labelled 3 more occurrences of "diabetes" as Disease' in changes.messages[-1]
    assert changes.documents == {ids["a"], ids["b"]}
    project.undo(changes)
    assert _spans(project) == before


def test_label_all_as_suggestions_of_their_own_source(project: Project) -> None:
    ids = _ids(project)
    result = project.review.label_all(ids["a"], 7, 15, suggest=True)
    assert result.suggestions == 3 and result.source == "patterns:label all Disease: diabetes"
    pending = project.review.pending("ner")
    places = {(d, s.start, s.end) for d, ss in pending.items() for s in ss}
    assert places == {(ids["a"], 34, 42), (ids["b"], 3, 11), (ids["b"], 32, 40)}
    assert {s.source for ss in pending.values() for s in ss} == {result.source}
    assert project.review.withdraw_label_all(result.source) == 3
    assert project.review.pending("ner") == {}


def test_label_all_needs_an_entity_there(project: Project) -> None:
    with pytest.raises(AnnotationError, match="no entity at 0-4"):
        project.review.label_all(_ids(project)["a"], 0, 4)
