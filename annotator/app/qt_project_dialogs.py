"""Small dialogs of the File menu: a new project, a choice from a list, and the wording and
defaults of import and export."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from core.project import Project
from core.types import TaskKind

# Import: where the documents go, in plain words (value: the split, None: as in the file).
IMPORT_SPLITS: dict[str, str | None] = {
    "As marked in the file (unmarked ones are for training)": None,
    "Training: the model learns from them": "train",
    "Held out (dev): kept out of training to measure the model": "dev",
    "Test: never used by the app, for your own evaluation": "test",
}

# Export formats, the one that keeps every label first.
EXPORT_FORMATS: dict[str, str] = {
    "jsonl": "JSON lines: text with every label (entities, classes, answers)",
    "conll": "CoNLL: one token a line with its entity tag",
    "csv": "CSV: text and class columns",
    "squad": "SQuAD JSON: questions and answers",
    "lines": "Label lines: <class> <text> a line",
    "brat": "brat standoff: a folder of .txt + .ann pairs (entities, attributes)",
    "text": "Plain text only: drops every label",
}


def export_default_path(project_path: Path | None, fmt: str, name: str = "export") -> str:
    """Beside the project, named after it: ``notes.db`` -> ``notes.jsonl``; a project in a
    database (no file): ``<name>.jsonl`` in the home folder."""
    # brat: a folder (notes-brat/), made by the export
    suffix = {"squad": ".json", "lines": ".txt", "text": ".txt", "brat": "-brat"}.get(
        fmt, f".{fmt}")
    if project_path is None:
        return str(Path.home() / (name + suffix))
    return str(project_path.with_name(project_path.stem + suffix))


DATABASE_URL_HELP = (
    "A project shared by a team lives in a PostgreSQL database. Its URL:\n"
    "postgresql://user@host/dbname  (a password, if the server wants one: user:password@host;\n"
    "or put it in ~/.pgpass)"
)


def ask_database_url(parent: QWidget | None, current: str = "") -> str | None:
    """Ask for the URL of a project in a PostgreSQL database; ``None`` when cancelled."""
    url, ok = QInputDialog.getText(parent, "Open database", DATABASE_URL_HELP,
                                   QLineEdit.EchoMode.Normal, current or "postgresql://")
    url = url.strip()
    return url if ok and url and url != "postgresql://" else None


class QtNewProjectDialog(QDialog):
    """Choose a file (or a PostgreSQL database URL) and the tasks of a new project, with
    their first labels."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New project")
        self.path = QLineEdit()
        self.path.setPlaceholderText(
            "where to save the project, e.g. notes.db, or an empty database: "
            "postgresql://user@host/dbname")
        self.browse = QPushButton("Browse…")
        self.browse.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path, 1)
        path_row.addWidget(self.browse)
        self.ner = QCheckBox("Entities (NER)")
        self.ner.setChecked(True)
        self.ner_labels = QLineEdit("Disease, Medication")
        self.overlapping = QCheckBox("Entities may overlap or nest (e.g. “[left lower lobe] "
                                     "pneumonia”: a body site inside a condition)")
        self.ner.toggled.connect(self.overlapping.setEnabled)
        self.classify = QCheckBox("Document classes")
        self.class_labels = QLineEdit("")
        self.sentence = QCheckBox("Sentence classes (a class for each sentence of a note)")
        self.sentence_labels = QLineEdit("Finding, Plan, Other")
        self.multi = QCheckBox("several classes per document or sentence (multi-label)")
        self.qa = QCheckBox("Questions and answers (extractive QA)")
        self.error = QLabel()
        self.error.setObjectName("errorLabel")
        form = QFormLayout(self)
        form.addRow("Project file or database", path_row)
        form.addRow(self.ner)
        form.addRow("  entity labels (comma-separated)", self.ner_labels)
        form.addRow("", self.overlapping)
        form.addRow(self.classify)
        form.addRow("  class labels (comma-separated)", self.class_labels)
        form.addRow(self.sentence)
        form.addRow("  sentence classes (comma-separated)", self.sentence_labels)
        form.addRow("", self.multi)
        form.addRow(self.qa)
        form.addRow(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._check)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _browse(self) -> None:
        start = self.path.text().strip() or str(Path.home() / "annotations.db")
        path, _ = QFileDialog.getSaveFileName(self, "New project", start, "Projects (*.db)")
        if path:
            self.path.setText(path if path.endswith(".db") else path + ".db")

    def tasks(self) -> dict[TaskKind, list[str]]:
        def names(edit: QLineEdit) -> list[str]:
            return [n.strip() for n in edit.text().split(",") if n.strip()]

        out: dict[TaskKind, list[str]] = {}
        if self.ner.isChecked():
            out[TaskKind.NER] = names(self.ner_labels)
        if self.classify.isChecked():
            out[TaskKind.CLASSIFY] = names(self.class_labels)
        if self.sentence.isChecked():
            out[TaskKind.SENTENCE] = names(self.sentence_labels)
        if self.qa.isChecked():
            out[TaskKind.QA] = []
        return out

    def create_project(self) -> Project:
        """The project the dialog describes, created (raises ``AnnotatorError`` when it
        cannot be): its tasks and labels, multi-label classes, overlapping entities."""
        tasks = self.tasks()
        project = Project.create(self.path.text().strip(), tasks=tasks,
                                 multi_label=self.multi.isChecked())
        if TaskKind.NER in tasks and self.overlapping.isChecked():
            try:
                project.annotations.add_task(TaskKind.NER, overlapping=True)
            except BaseException:
                project.close()
                raise
        return project

    def _check(self) -> None:
        if not self.path.text().strip():
            self.error.setText("choose where to save the project file")
        elif not self.tasks():
            self.error.setText("choose at least one task")
        else:
            self.accept()


def choose(parent: QWidget, title: str, prompt: str, items: list[str],
           current: str | None = None) -> tuple[str, bool]:
    """A modal choice from ``items``; (the chosen item, whether OK was pressed)."""
    dialog = QDialog(parent)
    dialog.setWindowTitle(title)
    box = QComboBox()
    box.addItems(items)
    if current is not None and current in items:
        box.setCurrentText(current)
    form = QFormLayout(dialog)
    form.addRow(prompt, box)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    form.addRow(buttons)
    ok = bool(dialog.exec())
    return box.currentText(), ok
