"""Team work in the app: the Team menu, assigning from its dialog, each annotator's list
with their layers in the documents' place, labels stored as the annotator's, the agreement
dialog's numbers, adjudication into the gold (and its undo), and the demo's team."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox, QRadioButton
from sqlalchemy import select

from annotator.app import qt_team
from annotator.app.qt_adjudication import QtAdjudicationDialog
from annotator.app.qt_agreement import NO_TEAM, NONE_YET
from annotator.app.qt_documents import COLUMNS, LAYER_MARK
from core.project import DocFilter, Project
from core.store.models import Document, EntityAnnotation
from core.types import DocumentRecord, TaskKind
from tests.annotator.helpers import doc_id, entities

NOTE = "Patient has fever and cough; takes aspirin daily."
TEXTS = [NOTE, "Second note: no complaints today.", "Third note: seen in clinic.",
         "Fourth note: discharged home."]


@pytest.fixture
def team_path(tmp_path: Path) -> Path:
    path = tmp_path / "team.db"
    project = Project.create(path, tasks={TaskKind.NER: ["Disease", "Medication"],
                                          TaskKind.CLASSIFY: ["good", "bad"]})
    project.documents.add([DocumentRecord(t, external_id=f"t{i}") for i, t in enumerate(TEXTS)])
    project.close()
    return path


@pytest.fixture
def team_window(qtbot, team_path: Path) -> Iterator[object]:  # type: ignore[no-untyped-def]
    from annotator.app.qt_main_window import QtMainWindow

    win = QtMainWindow(Project.open(team_path))
    qtbot.addWidget(win)
    win.resize(1300, 850)
    win.show()
    qtbot.waitExposed(win)
    win._set_annotator("ana")
    yield win
    if win.isVisible():
        win.close()


def _double(project: Project, externals: list[str]) -> list[int]:
    """Give these documents to ana and ben, both: the originals' ids."""
    ids = [doc_id(project, e) for e in externals]
    project.team.assign(annotators=["ana", "ben"], double_share=1.0, doc_ids=ids)
    return ids


def _span(phrase: str, text: str = NOTE) -> tuple[int, int]:
    start = text.index(phrase)
    return start, start + len(phrase)


def _label_as(project: Project, name: str, original: int, spans: list[tuple[str, str]],
              classes: list[str], *, done: bool = True) -> int:
    layer = project.team.layer_for(original, name)
    assert layer is not None
    before, project.annotator = project.annotator, name
    try:
        text = project.documents.get(layer).text
        for phrase, label in spans:
            project.annotations.add_entity(layer, *_span(phrase, text), label)
        if classes:
            project.annotations.set_classes(layer, classes)
        if done:
            project.annotations.set_review_status(layer, "reviewed")
    finally:
        project.annotator = before
    return layer


def _hand_made(project: Project) -> list[int]:
    """Three double-annotated notes, both layers done. t0: ana fever, cough (Disease),
    aspirin (Medication); ben "has fever", cough, aspirin (all Disease). Classes: ana good,
    good, bad; ben good, bad, bad."""
    ids = _double(project, ["t0", "t1", "t2"])
    _label_as(project, "ana", ids[0], [("fever", "Disease"), ("cough", "Disease"),
                                       ("aspirin", "Medication")], ["good"])
    _label_as(project, "ben", ids[0], [("has fever", "Disease"), ("cough", "Disease"),
                                       ("aspirin", "Disease")], ["good"])
    for original, (a, b) in zip(ids[1:], [("good", "bad"), ("bad", "bad")]):
        _label_as(project, "ana", original, [], [a])
        _label_as(project, "ben", original, [], [b])
    return ids


def _menu_texts(window) -> list[str]:  # type: ignore[no-untyped-def]
    return [a.text().replace("&", "") for a in window.team_menu.actions()]


def test_the_team_menu_has_its_actions(team_window) -> None:  # type: ignore[no-untyped-def]
    menus = [m.text().replace("&", "") for m in team_window.menuBar().actions()]
    assert "Team" in menus and menus.index("Team") < menus.index("Help")
    assert _menu_texts(team_window) == ["Assign documents…", "Agreement…", "Adjudicate…"]


def test_assigning_from_the_dialog_makes_layers(qtbot, team_window, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    seen: list[str] = []
    told: list[str] = []

    def fill(dialog: qt_team.QtAssignDialog) -> int:
        seen.append(dialog.names.text())
        seen.append(str(dialog.share.value()))
        dialog.names.setText("ana, ben")
        dialog.share.setValue(50)
        dialog.show_others.setChecked(True)
        return 1

    monkeypatch.setattr(qt_team.QtAssignDialog, "exec", fill)
    monkeypatch.setattr(QMessageBox, "information", lambda _p, _t, text: told.append(text))
    team_window.team.act_assign.trigger()
    qtbot.waitUntil(lambda: bool(told), timeout=15000)
    assert seen == ["ana", "20"]  # who is working, and the default share
    project = team_window.project
    docs = project.team.documents()
    assert len(docs) == 2 and all({x.annotator for x in d.layers} == {"ana", "ben"}
                                  for d in docs)
    assert told == [("Assigned 4 document(s), 2 of them to two annotators (4 layers made): "
                     "ana 3 · ben 3.")]
    settings = project.team.settings()
    assert (settings.annotators, settings.double_share, settings.show_others) == (
        ("ana", "ben"), 0.5, True)
    # The dialog opens with the team, whoever works first.
    dialog = qt_team.QtAssignDialog(settings, "ben")
    assert (dialog.names.text(), dialog.share.value(), dialog.show_others.isChecked()) == (
        "ben, ana", 50, True)
    # The list now shows ana's layers in the documents' place.
    listed = set(team_window.doc_list.model._ids)
    assert {project.team.layer_for(d.doc_id, "ana") for d in docs} <= listed
    assert not {d.doc_id for d in docs} & listed


def test_the_assign_dialog_refuses_a_share_without_two_annotators(qtbot) -> None:  # type: ignore[no-untyped-def]
    from core.project.team import TeamSettings

    dialog = qt_team.QtAssignDialog(TeamSettings(), "ana")
    qtbot.addWidget(dialog)
    dialog.share.setValue(20)
    dialog.assign_button.click()
    assert "two annotators" in dialog.problem.text() and dialog.result() == 0


def test_each_annotator_sees_their_layer_in_the_documents_place(qtbot, team_window) -> None:  # type: ignore[no-untyped-def]
    win = team_window
    project = win.project
    original = _double(project, ["t0"])[0]
    win.doc_list.layers_changed()
    ana = project.team.layer_for(original, "ana")
    ben = project.team.layer_for(original, "ben")
    model = win.doc_list.model
    assert [r for r in range(model.rowCount()) if model.doc_row(r).layer] == [model.row_of(ana)]
    row = model.row_of(ana)
    assert row is not None and model.row_of(original) is None and model.row_of(ben) is None
    assert model.index(row, 1).data().startswith(LAYER_MARK)
    assert "Your layer of this document" in model.index(row, 0).data(3)  # the tooltip
    win.doc_list.select_doc(ana)
    assert win.doc.id == ana and win.doc.layer == "ana"
    assert win.layer_label.isVisible() and "Your layer" in win.layer_label.text()
    # Another name: their layer in the same place, the status bar and the counts follow.
    with qtbot.waitSignal(win.countsUpdated, timeout=10000):
        win._set_annotator("ben")
    assert win.annotator_label.text() == "Annotator: ben" and project.annotator == "ben"
    assert win.doc.id == ben and model.row_of(ben) == row
    assert [model.doc_row(r).layer for r in range(model.rowCount()) if model.doc_row(r).layer] == ["ben"]
    # Someone without a layer sees the document itself: its gold.
    win._set_annotator("carla")
    assert win.doc.id == original and not win.layer_label.isVisible()
    assert model.row_of(original) == row
    assert win.doc_list.current_filter().annotator == "carla"


def test_labels_made_in_the_app_are_the_annotators(qtbot, team_window) -> None:  # type: ignore[no-untyped-def]
    win = team_window
    project = win.project
    original = _double(project, ["t0"])[0]
    win.doc_list.layers_changed()
    view = win.views[TaskKind.NER]
    win.tabs.setCurrentWidget(view)
    for name, phrase in (("ana", "fever"), ("ben", "cough")):
        win._set_annotator(name)
        layer = project.team.layer_for(original, name)
        assert win.doc is not None and win.doc.id == layer  # the list followed the name
        view.editor.select_code_points(*_span(phrase))
        qtbot.keyClick(view.editor, "1")  # Disease
        win.mark_reviewed()  # and on to the next document
        assert entities(project, layer) == [(phrase, "Disease")]
        win.doc_list.select_doc(layer)  # back to the layer: the next name's follows it
    with project.read() as s:
        rows = s.execute(select(Document.layer, EntityAnnotation.annotator).join(
            EntityAnnotation, EntityAnnotation.document_id == Document.id)).all()
        statuses = dict(s.execute(select(Document.layer, Document.review_status)
                                  .where(Document.layer_of == original)).all())
    assert sorted(rows) == [("ana", "ana"), ("ben", "ben")]  # each label is its layer's
    assert statuses == {"ana": "reviewed", "ben": "reviewed"}
    assert entities(project, original) == []  # nobody wrote the gold
    pair = project.team.agreement()["entities"]["pairs"][0]
    assert (pair["a"], pair["b"], pair["documents"], pair["both"]) == ("ana", "ben", 1, 0)


def _agreement(qtbot, win):  # type: ignore[no-untyped-def]
    dialog = win.team.show_agreement()
    if dialog.report is None:
        with qtbot.waitSignal(dialog.reportShown, timeout=15000):
            pass
    return dialog


def test_the_agreement_dialog_shows_the_numbers_of_a_hand_made_case(qtbot, team_window) -> None:  # type: ignore[no-untyped-def]
    project = team_window.project
    _hand_made(project)
    dialog = _agreement(qtbot, team_window)
    # Worked out by hand: exact matches cough only, of 3 + 3 spans -> 2 * 1 / 6; overlap:
    # 2 of ana's 3 and 2 of ben's 3 meet one of the same label -> 2/3.
    assert [dialog.cell("entities", 0, c) for c in
            ("annotators", "documents", "exact F1", "overlap F1", "same", "spans A",
             "spans B")] == ["ana / ben", "3", "0.333", "0.667", "1", "3", "3"]
    per_label = dialog.tables["entity labels"]
    assert per_label.rowCount() == 2
    # Disease: ana 2, ben 3, one exact -> 0.4; overlap: ana's 2 of 2, ben's 2 of 3 -> 0.8.
    assert [dialog.cell("entity labels", 0, c) for c in ("label", "exact F1", "overlap F1")] == [
        "Disease", "0.400", "0.800"]
    assert [dialog.cell("entity labels", 1, c) for c in ("label", "exact F1")] == [
        "Medication", "0.000"]
    # Classes good/good, good/bad, bad/bad: observed 2/3, chance 4/9, kappa (2/9)/(5/9).
    assert [dialog.cell("classes", 0, c) for c in ("documents", "kappa", "observed")] == [
        "3", "0.400", "0.667"]
    report = project.team.agreement()
    assert dialog.cell("classes", 0, "kappa") == f"{report['classes']['pairs'][0]['kappa']:.3f}"
    assert f"{report['classes']['alpha']:.3f}" in dialog.notes["Classes"].text()
    assert not dialog.empty.isVisible() and dialog.tabs.isVisible()


def test_the_agreement_dialog_says_when_there_is_nothing_to_compare(qtbot, team_window) -> None:  # type: ignore[no-untyped-def]
    dialog = _agreement(qtbot, team_window)
    assert dialog.empty.isVisible() and dialog.empty.text() == NO_TEAM
    original = _double(team_window.project, ["t0"])[0]
    _label_as(team_window.project, "ana", original, [("fever", "Disease")], [])
    with qtbot.waitSignal(dialog.reportShown, timeout=15000):
        dialog.refresh()
    assert dialog.empty.text() == NONE_YET and not dialog.tabs.isVisible()
    with qtbot.waitSignal(dialog.reportShown, timeout=15000):
        dialog.unfinished.setChecked(True)  # ben's empty layer is open; counted now
    assert not dialog.empty.isVisible()
    assert dialog.cell("entities", 0, "spans A") == "1"


def _adjudication(win) -> QtAdjudicationDialog:  # type: ignore[no-untyped-def]
    return win.team.show_adjudication()


def _titles(dialog: QtAdjudicationDialog) -> list[str]:
    return [dialog.disputed.item(r, 0).text() for r in range(dialog.disputed.rowCount())]


def test_adjudication_writes_the_chosen_versions_as_gold_and_undo_takes_it_back(  # type: ignore[no-untyped-def]
        qtbot, team_window, monkeypatch) -> None:
    win = team_window
    project = win.project
    ids = _hand_made(project)
    win.doc_list.layers_changed()  # made behind the window's back: list them
    asked: list[str] = []
    monkeypatch.setattr(QMessageBox, "question", lambda _p, _t, text: (
        asked.append(text), QMessageBox.StandardButton.Yes)[1])
    dialog = _adjudication(win)
    assert dialog.doc_table.rowCount() == 3
    assert [dialog.doc_table.item(0, c).text() for c in range(3)] == [
        "t0", "ana done · ben done", "ready"]
    dialog.select_document(ids[0])
    assert dialog.adj is not None and dialog.adj.doc_id == ids[0]
    # "fever" / "has fever" is one disputed stretch, aspirin's label another; cough and the
    # class are agreed.
    assert _titles(dialog) == ["entities at “has fever”", "entities at “aspirin”"]
    assert [dialog.disputed.cellWidget(1, c).text() for c in (1, 2, 3)] == [
        "Medication “aspirin”", "Disease “aspirin”", "leave out"]
    assert [dialog.agreed.item(r, 1).text() for r in range(dialog.agreed.rowCount())] == [
        "Disease “cough”", "good"]
    radios = dialog.disputed.findChildren(QRadioButton)
    assert len(radios) == 2 * 3  # ana, ben, leave out: widgets for the disputed rows only
    fever, aspirin = (i.key for i in dialog.adj.disputed)
    dialog.choose(fever, "ben")
    assert dialog.chosen_label.text() == "1 of 2 disputed item(s) decided"
    assert dialog.save()
    assert asked == [("1 disputed item(s) have no version chosen: they are left out of the "
                      "gold.\n\nSave the gold without them?")]
    assert entities(project, ids[0]) == [("has fever", "Disease"), ("cough", "Disease")]
    gold = project.documents.get(ids[0])
    assert gold.classes == ("good",) and gold.review_status == "reviewed"
    assert dialog.doc_table.item(0, 2).text() == "adjudicated"
    win.ctx.undo_stack.undo()  # the gold back whole
    assert entities(project, ids[0]) == []
    assert project.documents.get(ids[0]).review_status == "unreviewed"
    assert dialog.doc_table.item(0, 2).text() == "ready"
    assert dialog.choices() == {fever: "ben"}  # kept while it is shown
    win.ctx.undo_stack.redo()
    assert [t for t, _ in entities(project, ids[0])] == ["has fever", "cough"]
    # Every disputed item from one annotator, saved again: the gold is replaced.
    dialog.take_all("ana")
    assert dialog.choices() == {fever: "ana", aspirin: "ana"}
    assert dialog.save() and len(asked) == 1  # nothing undecided: no question
    assert entities(project, ids[0]) == [("fever", "Disease"), ("cough", "Disease"),
                                         ("aspirin", "Medication")]
    win.ctx.undo_stack.undo()
    assert [t for t, _ in entities(project, ids[0])] == ["has fever", "cough"]
    # ana's list shows her layer in the document's place; to someone else it is the
    # document, reviewed.
    model = win.doc_list.model
    assert model.row_of(ids[0]) is None
    win._set_annotator("carla")
    row = model.row_of(ids[0])
    assert row is not None and model.index(row, COLUMNS.index("status")).data() == "reviewed"
    # Shown again later, an adjudicated document has the choices that made its gold.
    assert win.act_undo in dialog.actions()  # Ctrl+Z works in the dialog too
    dialog.close()
    again = _adjudication(win)
    assert again is not dialog
    again.select_document(ids[0])
    assert again.choices() == {fever: "ben", aspirin: None}


def test_an_open_layer_hides_the_others_from_its_annotator_and_asks_to_force(  # type: ignore[no-untyped-def]
        qtbot, team_window, monkeypatch) -> None:
    win = team_window
    project = win.project
    original = _double(project, ["t0"])[0]
    _label_as(project, "ana", original, [("fever", "Disease")], ["good"])
    _label_as(project, "ben", original, [("cough", "Disease")], ["bad"], done=False)
    answers = [QMessageBox.StandardButton.No]
    monkeypatch.setattr(QMessageBox, "question", lambda *_a: answers.pop(0))
    dialog = _adjudication(win)  # ana works: ben's layer stays hidden from her
    assert dialog.doc_table.item(0, 2).text() == "waiting for ben"
    assert not dialog.visible_items and dialog.hidden_note.isVisibleTo(dialog)
    assert dialog.disputed.rowCount() == 0 and not dialog.save_button.isEnabled()
    assert not dialog.save()
    win._set_annotator("carla")  # an adjudicator without a layer may look
    dialog.reload()
    assert dialog.visible_items and dialog.disputed.rowCount() == 3
    dialog.take_all("ana")
    assert not dialog.save()  # "ben has not marked their layer done": No
    assert entities(project, original) == []
    answers[:] = [QMessageBox.StandardButton.Yes]
    assert dialog.save()  # forced
    assert entities(project, original) == [("fever", "Disease")]


def test_a_long_note_gets_widgets_for_its_disputed_items_only(qtbot, team_window) -> None:  # type: ignore[no-untyped-def]
    project = team_window.project
    words = [f"finding{i}" for i in range(400)]
    long_text = "Long note. " + " ".join(words) + "."
    project.documents.add([DocumentRecord(long_text, external_id="long")])
    original = _double(project, ["long"])[0]
    for name in ("ana", "ben"):
        # Both mark every tenth word; ben also the 5th word of every fifty.
        phrases = [(w, "Disease") for i, w in enumerate(words) if i % 10 == 0
                   or (name == "ben" and i % 50 == 5)]
        _label_as(project, name, original, phrases, ["good"])
    dialog = _adjudication(team_window)
    dialog.select_document(original)
    assert len(dialog.adj.agreed) == 41 and len(dialog.adj.disputed) == 8
    assert dialog.disputed.rowCount() == 8 and dialog.agreed.rowCount() == 41
    assert len(dialog.disputed.findChildren(QRadioButton)) == 8 * 3
    dialog.disputed.setCurrentCell(7, 0)  # the text scrolls to the last one
    start, end = dialog.text.selection_code_points()
    assert long_text[start:end] == "finding355"


def test_the_demo_has_a_team_with_a_note_to_adjudicate(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from annotator.app.demo import build_demo_project, upgrade_demo_project
    from annotator.app.qt_main_window import QtMainWindow

    path = build_demo_project(tmp_path / "demo.db")
    with Project.open(path) as project:
        assert project.team.settings().annotators == ("ana", "ben")
        docs = {d.external_id: d for d in project.team.documents()}
        assert set(docs) == {"note-017", "note-018", "note-019"}
        assert docs["note-017"].ready and not docs["note-017"].adjudicated
        assert docs["note-018"].adjudicated
        assert not docs["note-019"].ready
        assert {x.annotator: x.done for x in docs["note-019"].layers} == {"ana": True,
                                                                          "ben": False}
        disputed = {i.kind for i in project.team.adjudication(docs["note-017"].doc_id).disputed}
        assert disputed == {"entities", "attribute", "classes", "sentence", "answer"}
        gold = project.documents.get(docs["note-018"].doc_id)
        assert "ECG" in [gold.text[e.start:e.end] for e in gold.entities]
        report = project.team.agreement()
        assert report["documents"] == 2
        assert 0 < report["entities"]["pairs"][0]["f1"] < 1
        # The layers are no documents of their own: the list has the 45 notes.
        assert len(project.documents.filter(DocFilter())) == 45
        assert len(project.documents.filter(DocFilter(annotator="ana"))) == 45
        count = len(project.documents.records())
    upgrade_demo_project(path)  # the team is added once
    with Project.open(path) as project:
        assert len(project.team.documents()) == 3
        assert len(project.documents.records()) == count
    win = QtMainWindow(Project.open(path))
    qtbot.addWidget(win)
    win.show()
    win._set_annotator("ana")
    dialog = win.team.show_adjudication()
    assert dialog.adj is not None and dialog.adj.doc_id == docs["note-017"].doc_id
    assert dialog.disputed.rowCount() == 5 and dialog.choices() == {}
    # The note adjudicated already shows the choice its gold was made with.
    dialog.select_document(docs["note-018"].doc_id)
    assert _titles(dialog) == ["entities at “ECG”"] and list(dialog.choices().values()) == ["ana"]
    # ana has a layer of note-019, whose other layer is open: it stays hidden from her.
    dialog.select_document(docs["note-019"].doc_id)
    assert not dialog.visible_items and dialog.disputed.rowCount() == 0
    assert "disputed" not in dialog.header.text()
    win.close()


def test_how_to_work_names_the_team_menu(qapp) -> None:  # type: ignore[no-untyped-def]
    from annotator.app.qt_help import HOW_TO_HTML

    for action in ("Team › Assign documents…", "Team › Agreement…", "Team › Adjudicate…",
                   "(your layer)"):
        assert action in HOW_TO_HTML
