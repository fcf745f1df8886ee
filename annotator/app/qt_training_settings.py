"""The training settings dialog, and what a run will do worked out before it starts."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core.engine.settings import (
    DEVICES,
    PRECISIONS,
    PRESETS,
    TrainingSettings,
    preset_settings,
)
from core.project import Project
from core.types import TaskKind

# The display name of each kind: its tab, its Train button, "Settings for".
TASK_TITLES = {TaskKind.NER: "Entities", TaskKind.CLASSIFY: "Classes", TaskKind.QA: "Answers",
               TaskKind.SENTENCE: "Sentences",
               # The attribute and relation models' versions and runs (trained with the
               # entities).
               TaskKind.ATTRIBUTE: "Attributes", TaskKind.RELATION: "Relations"}

# Presets in plain words (the CLI's --preset names in brackets).
PRESET_TITLES = {
    "default": "Recommended: measured on clinical and public data (default)",
    "seed-002": "Plain: the standard transformers recipe, for comparison (seed-002)",
}


@dataclass(frozen=True)
class TrainingPreview:
    """What a run with given settings will do, worked out before it starts."""

    warnings: tuple[str, ...]
    train_documents: int
    dev_documents: int
    batches_per_epoch: int
    epochs: int
    total_steps: int
    floor_note: str  # why the run trains more epochs than asked for, else ""
    error: str = ""  # why the run cannot start, else ""


def training_preview(project: Project, kind: TaskKind | str,
                     settings: TrainingSettings) -> TrainingPreview:
    """The engine's own preparation (dev split, small-data guards, plan of steps with the
    small-data floor) run on the project's labels, as the run will do it."""
    kind = TaskKind(kind)  # a QComboBox hands a str-enum back as a plain str
    try:
        prep = project.training.prepare(kind, settings)
    except Exception as exc:  # noqa: BLE001 - a TrainingFailure: the run would stop with it
        return TrainingPreview((), 0, 0, 0, 0, 0, "", str(exc))
    if prep.problem:
        return TrainingPreview(tuple(prep.warnings), 0, 0, 0, 0, 0, "", str(prep.problem))
    plan = prep.plan
    return TrainingPreview(tuple(prep.warnings), len(prep.train), len(prep.dev),
                           plan.batches_per_epoch, plan.epochs, plan.total_steps, plan.note)


def small_data_warnings(project: Project, kind: TaskKind,
                        settings: TrainingSettings | None = None) -> list[str]:
    """What the run would warn about (the run's own preparation): why it could not train,
    then its warnings."""
    preview = training_preview(project, kind,
                               settings or preset_settings("default", TaskKind(kind)))
    return ([preview.error] if preview.error else []) + list(preview.warnings)


def describe_plan(preview: TrainingPreview, settings: TrainingSettings) -> str:
    """The run's real length in plain words, and why it differs from Epochs if it does."""
    if preview.error:
        return f"Training cannot start: {preview.error}."
    held = (f", {preview.dev_documents} held out to measure the model"
            if preview.dev_documents else ", none held out to measure the model")
    text = (f"This run: up to {preview.epochs} epoch(s), {preview.total_steps} steps "
            f"(about {preview.batches_per_epoch} batch(es) of {settings.batch_size} per epoch; "
            f"{preview.train_documents} document(s) to learn from{held}).")
    if preview.floor_note:
        text += (f" More than the {settings.epochs} epochs set above because the training set "
                 f"is small: the run makes more passes over it, aiming at {settings.min_steps} "
                 f"steps (at most {settings.max_epochs} epochs), so the model can learn; it "
                 "stops sooner once the score on the held-out documents stops improving. "
                 "Changing Epochs turns this off.")
    if settings.refit and preview.dev_documents:
        text += (f" Then it trains again on all {preview.train_documents + preview.dev_documents}"
                 " documents, held-out ones included, for as many epochs as scored best, and "
                 "keeps that model (refit: about twice the time; the scores shown are those "
                 "measured before).")
    return text


class QtTrainingSettingsDialog(QDialog):
    """Base model, preset, epochs, learning rate, batch size, device — validated on OK;
    below them, what the run will really do (epochs, steps) and the data warnings."""

    def __init__(self, project: Project, kind: TaskKind, settings: TrainingSettings,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        kind = TaskKind(kind)
        self.setWindowTitle(f"{TASK_TITLES[kind]}: training settings")
        self.setMinimumWidth(520)  # the title and the plan text fit
        self.project = project
        self.kind = kind
        self.settings = settings
        self.base_model = QLineEdit(settings.base_model or "default")
        self.base_model.setToolTip("\"default\" (the bundled encoder) or a model folder on disk")
        self.preset = QComboBox()
        for name in sorted(PRESETS, key=lambda n: (n != "default", n)):
            self.preset.addItem(PRESET_TITLES.get(name, name), name)
        self.preset.setCurrentIndex(self.preset.findData("default"))
        self.preset.currentIndexChanged.connect(lambda _i: self._apply_preset(self.preset_name()))
        self.epochs = QSpinBox(minimum=1, maximum=100, value=settings.epochs)
        self.epochs.setToolTip("Passes over the training documents")
        self.lr = QDoubleSpinBox(decimals=6, minimum=0.0, maximum=1.0, singleStep=1e-5,
                                 value=settings.learning_rate)
        self.batch = QSpinBox(minimum=1, maximum=512, value=settings.batch_size)
        self.device = QComboBox()
        self.device.addItems(list(DEVICES))
        self.device.setCurrentText(settings.device)
        self.precision = QComboBox()
        self.precision.addItems(list(PRECISIONS))
        self.precision.setCurrentText(settings.precision)
        self.precision.setToolTip("auto: bf16 mixed precision where the device computes it "
                                  "natively (CUDA, or a CPU with AVX-512 BF16 or AMX), "
                                  "else fp32")
        self.refit = QCheckBox("Refit on all documents at the end")
        self.refit.setChecked(settings.refit)
        self.refit.setToolTip("After the held-out documents have chosen the best number of "
                              "epochs, train again on every document for that many epochs "
                              "and keep that model: it learns from the held-out documents "
                              "too, at about twice the time")
        self.refit.toggled.connect(lambda _on: self._update_plan())
        self.error = QLabel()
        self.error.setObjectName("errorLabel")
        self.error.setWordWrap(True)
        self.plan = QLabel()
        self.plan.setObjectName("hintLabel")
        self.plan.setWordWrap(True)
        self.warnings = QLabel()
        self.warnings.setObjectName("warningLabel")
        self.warnings.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Base model", self.base_model)
        form.addRow("Preset", self.preset)
        form.addRow("Epochs", self.epochs)
        form.addRow("Learning rate", self.lr)
        form.addRow("Batch size", self.batch)
        form.addRow("Device", self.device)
        form.addRow("Precision", self.precision)
        form.addRow("", self.refit)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._validate)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.plan)
        layout.addWidget(self.warnings)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        for box in (self.epochs, self.batch):
            box.valueChanged.connect(lambda _v: self._update_plan())
        self._update_plan()

    def preset_name(self) -> str:
        return str(self.preset.currentData() or "default")

    def _apply_preset(self, name: str) -> None:
        s = preset_settings(name, self.kind)
        for box, value in ((self.epochs, s.epochs), (self.batch, s.batch_size)):
            box.blockSignals(True)
            box.setValue(value)
            box.blockSignals(False)
        self.lr.setValue(s.learning_rate)
        self.precision.setCurrentText(s.precision)
        self.refit.blockSignals(True)
        self.refit.setChecked(s.refit)
        self.refit.blockSignals(False)
        self._update_plan()

    def _from_fields(self) -> TrainingSettings:
        base = preset_settings(self.preset_name(), self.kind)
        fields = {
            "base_model": self.base_model.text().strip() or "default",
            "epochs": self.epochs.value(), "learning_rate": self.lr.value(),
            "batch_size": self.batch.value(), "device": self.device.currentText(),
            "precision": self.precision.currentText(), "refit": self.refit.isChecked(),
        }
        # Only what differs from the preset is set (and carries over to the heads trained
        # along with the entities); the preset's own epochs keep its small-data floor.
        return base.replace(**{k: v for k, v in fields.items() if v != getattr(base, k)})

    def _update_plan(self) -> None:
        try:
            settings = self._from_fields()
        except ValueError as exc:
            self.plan.setText("")
            self.error.setText(str(exc))
            return
        self.error.setText("")
        preview = training_preview(self.project, self.kind, settings)
        self.preview = preview
        self.plan.setText(describe_plan(preview, settings))
        self.warnings.setText("\n".join(f"⚠ {w}" for w in preview.warnings))
        self.warnings.setVisible(bool(preview.warnings))

    def _validate(self) -> None:
        try:
            self.settings = self._from_fields()
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        self.accept()
