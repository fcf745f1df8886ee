"""The relation list of the entities view: the document's relations, one row each.

A row reads "10 mg → dosage_of → furosemide"; the rows touching the entity under the cursor
are bold. Selecting a row asks the view to show both ends; Delete (or the button) asks it to
remove the relation. A pending model suggestion is a row of its own, marked "suggested" with
its confidence, accepted or rejected with the buttons or A / R (A / R in the text take them
too, in their turn: the view makes that one's row the current one). The list only reports
what the user asked for (signals); the view makes the change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)


@dataclass(frozen=True)
class RelationRow:
    """One row: a relation (``suggestion_id`` None) or a pending suggestion of one."""

    head: tuple[int, int]
    tail: tuple[int, int]
    label: str
    text: str  # "10 mg → dosage_of → furosemide"
    suggestion_id: int | None = None
    confidence: float = 0.0
    touching: bool = False  # an end is the entity under the cursor


class _RelationListWidget(QListWidget):
    """The rows; Delete, A and R report the current row instead of being ignored."""

    keyUsed = Signal(int)  # a Qt.Key

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace, Qt.Key.Key_A,
                           Qt.Key.Key_R) and not event.modifiers() & (
                Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier):
            self.keyUsed.emit(event.key())
            event.accept()
            return
        super().keyPressEvent(event)


class QtRelationList(QWidget):
    """The relations of the document shown, with their pending suggestions."""

    rowSelected = Signal(object)  # a RelationRow: show both ends
    removeRequested = Signal(object)  # a RelationRow (a relation, not a suggestion)
    suggestionDecided = Signal(int, bool)  # suggestion id, accept
    VISIBLE_ROWS = 5

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel()
        self.title.setObjectName("hintLabel")
        self.list = _RelationListWidget()
        self.list.setObjectName("relationList")
        self.list.setAlternatingRowColors(True)
        self.list.currentRowChanged.connect(self._on_current_row)
        self.list.itemClicked.connect(lambda item: self._on_current_row(self.list.row(item)))
        self.list.keyUsed.connect(self._on_key)
        self.remove_button = QToolButton(text="Remove", toolTip="Remove the relation (Delete)")
        self.accept_button = QToolButton(text="✓ Accept",
                                         toolTip="Accept the suggested relation (A)")
        self.reject_button = QToolButton(text="✗ Reject",
                                         toolTip="Reject the suggested relation (R)")
        self.remove_button.clicked.connect(lambda: self._on_key(Qt.Key.Key_Delete))
        self.accept_button.clicked.connect(lambda: self._on_key(Qt.Key.Key_A))
        self.reject_button.clicked.connect(lambda: self._on_key(Qt.Key.Key_R))
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.title, 1)
        for button in (self.accept_button, self.reject_button, self.remove_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            top.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.list)
        self.rows: tuple[RelationRow, ...] = ()
        self._update_buttons()
        self._fit_height()

    def show_rows(self, rows: Sequence[RelationRow], *, hint: str = "") -> None:
        """Show ``rows`` (keeping the current row when it is still there)."""
        rows = tuple(rows)
        current = self.current_row()
        if rows != self.rows:
            self.rows = rows
            self.list.blockSignals(True)
            self.list.clear()
            for row in rows:
                text = row.text
                if row.suggestion_id is not None:
                    text = f"suggested ({row.confidence:.0%}): {text}"
                item = QListWidgetItem(text)
                font = item.font()
                font.setBold(row.touching)
                font.setItalic(row.suggestion_id is not None)
                item.setFont(font)
                item.setToolTip(
                    "a suggestion of the model: A accepts, R rejects" if row.suggestion_id
                    is not None else "Delete removes the relation")
                self.list.addItem(item)
            keep = next((i for i, r in enumerate(rows) if current is not None
                         and (r.head, r.tail, r.label, r.suggestion_id)
                         == (current.head, current.tail, current.label,
                             current.suggestion_id)), -1)
            self.list.setCurrentRow(keep)
            self.list.blockSignals(False)
        self._fit_height()
        n = sum(1 for r in rows if r.suggestion_id is None)
        pending = len(rows) - n
        self.title.setText(
            f"Relations: {n}" + (f", {pending} suggested" if pending else "")
            + (f" — {hint}" if hint else ""))
        self._update_buttons()

    def _fit_height(self) -> None:
        """As tall as its rows, from one to five (then it scrolls), so the text keeps the
        room."""
        row = self.list.sizeHintForRow(0) if self.list.count() else 0
        row = row if row > 0 else self.list.fontMetrics().height() + 4
        shown = min(max(self.list.count(), 1), self.VISIBLE_ROWS)
        self.list.setFixedHeight(row * shown + 2 * self.list.frameWidth() + 2)

    def select_suggestion(self, suggestion_id: int) -> None:
        """Make the row of the pending suggestion ``suggestion_id`` the current one, scrolled
        into view, without ``rowSelected`` (the view, which asks, shows its ends itself)."""
        index = next((i for i, r in enumerate(self.rows) if r.suggestion_id == suggestion_id),
                     -1)
        if index < 0 or index == self.list.currentRow():
            return
        self.list.blockSignals(True)
        self.list.setCurrentRow(index)
        self.list.blockSignals(False)
        self.list.scrollToItem(self.list.item(index))
        self._update_buttons()

    def current_row(self) -> RelationRow | None:
        i = self.list.currentRow()
        return self.rows[i] if 0 <= i < len(self.rows) else None

    def _update_buttons(self) -> None:
        row = self.current_row()
        suggested = row is not None and row.suggestion_id is not None
        self.remove_button.setEnabled(row is not None and not suggested)
        self.accept_button.setEnabled(suggested)
        self.reject_button.setEnabled(suggested)

    def _on_current_row(self, index: int) -> None:
        self._update_buttons()
        row = self.current_row()
        if row is not None and 0 <= index:
            self.rowSelected.emit(row)

    def _on_key(self, key: int) -> None:
        row = self.current_row()
        if row is None:
            return
        if row.suggestion_id is None:
            if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
                self.removeRequested.emit(row)
        elif key in (Qt.Key.Key_A, Qt.Key.Key_R, Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.suggestionDecided.emit(row.suggestion_id, key == Qt.Key.Key_A)
