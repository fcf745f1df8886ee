"""Attributes of entities in the app: the labels dialog declares them, the entities view sets
them with the keyboard (or the attribute bar) on the entity under the cursor, marks the span
and names the value in its tooltip, and reviews the model's attribute suggestions."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from core.project import Project
from core.project.edits import AddAttribute
from core.types import AttributeSpec, TaskKind
from tests.annotator.helpers import add_suggestion, doc_id, main_window, suggestion_state

NEGATION = AttributeSpec("negation", ("Affirmed", "Negated"), ("Disease",))
TEMPORALITY = AttributeSpec("temporality", ("Recent", "Historical", "Not particular"))


@pytest.fixture
def attributes_project(project_path: Path) -> Path:
    """The GUI tests' project with two attributes declared (through their ops) and two
    entities in d0: a Disease and a Medication."""
    project = Project.open(project_path)
    try:
        project.apply(AddAttribute(NEGATION))
        project.apply(AddAttribute(TEMPORALITY))
        did = doc_id(project, "d0")
        text = project.documents.get(did).text
        s = text.index("type 2 diabetes")
        project.annotations.add_entity(did, s, s + len("type 2 diabetes"), "Disease")
        m = text.index("metformin")
        project.annotations.add_entity(did, m, m + len("metformin"), "Medication")
    finally:
        project.close()
    return project_path


@pytest.fixture
def attr_window(qtbot, attributes_project: Path):  # type: ignore[no-untyped-def]
    yield from main_window(qtbot, attributes_project)


def _on_entity(window, text: str):  # type: ignore[no-untyped-def]
    """Open d0 in the entities view with the cursor inside the entity ``text``."""
    did = doc_id(window.project, "d0")
    window.doc_list.select_doc(did)
    window.tabs.setCurrentWidget(window.views[TaskKind.NER])
    view = window.views[TaskKind.NER]
    view.editor.set_cursor_code_point(view.doc.text.index(text) + 1)
    return did, view


def _stored(project: Project, did: int, text: str) -> dict[str, str]:
    """The attributes of the entity ``text`` of a document, read back through the facade."""
    doc = project.documents.get(did)
    assert doc is not None
    entity = next(e for e in doc.entities if doc.text[e.start:e.end] == text)
    return dict(entity.attributes)


def test_keys_cycle_a_value_it_is_stored_and_undo_restores(qtbot, attr_window) -> None:  # type: ignore[no-untyped-def]
    did, view = _on_entity(attr_window, "diabetes")
    assert view.attribute_keys == {"negation": "n", "temporality": "t"}
    assert _stored(attr_window.project, did, "type 2 diabetes") == {
        "negation": "Affirmed", "temporality": "Recent"}
    qtbot.keyClick(view.editor, "n")
    assert _stored(attr_window.project, did, "type 2 diabetes")["negation"] == "Negated"
    qtbot.keyClick(view.editor, "t")
    qtbot.keyClick(view.editor, "t")
    assert _stored(attr_window.project, did, "type 2 diabetes")["temporality"] == "Not particular"
    qtbot.keyClick(view.editor, "t", Qt.KeyboardModifier.ShiftModifier)  # back one
    assert _stored(attr_window.project, did, "type 2 diabetes")["temporality"] == "Historical"
    # The entity's text did not move and no label changed.
    assert [e.label for e in attr_window.project.documents.get(did).entities] == [
        "Disease", "Medication"]
    attr_window.act_undo.trigger()
    assert _stored(attr_window.project, did, "type 2 diabetes")["temporality"] == "Not particular"
    for _ in range(3):
        attr_window.act_undo.trigger()
    assert _stored(attr_window.project, did, "type 2 diabetes") == {
        "negation": "Affirmed", "temporality": "Recent"}
    attr_window.act_redo.trigger()
    assert _stored(attr_window.project, did, "type 2 diabetes")["negation"] == "Negated"


def test_a_value_shows_on_the_span_its_tooltip_and_the_bar(qtbot, attr_window) -> None:  # type: ignore[no-untyped-def]
    did, view = _on_entity(attr_window, "diabetes")
    start = view.doc.text.index("type 2 diabetes")

    def span():  # type: ignore[no-untyped-def]
        return next(s for s in view.editor.spans_at(start + 1) if not s.suggestion)

    assert not span().marked and span().badge == ""
    assert "negation: Affirmed" in span().tooltip
    qtbot.keyClick(view.editor, "n")
    assert span().marked and span().badge == "Neg"
    assert "negation: Negated" in span().tooltip.splitlines()
    assert "temporality: Recent" in span().tooltip.splitlines()
    assert view.attribute_bar.buttons["negation"].text() == "[N] negation: Negated"
    assert view.attribute_bar.buttons["negation"].font().bold()
    # The badge's gap is laid out after the span's last character, so it covers no text:
    # the character after the span starts where the badge ends.
    rect = view.editor.badge_rect(span())
    assert rect.width() > 8
    end_x = view.editor.cursorRect(_cursor_at(view.editor, start + len("type 2 diabetes"))).x()
    assert rect.right() <= end_x
    last_char_x = view.editor.cursorRect(
        _cursor_at(view.editor, start + len("type 2 diabete"))).x()
    assert rect.left() > last_char_x
    # Medication: negation does not apply, temporality does.
    view.editor.set_cursor_code_point(view.doc.text.index("metformin") + 1)
    assert set(view.attribute_bar.buttons) == {"temporality"}
    qtbot.keyClick(view.editor, "n")
    assert "does not apply" in attr_window.statusBar().currentMessage()
    assert _stored(attr_window.project, did, "metformin") == {"temporality": "Recent"}


def _cursor_at(editor, cp: int):  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QTextCursor

    c = QTextCursor(editor.document())
    c.setPosition(editor.utf16_of(cp))
    return c


def test_the_bar_sets_a_value_with_the_mouse(qtbot, attr_window) -> None:  # type: ignore[no-untyped-def]
    did, view = _on_entity(attr_window, "metformin")
    view.attribute_bar.buttons["temporality"].click()
    assert _stored(attr_window.project, did, "metformin")["temporality"] == "Historical"
    view.attribute_bar.valueChosen.emit("temporality", "Recent")  # its menu's entry
    assert _stored(attr_window.project, did, "metformin")["temporality"] == "Recent"
    assert attr_window.ctx.undo_stack.count() == 2


def test_without_an_entity_the_key_says_what_to_do(qtbot, attr_window) -> None:  # type: ignore[no-untyped-def]
    _did, view = _on_entity(attr_window, "Patient")
    qtbot.keyClick(view.editor, "n")
    assert "put the cursor on an entity" in attr_window.statusBar().currentMessage()
    assert "N negation" in view.attribute_bar.title.text()
    assert attr_window.ctx.undo_stack.count() == 0


def _suggest_negated(project: Project) -> tuple[int, int, int]:
    """A pending model suggestion: negation Negated (87%) for d0's "type 2 diabetes"."""
    did = doc_id(project, "d0")
    s = project.documents.get(did).text.index("type 2 diabetes")
    sid = add_suggestion(project, did, "attribute",
                         {"start": s, "end": s + 15, "label": "Disease", "attribute": "negation",
                          "value": "Negated", "probabilities": {"Affirmed": 0.13, "Negated": 0.87}},
                         0.87, "attribute")
    return did, s, sid


def test_attribute_suggestion_is_reviewed_with_its_confidence(qtbot, attr_window) -> None:  # type: ignore[no-untyped-def]
    project = attr_window.project
    did, s, sid = _suggest_negated(project)
    did, view = _on_entity(attr_window, "diabetes")
    view.show_document(project.documents.get(did), keep_cursor=True)
    assert "suggested negation: Negated (87% confident)" in view.editor.spans_at(s + 1)[0].tooltip
    assert "negation" in view.attribute_bar.suggestion_buttons
    assert view.suggestion_count.text() == "1 suggestion to review"
    # In the view's width every button keeps its whole text (the suggestion has its own row).
    qtbot.waitUntil(lambda: view.attribute_bar.buttons["negation"].isVisible())
    for button in view.attribute_bar.buttons.values():
        assert button.width() >= button.sizeHint().width()
    qtbot.keyClick(view.editor, "a")  # accept, as an entity suggestion is accepted
    assert suggestion_state(project, sid) == "accepted"
    assert _stored(project, did, "type 2 diabetes")["negation"] == "Negated"
    assert view.suggestion_count.text() == "No pending suggestions"
    attr_window.act_undo.trigger()
    assert suggestion_state(project, sid) == "pending"
    before = _stored(project, did, "type 2 diabetes")
    view.attribute_bar.suggestion_buttons["negation"][1].click()  # reject with the mouse
    assert suggestion_state(project, sid) == "rejected"
    assert _stored(project, did, "type 2 diabetes") == before
    attr_window.act_undo.trigger()
    assert suggestion_state(project, sid) == "pending"
    # Correct it: the value set by hand decides the suggestion (edited to that value).
    qtbot.keyClick(view.editor, "t")  # another attribute: the suggestion stays pending
    assert suggestion_state(project, sid) == "pending"
    view.attribute_bar.valueChosen.emit("negation", "Affirmed")
    assert suggestion_state(project, sid) == "edited"
    assert _stored(project, did, "type 2 diabetes") == {
        "negation": "Affirmed", "temporality": "Historical"}


def test_undoing_an_accepted_attribute_suggestion_restores_the_value(qtbot, attr_window) -> None:  # type: ignore[no-untyped-def]
    project = attr_window.project
    did, _s, sid = _suggest_negated(project)
    did, view = _on_entity(attr_window, "diabetes")
    view.show_document(project.documents.get(did), keep_cursor=True)
    qtbot.keyClick(view.editor, "a")
    assert _stored(project, did, "type 2 diabetes")["negation"] == "Negated"
    attr_window.act_undo.trigger()
    assert suggestion_state(project, sid) == "pending"
    assert _stored(project, did, "type 2 diabetes")["negation"] == "Affirmed"


def test_labels_dialog_declares_an_attribute_and_one_undo_removes_it(
    qtbot, window, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from annotator.app.qt_labels import QtLabelsDialog

    def edit(dialog: QtLabelsDialog) -> None:
        editor = dialog.attributes
        assert editor.isVisibleTo(dialog)  # the NER task is the one shown first
        editor.new_name.setText("certainty")
        editor.new_values.setText("Certain, Possible")
        editor.add()
        assert [s.name for s in editor.specs] == ["certainty"]
        editor.table.item(0, 1).setText("Certain, Possible, Unlikely")  # a value added
        editor.choose_labels("certainty", "Medication", False)  # only Disease now
        editor.table.item(0, 0).setText("certainty level")  # renamed

    monkeypatch.setattr(QtLabelsDialog, "exec", lambda self: edit(self) or 0)
    window.edit_labels()
    ner = window.project.documents.tasks()[TaskKind.NER]
    assert ner.attributes == (
        AttributeSpec("certainty level", ("Certain", "Possible", "Unlikely"), ("Disease",)),)
    view = window.views[TaskKind.NER]
    assert view.attribute_keys == {"certainty level": "c"}  # the view was rebuilt with it
    window.act_undo.trigger()  # one step takes every edit of the dialog back
    assert window.project.documents.tasks()[TaskKind.NER].attributes == ()
    assert view.attribute_keys == {} and not view.attribute_bar.isVisibleTo(view)
    window.act_redo.trigger()
    assert [s.name for s in window.project.documents.tasks()[TaskKind.NER].attributes] == [
        "certainty level"]


def test_labels_dialog_refuses_a_bad_declaration_with_a_message(qtbot, window, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from annotator.app.qt_labels import QtLabelsDialog

    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, _t, text: warnings.append(text))
    dialog = QtLabelsDialog(window.project, window)
    dialog.attributes.new_name.setText("negation")
    dialog.attributes.new_values.setText("Affirmed")  # one value only
    dialog.attributes.add()
    assert warnings and "at least two values" in warnings[0]
    assert window.project.documents.tasks()[TaskKind.NER].attributes == ()
    assert dialog.applied == []


def test_values_reordered_in_the_dialog_make_another_default(qtbot, attr_window, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from annotator.app.qt_labels import QtLabelsDialog

    dialog = QtLabelsDialog(attr_window.project, attr_window)
    row = [s.name for s in dialog.attributes.specs].index("temporality")
    dialog.attributes.table.item(row, 1).setText("Historical, Recent, Not particular")
    spec = attr_window.project.documents.tasks()[TaskKind.NER].attributes[row]
    assert spec.values == ("Historical", "Recent", "Not particular")
    assert spec.default == "Historical"


def test_the_demo_declares_attributes_with_examples(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from annotator.app.demo import build_demo_project

    project = Project.open(build_demo_project(tmp_path / "demo.db"))
    try:
        specs = project.documents.tasks()[TaskKind.NER].attributes
        assert [(s.name, s.values, s.labels) for s in specs] == [
            ("negation", ("Affirmed", "Negated"), ("Disease",)),
            ("temporality", ("Recent", "Historical", "Not particular"), ("Disease",)),
        ]
        given = {}
        for record in project.documents.records():
            for span in record.spans:
                for name, value in span.attributes.items():
                    given.setdefault((name, value), []).append(record.text[span.start:span.end])
        assert "Pulmonary embolism" in given[("negation", "Negated")]
        assert "deep vein thrombosis" in given[("temporality", "Historical")]
        assert given[("temporality", "Not particular")] == ["sepsis"]
    finally:
        project.close()


def test_a_value_changes_only_the_block_of_its_span(qtbot, attr_window) -> None:  # type: ignore[no-untyped-def]
    """A value is part of its span's block format: setting one lays out that block again
    and leaves the others' formats as they were (no redraw of the whole note)."""
    project = attr_window.project
    did = doc_id(project, "d2")  # two lines: "Progress note: hypertension stable." / "Continue ..."
    text = project.documents.get(did).text
    for word, label in (("hypertension", "Disease"), ("amlodipine", "Medication")):
        s = text.index(word)
        project.annotations.add_entity(did, s, s + len(word), label)
    attr_window.doc_list.select_doc(did)
    attr_window.tabs.setCurrentWidget(attr_window.views[TaskKind.NER])
    view = attr_window.views[TaskKind.NER]
    view.show_document(project.documents.get(did))
    editor = view.editor
    before = dict(editor._applied)
    assert set(before) == {0, 1}
    layouts = {n: editor.document().findBlockByNumber(n).layout().formats() for n in (0, 1)}
    editor.set_cursor_code_point(text.index("amlodipine") + 1)
    doc = editor.document()
    dirty: list[int] = []
    real = doc.markContentsDirty
    doc.markContentsDirty = lambda pos, n: (dirty.append(pos), real(pos, n))  # type: ignore[method-assign]
    qtbot.keyClick(editor, "t")
    del doc.markContentsDirty
    assert _stored(project, did, "amlodipine")["temporality"] == "Historical"
    assert dirty == [doc.findBlockByNumber(1).position()]  # that line was laid out again, only
    after = dict(editor._applied)
    assert after[0] == before[0] and after[1] != before[1]
    first = editor.document().findBlockByNumber(0).layout().formats()
    assert [(r.start, r.length) for r in first] == [(r.start, r.length) for r in layouts[0]]
    # The second line's span now ends in a range of its own: its last character, with the gap.
    second = editor.document().findBlockByNumber(1).layout().formats()
    assert len(second) == len(layouts[1]) + 1
    assert second[-1].format.fontLetterSpacing() > 0


def test_a_demo_made_before_gains_the_attributes(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A demo project of an earlier version (no attributes) gets them at the next start with
    the notes written for them; the notes it had keep their entities as the user left them."""
    import json

    from annotator.app import demo

    data = json.loads(demo.DEMO_DATA.read_text(encoding="utf-8"))
    new_notes = {"note-043", "note-044", "note-045"}
    del data["attributes"]
    data["documents"] = [d for d in data["documents"] if d["external_id"] not in new_notes]
    for d in data["documents"]:
        for span in d.get("spans", []):
            span.pop("attributes", None)
    old = tmp_path / "old_demo.json"
    old.write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.setattr(demo, "DEMO_DATA", old)
    path = demo.build_demo_project(tmp_path / "demo.db")
    with Project.open(path) as project:
        assert project.documents.tasks()[TaskKind.NER].attributes == ()
        did = doc_id(project, "note-001")
        before = project.documents.get(did).entities
    monkeypatch.undo()
    assert demo.upgrade_demo_project(path) == []  # no task added, the attributes declared
    with Project.open(path) as project:
        assert [s.name for s in project.documents.tasks()[TaskKind.NER].attributes] == [
            "negation", "temporality"]
        after = project.documents.get(did).entities
        assert [(e.start, e.end, e.label) for e in after] == [
            (e.start, e.end, e.label) for e in before]
        assert all(e.attributes.get("temporality", "Recent") == "Recent" for e in after)
        assert _stored(project, doc_id(project, "note-043"), "pneumonia")["negation"] == "Negated"
        count = len(project.documents.records())
    demo.upgrade_demo_project(path)  # once
    with Project.open(path) as project:
        assert len(project.documents.records()) == count


def test_accept_all_above_takes_attribute_suggestions_too(qtbot, attr_window) -> None:  # type: ignore[no-untyped-def]
    project = attr_window.project
    did, _s, sid = _suggest_negated(project)  # 0.87
    text = project.documents.get(did).text
    m = text.index("metformin")
    low = add_suggestion(project, did, "attribute",
                         {"start": m, "end": m + 9, "label": "Medication",
                          "attribute": "temporality", "value": "Historical"}, 0.55, "attribute")
    d = text.index("daily")
    entity = add_suggestion(project, did, "entity",
                            {"start": d, "end": d + 5, "label": "Medication"}, 0.9, "ner")
    did, view = _on_entity(attr_window, "diabetes")
    view.show_document(project.documents.get(did), keep_cursor=True)
    assert view.suggestion_count.text() == "3 suggestions to review"
    view.threshold.setValue(0.8)
    qtbot.keyClick(view.editor, "a", Qt.KeyboardModifier.ShiftModifier)
    assert (suggestion_state(project, sid), suggestion_state(project, entity),
            suggestion_state(project, low)) == ("accepted", "accepted", "pending")
    assert _stored(project, did, "type 2 diabetes")["negation"] == "Negated"
    attr_window.act_undo.trigger()  # one step
    assert suggestion_state(project, sid) == suggestion_state(project, entity) == "pending"


def test_attribute_keys_avoid_label_and_review_keys() -> None:
    from annotator.app.qt_attribute_bar import attribute_keys, badge_of
    from core.project import RESERVED_KEYS

    specs = [NEGATION, TEMPORALITY, AttributeSpec("tense", ("Past", "Present"))]
    assert attribute_keys(specs, RESERVED_KEYS) == {
        "negation": "n", "temporality": "t", "tense": "e"}
    # A label with the key N: negation takes the next letter of its name; an attribute
    # whose every letter is taken takes a free one.
    taken = set(RESERVED_KEYS) | {"n", "e", "g"}
    assert attribute_keys([NEGATION], taken) == {"negation": "t"}
    assert attribute_keys([AttributeSpec("sa", ("a", "s"))], RESERVED_KEYS) == {"sa": "b"}
    assert [badge_of(v) for v in ("Negated", "Not particular", "No")] == ["Neg", "NP", "No"]


def test_the_window_opens_with_an_attribute_model_version(qtbot, attributes_project: Path) -> None:  # type: ignore[no-untyped-def]
    """The attribute model's versions are listed in the training panel (its title was
    missing: opening a project that had one raised KeyError)."""
    from annotator.app.qt_main_window import QtMainWindow

    project = Project.open(attributes_project)
    project.models.register(TaskKind.ATTRIBUTE, path=str(attributes_project.parent / "m"),
                            base_model="tiny", metrics={"f1": 0.5}, labels=["negation=Negated"])
    win = QtMainWindow(project)
    qtbot.addWidget(win)
    assert "Attributes" in [win.training.version_table.item(r, 0).text()
                            for r in range(win.training.version_table.rowCount())]


def test_a_suggested_entity_and_its_suggested_values_are_reviewed_in_order(qtbot, attr_window) -> None:  # type: ignore[no-untyped-def]
    """A model entity with a suggested value: A takes the entity first, then its value;
    R on the entity rejects the values suggested on it too."""
    project = attr_window.project
    did = doc_id(project, "d1")
    text = project.documents.get(did).text
    s = text.index("asthma")
    entity = add_suggestion(project, did, "entity", {"start": s, "end": s + 6, "label": "Disease"},
                            0.9, "ner")
    value = add_suggestion(project, did, "attribute",
                           {"start": s, "end": s + 6, "label": "Disease", "attribute": "negation",
                            "value": "Negated"}, 0.7, "attribute")
    attr_window.doc_list.select_doc(did)
    attr_window.tabs.setCurrentWidget(attr_window.views[TaskKind.NER])
    view = attr_window.views[TaskKind.NER]
    view.show_document(project.documents.get(did))
    suggested = next(sp for sp in view.editor.spans_at(s + 1) if sp.suggestion)
    assert "suggested negation: Negated (70% confident)" in suggested.tooltip
    qtbot.keyClick(view.editor, "a")
    assert (suggestion_state(project, entity), suggestion_state(project, value)) == (
        "accepted", "pending")
    qtbot.keyClick(view.editor, "a")
    assert suggestion_state(project, value) == "accepted"
    assert _stored(project, did, "asthma")["negation"] == "Negated"
    attr_window.act_undo.trigger()
    attr_window.act_undo.trigger()
    assert (suggestion_state(project, entity), suggestion_state(project, value)) == (
        "pending", "pending")
    qtbot.keyClick(view.editor, "r")
    assert (suggestion_state(project, entity), suggestion_state(project, value)) == (
        "rejected", "rejected")
