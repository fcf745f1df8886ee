"""Property: for any sequence of edits and review decisions, each change's inverse restores
the state before it, and undoing the whole sequence (newest first) restores the start."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import AnnotatorError
from core.project import Changes, Project
from core.types import DocumentRecord, EntitySpan, Relation
from tests.core.project.conftest import TEXTS, add_suggestion, state

LABELS = ("Disease", "Drug")
CLASSES = ("urgent", "routine")
RELATIONS = ("treats", "with")

edit = st.one_of(
    st.tuples(st.just("add_entity"), st.integers(0, 2), st.integers(0, 50), st.integers(1, 12),
              st.sampled_from(LABELS)),
    st.tuples(st.just("remove_entity"), st.integers(0, 2), st.integers(0, 9)),
    st.tuples(st.just("resize_entity"), st.integers(0, 2), st.integers(0, 9),
              st.integers(-6, 6), st.integers(-6, 6)),
    st.tuples(st.just("relabel_entity"), st.integers(0, 2), st.integers(0, 9),
              st.sampled_from(LABELS)),
    st.tuples(st.just("set_classes"), st.integers(0, 2),
              st.lists(st.sampled_from(CLASSES), max_size=2, unique=True)),
    st.tuples(st.just("add_question"), st.integers(0, 2), st.sampled_from(("Why?", "Which?"))),
    st.tuples(st.just("remove_question"), st.integers(0, 2), st.integers(0, 3)),
    st.tuples(st.just("answer"), st.integers(0, 2), st.integers(0, 3), st.integers(0, 40),
              st.integers(1, 8)),
    st.tuples(st.just("no_answer"), st.integers(0, 2), st.integers(0, 3)),
    st.tuples(st.just("clear_answer"), st.integers(0, 2), st.integers(0, 3)),
    st.tuples(st.just("status"), st.integers(0, 2),
              st.sampled_from(("unreviewed", "reviewed", "skipped"))),
    st.tuples(st.just("accept"), st.integers(0, 2), st.integers(0, 5), st.booleans()),
    st.tuples(st.just("reject"), st.integers(0, 2), st.integers(0, 5)),
    st.tuples(st.just("edit"), st.integers(0, 2), st.integers(0, 5),
              st.sampled_from(LABELS + RELATIONS)),
    st.tuples(st.just("add_relation"), st.sampled_from((0, 2, 2)), st.integers(0, 9),
              st.integers(0, 9), st.sampled_from(RELATIONS)),
    st.tuples(st.just("remove_relation"), st.integers(0, 2), st.integers(0, 3)),
)


def _make(path: Path, multi_label: bool) -> tuple[Project, list[int]]:
    project = Project.create(
        path, tasks={"ner": list(LABELS), "classify": list(CLASSES), "qa": []},
        multi_label=multi_label,
    )
    project.annotations.add_relation_type("treats=Drug>Disease")
    project.annotations.add_relation_type("with=*>*")
    project.documents.add([
        DocumentRecord(text=TEXTS[0], spans=(EntitySpan(13, 19, "Disease"),)),
        DocumentRecord(text=TEXTS[1], classes=("routine",)),
        DocumentRecord(text=TEXTS[2], spans=(EntitySpan(6, 10, "Disease"),
                                             EntitySpan(26, 33, "Drug")),
                       relations=(Relation(1, 0, "treats"),)),
    ])
    ids = project.documents.filter()
    add_suggestion(project, ids[0], "entity", {"start": 30, "end": 40, "label": "Drug"}, 0.9)
    add_suggestion(project, ids[0], "entity", {"start": 8, "end": 19, "label": "Disease"}, 0.6)
    add_suggestion(project, ids[1], "class", {"label": "urgent"}, 0.8)
    add_suggestion(project, ids[2], "entity", {"start": 0, "end": 5, "label": "Disease"}, 0.7)
    add_suggestion(project, ids[2], "class", {"labels": ["urgent", "routine"]}, 0.5)
    add_suggestion(project, ids[0], "relation", {
        "head": {"start": 30, "end": 40, "label": "Drug"},
        "tail": {"start": 13, "end": 19, "label": "Disease"}, "label": "treats"}, 0.8)
    add_suggestion(project, ids[2], "relation", {
        "head": {"start": 6, "end": 10, "label": "Disease"},
        "tail": {"start": 26, "end": 33, "label": "Drug"}, "label": "with"}, 0.6)
    return project, ids


def _run(project: Project, ids: list[int], step: tuple) -> Changes:  # type: ignore[type-arg]
    name, d = step[0], ids[step[1]]
    doc = project.documents.get(d)
    assert doc is not None
    a = project.annotations

    def question(i: int) -> int:
        if not doc.questions:
            raise AnnotatorError("no question")
        return doc.questions[i % len(doc.questions)].id

    def entity(i: int):  # type: ignore[no-untyped-def]
        if not doc.entities:
            raise AnnotatorError("no entity")
        return doc.entities[i % len(doc.entities)]

    def suggestion(i: int) -> int:
        if not doc.suggestions:
            raise AnnotatorError("no suggestion")
        return doc.suggestions[i % len(doc.suggestions)].id

    if name == "add_entity":
        return a.add_entity(d, step[2], step[2] + step[3], step[4])
    if name == "remove_entity":
        e = entity(step[2])
        return a.remove_entity(d, e.start, e.end)
    if name == "resize_entity":
        e = entity(step[2])
        return a.resize_entity(d, e.start, e.end, e.start + step[3], e.end + step[4])
    if name == "relabel_entity":
        e = entity(step[2])
        return a.relabel_entity(d, e.start, e.end, step[3])
    if name == "set_classes":
        return a.set_classes(d, step[2])
    if name == "add_question":
        return a.add_question(d, step[2])
    if name == "remove_question":
        return a.remove_question(question(step[2]))
    if name == "answer":
        return a.set_answer(question(step[2]), step[3], step[3] + step[4])
    if name == "no_answer":
        return a.mark_no_answer(question(step[2]))
    if name == "clear_answer":
        return a.clear_answer(question(step[2]))
    if name == "status":
        return a.set_review_status(d, step[2])
    if name == "accept":
        if step[3] and len(doc.suggestions) > 1:
            return project.review.accept(d, [s.id for s in doc.suggestions])
        return project.review.accept(d, [suggestion(step[2])])
    if name == "reject":
        return project.review.reject(d, [suggestion(step[2])])
    if name == "add_relation":
        h, t = entity(step[2]), entity(step[3])
        return a.add_relation(d, (h.start, h.end), (t.start, t.end), step[4])
    if name == "remove_relation":
        if not doc.relations:
            raise AnnotatorError("no relation")
        r = doc.relations[step[2] % len(doc.relations)]
        return a.remove_relation(d, r.head, r.tail, r.label)
    return project.review.edit(d, suggestion(step[2]), label=step[3])


_PROJECTS: dict[bool, tuple[Project, list[int], dict]] = {}  # type: ignore[type-arg]
_TMP = tempfile.TemporaryDirectory()


def _project(multi_label: bool) -> tuple[Project, list[int], dict]:  # type: ignore[type-arg]
    """One project per setting, shared by the examples: each example ends by undoing
    everything it did, which is what it checks, so the next one starts from the same state."""
    if multi_label not in _PROJECTS:
        project, ids = _make(Path(_TMP.name) / f"p{int(multi_label)}.db", multi_label)
        _PROJECTS[multi_label] = (project, ids, state(project))
    return _PROJECTS[multi_label]


def teardown_module() -> None:
    for project, _, _ in _PROJECTS.values():
        project.close()
    _TMP.cleanup()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(edit, min_size=1, max_size=12), multi_label=st.booleans())
def test_every_inverse_restores_the_state_before(steps: list, multi_label: bool) -> None:  # type: ignore[type-arg]
    project, ids, start = _project(multi_label)
    assert state(project) == start
    history: list[tuple[Changes, dict]] = []  # type: ignore[type-arg]
    for step in steps:
        before = state(project)
        try:
            changes = _run(project, ids, step)
        except AnnotatorError:
            assert state(project) == before  # a refused edit writes nothing
            continue
        after = state(project)
        redo = project.undo(changes)
        assert state(project) == before, step
        changes = project.undo(redo)
        assert state(project) == after, step
        history.append((changes, before))
    for changes, before in reversed(history):
        project.undo(changes)
        assert state(project) == before
    assert state(project) == start
