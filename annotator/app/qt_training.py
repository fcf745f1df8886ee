"""The training panel: one Train button per task, live curves, results and model versions."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from annotator.app.qt_jobs import (
    JobControl,
    QtBackgroundTask,
    QtLatestQuery,
    TrainOutcome,
    preannotate_project,
    train_on_project,
)
from annotator.app.qt_training_settings import (  # noqa: F401 - small_data_warnings: API
    TASK_TITLES,
    QtTrainingSettingsDialog,
    TrainingPreview,
    small_data_warnings,
    training_preview,
)
from core.engine.results import EpochEvent, FinishedEvent, ProgressEvent, WarningEvent
from core.engine.settings import TrainingSettings, preset_settings
from core.project import Project
from core.types import TaskKind

# Short headers so the table fits the dock; the tooltips spell them out.
EPOCH_COLUMNS = ("model", "epoch", "step", "loss", "val", "P", "R", "F1", "acc")
EPOCH_TIPS = (("the model of the row: training entities trains the attribute and relation "
               "models after the tagger, each with its own epochs"),
              "epoch: one pass over the training documents", "optimizer step",
              "loss on the training documents",
              "loss on the held-out (dev) documents the model does not learn from",
              "precision on the held-out documents", "recall on the held-out documents",
              "F1 on the held-out documents (the model version's score)",
              "accuracy on the held-out documents")

TrainFn = Callable[[Project, TaskKind, TrainingSettings, Callable[[object], None], JobControl], Any]
PreannotateFn = Callable[[Project, TaskKind, Callable[[object], None], JobControl], int]


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def readiness_text(kind: TaskKind, preview: TrainingPreview) -> str:
    """What pressing Train would do now, from the run's own preparation."""
    title = TASK_TITLES[kind]
    if preview.error:
        return f"Train {title} cannot start yet: {preview.error}."
    n = preview.train_documents
    held = (f" and holds {preview.dev_documents} out to measure the model"
            if preview.dev_documents else ", holding none out to measure the model (too few)")
    return f"Train {title} learns from {n} labelled document{'s' if n != 1 else ''}{held}."


def _eta(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


class QtTrainingPanel(QWidget):
    """Train per task; while it runs: progress with ETA, loss and dev-F1 curves, Cancel.

    Afterwards: the per-epoch table, per-label scores, the model versions; then the
    pre-annotation run, after which ``suggestionsRefreshed`` is emitted.
    """

    trainingProgress = Signal(object)  # each engine event, after the panel showed it
    trainingFinished = Signal(object)  # TrainOutcome
    suggestionsRefreshed = Signal(int)  # number of suggestions written
    message = Signal(str)

    def __init__(self, project: Project, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg

        self.project = project
        self.train_fn: TrainFn = train_on_project
        self.preannotate_fn: PreannotateFn = preannotate_project
        self.settings: dict[TaskKind, TrainingSettings] = {}
        self.task: QtBackgroundTask | None = None
        self.preannotation: QtBackgroundTask | None = None
        self.kind: TaskKind | None = None
        self._losses: list[tuple[int, float]] = []
        self._f1: list[tuple[int, float]] = []

        self.train_buttons: dict[TaskKind, QPushButton] = {}
        self._buttons_row = QHBoxLayout()
        self.settings_button = QPushButton("Settings…")
        self.settings_button.setToolTip("Base model, preset, epochs, learning rate, batch size, device")
        self.settings_task = QComboBox()
        self.settings_button.clicked.connect(self.edit_settings)
        self.progress = QProgressBar()
        self.progress.setFormat("%p%")
        self.status = QLabel()
        self.status.setObjectName("trainingStatus")
        self.status.setWordWrap(True)
        # Between runs the status says how the last run ended and what Train would do now
        # (the labelled documents it would use, or why it cannot start), worked out on a
        # worker by the run's own preparation.
        self._idle = True
        self._outcome = ""
        self._readiness = ""
        self._readiness_of: tuple[TaskKind, TrainingSettings] | None = None
        self._readiness_key: object = None
        self._readiness_query = QtLatestQuery(self._prepare_for_readiness, name="readiness",
                                              parent=self)
        self._readiness_query.ready.connect(self._on_readiness)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.warning_label = QLabel()
        self.warning_label.setObjectName("warningLabel")
        self.warning_label.setWordWrap(True)

        self.loss_plot = pg.PlotWidget(title="Training loss",
                                       axisItems={"bottom": integer_axis("bottom")})
        self.loss_plot.setLabel("bottom", "step")
        self.loss_plot.setMinimumHeight(120)
        self.loss_curve = self.loss_plot.plot([], [])
        self.f1_plot = pg.PlotWidget(title="F1 (held-out)",
                                     axisItems={"bottom": integer_axis("bottom")})
        self.f1_plot.setToolTip("F1 after each epoch, on labelled documents kept out of "
                                "training (the dev set) to measure the model")
        self.f1_plot.setLabel("bottom", "epoch")
        self.f1_plot.setMinimumHeight(120)
        self.f1_curve = self.f1_plot.plot([], [], symbol="o", symbolSize=7)
        self.apply_theme_colors()
        plots = QHBoxLayout()
        plots.addWidget(self.loss_plot)
        plots.addWidget(self.f1_plot)

        self.epoch_table = self._table(EPOCH_COLUMNS)
        # Short numbers only: share the dock's width rather than scroll sideways.
        self.epoch_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.epoch_table.horizontalHeader().setStretchLastSection(False)
        self.epoch_table.horizontalHeader().setMinimumSectionSize(20)
        self.epoch_table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.epoch_table.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.ResizeToContents)  # the model's name, whole
        for col, tip in enumerate(EPOCH_TIPS):
            self.epoch_table.horizontalHeaderItem(col).setToolTip(tip)
        self.label_table = self._table(("label", "precision", "recall", "F1", "support"))
        self.version_table = self._table(("task", "version", "F1", "acc", "active", "created"))
        tabs = QTabWidget()
        tabs.addTab(self.epoch_table, "Epochs")
        tabs.addTab(self.label_table, "Per label")
        tabs.addTab(self.version_table, "Model versions")
        self.result_tabs = tabs

        settings_row = QHBoxLayout()
        settings_row.addWidget(QLabel("Settings for"))
        settings_row.addWidget(self.settings_task, 1)
        settings_row.addWidget(self.settings_button)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.cancel_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(self._buttons_row)
        layout.addLayout(settings_row)
        layout.addLayout(progress_row)
        layout.addWidget(self.status)
        layout.addWidget(self.warning_label)
        layout.addLayout(plots, 2)
        layout.addWidget(tabs, 3)
        self.settings_task.currentIndexChanged.connect(lambda _i: self.refresh_readiness())
        self.refresh_tasks()
        self.refresh_results()
        self._show_idle()
        self.refresh_readiness()

    def apply_theme_colors(self) -> None:
        """The plots' colours for the current light or dark theme."""
        import pyqtgraph as pg

        from annotator.app.qt_theme import is_dark

        dark = is_dark()
        background, foreground = ("#202124", "#DDDDDD") if dark else ("w", "#333333")
        pg.setConfigOptions(antialias=True, background=background, foreground=foreground)
        loss_color, f1_color = ("#56B4E9", "#3CCB9A") if dark else ("#0072B2", "#009E73")
        for plot in (self.loss_plot, self.f1_plot):
            plot.setBackground(background)
            for name in ("bottom", "left"):
                axis = plot.getAxis(name)
                axis.setPen(foreground)
                axis.setTextPen(foreground)
            plot.setTitle(plot.plotItem.titleLabel.text, color=foreground)
        self.loss_curve.setPen(pg.mkPen(loss_color, width=2))
        self.f1_curve.setPen(pg.mkPen(f1_color, width=2))
        self.f1_curve.setSymbolBrush(f1_color)

    @staticmethod
    def _table(columns: tuple[str, ...]) -> QTableWidget:
        table = QTableWidget(0, len(columns))
        table.setHorizontalHeaderLabels(list(columns))
        table.verticalHeader().hide()
        table.setWordWrap(False)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setStretchLastSection(True)
        return table

    # --- tasks and settings ----------------------------------------------------------------

    def refresh_tasks(self) -> None:
        while self._buttons_row.count():
            item = self._buttons_row.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        self.train_buttons = {}
        self.settings_task.clear()
        for kind in self.project.documents.tasks():
            button = QPushButton(f"Train {TASK_TITLES[kind]}")
            button.setToolTip(f"Fine-tune a model on the labelled {TASK_TITLES[kind].lower()}, "
                              "then pre-annotate the unlabelled documents")
            button.clicked.connect(lambda _=False, k=kind: self.start_training(k))
            self._buttons_row.addWidget(button)
            self.train_buttons[kind] = button
            self.settings_task.addItem(TASK_TITLES[kind], kind)
        self._set_running(self.is_running())

    # --- what Train would do now ----------------------------------------------------------

    def refresh_readiness(self) -> None:
        """Work out again what Train would do for the task of "Settings for" (the labels
        changed, the task or the settings did)."""
        data = self.settings_task.currentData()
        if data is None:
            return
        kind = TaskKind(data)  # the combo box hands the str-enum back as a plain str
        self._readiness_of = (kind, self.settings_for(kind))
        self._readiness_query.request()

    def counts_changed(self, kind: TaskKind | None, statuses: dict[str, int]) -> None:
        """The list's counts for ``kind``: when they moved, what Train would use may have."""
        key = (kind, tuple(sorted(statuses.items())))
        if key != self._readiness_key:
            self._readiness_key = key
            self.refresh_readiness()

    def stop_queries(self, timeout: float | None = None) -> None:
        """Before the project closes: no new readiness query; wait for the current one."""
        self._readiness_query.stop(timeout)

    def _prepare_for_readiness(self) -> tuple[TaskKind, TrainingPreview] | None:
        # Worker thread: reads the plain tuple set on the GUI thread, never a widget.
        args = self._readiness_of
        if args is None:
            return None
        kind, settings = args
        return kind, training_preview(self.project, kind, settings)

    def _on_readiness(self, result: tuple[TaskKind, TrainingPreview] | None) -> None:
        if result is None:
            return
        kind, preview = result
        if self._readiness_of is not None and self._readiness_of[0] != kind:
            return  # an answer for the task shown before; the newer one follows
        self._readiness = readiness_text(kind, preview)
        self._show_idle()

    def _show_idle(self) -> None:
        """Between runs: how the last one ended, then what Train would do now."""
        if self._idle:
            parts = [t for t in (self._outcome, self._readiness) if t]
            self.status.setText("\n".join(parts) or "Counting the labelled documents…")

    def select_task(self, kind: TaskKind | None) -> None:
        """Point "Settings for" at ``kind`` (the open view's task, or the task training)."""
        if kind is None:
            return
        index = self.settings_task.findData(TaskKind(kind))
        if index >= 0 and not self.is_running():
            self.settings_task.setCurrentIndex(index)

    def settings_for(self, kind: TaskKind) -> TrainingSettings:
        if kind not in self.settings:
            self.settings[kind] = preset_settings("default", kind)
        return self.settings[kind]

    def edit_settings(self) -> None:
        data = self.settings_task.currentData()
        if data is None:
            return
        kind = TaskKind(data)  # the combo box hands the str-enum back as a plain str
        dialog = QtTrainingSettingsDialog(self.project, kind, self.settings_for(kind), self)
        if dialog.exec():
            self.settings[kind] = dialog.settings
            self.refresh_readiness()

    # --- running -----------------------------------------------------------------------------

    def is_running(self) -> bool:
        return any(t is not None and t.is_running() for t in (self.task, self.preannotation))

    def _set_running(self, running: bool) -> None:
        for button in self.train_buttons.values():
            button.setEnabled(not running)
        self.settings_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)

    def start_training(self, kind: TaskKind) -> None:
        if self.is_running():
            self.message.emit("a training run is already in progress")
            return
        settings = self.settings_for(kind)
        self.select_task(kind)
        self.kind = kind
        self._losses, self._f1 = [], []
        self.loss_curve.setData([], [])
        self.f1_curve.setData([], [])
        self.epoch_table.setRowCount(0)
        self.warning_label.setText("")
        self.progress.setRange(0, 0)
        self._idle = False
        self.status.setText(f"Preparing to train {TASK_TITLES[kind].lower()}…")
        project, fn = self.project, self.train_fn

        def work(emit: Callable[[object], None], control: JobControl) -> Any:
            # Worker thread: never touches widgets.
            return fn(project, kind, settings, emit, control)

        self.task = QtBackgroundTask(work, name="training", parent=self)
        self.task.progress.connect(self._on_training_progress)
        self.task.succeeded.connect(self._on_training_succeeded)
        self.task.failed.connect(self._on_training_failed)
        self.task.done.connect(lambda: self._set_running(self.is_running()))
        self._set_running(True)
        self.task.start()

    def cancel(self) -> None:
        for task in (self.task, self.preannotation):
            if task is not None and task.is_running():
                task.cancel()
        self.status.setText("Cancelling after the current step…")

    def _model_title(self, event: ProgressEvent | EpochEvent) -> str:
        """The model an event is of: a head trained after the tagger, or the one clicked."""
        if event.model:
            return event.model.capitalize()
        return TASK_TITLES[self.kind] if self.kind is not None else ""

    def _on_training_progress(self, event: object) -> None:
        if isinstance(event, ProgressEvent):
            self.progress.setRange(0, max(1, event.total_steps))
            self.progress.setValue(event.step)
            self.progress.setFormat(f"%p%  ·  ETA {_eta(event.eta_seconds)}")
            head = f"{event.model.capitalize()}: " if event.model else ""
            if event.phase == "refit":  # the second pass, on all documents (no dev scores)
                self.status.setText(
                    f"{head}Refit on all documents: epoch {event.epoch} · step {event.step}/"
                    f"{event.total_steps} · loss {event.loss:.4f}")
                self.status.setToolTip("The held-out documents chose the number of epochs; "
                                       "the model now trains again on every document")
            else:
                self.status.setText(
                    f"{head}Epoch {event.epoch} · step {event.step}/{event.total_steps} · "
                    f"loss {event.loss:.4f} · lr {event.learning_rate:.2e}"
                )
            if self._losses and event.step <= self._losses[-1][0]:
                # A new run of the same click (the attribute or relation head after the
                # tagger): its own curve, not a line drawn back across the plot.
                self._losses.clear()
            self._losses.append((event.step, event.loss))
            if len(self._losses) % 2 == 0 or event.step == event.total_steps:
                xs, ys = zip(*self._losses)
                self.loss_curve.setData(list(xs), list(ys))
        elif isinstance(event, EpochEvent):
            row = {"epoch": event.epoch, "step": event.step, "train_loss": event.train_loss,
                   "val_loss": event.val_loss, **event.metrics}
            self._append_epoch_row(row, self._model_title(event))
            f1 = _score(event.metrics)
            if f1 is not None:
                if self._f1 and event.epoch <= self._f1[-1][0]:  # a new run: its own curve
                    self._f1.clear()
                self._f1.append((event.epoch, float(f1)))
                xs, ys = zip(*self._f1)
                self.f1_curve.setData(list(xs), list(ys))
            if event.metrics.get("per_label"):
                self._fill_per_label(event.metrics["per_label"])
        elif isinstance(event, WarningEvent):
            text = self.warning_label.text()
            line = _warning_line(TASK_TITLES[self.kind] if self.kind else "", event.message)
            self.warning_label.setText((text + "\n" if text else "") + line)
        elif isinstance(event, FinishedEvent):
            self._show_end(event.result.status)
        self.trainingProgress.emit(event)

    def _show_end(self, status: str) -> None:
        """The progress bar at the end of a run: full only when it completed."""
        self.progress.setRange(0, 1)
        if status == "completed":
            self.progress.setValue(1)
            self.progress.setFormat("%p%")
        else:
            self.progress.setValue(0)
            self.progress.setFormat(status)

    def _append_epoch_row(self, row: dict[str, Any], model: str) -> None:
        r = self.epoch_table.rowCount()
        self.epoch_table.insertRow(r)
        self.epoch_table.setItem(r, 0, QTableWidgetItem(model))
        values = (row.get("epoch"), row.get("step"), row.get("train_loss"), row.get("val_loss"),
                  row.get("precision"), row.get("recall"), _score(row), row.get("accuracy"))
        for c, v in enumerate(values, start=1):
            item = QTableWidgetItem(_fmt(v, 3))
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.epoch_table.setItem(r, c, item)
        self.epoch_table.scrollToBottom()  # the newest epoch stays in sight

    def _fill_per_label(self, per_label: dict[str, dict[str, Any]]) -> None:
        self.label_table.setRowCount(0)
        for name, scores in per_label.items():
            r = self.label_table.rowCount()
            self.label_table.insertRow(r)
            values = (name, scores.get("precision"), scores.get("recall"), scores.get("f1"),
                      scores.get("support"))
            for c, v in enumerate(values):
                self.label_table.setItem(r, c, QTableWidgetItem(_fmt(v)))

    def _on_training_succeeded(self, outcome: TrainOutcome) -> None:
        self.trainingFinished.emit(outcome)
        self.refresh_results(keep_epochs=True)
        if outcome.status != "completed":
            self._show_end(outcome.status)
            self._set_running(False)
            self._end_of_run(f"training {outcome.status}: {outcome.reason}")
            return
        self.status.setText("Training finished. Pre-annotating unlabelled documents…")
        self.start_preannotation(self.kind or TaskKind.NER)

    def _on_training_failed(self, message: str) -> None:
        self._show_end("failed")
        self._end_of_run(f"training failed: {message}")
        self.message.emit(message)

    def _end_of_run(self, outcome: str) -> None:
        """How the run of the click ended, named (the panel may show another task next)."""
        self._idle = True
        self._outcome = f"{TASK_TITLES[self.kind]}: {outcome}" if self.kind else outcome
        self._show_idle()
        self.refresh_readiness()

    def start_preannotation(self, kind: TaskKind) -> None:
        project, fn = self.project, self.preannotate_fn

        def work(emit: Callable[[object], None], control: JobControl) -> Any:
            # Worker thread: never touches widgets.
            return fn(project, kind, emit, control)

        self.preannotation = QtBackgroundTask(work, name="pre-annotation", parent=self)
        self.preannotation.progress.connect(self._on_preannotation_progress)
        self.preannotation.succeeded.connect(self._on_preannotation_done)
        self.preannotation.failed.connect(self._on_training_failed)
        self.preannotation.done.connect(lambda: self._set_running(self.is_running()))
        self._set_running(True)
        self.preannotation.start()

    def _on_preannotation_progress(self, event: object) -> None:
        done, total = getattr(event, "done", 0), getattr(event, "total", 0)
        if total:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
            self.status.setText(f"Pre-annotating: {done}/{total} documents")

    def _on_preannotation_done(self, count: int) -> None:
        self._end_of_run(
            f"done, {count} suggestion(s) to review. Sort the list by “most uncertain first”."
        )
        self.suggestionsRefreshed.emit(int(count or 0))

    # --- results ---------------------------------------------------------------------------

    def refresh_results(self, *, keep_epochs: bool = False) -> None:
        """Show the stored versions, and the last run's table if none is on screen."""
        versions = self.project.models.list()
        self.version_table.setRowCount(len(versions))
        for r, v in enumerate(versions):
            values = (TASK_TITLES[TaskKind(v.task)], f"v{v.version}", _fmt(_score(v.metrics)),
                      _fmt(v.metrics.get("accuracy")), "● active" if v.is_active else "",
                      v.created_at.strftime("%Y-%m-%d %H:%M") if v.created_at else "")
            for c, value in enumerate(values):
                self.version_table.setItem(r, c, QTableWidgetItem(value))
        if keep_epochs and self.epoch_table.rowCount():
            return
        last = self.project.training.last_run()
        if last is None:
            return
        run = last
        if not run.epochs:
            # A later run that left no epochs (cancelled at once, or the app was killed
            # during it) must not hide the curves of the finished one before it.
            run = self.project.training.last_run(with_epochs=True) or last
        self.epoch_table.setRowCount(0)
        for row in run.epochs:
            self._append_epoch_row(row, TASK_TITLES[TaskKind(run.task)])
        if run.epochs and run.epochs[-1].get("per_label"):
            self._fill_per_label(run.epochs[-1]["per_label"])
        self._losses = [(int(r["step"]), float(r["train_loss"])) for r in run.epochs
                        if r.get("train_loss") is not None]
        if self._losses:
            xs, ys = zip(*self._losses)
            self.loss_curve.setData(list(xs), list(ys))
        self._f1 = [(int(r["epoch"]), float(_score(r))) for r in run.epochs
                    if _score(r) is not None]
        if self._f1:
            xs, ys = zip(*self._f1)
            self.f1_curve.setData(list(xs), list(ys))
        if run.warnings:
            self.warning_label.setText("\n".join(
                _warning_line(TASK_TITLES[TaskKind(run.task)], w) for w in run.warnings))
        self._outcome = (
            f"Last run ({TASK_TITLES[TaskKind(run.task)]}): {run.status}"
            + (f" — {run.error}" if run.error else "")
            + (f". A later {TASK_TITLES[TaskKind(last.task)].lower()} run ended "
               f"{'without finishing' if last.status == 'running' else last.status} "
               "before its first epoch." if last is not run else "")
        )
        self._show_idle()


def _warning_line(title: str, message: str) -> str:
    """A warning of a run, named by the run's task: "Settings for" may show another."""
    return f"⚠ {title}: {message}" if title else f"⚠ {message}"


def integer_ticks(low: float, high: float, length_px: float,
                  min_gap_px: float = 36.0) -> list[int]:
    """Whole-number ticks between ``low`` and ``high``, 1, 2, 5, 10, 20, 50... apart: the
    smallest spacing that leaves ``min_gap_px`` between labels ("9 101112" crowded before)."""
    most = max(1, int(length_px // min_gap_px))
    spacing, steps = 1, (2, 2.5, 2)
    i = 0
    while (high - low) / spacing > most:
        spacing = int(spacing * steps[i % 3])
        i += 1
    first = math.ceil(low / spacing) * spacing
    return list(range(first, math.floor(high) + 1, spacing))


def _integer_axis_class() -> type:
    import pyqtgraph as pg

    class _IntegerAxis(pg.AxisItem):
        """A bottom axis of steps or epochs: whole numbers, never crowded."""

        def tickValues(self, minVal: float, maxVal: float, size: float) -> list[Any]:
            return [(1.0, [float(v) for v in integer_ticks(minVal, maxVal, size)])]

        def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
            return [str(round(v)) for v in values]

    return _IntegerAxis


def integer_axis(orientation: str) -> Any:
    return _integer_axis_class()(orientation)


def _score(metrics: dict[str, Any]) -> float | None:
    """The F1 a run is judged by: entity F1, macro-F1 for classes, SQuAD F1 (0-100) / 100."""
    if metrics.get("f1") is not None:
        value = float(metrics["f1"])
        # Answers are scored as SQuAD does, in percent (next to "exact_match").
        return value / 100.0 if "exact_match" in metrics else value
    if metrics.get("macro_f1") is not None:
        return float(metrics["macro_f1"])
    return None
