"""Label chips (click or press their key) and the dialog that edits label sets, the
attributes of entities and whether entities may overlap or nest."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
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
from core.project import RESERVED_KEYS, Changes, LabelInfo, Op, Project
from core.project.edits import (
    AddAttribute,
    AddAttributeValue,
    MoveAttributeValue,
    RemoveAttribute,
    RemoveAttributeValue,
    RenameAttribute,
    RenameAttributeValue,
    SetAttributeLabels,
)
from core.types import AttributeSpec, TaskKind

ALL_LABELS = "all labels"  # what the "Applies to" column shows for an attribute of every label
OVERLAPPING_TEXT = "Entities may overlap or nest"
OVERLAPPING_TIP = ("An entity may lie inside another or cross it, e.g. “[left lower lobe] "
                   "pneumonia”: a BodySite inside a Condition (two never cover the same words "
                   "exactly). Switching it off is refused while any two entities overlap.")


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
    """Edit a task's label set: name, colour, shortcut key; add and delete labels. For the
    entities task also whether entities may overlap or nest, and its attributes: name, values
    in order (the first is the default), the labels each applies to; add, rename and delete
    them.

    Each change is written at once (one transaction per change), like every other edit;
    ``applied`` keeps them for the window's undo stack.
    """

    def __init__(self, project: Project, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Labels")
        self.resize(620, 640)
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
        self.overlapping = QCheckBox(OVERLAPPING_TEXT)
        self.overlapping.setToolTip(OVERLAPPING_TIP)
        self.overlapping.toggled.connect(self._on_overlapping_toggled)
        layout.addWidget(self.overlapping)
        self.attributes = QtAttributesEditor(self)
        layout.addWidget(self.attributes, 1)
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
        self.attributes.setVisible(kind == TaskKind.NER)
        self.overlapping.setVisible(kind == TaskKind.NER)
        if task is not None and kind == TaskKind.NER:
            self.attributes.fill(task.attributes, [lab.name for lab in self._labels])
        self._filling = True
        self.overlapping.setChecked(bool(task is not None and kind == TaskKind.NER
                                         and task.overlapping))
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
        except (AnnotatorError, ValueError) as exc:  # ValueError: a malformed AttributeSpec
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

    def _on_overlapping_toggled(self, checked: bool) -> None:
        """Let entities overlap or not: one undoable edit; refused (the message shown, the
        box as it was) when switched off while some entities overlap."""
        if not self._filling:
            self._write(lambda: self.project.annotations.set_overlapping(checked))

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


def _values_text(spec: AttributeSpec) -> str:
    return ", ".join(spec.values)


def _split_values(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


class QtAttributesEditor(QWidget):
    """The attributes part of the labels dialog: a row per attribute (name, values with the
    default first, the labels it applies to), writing through the dialog's ``_write``."""

    def __init__(self, dialog: QtLabelsDialog) -> None:
        super().__init__(dialog)
        self.dialog = dialog
        self.project = dialog.project
        self.specs: tuple[AttributeSpec, ...] = ()
        self.label_names: list[str] = []
        self._filling = False
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Attribute", "Values (first: the default)",
                                              "Applies to"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setColumnWidth(0, 130)
        self.table.setColumnWidth(1, 260)
        self.table.itemChanged.connect(self._on_item_changed)
        self.table.cellClicked.connect(self._on_cell_clicked)
        self.new_name = QLineEdit(placeholderText="New attribute")
        self.new_values = QLineEdit(placeholderText="Values, e.g. Affirmed, Negated")
        self.new_values.returnPressed.connect(self.add)
        add = QPushButton("Add attribute")
        add.clicked.connect(self.add)
        delete = QPushButton("Delete selected")
        delete.setToolTip("Delete the attribute and every entity's value of it")
        delete.clicked.connect(self.delete)
        row = QHBoxLayout()
        row.addWidget(self.new_name, 2)
        row.addWidget(self.new_values, 3)
        row.addWidget(add)
        row.addWidget(delete)
        hint = QLabel("Double-click a name or the values to edit them (rename a value in "
                      "place, add one at the end, drop one to delete it); click "
                      "“Applies to” to choose the labels. An entity without a value has "
                      "the first one.")
        hint.setObjectName("hintLabel")
        hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        title = QLabel("<b>Attributes of entities</b>")
        layout.addWidget(title)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        layout.addWidget(hint)

    def fill(self, specs: tuple[AttributeSpec, ...], label_names: list[str]) -> None:
        self.specs = tuple(specs)
        self.label_names = list(label_names)
        self._filling = True
        self.table.setRowCount(len(self.specs))
        for row, spec in enumerate(self.specs):
            self.table.setItem(row, 0, QTableWidgetItem(spec.name))
            self.table.setItem(row, 1, QTableWidgetItem(_values_text(spec)))
            applies = QTableWidgetItem(", ".join(spec.labels) if spec.labels is not None
                                       else ALL_LABELS)
            applies.setFlags(applies.flags() & ~Qt.ItemFlag.ItemIsEditable)
            applies.setToolTip("Click to choose the labels it applies to")
            self.table.setItem(row, 2, applies)
        self._filling = False

    def _refill(self) -> None:
        task = self.project.documents.tasks().get(TaskKind.NER)
        self.fill(task.attributes if task else (), self.label_names)

    def _write(self, action: Callable[[], Changes]) -> bool:
        done = self.dialog._write(action)
        self._refill()
        return done

    def _apply(self, op: Op) -> bool:
        return self._write(lambda: self.project.apply(op))

    def add(self) -> None:
        name = self.new_name.text().strip()
        values = _split_values(self.new_values.text())
        if not name:
            return
        if self._write(lambda: self.project.apply(AddAttribute(AttributeSpec(name, values)))):
            self.new_name.clear()
            self.new_values.clear()

    def delete(self) -> None:
        row = self.table.currentRow()
        if not 0 <= row < len(self.specs):
            return
        spec = self.specs[row]
        answer = QMessageBox.question(
            self, "Delete attribute",
            f"Delete the attribute {spec.name!r} and every entity's value of it?",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self._apply(RemoveAttribute(spec.name))

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if self._filling:
            return
        spec = self.specs[item.row()]
        text = item.text().strip()
        if item.column() == 0 and text != spec.name:
            self._apply(RenameAttribute(spec.name, text))
        elif item.column() == 1:
            self._change_values(spec, _split_values(text))

    def _change_values(self, spec: AttributeSpec, new: tuple[str, ...]) -> None:
        """Turn the edited list into the edits it means: a value renamed in place, values
        dropped (their entities read the default), values added, then moved to their place.
        A dropped value is gone with its entities' values: an added one never inherits
        them (a rename is only a value changed in place)."""
        old = spec.values
        if new == old:
            return
        if len(set(new)) != len(new):
            QMessageBox.warning(self, "Labels", f"{spec.name} names a value twice")
            self._refill()
            return
        changed = [i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b]
        if len(new) == len(old) and len(changed) == 1 and new[changed[0]] not in old:
            i = changed[0]
            self._apply(RenameAttributeValue(spec.name, old[i], new[i]))
            return
        ops: list[Op] = [AddAttributeValue(spec.name, v) for v in new if v not in old]
        ops += [RemoveAttributeValue(spec.name, v) for v in old if v not in new]
        ops += [MoveAttributeValue(spec.name, v, i) for i, v in enumerate(new)]
        order = [v for v in old]
        for op in ops:
            if isinstance(op, AddAttributeValue):
                order.append(op.value)
            elif isinstance(op, RemoveAttributeValue):
                order.remove(op.value)
            elif order.index(op.value) == op.position:
                continue  # already in its place
            else:
                order.remove(op.value)
                order.insert(op.position, op.value)
            if not self._apply(op):
                return

    def _on_cell_clicked(self, row: int, column: int) -> None:
        if column != 2 or not 0 <= row < len(self.specs):
            return
        spec = self.specs[row]
        menu = QMenu(self)
        every = menu.addAction(ALL_LABELS)
        every.setCheckable(True)
        every.setChecked(spec.labels is None)
        menu.addSeparator()
        chosen = set(spec.labels or ())
        for name in self.label_names:
            act = menu.addAction(name)
            act.setCheckable(True)
            act.setChecked(spec.labels is not None and name in chosen)
        picked = menu.exec(self.table.viewport().mapToGlobal(
            self.table.visualItemRect(self.table.item(row, column)).bottomLeft()))
        if picked is None:
            return
        self.choose_labels(spec.name, picked.text(), picked.isChecked())

    def choose_labels(self, name: str, label: str, checked: bool) -> None:
        """Tick (``checked``) or untick ``label`` (or :data:`ALL_LABELS`) for ``name``."""
        spec = next(s for s in self.specs if s.name == name)
        labels: tuple[str, ...] | None
        if label == ALL_LABELS:
            labels = None if checked else ()
        else:
            current = set(spec.labels) if spec.labels is not None else set(self.label_names)
            current = current | {label} if checked else current - {label}
            labels = tuple(n for n in self.label_names if n in current)
            if set(labels) == set(self.label_names):
                labels = None
        if labels == ():
            QMessageBox.warning(self, "Labels", f"{name} must apply to at least one label")
            return
        if labels != spec.labels:
            self._apply(SetAttributeLabels(name, labels))
