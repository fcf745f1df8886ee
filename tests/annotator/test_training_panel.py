"""The training panel driven through a run: a fake job with the engine's events, cancel,
and the real engine on a tiny random BERT."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from annotator.app.qt_jobs import JobControl, TrainOutcome
from core.engine.results import (
    EpochEvent,
    EpochRow,
    FinishedEvent,
    ProgressEvent,
    TrainingResult,
    WarningEvent,
)
from core.project import Project
from core.types import TaskKind
from tests.annotator.helpers import add_suggestion, doc_id

REPO = Path(__file__).resolve().parents[2]


def fake_train(project: Project, kind: TaskKind, settings: Any, emit: Any,
               control: JobControl) -> TrainOutcome:
    """Worker thread: the engine's events for a 2-epoch, 4-step run."""
    emit(WarningEvent("only 3 labelled document(s): expect a weak model"))
    rows = []
    for step in range(1, 5):
        if control.cancelled:
            result = TrainingResult(status="cancelled", reason="cancelled by the user")
            emit(FinishedEvent(result))
            return TrainOutcome("cancelled", result.reason, result)
        emit(ProgressEvent(step, 4, (step + 1) // 2, 1.0 / step, 5e-5, 4 - step))
        if step % 2 == 0:
            metrics = {"precision": 0.5, "recall": 0.4, "f1": 0.2 * step, "accuracy": 0.9,
                       "per_label": {"Disease": {"precision": 0.5, "recall": 0.4, "f1": 0.44, "support": 3}}}
            emit(EpochEvent(step // 2, step, 1.0 / step, 0.9, metrics, True, 0.1))
            rows.append(EpochRow(step // 2, step, 1.0 / step, 0.9, metrics))
    result = TrainingResult(status="completed", epochs=tuple(rows))
    emit(FinishedEvent(result))
    return TrainOutcome("completed", "", result)


def test_fake_run_fills_panel_then_preannotates(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    panel = window.training
    panel.train_fn = fake_train
    did = doc_id(window.project, "d0")

    def fake_preannotate(project: Project, kind: TaskKind, emit: Any, control: JobControl) -> int:
        add_suggestion(project, did, "entity", {"start": 0, "end": 7, "label": "Disease"}, 0.6, "ner")
        return 1

    panel.preannotate_fn = fake_preannotate
    with qtbot.waitSignal(panel.suggestionsRefreshed, timeout=10000):
        panel.train_buttons[TaskKind.NER].click()
        assert panel.cancel_button.isEnabled()
    assert panel.epoch_table.rowCount() == 2
    assert panel.epoch_table.item(1, 7).text() == "0.800"
    assert [panel.epoch_table.item(r, 0).text() for r in range(2)] == ["Entities"] * 2
    assert panel.label_table.item(0, 0).text() == "Disease"
    # The run's warnings and its end name its task: the panel may show another next.
    assert panel.warning_label.text() == (
        "⚠ Entities: only 3 labelled document(s): expect a weak model")
    qtbot.waitUntil(lambda: "Entities: done, 1 suggestion(s) to review" in
                    panel.status.text(), timeout=5000)
    assert len(panel.loss_curve.getData()[0]) == 4
    assert panel.progress.value() == panel.progress.maximum()
    qtbot.waitUntil(lambda: panel.train_buttons[TaskKind.NER].isEnabled(), timeout=5000)
    # The queue refreshed: the document now shows as "suggested".
    row = window.doc_list.model.row_of(did)
    assert window.doc_list.model.doc_row(row).status == "suggested"


def test_the_heads_epochs_are_named_in_the_table(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    """Training entities trains the attribute head after the tagger: its epochs and steps
    say so (the table's model column, the status line), not one table of mixed epochs."""
    panel = window.training
    seen: list[str] = []

    def with_head(project: Project, kind: TaskKind, settings: Any, emit: Any,
                  control: JobControl) -> TrainOutcome:
        emit(EpochEvent(1, 2, 0.5, 0.4, {"f1": 0.6}, True, 0.1))
        emit(ProgressEvent(1, 2, 1, 0.3, 5e-5, 1, model="attributes"))
        emit(EpochEvent(1, 1, 0.3, 0.2, {"accuracy": 0.9}, True, 0.1, model="attributes"))
        return fake_train(project, kind, settings, emit, control)

    panel.train_fn = with_head
    panel.preannotate_fn = lambda *_a: 0
    panel.trainingProgress.connect(
        lambda e: seen.append(panel.status.text()) if isinstance(e, ProgressEvent) else None)
    with qtbot.waitSignal(panel.suggestionsRefreshed, timeout=10000):
        panel.train_buttons[TaskKind.NER].click()
    table = panel.epoch_table
    assert [table.item(r, 0).text() for r in range(table.rowCount())] == [
        "Entities", "Attributes", "Entities", "Entities"]
    assert table.item(1, 8).text() == "0.900"  # the head's accuracy, in its own row
    assert seen[0].startswith("Attributes: Epoch 1") and seen[1].startswith("Epoch 1")


def test_cancel(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    panel = window.training

    def slow_train(project: Project, kind: TaskKind, settings: Any, emit: Any,
                   control: JobControl) -> TrainOutcome:
        emit(ProgressEvent(1, 100, 1, 1.0, 1e-5, 99))
        control._event.wait(10)  # worker thread waits for the cancel
        return fake_train(project, kind, settings, emit, control)

    panel.train_fn = slow_train
    with qtbot.waitSignal(panel.trainingProgress, timeout=5000):
        panel.train_buttons[TaskKind.NER].click()
    with qtbot.waitSignal(panel.trainingFinished, timeout=10000) as blocker:
        panel.cancel_button.click()
    assert blocker.args[0].status == "cancelled"
    assert "cancelled" in panel.status.text()
    # Not a full bar: a cancelled run did not finish.
    assert panel.progress.value() < panel.progress.maximum()
    assert panel.progress.text() == "cancelled"


def test_settings_for_follows_the_open_view_and_the_run(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    panel = window.training
    window.tabs.setCurrentWidget(window.views[TaskKind.CLASSIFY])
    assert panel.settings_task.currentText() == "Classes"
    window.tabs.setCurrentWidget(window.views[TaskKind.QA])
    assert panel.settings_task.currentText() == "Answers"
    panel.train_fn = fake_train
    panel.preannotate_fn = lambda *a: 0
    with qtbot.waitSignal(panel.trainingFinished, timeout=10000):
        panel.train_buttons[TaskKind.NER].click()
    assert panel.settings_task.currentText() == "Entities"


def test_new_epoch_rows_stay_in_sight(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    panel = window.training
    window.training_dock.show()
    for epoch in range(1, 41):
        panel._on_training_progress(EpochEvent(epoch, epoch * 3, 0.5, 0.4, {"f1": 0.5}, False, 0.1))
    qtbot.waitUntil(lambda: panel.epoch_table.verticalScrollBar().maximum() > 0)
    bar = panel.epoch_table.verticalScrollBar()
    assert bar.value() == bar.maximum()


def test_each_run_of_one_click_draws_its_own_curves_and_the_refit_says_so(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    """The tagger's steps 1-6, then the attribute head's 1-4 (then its refit 5-8): the loss
    curve was one line drawn back across the plot from step 6 to step 1."""
    panel = window.training
    for step in range(1, 7):
        panel._on_training_progress(ProgressEvent(step, 6, 1, 1.0 / step, 5e-5, 0.0))
    panel._on_training_progress(EpochEvent(1, 6, 0.5, 0.4, {"f1": 0.5}, True, 0.1))
    panel._on_training_progress(EpochEvent(2, 6, 0.5, 0.4, {"f1": 0.6}, True, 0.1))
    for step in range(1, 5):
        panel._on_training_progress(ProgressEvent(step, 4, 1, 2.0 / step, 5e-5, 0.0))
    panel._on_training_progress(EpochEvent(1, 4, 0.5, 0.4, {"f1": 0.7}, True, 0.1))
    xs, _ = panel.loss_curve.getData()
    assert list(xs) == [1, 2, 3, 4]
    xs, ys = panel.f1_curve.getData()
    assert list(xs) == [1] and list(ys) == pytest.approx([0.7])
    for step in range(5, 9):
        panel._on_training_progress(ProgressEvent(step, 8, step - 4, 0.1, 5e-5, 0.0,
                                                  phase="refit"))
    assert panel.status.text().startswith("Refit on all documents: epoch 4 · step 8/8")
    assert list(panel.loss_curve.getData()[0]) == list(range(1, 9))


@pytest.mark.parametrize("low,high,px", [(0, 12, 200), (0, 60, 180), (1, 4, 300), (0, 3000, 250)])
def test_step_ticks_are_whole_numbers_and_never_crowded(low: float, high: float, px: float) -> None:
    from annotator.app.qt_training import integer_ticks

    ticks = integer_ticks(low, high, px)
    assert ticks and all(isinstance(t, int) for t in ticks)
    assert all(low <= t <= high for t in ticks)
    gaps = {b - a for a, b in itertools.pairwise(ticks)}
    assert len(gaps) <= 1  # evenly spaced
    assert len(ticks) <= px // 36 + 1  # at least 36 px between labels


def _tiny_bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tiny_models import build_tiny_bert

    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert") / "model")


@pytest.mark.timeout(120)
def test_real_engine_tiny_model(qtbot, tmp_path, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    from annotator.app.qt_main_window import QtMainWindow
    from core.store import repo
    from core.types import DocumentRecord, EntitySpan

    model_dir = _tiny_bert_dir(tmp_path_factory)
    path = tmp_path / "engine.db"
    project = Project.create(path, tasks={TaskKind.NER: ["DRUG"]})
    docs = []
    for i in range(30):
        drug = ["zorblax", "quintarin", "melovate"][i % 3]
        text = f"the patient was given {drug} daily visit {i}"
        s = text.index(drug)
        spans = (EntitySpan(s, s + len(drug), "DRUG"),) if i < 24 else ()
        docs.append(DocumentRecord(text=text, spans=spans))
    with project.write() as session:
        repo.add_documents(session, docs)
    win = QtMainWindow(project)
    qtbot.addWidget(win)
    win.show()
    panel = win.training
    panel.settings[TaskKind.NER] = panel.settings_for(TaskKind.NER).replace(
        base_model=str(model_dir), epochs=2, batch_size=8, max_length=32, stride=8, device="cpu",
    )
    with qtbot.waitSignal(panel.suggestionsRefreshed, timeout=110000):
        panel.train_buttons[TaskKind.NER].click()
    assert panel.epoch_table.rowCount() == 2
    assert panel.version_table.rowCount() == 1
    assert "active" in panel.version_table.item(0, 4).text()
    # The per-label table holds the last epoch's scores for the one label, as numbers.
    table = panel.label_table
    assert table.rowCount() == 1
    assert table.item(0, 0).text() == "DRUG"
    for col in (1, 2, 3):  # precision, recall, F1
        assert 0.0 <= float(table.item(0, col).text()) <= 1.0
    assert int(table.item(0, 4).text()) > 0  # support: dev mentions
    win.close()


def test_settings_dialog_without_labels_says_training_cannot_start(qtbot, project_path: Path) -> None:  # type: ignore[no-untyped-def]
    from annotator.app.qt_training import QtTrainingSettingsDialog
    from core.engine.settings import preset_settings

    with Project.open(project_path) as project:
        dialog = QtTrainingSettingsDialog(project, TaskKind.NER, preset_settings("default", "ner"))
        qtbot.addWidget(dialog)
    assert "Training cannot start: no labelled training documents" in dialog.plan.text()


def _labelled_project(path: Path, n_docs: int) -> Path:
    """NER: ``n_docs`` documents with one Disease each, two of them also a Medication."""
    from core.store import repo
    from core.types import DocumentRecord, EntitySpan

    project = Project.create(path, tasks={TaskKind.NER: ["Disease", "Medication"],
                                          TaskKind.CLASSIFY: ["good", "bad"]})
    records = []
    for i in range(n_docs):
        text = f"Note {i}: asthma, given salbutamol."
        spans = [EntitySpan(text.index("asthma"), text.index("asthma") + 6, "Disease")]
        if i < 2:
            start = text.index("salbutamol")
            spans.append(EntitySpan(start, start + 10, "Medication"))
        records.append(DocumentRecord(text=text, external_id=f"n{i}", spans=tuple(spans)))
    with project.write() as session:
        repo.add_documents(session, records)
    project.close()
    return path


def test_settings_dialog_counts_the_labels_of_its_task(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Opened from the panel (whose task box hands the kind back as a plain str), the
    dialog counted no entity at all: "'Disease' (0), 'Medication' (0)"."""
    from annotator.app.qt_training import QtTrainingPanel, QtTrainingSettingsDialog

    with Project.open(_labelled_project(tmp_path / "p.db", 12)) as project:
        panel = QtTrainingPanel(project)
        qtbot.addWidget(panel)
        kind = panel.settings_task.currentData()
        dialog = QtTrainingSettingsDialog(project, kind, panel.settings_for(TaskKind.NER), panel)
        qtbot.addWidget(dialog)
        text = dialog.warnings.text()
        panel.stop_queries(10)  # its worker reads the project, which closes here
    assert "'Medication' (2)" in text
    assert "'Disease'" not in text  # 12 examples: enough
    assert "only 12 labelled document(s)" in text


def test_settings_dialog_shows_the_epochs_the_run_really_trains(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Epochs said 8 while the run trained 60 (the small-data floor): the dialog shows
    the run's own plan and says why."""
    from annotator.app.qt_training import QtTrainingSettingsDialog
    from core.engine.settings import preset_settings

    settings = preset_settings("default", "ner")
    with Project.open(_labelled_project(tmp_path / "p.db", 12)) as project:
        dialog = QtTrainingSettingsDialog(project, TaskKind.NER, settings)
        qtbot.addWidget(dialog)
        assert dialog.epochs.value() == settings.epochs
        preview = dialog.preview
        # 12 documents, some held out, one batch of 16 a pass: the floor's epochs.
        assert preview.batches_per_epoch == 1
        assert preview.epochs == min(settings.max_epochs, settings.min_steps) > settings.epochs
        plan = dialog.plan.text()
        assert f"up to {preview.epochs} epoch(s)" in plan
        assert "because the training set is small" in plan
        dialog.epochs.setValue(5)  # asked for explicitly: the floor is off
        assert "up to 5 epoch(s)" in dialog.plan.text()
        assert "small" not in dialog.plan.text()
        assert dialog.preset.currentText().startswith("Recommended")
        assert "seed-002" in dialog.preset.itemText(1)
        assert ":" in dialog.windowTitle() and dialog.minimumWidth() >= 500


def test_settings_dialog_refit_box_reaches_the_settings_and_the_plan(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from annotator.app.qt_training import QtTrainingSettingsDialog
    from core.engine.settings import preset_settings

    settings = preset_settings("default", "ner")
    with Project.open(_labelled_project(tmp_path / "p.db", 12)) as project:
        dialog = QtTrainingSettingsDialog(project, TaskKind.NER, settings)
        qtbot.addWidget(dialog)
        assert dialog.refit.isChecked() is settings.refit
        dialog.refit.setChecked(not settings.refit)
        on = dialog.refit.isChecked()
        everyone = dialog.preview.train_documents + dialog.preview.dev_documents
        assert (f"trains again on all {everyone} documents" in dialog.plan.text()) is on
        dialog._validate()
        assert dialog.result() == dialog.DialogCode.Accepted
        assert dialog.settings.refit is on
        assert ("refit" in dialog.settings.explicit) is (on != settings.refit)
        dialog.refit.setChecked(settings.refit)
        dialog._validate()
        assert dialog.settings.explicit == ()  # nothing changed: the preset's, all of it
        dialog.preset.setCurrentIndex(dialog.preset.findData("seed-002"))
        assert dialog.refit.isChecked() is preset_settings("seed-002", "ner").refit


def test_between_runs_the_panel_says_what_train_would_use(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """With labelled notes it said "Label some documents, then press Train."; it says how
    many labelled documents Train would learn from, or why it cannot start, per task."""
    from annotator.app.qt_main_window import QtMainWindow
    from annotator.app.qt_training_settings import training_preview

    project = Project.open(_labelled_project(tmp_path / "p.db", 12))
    win = QtMainWindow(project)
    qtbot.addWidget(win)
    win.show()
    panel = win.training
    preview = training_preview(project, TaskKind.NER, panel.settings_for(TaskKind.NER))
    assert preview.train_documents + preview.dev_documents == 12 and preview.dev_documents
    qtbot.waitUntil(lambda: "learns from" in panel.status.text(), timeout=10000)
    assert panel.status.text() == (
        f"Train Entities learns from {preview.train_documents} labelled documents and holds "
        f"{preview.dev_documents} out to measure the model.")
    assert "Label some documents" not in panel.status.text()

    win.tabs.setCurrentWidget(win.views[TaskKind.CLASSIFY])  # no class given yet
    qtbot.waitUntil(lambda: "Classes" in panel.status.text(), timeout=10000)
    assert panel.status.text().startswith("Train Classes cannot start yet: no labelled")

    view = win.views[TaskKind.CLASSIFY]
    for i in range(6):  # six notes get a class in the window: the count follows
        win.doc_list.select_doc(doc_id(project, f"n{i}"))
        qtbot.keyClick(view, "1")
    qtbot.waitUntil(lambda: "learns from" in panel.status.text(), timeout=10000)
    preview = training_preview(project, TaskKind.CLASSIFY, panel.settings_for(TaskKind.CLASSIFY))
    assert preview.train_documents + preview.dev_documents == 6
    assert f"Train Classes learns from {preview.train_documents} labelled" in panel.status.text()
    win.close()


def test_every_kind_has_a_title() -> None:
    from annotator.app.qt_training_settings import TASK_TITLES

    assert set(TASK_TITLES) == set(TaskKind)


def test_versions_table_lists_the_heads_trained_with_the_entities(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """After one click trained the tagger, the attribute and the relation heads, the
    versions table raised KeyError on the relation model's version (a real-window run)."""
    from annotator.app.qt_training import QtTrainingPanel
    from core.store import repo
    from core.store.models import ModelVersion

    with Project.open(_labelled_project(tmp_path / "p.db", 4)) as project:
        project.annotations.add_attribute("negation=Affirmed,Negated")
        project.annotations.add_relation_type("of=Medication>Disease")
        with project.write() as s:
            for n, kind in enumerate(("ner", "attribute", "relation")):
                s.add(ModelVersion(task_id=repo.require_task(s, kind).id, version=1,
                                   base_model="x", path=f"m{n}"))
        panel = QtTrainingPanel(project)
        qtbot.addWidget(panel)
        panel.refresh_results()
        shown = {panel.version_table.item(r, 0).text()
                 for r in range(panel.version_table.rowCount())}
        panel.stop_queries(10)
    assert shown == {"Entities", "Attributes", "Relations"}
