"""Relations between entities in the app: L on an entity, L on another links them (one
undoable edit), the relation list under the text shows them and removes them (Delete), a link
no type allows is refused with a message, and relation suggestions are accepted from the
list."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from core.project import Project
from core.types import TaskKind
from tests.annotator.helpers import add_suggestion, doc_id, main_window, suggestion_state

TREATS = "treats=Medication>Disease"


@pytest.fixture
def relations_project(project_path: Path) -> Path:
    """The GUI tests' project with one relation type (a Medication treats a Disease) and, in
    d0, a Disease and two Medications ("metformin", "500 mg": no type links those two)."""
    project = Project.open(project_path)
    try:
        project.annotations.add_relation_type(TREATS)
        did = doc_id(project, "d0")
        text = project.documents.get(did).text
        for words, label in (("type 2 diabetes", "Disease"), ("metformin", "Medication"),
                             ("500 mg", "Medication")):
            s = text.index(words)
            project.annotations.add_entity(did, s, s + len(words), label)
    finally:
        project.close()
    return project_path


@pytest.fixture
def rel_window(qtbot, relations_project: Path):  # type: ignore[no-untyped-def]
    yield from main_window(qtbot, relations_project)


def _open_d0(window):  # type: ignore[no-untyped-def]
    did = doc_id(window.project, "d0")
    window.doc_list.select_doc(did)
    window.tabs.setCurrentWidget(window.views[TaskKind.NER])
    return did, window.views[TaskKind.NER]


def _go(view, text: str) -> None:  # type: ignore[no-untyped-def]
    view.editor.set_cursor_code_point(view.doc.text.index(text) + 1)


def _relations(project: Project, did: int) -> list[tuple[str, str, str]]:
    """(head text, type, tail text) of a document's relations, read through the facade."""
    doc = project.documents.get(did)
    assert doc is not None
    return [(doc.text[slice(*r.head)], r.label, doc.text[slice(*r.tail)])
            for r in doc.relations]


def test_link_by_keys_undo_list_and_delete(qtbot, rel_window) -> None:  # type: ignore[no-untyped-def]
    did, view = _open_d0(rel_window)
    assert view.relation_list.isVisible()
    assert view.relation_list.rows == ()
    # Picked from the Disease to the Medication: the one type fits the other way round.
    _go(view, "diabetes")
    qtbot.keyClick(view.editor, "l")
    assert view.link_from is not None and view.link_from.label == "Disease"
    assert "Linking from" in view.info.text()
    _go(view, "metformin")
    qtbot.keyClick(view.editor, "l")
    assert view.link_from is None
    assert _relations(rel_window.project, did) == [
        ("metformin", "treats", "type 2 diabetes")]
    assert [r.text for r in view.relation_list.rows] == [
        "metformin → treats → type 2 diabetes"]
    assert view.relation_list.rows[0].touching  # the cursor is on metformin
    assert view.relation_list.list.item(0).font().bold()
    tips = [s.tooltip for s in view.editor.spans_at(view.doc.text.index("metformin"))]
    assert any("treats → type 2 diabetes" in t for t in tips)

    rel_window.ctx.undo_stack.undo()
    assert _relations(rel_window.project, did) == []
    assert view.relation_list.rows == ()
    rel_window.ctx.undo_stack.redo()
    assert _relations(rel_window.project, did) == [
        ("metformin", "treats", "type 2 diabetes")]

    # Choosing the row goes to its head; Delete in the list removes it, undoably.
    _go(view, "Patient")
    view.relation_list.list.setCurrentRow(0)
    assert view.entity_at(view.editor.cursor_code_point()).label == "Medication"
    current = {(s.start, s.end) for s in view.editor._spans if s.current}
    d = view.doc.text
    assert {(d.index("metformin"), d.index("metformin") + 9),
            (d.index("type 2"), d.index("type 2") + 15)} <= current
    view.relation_list.list.setFocus()
    qtbot.keyClick(view.relation_list.list, Qt.Key.Key_Delete)
    assert _relations(rel_window.project, did) == []
    rel_window.ctx.undo_stack.undo()
    assert _relations(rel_window.project, did) == [
        ("metformin", "treats", "type 2 diabetes")]


def test_enter_ends_a_link_and_esc_cancels(qtbot, rel_window) -> None:  # type: ignore[no-untyped-def]
    did, view = _open_d0(rel_window)
    _go(view, "metformin")
    qtbot.keyClick(view.editor, "l")
    qtbot.keyClick(view.editor, Qt.Key.Key_Escape)
    assert view.link_from is None
    _go(view, "diabetes")
    qtbot.keyClick(view.editor, Qt.Key.Key_Return)  # no link open: nothing
    assert _relations(rel_window.project, did) == []
    _go(view, "metformin")
    qtbot.keyClick(view.editor, "l")
    _go(view, "diabetes")
    qtbot.keyClick(view.editor, Qt.Key.Key_Return)
    assert _relations(rel_window.project, did) == [
        ("metformin", "treats", "type 2 diabetes")]


def test_a_link_no_type_allows_is_refused_with_a_message(qtbot, rel_window) -> None:  # type: ignore[no-untyped-def]
    did, view = _open_d0(rel_window)
    messages: list[str] = []
    rel_window.ctx.message.connect(messages.append)
    _go(view, "metformin")
    qtbot.keyClick(view.editor, "l")
    _go(view, "500 mg")
    qtbot.keyClick(view.editor, "l")
    assert _relations(rel_window.project, did) == []
    assert "no relation type links Medication and Medication" in messages[-1]
    assert view.link_from is not None  # still open: another end may be picked
    _go(view, "metformin")
    qtbot.keyClick(view.editor, "l")  # the first end again
    assert "cannot be linked to itself" in messages[-1]


def test_several_types_are_offered_in_a_menu(qtbot, rel_window, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    did, view = _open_d0(rel_window)
    rel_window.project.annotations.add_relation_type("causes=Medication>Disease")
    view.set_task(rel_window.project.documents.tasks().get(TaskKind.NER))
    offered: list[list[str]] = []

    def choose(candidates):  # type: ignore[no-untyped-def]
        offered.append([spec.name for spec, _h, _t in candidates])
        return candidates[1]

    monkeypatch.setattr(view, "choose_relation", choose)
    _go(view, "metformin")
    qtbot.keyClick(view.editor, "l")
    _go(view, "diabetes")
    qtbot.keyClick(view.editor, "l")
    assert offered == [["treats", "causes"]]
    assert _relations(rel_window.project, did) == [
        ("metformin", "causes", "type 2 diabetes")]


def test_relation_suggestion_is_listed_and_accepted(qtbot, rel_window) -> None:  # type: ignore[no-untyped-def]
    project = rel_window.project
    did = doc_id(project, "d0")
    text = project.documents.get(did).text
    m, s = text.index("metformin"), text.index("type 2 diabetes")
    sid = add_suggestion(project, did, "relation", {
        "head": {"start": m, "end": m + 9, "label": "Medication"},
        "tail": {"start": s, "end": s + 15, "label": "Disease"},
        "label": "treats"}, 0.75, "relation")
    _, view = _open_d0(rel_window)
    rel_window.ctx.documentChanged.emit(did)  # stored behind the window's back: read again
    rows = view.relation_list.rows
    assert [(r.suggestion_id, r.text) for r in rows] == [
        (sid, "metformin → treats → type 2 diabetes")]
    assert view.relation_list.list.item(0).text().startswith("suggested (75%)")
    view.relation_list.list.setCurrentRow(0)
    assert view.relation_list.accept_button.isEnabled()
    assert not view.relation_list.remove_button.isEnabled()
    qtbot.keyClick(view.relation_list.list, "a")
    assert suggestion_state(project, sid) == "accepted"
    assert _relations(project, did) == [("metformin", "treats", "type 2 diabetes")]
    assert [r.suggestion_id for r in view.relation_list.rows] == [None]


def test_the_demo_declares_dosage_of_with_examples(tmp_path: Path) -> None:
    from annotator.app.demo import build_demo_project

    with Project.open(build_demo_project(tmp_path / "demo.db")) as project:
        assert [str(s) for s in project.annotations.relation_specs()] == [
            "dosage_of=Dosage>Medication"]
        did = doc_id(project, "note-001")
        assert _relations(project, did) == [("40 mg in the morning", "dosage_of", "furosemide")]


def test_context_menu_links_and_removes(qtbot, rel_window) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QMenu

    did, view = _open_d0(rel_window)
    _go(view, "metformin")
    entity = view.entity_at(view.editor.cursor_code_point())

    def submenu(title: str) -> QMenu:
        menu = QMenu(view)
        view._relation_actions(menu, entity)
        return next(a.menu() for a in menu.actions() if a.text() == title)

    link = submenu("Link to…")
    texts = [a.text() for a in link.actions() if a.text()]
    assert texts[0] == "treats: metformin → type 2 diabetes"  # not 500 mg: no type fits
    assert not any("500 mg" in t for t in texts)
    link.actions()[0].trigger()
    assert _relations(rel_window.project, did) == [("metformin", "treats", "type 2 diabetes")]
    assert not any(a.text().startswith("treats") for a in submenu("Link to…").actions())
    remove = submenu("Remove relation")
    remove.actions()[0].trigger()
    assert _relations(rel_window.project, did) == []


def _suggest_relation(project: Project, did: int, head: str, tail: str, label: str,
                      confidence: float) -> int:
    """A pending relation suggestion from the words ``head`` to ``tail`` of a document (each
    end's label: the entity's there, else Medication for a head, Disease for a tail)."""
    text = project.documents.get(did).text
    h, t = text.index(head), text.index(tail)
    return add_suggestion(project, did, "relation", {
        "head": {"start": h, "end": h + len(head), "label": "Medication"},
        "tail": {"start": t, "end": t + len(tail), "label": "Disease"},
        "label": label}, confidence, "relation")


def _suggest_metformin(project: Project, did: int, confidence: float) -> int:
    """Metformin, a person's Medication so far, made a pending entity suggestion instead."""
    text = project.documents.get(did).text
    m = text.index("metformin")
    project.annotations.remove_entity(did, m, m + 9)
    return add_suggestion(project, did, "entity",
                          {"start": m, "end": m + 9, "label": "Medication"}, confidence, "ner")


def _reread(window, did: int):  # type: ignore[no-untyped-def]
    """d0 shown again after suggestions were stored behind the window's back."""
    _, view = _open_d0(window)
    window.ctx.documentChanged.emit(did)
    return view


def _shown(view) -> set[tuple[int, int]]:  # type: ignore[no-untyped-def]
    return {(s.start, s.end) for s in view.editor._spans if s.current}


def test_a_in_the_text_takes_the_entity_then_the_relation_on_it(qtbot, rel_window) -> None:  # type: ignore[no-untyped-def]
    project = rel_window.project
    did = doc_id(project, "d0")
    entity = _suggest_metformin(project, did, 0.9)
    rel = _suggest_relation(project, did, "metformin", "type 2 diabetes", "treats", 0.7)
    view = _reread(rel_window, did)
    # The counter and "Accept all ≥" count the relation too.
    assert view.suggestion_count.text() == "2 suggestions to review"
    _go(view, "Patient")
    # At metformin the entity's suggestion comes first, then the relation hanging on it.
    assert view.next_suggestion(view.editor.cursor_code_point()).id == entity
    qtbot.keyClick(view.editor, "a")
    assert suggestion_state(project, entity) == "accepted"
    assert suggestion_state(project, rel) == "pending"
    d = view.doc.text
    m, s = d.index("metformin"), d.index("type 2 diabetes")
    assert view.editor.cursor_code_point() == m
    # The relation is the next: its row is the list's current one, both ends shown.
    assert view.next_suggestion(m).id == rel
    assert view.relation_list.current_row().suggestion_id == rel
    assert view.relation_list.accept_button.isEnabled()
    assert {(m, m + 9), (s, s + 15)} <= _shown(view)
    assert "suggested relation “metformin → treats → type 2 diabetes” (70%)" in view.info.text()
    qtbot.keyClick(view.editor, "a")
    assert suggestion_state(project, rel) == "accepted"
    assert _relations(project, did) == [("metformin", "treats", "type 2 diabetes")]
    assert view.suggestion_count.text() == "No pending suggestions"
    assert not view.accept_all.isEnabled()
    assert (s, s + 15) not in _shown(view)  # nothing pending: the tail's look goes
    messages: list[str] = []
    rel_window.ctx.message.connect(messages.append)
    qtbot.keyClick(view.editor, "a")
    assert messages[-1] == "no suggestion to review in this document"
    # Each was one step: undo takes the relation back, then the entity.
    rel_window.ctx.undo_stack.undo()
    assert suggestion_state(project, rel) == "pending"
    assert _relations(project, did) == []
    assert view.relation_list.current_row().suggestion_id == rel


def test_r_in_the_text_rejects_a_relation_suggestion(qtbot, rel_window) -> None:  # type: ignore[no-untyped-def]
    project = rel_window.project
    did = doc_id(project, "d0")
    rel = _suggest_relation(project, did, "500 mg", "type 2 diabetes", "treats", 0.6)
    view = _reread(rel_window, did)
    assert view.suggestion_count.text() == "1 suggestion to review"
    assert view.accept_all.isEnabled()
    _go(view, "Patient")  # elsewhere: R goes to the relation's head and decides it
    qtbot.keyClick(view.editor, "r")
    assert suggestion_state(project, rel) == "rejected"
    assert _relations(project, did) == []
    assert view.entity_at(view.editor.cursor_code_point()).start == view.doc.text.index("500 mg")
    assert view.relation_list.rows == ()
    rel_window.ctx.undo_stack.undo()
    assert suggestion_state(project, rel) == "pending"


def test_a_relation_waits_for_its_suggested_tail(qtbot, rel_window) -> None:  # type: ignore[no-untyped-def]
    """A relation whose tail is a suggested entity further on than its head is reviewed
    there, after it (accepting it before would fail: its tail is not an entity yet)."""
    project = rel_window.project
    project.annotations.add_relation_type("treated_by=Disease>Medication")
    did = doc_id(project, "d0")
    entity = _suggest_metformin(project, did, 0.9)
    rel = _suggest_relation(project, did, "type 2 diabetes", "metformin", "treated_by", 0.7)
    view = _reread(rel_window, did)
    view.set_task(project.documents.tasks().get(TaskKind.NER))
    _go(view, "diabetes")  # on the head: the relation is not the one taken here
    assert view.next_suggestion(view.editor.cursor_code_point()).id == entity
    assert view.relation_list.current_row() is None
    qtbot.keyClick(view.editor, "a")
    qtbot.keyClick(view.editor, "a")
    assert (suggestion_state(project, entity), suggestion_state(project, rel)) == (
        "accepted", "accepted")
    assert _relations(project, did) == [("type 2 diabetes", "treated_by", "metformin")]


def test_accept_all_takes_relations_above_the_threshold_and_one_undo_all(qtbot, rel_window) -> None:  # type: ignore[no-untyped-def]
    project = rel_window.project
    did = doc_id(project, "d0")
    entity = _suggest_metformin(project, did, 0.9)
    above = _suggest_relation(project, did, "metformin", "type 2 diabetes", "treats", 0.85)
    below = _suggest_relation(project, did, "500 mg", "type 2 diabetes", "treats", 0.5)
    view = _reread(rel_window, did)
    assert view.suggestion_count.text() == "3 suggestions to review"
    view.threshold.setValue(0.8)
    qtbot.keyClick(view.editor, "a", Qt.KeyboardModifier.ShiftModifier)
    # The entity went in first, so the relation on it was accepted in the same step.
    assert [suggestion_state(project, i) for i in (entity, above, below)] == [
        "accepted", "accepted", "pending"]
    assert _relations(project, did) == [("metformin", "treats", "type 2 diabetes")]
    assert view.suggestion_count.text() == "1 suggestion to review"
    assert [r.suggestion_id for r in view.relation_list.rows] == [None, below]
    rel_window.ctx.undo_stack.undo()  # one undo: the entity and the relation are gone again
    assert [suggestion_state(project, i) for i in (entity, above, below)] == [
        "pending", "pending", "pending"]
    assert _relations(project, did) == []
    assert "metformin" not in [view.doc.text[e.start:e.end] for e in view.doc.entities]
    assert view.suggestion_count.text() == "3 suggestions to review"
    rel_window.ctx.undo_stack.redo()
    assert _relations(project, did) == [("metformin", "treats", "type 2 diabetes")]


def test_a_row_the_user_chose_stays_chosen_by_a_pending_relation(qtbot, rel_window) -> None:  # type: ignore[no-untyped-def]
    project = rel_window.project
    project.annotations.add_relation_type("causes=Medication>Disease")
    did = doc_id(project, "d0")
    text = project.documents.get(did).text
    m, s = text.index("metformin"), text.index("type 2 diabetes")
    project.annotations.add_relation(did, (m, m + 9), (s, s + 15), "treats")
    rel = _suggest_relation(project, did, "metformin", "type 2 diabetes", "causes", 0.4)
    view = _reread(rel_window, did)
    view.set_task(project.documents.tasks().get(TaskKind.NER))
    _go(view, "Patient")
    view.relation_list.list.setCurrentRow(0)  # the person's relation, from metformin
    assert view.editor.cursor_code_point() == m
    assert view.relation_list.current_row().suggestion_id is None
    _go(view, "diabetes")  # away and back: the suggestion there is the one shown
    _go(view, "metformin")
    assert view.relation_list.current_row().suggestion_id == rel
    qtbot.keyClick(view.editor, "r")
    assert suggestion_state(project, rel) == "rejected"
    assert _relations(project, did) == [("metformin", "treats", "type 2 diabetes")]


def test_accept_all_skips_a_relation_whose_entity_stays_a_suggestion(qtbot, rel_window) -> None:  # type: ignore[no-untyped-def]
    project = rel_window.project
    did = doc_id(project, "d0")
    entity = _suggest_metformin(project, did, 0.5)  # below the threshold: stays pending
    on_it = _suggest_relation(project, did, "metformin", "type 2 diabetes", "treats", 0.9)
    other = _suggest_relation(project, did, "500 mg", "type 2 diabetes", "treats", 0.9)
    view = _reread(rel_window, did)
    messages: list[str] = []
    rel_window.ctx.message.connect(messages.append)
    view.threshold.setValue(0.8)
    view.accept_all.click()
    assert [suggestion_state(project, i) for i in (entity, on_it, other)] == [
        "pending", "pending", "accepted"]
    assert _relations(project, did) == [("500 mg", "treats", "type 2 diabetes")]
    assert any(m.startswith("accepted 1, skipped 1:") for m in messages)
