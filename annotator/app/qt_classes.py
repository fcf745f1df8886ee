"""The classes view: one button per class (check boxes when multi-label), keyed."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from annotator.app.qt_commands import DecideSuggestionsCommand, QtProjectContext, SetClassesCommand
from annotator.app.qt_span_text import QtSpanTextEdit
from annotator.app.qt_theme import tint
from core.project import DocumentView, SuggestionView, TaskInfo

# Opacity of a chosen class's fill: its colour shows clearly and black or white text on
# the window's background stays readable through it.
CHOSEN_ALPHA = 0.35


class QtClassesView(QWidget):
    """Choose a document's class(es); the model's suggestion is pre-highlighted."""

    def __init__(self, ctx: QtProjectContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.task: TaskInfo | None = None
        self.doc: DocumentView | None = None
        self.text = QtSpanTextEdit()
        self.text.snap_words = False
        self.text.key_filter = self._on_key
        self.buttons: dict[str, QAbstractButton] = {}
        self._grid_host = QWidget()
        self._grid = QGridLayout(self._grid_host)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self.suggestion_info = QLabel()
        self.suggestion_info.setObjectName("hintLabel")
        self.suggestion_info.setWordWrap(True)
        self.accept_button = QPushButton("Accept suggestion (A)")
        self.accept_button.clicked.connect(lambda: self.decide(True))
        self.reject_button = QPushButton("Reject (R)")
        self.reject_button.clicked.connect(lambda: self.decide(False))
        review = QHBoxLayout()
        review.addWidget(self.suggestion_info, 1)
        review.addWidget(self.accept_button)
        review.addWidget(self.reject_button)
        self.hint = QLabel()
        self.hint.setObjectName("hintLabel")
        self.hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.text, 1)
        layout.addWidget(self._grid_host)
        layout.addLayout(review)
        layout.addWidget(self.hint)

    def set_task(self, task: TaskInfo | None) -> None:
        self.task = task
        for button in self.buttons.values():
            button.deleteLater()
        self.buttons = {}
        if task is None:
            return
        columns = 4
        for i, lab in enumerate(task.labels):
            key = f"[{lab.shortcut}] " if lab.shortcut else ""
            button: QAbstractButton
            if task.multi_label:
                button = QCheckBox(f"{key}{lab.name}")
            else:
                button = QPushButton(f"{key}{lab.name}")
                button.setCheckable(True)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setToolTip(f"{lab.name}" + (f" (key {lab.shortcut})" if lab.shortcut else ""))
            button.setProperty("labelColor", lab.color)
            button.clicked.connect(lambda _=False, n=lab.name: self.toggle(n))
            self._grid.addWidget(button, i // columns, i % columns)
            self.buttons[lab.name] = button
        self.hint.setText(
            ("Press a class's key to tick or untick it (several allowed)."
             if task.multi_label else "Press a class's key to choose it.")
            + " A / R accept or reject the suggestion · J / K next / previous"
        )
        self._refresh_buttons()

    def show_document(self, doc: DocumentView | None, *, keep_cursor: bool = False) -> None:
        if doc is None or self.doc is None or doc.id != self.doc.id:
            self.text.set_document_text(doc.text if doc else "")
        self.doc = doc
        self._refresh_buttons()

    def _suggestions(self) -> tuple[SuggestionView, ...]:
        return self.doc.suggestions_of("class") if self.doc else ()

    def _refresh_buttons(self) -> None:
        chosen = set(self.doc.classes) if self.doc else set()
        suggestions = self._suggestions()
        probs: dict[str, float] = {}
        suggested: set[str] = set()
        for s in suggestions:
            probs.update({k: float(v) for k, v in (s.payload.get("probabilities") or {}).items()})
            suggested.add(s.label)
            probs.setdefault(s.label, s.confidence)
        for name, button in self.buttons.items():
            lab = self.task.label(name) if self.task else None
            key = f"[{lab.shortcut}] " if lab and lab.shortcut else ""
            prob = f"   {probs[name]:.0%}" if name in probs else ""
            button.setText(f"{key}{name}{prob}")
            button.blockSignals(True)
            button.setChecked(name in chosen)
            button.blockSignals(False)
            color = lab.color if lab else "#888888"
            width = 3 if name in chosen else (2 if name in suggested else 1)
            line = "dashed" if name in suggested and name not in chosen else "solid"
            fill = f"background: {tint(color, CHOSEN_ALPHA)}; font-weight: bold;" if name in chosen else ""
            button.setStyleSheet(
                f"QPushButton, QCheckBox {{ border: {width}px {line} {color}; border-radius: 4px;"
                f" padding: 6px; {fill} }}"
            )
        if suggestions:
            names = ", ".join(f"{s.label} ({s.confidence:.0%})" for s in suggestions)
            self.suggestion_info.setText(f"Model suggests: <b>{names}</b>")
        else:
            self.suggestion_info.setText("No pending suggestion")
        self.accept_button.setEnabled(bool(suggestions))
        self.reject_button.setEnabled(bool(suggestions))

    def toggle(self, name: str) -> None:
        """Tick/untick ``name`` (multi-label) or make it the class (single-label)."""
        if self.doc is None or self.task is None:
            return
        current = list(self.doc.classes)
        pending = self._suggestions()
        if self.task.multi_label:
            new = [c for c in current if c != name] if name in current else [*current, name]
        else:
            if len(pending) == 1 and name not in current:
                # Choosing a class decides the single-label suggestion (accepted or edited).
                self.ctx.push(
                    DecideSuggestionsCommand(
                        self.ctx, self.doc.id, [pending[0].id], accept=True, label=name
                    )
                )
                return
            new = [] if current == [name] else [name]
        self.ctx.push(SetClassesCommand(self.ctx, self.doc.id, current, new))

    def decide(self, accept: bool) -> None:
        if self.doc is None:
            return
        ids = [s.id for s in self._suggestions()]
        if not ids:
            self.ctx.message.emit("no class suggestion to review")
            return
        self.ctx.push(DecideSuggestionsCommand(self.ctx, self.doc.id, ids, accept=accept))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if not self._on_key(event):
            super().keyPressEvent(event)

    def _on_key(self, event: QKeyEvent) -> bool:
        if event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier):
            return False
        if event.key() == Qt.Key.Key_A:
            self.decide(True)
            return True
        if event.key() == Qt.Key.Key_R:
            self.decide(False)
            return True
        text = event.text().lower()
        if self.task and text:
            for lab in self.task.labels:
                if lab.shortcut and lab.shortcut.lower() == text:
                    self.toggle(lab.name)
                    return True
        return False
