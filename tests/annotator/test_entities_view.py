"""Entity labelling by keyboard and mouse, suggestions, undo/redo."""

from __future__ import annotations

from PySide6.QtCore import Qt

from core.types import TaskKind
from tests.annotator.helpers import add_suggestion, doc_id, drag_select, entities, suggestion_state


def _open(window, ext: str):  # type: ignore[no-untyped-def]
    did = doc_id(window.project, ext)
    window.doc_list.select_doc(did)
    window.tabs.setCurrentWidget(window.views[TaskKind.NER])
    return did, window.views[TaskKind.NER]


def test_keyboard_labelling_snaps_to_words(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    did, view = _open(window, "d0")
    text = view.doc.text
    s = text.index("type 2 diabetes")
    view.editor.select_code_points(s + 1, s + 12)  # "ype 2 diabet"
    qtbot.keyClick(view.editor, "1")
    assert entities(window.project, did) == [("type 2 diabetes", "Disease")]
    # The drawn spans follow the store.
    assert any(sp.start == s and not sp.suggestion for sp in view.editor._spans)


def test_mouse_selection_then_label_button(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    did, view = _open(window, "d0")
    text = view.doc.text
    s = text.index("metformin")
    drag_select(view.editor, s + 2, s + 6)  # inside the word
    assert view.editor.selection_code_points() == (s, s + len("metformin"))
    view.label_bar.buttons["Medication"].click()
    assert entities(window.project, did) == [("metformin", "Medication")]


def test_overlap_refused_relabel_delete(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    did, view = _open(window, "d0")
    text = view.doc.text
    s = text.index("diabetes")
    view.editor.select_code_points(s, s + 8)  # exactly "diabetes": nothing to snap
    qtbot.keyClick(view.editor, "1")
    assert entities(window.project, did) == [("diabetes", "Disease")]
    view.editor.select_code_points(s - 2, s + 3)  # "2 dia" snaps to "2 diabetes": overlaps
    qtbot.keyClick(view.editor, "2")
    assert "overlaps" in window.statusBar().currentMessage()
    assert entities(window.project, did) == [("diabetes", "Disease")]  # refused, unchanged
    view.editor.set_cursor_code_point(s + 1)
    qtbot.keyClick(view.editor, "2")  # relabel the entity under the cursor
    assert [lab for _t, lab in entities(window.project, did)] == ["Medication"]
    qtbot.keyClick(view.editor, Qt.Key.Key_Delete)
    assert entities(window.project, did) == []


def test_non_bmp_and_crlf_offsets(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    did, view = _open(window, "d1")  # has an emoji before the entity
    s = view.doc.text.index("salbutamol")
    view.editor.select_code_points(s, s + 10)
    qtbot.keyClick(view.editor, "2")
    assert entities(window.project, did) == [("salbutamol", "Medication")]
    did, view = _open(window, "d2")  # CRLF before the entity
    s = view.doc.text.index("amlodipine")
    view.editor.select_code_points(s, s + 10)
    qtbot.keyClick(view.editor, "2")
    assert entities(window.project, did) == [("amlodipine", "Medication")]


def test_undo_redo_across_edits(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    did, view = _open(window, "d0")
    text = view.doc.text
    s = text.index("metformin")
    view.editor.select_code_points(s, s + 9)
    qtbot.keyClick(view.editor, "2")
    view.editor.set_cursor_code_point(s + 1)
    qtbot.keyClick(view.editor, "1")  # relabel
    assert entities(window.project, did) == [("metformin", "Disease")]
    window.act_undo.trigger()
    assert entities(window.project, did) == [("metformin", "Medication")]
    window.act_undo.trigger()
    assert entities(window.project, did) == []
    window.act_redo.trigger()
    window.act_redo.trigger()  # the relabel follows the re-created entity's new id
    assert entities(window.project, did) == [("metformin", "Disease")]
    qtbot.keyClick(view.editor, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert entities(window.project, did) == [("metformin", "Medication")]
    qtbot.keyClick(view.editor, Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert entities(window.project, did) == [("metformin", "Disease")]


def test_suggestions_accept_reject_threshold_undo(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    project = window.project
    did = doc_id(project, "d0")
    text = window.views[TaskKind.NER].doc.text
    spans = {w: text.index(w) for w in ("diabetes", "metformin", "500 mg", "Patient")}
    ids = {
        "diabetes": add_suggestion(project, did, "entity", {"start": spans["diabetes"], "end": spans["diabetes"] + 8, "label": "Disease"}, 0.95, "ner"),
        "metformin": add_suggestion(project, did, "entity", {"start": spans["metformin"], "end": spans["metformin"] + 9, "label": "Medication"}, 0.9, "ner"),
        "500 mg": add_suggestion(project, did, "entity", {"start": spans["500 mg"], "end": spans["500 mg"] + 6, "label": "Medication"}, 0.4, "ner"),
        "Patient": add_suggestion(project, did, "entity", {"start": 0, "end": 7, "label": "Disease"}, 0.3, "ner"),
    }
    window.doc_list.reload()
    _, view = _open(window, "d0")
    assert len(view.doc.suggestions) == 4
    assert any(sp.suggestion for sp in view.editor._spans)
    view.editor.set_cursor_code_point(0)
    qtbot.keyClick(view.editor, "r")  # reject the suggestion under the cursor ("Patient")
    assert suggestion_state(project, ids["Patient"]) == "rejected"
    view.editor.set_cursor_code_point(0)
    qtbot.keyClick(view.editor, "a")  # next one after the cursor: "diabetes"
    assert suggestion_state(project, ids["diabetes"]) == "accepted"
    assert entities(project, did) == [("diabetes", "Disease")]
    view.threshold.setValue(0.8)
    qtbot.keyClick(view.editor, "A", Qt.KeyboardModifier.ShiftModifier)  # all >= 0.8
    assert suggestion_state(project, ids["metformin"]) == "accepted"
    assert suggestion_state(project, ids["500 mg"]) == "pending"
    window.act_undo.trigger()
    assert suggestion_state(project, ids["metformin"]) == "pending"
    window.act_undo.trigger()
    window.act_undo.trigger()
    assert suggestion_state(project, ids["diabetes"]) == "pending"
    assert suggestion_state(project, ids["Patient"]) == "pending"
    assert entities(project, did) == []
    # A label key on a suggestion accepts it as that label (edited).
    view.editor.set_cursor_code_point(spans["500 mg"] + 1)
    qtbot.keyClick(view.editor, "1")
    assert suggestion_state(project, ids["500 mg"]) == "edited"
