"""Label chips (click or press their key) and the dialog that edits label sets."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QColorDialog,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from annotator.app.qt_theme import text_color_for
from annotator.app.qt_training_settings import TASK_TITLES
from core.errors import AnnotatorError
from core.project import RESERVED_KEYS, Changes, LabelInfo, Project
from core.types import TaskKind


class QtLabelBar(QWidget):
    """A row of coloured buttons, one per label, each showing its shortcut key."""

    labelClicked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._labels: tuple[LabelInfo, ...] = ()
        self.buttons: dict[str, QPushButton] = {}

    def set_labels(self, labels: Sequence[LabelInfo]) -> None:
        self._labels = tuple(labels)
        while self._layout.count():
            item = self._layout.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        self.buttons = {}
        for lab in self._labels:
            key = f"[{lab.shortcut}] " if lab.shortcut else ""
            button = QPushButton(f"{key}{lab.name}")
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setToolTip(
                f"Label the selection as {lab.name}"
                + (f" (key {lab.shortcut})" if lab.shortcut else "")
            )
            button.setStyleSheet(
                f"QPushButton {{ background: {lab.color}; color: {text_color_for(lab.color)};"
                " border-radius: 4px; padding: 3px 8px; border: 1px solid rgba(0,0,0,60); }"
            )
            button.clicked.connect(lambda _=False, n=lab.name: self.labelClicked.emit(n))
            self._layout.addWidget(button)
            self.buttons[lab.name] = button
        self._layout.addStretch(1)

    def label_for_key(self, text: str) -> str | None:
        if not text:
            return None
        return next(
            (lab.name for lab in self._labels if lab.shortcut and lab.shortcut.lower() == text.lower()),
            None,
        )


class QtLabelsDialog(QDialog):
    """Edit a task's label set: name, colour, shortcut key; add and delete labels.

    Each change is written at once (one transaction per change), like every other edit.
    """

    def __init__(self, project: Project, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Labels")
        self.resize(520, 420)
        self.project = project
        self.changed = False
        # Each edit as written, for the window's undo stack (core computed the inverses).
        self.applied: list[Changes] = []
        self.task_box = QComboBox()
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Name", "Colour", "Key"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setColumnWidth(0, 220)
        self.new_name = QLineEdit(placeholderText="New label name")
        add = QPushButton("Add")
        add.clicked.connect(self._add)
        self.new_name.returnPressed.connect(self._add)
        delete = QPushButton("Delete selected")
        delete.setToolTip("Delete the label and every annotation that uses it")
        delete.clicked.connect(self._delete)
        row = QHBoxLayout()
        row.addWidget(self.new_name, 1)
        row.addWidget(add)
        row.addWidget(delete)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Task"))
        layout.addWidget(self.task_box)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        hint = QLabel("Double-click a name or key to edit it; click a colour to change it. "
                      f"Keys {', '.join(sorted(RESERVED_KEYS)).upper()} are used by review.")
        hint.setWordWrap(True)
        layout.addWidget(hint)
        layout.addWidget(buttons)
        self.task_box.currentIndexChanged.connect(self._fill)
        self.table.itemChanged.connect(self._on_item_changed)
        self.table.cellClicked.connect(self._on_cell_clicked)
        self._labels: list[LabelInfo] = []
        self._filling = False
        for kind in project.documents.tasks():
            if kind is not TaskKind.QA:  # by the name of its tab: "Sentences", not "sentence"
                self.task_box.addItem(TASK_TITLES.get(kind, kind.value), kind)
        self._fill()

    def _kind(self) -> TaskKind | None:
        return self.task_box.currentData()

    def _fill(self) -> None:
        kind = self._kind()
        task = self.project.documents.tasks().get(kind) if kind else None
        self._labels = list(task.labels) if task else []
        self._filling = True
        self.table.setRowCount(len(self._labels))
        for row, lab in enumerate(self._labels):
            self.table.setItem(row, 0, QTableWidgetItem(lab.name))
            colour = QTableWidgetItem(lab.color)
            colour.setBackground(QColor(lab.color))
            colour.setForeground(QColor(text_color_for(lab.color)))
            colour.setFlags(colour.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.table.setItem(row, 1, colour)
            self.table.setItem(row, 2, QTableWidgetItem(lab.shortcut or ""))
        self._filling = False

    def _write(self, action: Callable[[], Changes]) -> bool:
        try:
            self.applied.append(action())
        except AnnotatorError as exc:
            QMessageBox.warning(self, "Labels", str(exc))
            self._fill()
            return False
        self.changed = True
        self._fill()
        return True

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if self._filling:
            return
        lab = self._labels[item.row()]
        value = item.text().strip()
        if item.column() == 0 and value != lab.name:
            self._write(lambda: self.project.annotations.update_label(lab.id, name=value))
        elif item.column() == 2 and value != (lab.shortcut or ""):
            if len(value) > 1:
                QMessageBox.warning(self, "Labels", "a shortcut is one key (a letter or digit)")
                self._fill()
                return
            if value.lower() in RESERVED_KEYS:
                QMessageBox.warning(
                    self, "Labels", f"the key {value!r} is used by the review flow; pick another"
                )
                self._fill()
                return
            self._write(
                lambda: self.project.annotations.update_label(lab.id, shortcut=value.lower())
            )

    def _on_cell_clicked(self, row: int, column: int) -> None:
        if column != 1:
            return
        lab = self._labels[row]
        colour = QColorDialog.getColor(QColor(lab.color), self, f"Colour of {lab.name}")
        if colour.isValid():
            self._write(
                lambda: self.project.annotations.update_label(lab.id, color=colour.name())
            )

    def _add(self) -> None:
        kind = self._kind()
        name = self.new_name.text().strip()
        if kind is None or not name:
            return
        if any(lab.name == name for lab in self._labels):
            self.new_name.clear()  # already there: adding it again changes nothing
            return
        if self._write(lambda: self.project.annotations.add_label(kind, name)):
            self.new_name.clear()

    def _delete(self) -> None:
        row = self.table.currentRow()
        if not 0 <= row < len(self._labels):
            return
        lab = self._labels[row]
        answer = QMessageBox.question(
            self, "Delete label",
            f"Delete the label {lab.name!r} and every annotation that uses it?",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self._write(lambda: self.project.annotations.delete_label(lab.id))
