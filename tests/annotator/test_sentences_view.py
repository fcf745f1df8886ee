"""The sentences view: a class per sentence by key, moving between sentences, the model's
suggestions with their probability, accepting a note's suggestions above a threshold,
undo and redo, splitting and merging, a long note, and the demo's sentence task."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

from annotator.app.qt_classes import CHOSEN_ALPHA
from annotator.app.qt_sentence_parts import (
    SentenceTableModel,
    first_to_label,
    sentence_index_at,
    suggestion_text,
)
from core.project import Project, SuggestionView
from core.types import DocumentRecord, SentenceLabel, TaskKind
from tests.annotator.helpers import add_suggestion, doc_id, suggestion_state

NOTES = [
    ("Smokes ten cigarettes a day. Chest clear on examination. Plan to start varenicline. "
     "Review in four weeks."),
    "Referred for shortness of breath. Echo shows good function. No further tests needed.",
    "Ex-smoker since 2019. Blood pressure 150/90 today. Increase amlodipine to 10 mg.",
]
LABELS = ["Finding", "Plan", "Other"]


def _make_project(path: Path, *, multi_label: bool = False) -> Path:
    project = Project.create(path, tasks={TaskKind.SENTENCE: LABELS}, multi_label=multi_label)
    project.documents.add([DocumentRecord(text=t, external_id=f"s{i}")
                           for i, t in enumerate(NOTES)])
    project.close()
    return path


def _window(qtbot: Any, path: Path) -> Any:
    from annotator.app.qt_main_window import QtMainWindow

    win = QtMainWindow(Project.open(path))
    qtbot.addWidget(win)
    win.resize(1400, 850)
    win.show()
    qtbot.waitExposed(win)
    win.tabs.setCurrentWidget(win.views[TaskKind.SENTENCE])
    return win


@pytest.fixture
def win(qtbot: Any, tmp_path: Path) -> Iterator[Any]:
    window = _window(qtbot, _make_project(tmp_path / "s.db"))
    window.doc_list.select_doc(doc_id(window.project, "s0"))
    yield window
    if window.isVisible():
        window.close()


def _view(win: Any) -> Any:
    return win.views[TaskKind.SENTENCE]


def _labels(win: Any, external_id: str = "s0") -> list[tuple[str, ...]]:
    doc = win.project.documents.get(doc_id(win.project, external_id))
    return [s.labels for s in doc.sentences]


def _texts(win: Any, external_id: str = "s0") -> list[str]:
    doc = win.project.documents.get(doc_id(win.project, external_id))
    return [doc.text[s.start:s.end] for s in doc.sentences]


def _suggest(win: Any, external_id: str, index: int, label: str, p: float) -> int:
    """A pending suggestion of ``label`` with probability ``p`` for sentence ``index``."""
    did = doc_id(win.project, external_id)
    s = win.project.documents.get(did).sentences[index]
    rest = (1.0 - p) / (len(LABELS) - 1)
    probs = {name: (p if name == label else rest) for name in LABELS}
    sid = add_suggestion(win.project, did, "sentence",
                         {"start": s.start, "end": s.end, "label": label, "labels": [label],
                          "probabilities": probs}, p, "sentence")
    win._after_bulk_change()  # as after a pre-annotation run
    return sid


# --- the pure helpers ----------------------------------------------------------------------


def test_sentence_at_a_position_and_where_labelling_starts() -> None:
    sentences = (SentenceLabel(0, 5, ("Plan",)), SentenceLabel(6, 10), SentenceLabel(12, 20))
    assert [sentence_index_at(sentences, cp) for cp in (0, 4, 5, 6, 11, 12, 25)] == [
        0, 0, 0, 1, 1, 2, 2]
    assert first_to_label(sentences) == 1
    assert first_to_label((SentenceLabel(0, 5, ("Plan",)),)) == 0


def test_suggestion_text_shows_each_class_with_its_probability() -> None:
    s = SuggestionView(1, "sentence", {"start": 0, "end": 5, "label": "Plan", "labels": ["Plan"],
                                       "probabilities": {"Plan": 0.823, "Other": 0.177}}, 0.823)
    assert suggestion_text(s) == "Plan 82%"
    multi = SuggestionView(2, "sentence", {"start": 0, "end": 5, "label": "Plan",
                                           "labels": ["Plan", "Finding"],
                                           "probabilities": {"Plan": 0.9, "Finding": 0.61}}, 0.6)
    assert suggestion_text(multi) == "Plan 90%, Finding 61%"


# --- in the window -------------------------------------------------------------------------


def test_the_view_shows_the_note_with_its_sentences_and_the_current_one(qtbot, win) -> None:  # type: ignore[no-untyped-def]
    view = _view(win)
    assert win.tabs.tabText(win.tabs.currentIndex()) == "Sentences"
    assert win.ctx.view_kind is TaskKind.SENTENCE
    assert view.text.document_text() == NOTES[0]
    assert view.model.rowCount() == 4
    assert view.model.index(1, SentenceTableModel.TEXT).data() == "Chest clear on examination."
    assert view.current == 0 and view.table.currentIndex().row() == 0
    focus = view.text.focus_span()
    assert (focus.start, focus.end) == (0, len("Smokes ten cigarettes a day."))
    assert view.text.focus_rects()  # the frame is drawn on screen
    assert "Sentence 1 of 4" in view.info.text()
    # The training panel offers the kind under its display name.
    assert win.training.train_buttons[TaskKind.SENTENCE].text() == "Train Sentences"
    assert win.training.settings_task.currentText() == "Sentences"


def test_a_label_key_sets_the_class_and_moves_to_the_next_sentence(qtbot, win) -> None:  # type: ignore[no-untyped-def]
    view = _view(win)
    qtbot.keyClick(view.text, "1")
    assert _labels(win) == [("Finding",), (), (), ()]
    assert view.current == 1
    qtbot.keyClick(view.text, "1")
    qtbot.keyClick(view.text, "2")
    assert _labels(win) == [("Finding",), ("Finding",), ("Plan",), ()]
    assert view.current == 3 and "Sentence 4 of 4" in view.info.text()
    # The class cell is the label's colour as a light tint (not "#RRGGBBAA", which Qt
    # reads as #AARRGGBB), so the text on it stays readable.
    cell = view.model.index(0, SentenceTableModel.CLASS)
    assert cell.data() == "Finding"
    tint = cell.data(Qt.ItemDataRole.BackgroundRole)
    finding = view.task.label("Finding").color
    assert isinstance(tint, QColor) and tint.name() == QColor(finding).name()
    assert tint.alphaF() == pytest.approx(CHOSEN_ALPHA, abs=0.01)
    # The same class again on a labelled sentence writes nothing and moves on; another
    # class replaces it; Delete clears it.
    view.set_current(0)
    before = win.ctx.undo_stack.count()
    qtbot.keyClick(view.text, "1")
    assert win.ctx.undo_stack.count() == before and view.current == 1
    qtbot.keyClick(view.text, Qt.Key.Key_Up)
    qtbot.keyClick(view.text, "3")
    assert _labels(win)[0] == ("Other",)
    qtbot.keyClick(view.text, Qt.Key.Key_Up)
    qtbot.keyClick(view.text, Qt.Key.Key_Delete)
    assert _labels(win)[0] == ()
    # A click in the label bar does what its key does.
    view.set_current(3)
    view.label_bar.buttons["Plan"].click()
    assert _labels(win)[3] == ("Plan",)
    assert "sentences" in win.ctx.time_spent_text()  # the decisions were timed as sentences


def test_keys_move_between_sentences_and_j_k_between_notes(qtbot, win) -> None:  # type: ignore[no-untyped-def]
    view = _view(win)
    qtbot.keyClick(view.text, Qt.Key.Key_Down)
    qtbot.keyClick(view.text, Qt.Key.Key_Down)
    assert view.current == 2 and view.table.currentIndex().row() == 2
    qtbot.keyClick(view.text, Qt.Key.Key_Up)
    assert view.current == 1
    qtbot.keyClick(view.text, Qt.Key.Key_Return)
    assert view.current == 2
    for _ in range(5):  # past the last sentence: stays, and says where J goes
        qtbot.keyClick(view.text, Qt.Key.Key_Down)
    assert view.current == 3
    assert "J for the next note" in win.statusBar().currentMessage()
    # The caret placed in a sentence (a click) makes it the current one.
    view.text.set_cursor_code_point(NOTES[0].index("varenicline"))
    assert view.current == 2
    # A click on a row of the table too.
    rect = view.table.visualRect(view.model.index(1, SentenceTableModel.TEXT))
    qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert view.current == 1
    # J / K go to the next / previous note, as everywhere; a note opens at its first
    # sentence without a class.
    first = win.doc.id
    qtbot.keyClick(view.text, "1")  # sentence 2 of s0
    qtbot.keyClick(view.text, "j")
    assert win.doc.id != first and view.text.document_text() == NOTES[1]
    assert view.current == 0
    qtbot.keyClick(view.text, "k")
    assert win.doc.id == first and view.current == 0  # sentence 1 has no class yet


def test_suggestions_show_their_probability_and_are_reviewed_by_key(qtbot, win) -> None:  # type: ignore[no-untyped-def]
    view = _view(win)
    s0 = _suggest(win, "s0", 0, "Finding", 0.82)
    s1 = _suggest(win, "s0", 1, "Other", 0.64)
    s2 = _suggest(win, "s0", 2, "Finding", 0.55)
    assert view.model.index(0, SentenceTableModel.SUGGESTION).data() == "Finding 82%"
    assert view.model.index(1, SentenceTableModel.SUGGESTION).data() == "Other 64%"
    tip = view.model.index(0, SentenceTableModel.SUGGESTION).data(Qt.ItemDataRole.ToolTipRole)
    assert "Finding 82%" in tip and "Plan 9%" in tip
    assert "model suggests <b>Finding 82%</b>" in view.info.text()
    assert "3 sentence suggestions to review" in view.suggestion_count.text()
    spans = view.text.spans_at(1)
    assert spans and spans[0].suggestion and "Finding 82%" in spans[0].tooltip
    qtbot.keyClick(view.text, "a")  # accept: the class, and on to the next sentence
    assert _labels(win)[0] == ("Finding",)
    assert suggestion_state(win.project, s0) == "accepted" and view.current == 1
    qtbot.keyClick(view.text, "r")  # reject
    assert _labels(win)[1] == ()
    assert suggestion_state(win.project, s1) == "rejected" and view.current == 2
    qtbot.keyClick(view.text, "2")  # another class than suggested: the suggestion is edited
    assert _labels(win)[2] == ("Plan",)
    assert suggestion_state(win.project, s2) == "edited"
    qtbot.keyClick(view.text, "a")  # no suggestion on sentence 4
    assert "no suggestion for this sentence" in win.statusBar().currentMessage()
    assert view.suggestion_count.text() == "No pending suggestions"
    # Undo takes the decisions back one at a time, to the sentence each changed.
    win.act_undo.trigger()
    assert suggestion_state(win.project, s2) == "pending" and _labels(win)[2] == ()
    assert view.current == 2
    win.act_undo.trigger()
    assert suggestion_state(win.project, s1) == "pending" and view.current == 1


def test_accept_all_above_the_threshold_is_per_note(qtbot, win) -> None:  # type: ignore[no-untyped-def]
    view = _view(win)
    high = _suggest(win, "s0", 0, "Finding", 0.91)
    also = _suggest(win, "s0", 2, "Plan", 0.85)
    low = _suggest(win, "s0", 3, "Plan", 0.62)
    other_note = _suggest(win, "s1", 0, "Other", 0.95)
    view.threshold.setValue(0.8)
    qtbot.keyClick(view.text, "a", Qt.KeyboardModifier.ShiftModifier)
    assert _labels(win) == [("Finding",), (), ("Plan",), ()]
    assert [suggestion_state(win.project, s) for s in (high, also, low, other_note)] == [
        "accepted", "accepted", "pending", "pending"]
    assert _labels(win, "s1")[0] == ()
    assert view.model.index(3, SentenceTableModel.SUGGESTION).data() == "Plan 62%"
    # Nothing left above it: refused with a message, nothing written.
    count = win.ctx.undo_stack.count()
    view.accept_all.setEnabled(True)
    view.accept_all.click()
    assert win.ctx.undo_stack.count() == count
    assert "no suggestion at or above 0.80" in win.statusBar().currentMessage()
    # One undo takes the whole step back.
    win.act_undo.trigger()
    assert _labels(win) == [(), (), (), ()]
    assert suggestion_state(win.project, high) == suggestion_state(win.project, also) == "pending"
    win.act_redo.trigger()
    assert _labels(win) == [("Finding",), (), ("Plan",), ()]


def test_undo_and_redo_return_to_the_sentence_changed(qtbot, win) -> None:  # type: ignore[no-untyped-def]
    view = _view(win)
    qtbot.keyClick(view.text, "3")
    qtbot.keyClick(view.text, "1")
    assert view.current == 2
    qtbot.keyClick(view.text, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert _labels(win) == [("Other",), (), (), ()]
    assert view.current == 1  # back on the sentence the undo changed: one key labels it again
    win.act_undo.trigger()
    assert _labels(win) == [(), (), (), ()] and view.current == 0
    win.act_redo.trigger()
    assert _labels(win)[0] == ("Other",) and view.current == 0
    qtbot.keyClick(view.text, Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert _labels(win)[:2] == [("Other",), ("Finding",)] and view.current == 1


def test_split_at_the_caret_and_merge_with_the_next(qtbot, win) -> None:  # type: ignore[no-untyped-def]
    view = _view(win)
    win.activateWindow()
    qtbot.waitActive(win)
    view.text.setFocus()
    qtbot.keyClick(view.text, "2")  # "Smokes ten cigarettes a day." is Plan (wrongly)
    # Merge the first two sentences, as if the tool had cut one sentence in two.
    view.set_current(1)
    qtbot.keyClick(view.text, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    assert _texts(win)[1] == "Chest clear on examination. Plan to start varenicline."
    assert view.current == 1 and view.model.rowCount() == 3
    # Split it again at the caret: in the middle of a word, it splits at that word's start.
    view.text.set_cursor_code_point(NOTES[0].index("start varenicline"))
    qtbot.keyClick(view.text, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    assert _texts(win)[1:3] == ["Chest clear on examination. Plan to", "start varenicline."]
    assert view.current == 2  # the new sentence, where the caret is
    win.act_undo.trigger()
    assert _texts(win)[1] == "Chest clear on examination. Plan to start varenicline."
    win.act_undo.trigger()
    assert _texts(win) == ["Smokes ten cigarettes a day.", "Chest clear on examination.",
                           "Plan to start varenicline.", "Review in four weeks."]
    # Single-label: two sentences of different classes are not merged; core says why.
    view.set_current(1)
    qtbot.keyClick(view.text, "1")
    view.set_current(0)
    count = win.ctx.undo_stack.count()
    view.merge_button.click()
    assert len(_texts(win)) == 4 and win.ctx.undo_stack.count() == count
    assert "different classes" in win.statusBar().currentMessage()
    # A split keeps the class on both halves; merging them back gives one again.
    view.split_at(NOTES[0].index("cigarettes"))
    assert _texts(win)[:2] == ["Smokes ten", "cigarettes a day."]
    assert _labels(win)[:2] == [("Plan",), ("Plan",)]
    view.set_current(0)
    view.merge_with_next()
    assert _texts(win)[0] == "Smokes ten cigarettes a day." and _labels(win)[0] == ("Plan",)
    # The menu's "merge with the previous" merges into the sentence before.
    view.set_current(3)
    view.merge_with_previous()
    assert _texts(win)[2] == "Plan to start varenicline. Review in four weeks."
    assert view.current == 2


def test_a_new_project_can_have_a_sentence_task(qtbot) -> None:  # type: ignore[no-untyped-def]
    from annotator.app.qt_project_dialogs import QtNewProjectDialog

    dialog = QtNewProjectDialog()
    qtbot.addWidget(dialog)
    dialog.ner.setChecked(False)
    dialog.sentence.setChecked(True)
    dialog.sentence_labels.setText("Smoking status, Plan, Other")
    assert dialog.tasks() == {TaskKind.SENTENCE: ["Smoking status", "Plan", "Other"]}


def test_multi_label_keys_tick_and_untick_and_stay(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    win = _window(qtbot, _make_project(tmp_path / "m.db", multi_label=True))
    win.doc_list.select_doc(doc_id(win.project, "s0"))
    view = _view(win)
    qtbot.keyClick(view.text, "1")
    qtbot.keyClick(view.text, "3")
    assert _labels(win)[0] == ("Finding", "Other") and view.current == 0
    qtbot.keyClick(view.text, "1")
    assert _labels(win)[0] == ("Other",)
    qtbot.keyClick(view.text, Qt.Key.Key_Return)
    assert view.current == 1
    assert "several allowed" in view.hint.text()
    win.close()


def test_a_long_note_is_one_text_and_one_table(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """3,000 sentences: no widget per sentence, and the note opens and moves at once."""
    text = " ".join(f"Sentence number {i} says little." for i in range(3000))
    path = tmp_path / "long.db"
    project = Project.create(path, tasks={TaskKind.SENTENCE: LABELS})
    project.documents.add([DocumentRecord(text=text, external_id="long"),
                           DocumentRecord(text="Short one.", external_id="short")])
    project.close()
    win = _window(qtbot, path)
    view = _view(win)
    widgets = len(view.findChildren(QWidget))
    started = time.perf_counter()
    win.doc_list.select_doc(doc_id(win.project, "long"))
    opened = time.perf_counter() - started
    assert view.model.rowCount() == 3000
    assert len(view.findChildren(QWidget)) == widgets
    started = time.perf_counter()
    for _ in range(20):
        qtbot.keyClick(view.text, Qt.Key.Key_Down)
    moved = (time.perf_counter() - started) / 20
    assert view.current == 20
    qtbot.keyClick(view.text, "2")
    assert view.current == 21 and _labels(win, "long")[20] == ("Plan",)
    assert opened < 5.0 and moved < 0.25, (opened, moved)  # generous: a loaded machine
    win.close()


def test_the_demo_has_a_sentence_task_with_labelled_sentences(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from annotator.app.demo import build_demo_project

    path = build_demo_project(tmp_path / "demo.db")
    with Project.open(path) as project:
        task = project.documents.tasks()[TaskKind.SENTENCE]
        assert [lab.name for lab in task.labels] == [
            "Finding", "History", "Plan", "Referral reason", "Other"]
        assert all(lab.shortcut for lab in task.labels)
        docs = [project.documents.get(d.id) for d in project.documents.page(
            project.documents.filter(), kind=TaskKind.SENTENCE)]
        labelled = [d for d in docs if any(s.labels for s in d.sentences)]
        assert 10 <= len(labelled) < len(docs)  # some left for the model to suggest
        for d in labelled:  # every sentence of a labelled note has its class
            assert all(s.labels for s in d.sentences)
        assert all(d.sentences for d in docs)  # the others were segmented at import
        first = next(d for d in docs if d.external_id == "note-001")
        classes = {first.text[s.start:s.end]: s.labels[0] for s in first.sentences}
        assert classes["Started on furosemide 40 mg in the morning."] == "Plan"
        assert classes["Background of community-acquired pneumonia."] == "History"
    win = _window(qtbot, path)
    assert "Sentences" in [win.tabs.tabText(i) for i in range(win.tabs.count())]
    win.doc_list.select_row(0)
    assert _view(win).model.index(0, SentenceTableModel.CLASS).data()
    win.close()


def test_a_demo_made_before_gains_the_sentence_task(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A demo project of an earlier version (no sentence task) gets it at the next start,
    with the demo's sentence classes; what the user did in it stays."""
    import json

    from annotator.app import demo

    data = json.loads(demo.DEMO_DATA.read_text(encoding="utf-8"))
    del data["tasks"]["sentence"]
    for d in data["documents"]:
        d.pop("sentences", None)
    old = tmp_path / "old_demo.json"
    old.write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.setattr(demo, "DEMO_DATA", old)
    path = demo.build_demo_project(tmp_path / "demo.db")
    with Project.open(path) as project:
        assert TaskKind.SENTENCE not in project.documents.tasks()
        did = doc_id(project, "note-001")
        entity = project.documents.get(did).entities[0]
        project.annotations.remove_entity(did, entity.start, entity.end)
    monkeypatch.undo()
    assert demo.upgrade_demo_project(path) == [TaskKind.SENTENCE]
    with Project.open(path) as project:
        assert [lab.name for lab in project.documents.tasks()[TaskKind.SENTENCE].labels][0] == (
            "Finding")
        note = project.documents.get(did)
        assert all(s.labels for s in note.sentences)
        assert (entity.start, entity.end) not in {(e.start, e.end) for e in note.entities}
        assert all(project.documents.get(i).sentences for i in project.documents.filter())
    assert demo.upgrade_demo_project(path) == []  # once


def test_help_lists_the_sentence_keys(qapp) -> None:  # type: ignore[no-untyped-def]
    from annotator.app.qt_help import HOW_TO_HTML, VIEW_KEYS

    keys = dict(VIEW_KEYS)["Sentences"]
    assert {k for k, _ in keys} >= {"Ctrl+B", "Ctrl+M", "A / R", "Shift+A"}
    assert "<i>Sentences</i>" in HOW_TO_HTML and "Ctrl+B splits" in HOW_TO_HTML


def test_a_sentence_run_with_a_macro_f1_is_not_warned_of_a_zero_f1() -> None:
    """The training panel said "the dev macro-F1 is 0" after every sentence run whose dev
    macro-F1 was 0.38: the warning read the entity F1 (core.engine.metrics.primary_metric)."""
    from core.engine.inference import collapse_warning, weak_labels_warning
    from core.engine.metrics import primary_metric
    from core.engine.settings import TaskSpec

    metrics = {"accuracy": 0.6, "macro_f1": 0.378, "per_label": {
        "Plan": {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 4},
        "Other": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 3}}}
    spec = TaskSpec(TaskKind.SENTENCE, ("Plan", "Other"))
    assert primary_metric("sentence", metrics) == pytest.approx(0.378)
    assert collapse_warning(spec, [], [], metrics) is None
    assert "'Other'" in (weak_labels_warning(spec, metrics) or "")


@pytest.mark.timeout(180)
def test_train_and_preannotate_sentences_from_the_panel(qtbot, tmp_path, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    """The panel's Train Sentences trains on the labelled sentences (tiny BERT) and the
    pre-annotation's suggestions show in the view with their probability."""
    from tests.tiny_models import build_tiny_bert

    model_dir = build_tiny_bert(tmp_path_factory.mktemp("tiny-bert") / "model")
    path = tmp_path / "engine.db"
    project = Project.create(path, tasks={TaskKind.SENTENCE: ["Plan", "Other"]})
    records = []
    for i in range(30):
        text = f"Seen in clinic {i}. Start zorblax daily."
        cut = text.index("Start")
        sentences = ((SentenceLabel(0, cut - 1, ("Other",)),
                      SentenceLabel(cut, len(text), ("Plan",))) if i < 24 else ())
        records.append(DocumentRecord(text=text, external_id=f"e{i}", sentences=sentences))
    project.documents.add(records)
    project.close()
    win = _window(qtbot, path)
    panel = win.training
    panel.settings[TaskKind.SENTENCE] = panel.settings_for(TaskKind.SENTENCE).replace(
        base_model=str(model_dir), epochs=2, batch_size=8, max_length=32, stride=8, device="cpu",
    )
    with qtbot.waitSignal(panel.suggestionsRefreshed, timeout=170000):
        panel.train_buttons[TaskKind.SENTENCE].click()
    win.doc_list.select_doc(doc_id(win.project, "e27"))
    view = _view(win)
    cells = [view.model.index(r, SentenceTableModel.SUGGESTION).data() for r in range(2)]
    assert all(c and c.endswith("%") for c in cells), cells
    win.close()
