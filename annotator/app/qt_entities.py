"""The entities view: select text, press a label's key; review the model's spans."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from annotator.app.qt_commands import (
    AddEntityCommand,
    DecideSuggestionsCommand,
    DeleteEntityCommand,
    QtProjectContext,
    RelabelEntityCommand,
)
from annotator.app.qt_labels import QtLabelBar
from annotator.app.qt_span_commands import ResizeEntityCommand
from annotator.app.qt_span_text import QtSpanTextEdit, SpanStyle
from core.project import DocumentView, EntityView, SuggestionView, TaskInfo

ACCEPT_KEY = Qt.Key.Key_A
REJECT_KEY = Qt.Key.Key_R


class QtEntitiesView(QWidget):
    """Entity labelling and suggestion review for one document at a time."""

    def __init__(self, ctx: QtProjectContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.task: TaskInfo | None = None
        self.doc: DocumentView | None = None

        self.label_bar = QtLabelBar()
        self.label_bar.labelClicked.connect(self.apply_label)
        self.editor = QtSpanTextEdit()
        self.editor.key_filter = self._on_key
        self.editor.cursorMoved.connect(self._on_cursor_moved)
        self.editor.contextRequested.connect(self._on_context_menu)
        self.editor.spanResized.connect(self._on_span_resized)
        self.info = QLabel()
        self.info.setObjectName("hintLabel")
        self.info.setWordWrap(True)

        self.threshold = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.05, value=0.8)
        self.threshold.setToolTip("Confidence threshold for \"Accept all ≥\"")
        self.accept_all = QPushButton("Accept all ≥")
        self.accept_all.setToolTip("Accept every suggestion of this document at or above the "
                                   "threshold (Shift+A)")
        self.accept_all.clicked.connect(self.accept_above_threshold)
        self.suggestion_count = QLabel()

        review = QHBoxLayout()
        review.addWidget(self.suggestion_count, 1)
        review.addWidget(self.accept_all)
        review.addWidget(self.threshold)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.label_bar)
        layout.addWidget(self.editor, 1)
        layout.addLayout(review)
        layout.addWidget(self.info)

    # --- display ---------------------------------------------------------------------------

    def set_task(self, task: TaskInfo | None) -> None:
        self.task = task
        self.label_bar.set_labels(task.labels if task else ())
        self._redraw()

    def show_document(self, doc: DocumentView | None, *, keep_cursor: bool = False) -> None:
        same = doc is not None and self.doc is not None and doc.id == self.doc.id
        cursor = self.editor.cursor_code_point() if same and keep_cursor else None
        scroll = self.editor.verticalScrollBar().value()
        self.doc = doc
        if not same or self.editor.document_text() != (doc.text if doc else ""):
            self.editor.set_document_text(doc.text if doc else "")
        if cursor is not None:
            self.editor.set_cursor_code_point(cursor)
            self.editor.verticalScrollBar().setValue(scroll)
        self._redraw()

    def _color(self, label: str) -> str:
        info = self.task.label(label) if self.task else None
        return info.color if info else "#888888"

    def _redraw(self) -> None:
        if self.doc is None:
            self.editor.set_spans([])
            self.suggestion_count.setText("")
            return
        cp = self.editor.cursor_code_point()
        text = self.doc.text
        spans = [
            SpanStyle(
                e.start, e.end, self._color(e.label),
                f"{e.label}: {text[e.start:e.end]!r}" + ("" if e.origin == "human" else f" ({e.origin})"),
                current=e.start <= cp < e.end, editable=True,
            )
            for e in self.doc.entities
        ]
        suggestions = self.doc.suggestions_of("entity")
        spans += [
            SpanStyle(
                s.start, s.end, self._color(s.label),
                f"suggested {s.label} ({s.confidence:.0%} confident): {text[s.start:s.end]!r}",
                suggestion=True, current=s.start <= cp < s.end,
            )
            for s in suggestions
        ]
        self.editor.set_spans(spans)
        n = len(suggestions)
        self.suggestion_count.setText(
            f"{n} suggestion{'s' if n != 1 else ''} to review" if n else "No pending suggestions"
        )
        self.accept_all.setEnabled(bool(n))
        self._update_info(cp)

    # --- what is under the cursor ----------------------------------------------------------

    def entity_at(self, cp: int) -> EntityView | None:
        if self.doc is None:
            return None
        return next((e for e in self.doc.entities if e.start <= cp < e.end), None) or next(
            (e for e in self.doc.entities if e.end == cp and e.start < cp), None
        )

    def suggestion_at(self, cp: int) -> SuggestionView | None:
        if self.doc is None:
            return None
        return next((s for s in self.doc.suggestions_of("entity") if s.start <= cp < s.end), None)

    def next_suggestion(self, cp: int) -> SuggestionView | None:
        """The suggestion under the cursor, else the next one after it, else the first."""
        if self.doc is None:
            return None
        pending = sorted(self.doc.suggestions_of("entity"), key=lambda s: s.start)
        return (
            self.suggestion_at(cp)
            or next((s for s in pending if s.start >= cp), None)
            or (pending[0] if pending else None)
        )

    def _on_cursor_moved(self, cp: int) -> None:
        self._redraw()

    def _update_info(self, cp: int) -> None:
        if self.doc is None:
            self.info.setText("")
            return
        entity = self.entity_at(cp)
        suggestion = self.suggestion_at(cp)
        if entity is not None:
            self.info.setText(
                f"<b>{entity.label}</b> “{self.doc.text[entity.start:entity.end]}” — press a "
                "label key to change it, Delete to remove it, drag an edge or press Alt+←/→ "
                "(moves the edge nearer the cursor) to resize it, or right-click"
            )
        elif suggestion is not None:
            self.info.setText(
                f"Suggested <b>{suggestion.label}</b> ({suggestion.confidence:.0%}) — "
                "A accept · R reject · a label key accepts it as that label"
            )
        else:
            self.info.setText(
                "Select words and press a label's key. A / R accept or reject the next "
                "suggestion · Shift+A accepts all above the threshold · J / K next / previous"
            )

    # --- actions ---------------------------------------------------------------------------

    def apply_label(self, label: str) -> None:
        """Label the selection, or relabel the entity / accept the suggestion at the cursor."""
        if self.doc is None:
            return
        start, end = self.editor.selection_code_points()
        if end > start:
            start, end = self.editor.snapped_selection()
            if end <= start:
                self.ctx.message.emit("select some words first")
                return
            self.ctx.push(AddEntityCommand(self.ctx, self.doc.id, start, end, label))
            self.editor.set_cursor_code_point(end)
            return
        cp = self.editor.cursor_code_point()
        entity = self.entity_at(cp)
        if entity is not None:
            if entity.label != label:
                self.ctx.push(
                    RelabelEntityCommand(
                        self.ctx, self.doc.id, entity.start, entity.end, entity.label, label
                    )
                )
            return
        suggestion = self.suggestion_at(cp)
        if suggestion is not None:
            self.ctx.push(
                DecideSuggestionsCommand(
                    self.ctx, self.doc.id, [suggestion.id], accept=True, label=label
                )
            )
            return
        self.ctx.message.emit("select some words first, then press a label's key")

    def _on_span_resized(self, start: int, end: int, new_start: int, new_end: int) -> None:
        entity = next(
            (e for e in self.doc.entities if (e.start, e.end) == (start, end)), None
        ) if self.doc is not None else None
        if entity is not None and self.doc is not None:
            self.ctx.push(ResizeEntityCommand(
                self.ctx, self.doc.id, (start, end), (new_start, new_end), entity.label
            ))

    def delete_at_cursor(self) -> None:
        if self.doc is None:
            return
        entity = self.entity_at(self.editor.cursor_code_point())
        if entity is None:
            self.ctx.message.emit("no entity under the cursor")
            return
        self.ctx.push(
            DeleteEntityCommand(
                self.ctx, self.doc.id, entity.id, entity.start, entity.end, entity.label
            )
        )

    def decide_next(self, accept: bool) -> None:
        if self.doc is None:
            return
        suggestion = self.next_suggestion(self.editor.cursor_code_point())
        if suggestion is None:
            self.ctx.message.emit("no suggestion to review in this document")
            return
        self.editor.set_cursor_code_point(suggestion.start)
        self.ctx.push(
            DecideSuggestionsCommand(self.ctx, self.doc.id, [suggestion.id], accept=accept)
        )

    def accept_above_threshold(self) -> None:
        if self.doc is None:
            return
        ids = [
            s.id for s in self.doc.suggestions_of("entity")
            if s.confidence >= self.threshold.value()
        ]
        if not ids:
            self.ctx.message.emit(f"no suggestion at or above {self.threshold.value():.2f}")
            return
        self.ctx.push(DecideSuggestionsCommand(self.ctx, self.doc.id, ids, accept=True))

    def _on_key(self, event: QKeyEvent) -> bool:
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
                   | Qt.KeyboardModifier.MetaModifier):
            return False
        key = event.key()
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.delete_at_cursor()
            return True
        if key == ACCEPT_KEY and mods & Qt.KeyboardModifier.ShiftModifier:
            self.accept_above_threshold()
            return True
        if key == ACCEPT_KEY:
            self.decide_next(True)
            return True
        if key == REJECT_KEY:
            self.decide_next(False)
            return True
        label = self.label_bar.label_for_key(event.text())
        if label is not None:
            self.apply_label(label)
            return True
        return False

    def _on_context_menu(self, cp: int, global_pos: QPoint) -> None:
        if self.doc is None or self.task is None:
            return
        menu = QMenu(self)
        entity = self.entity_at(cp)
        suggestion = self.suggestion_at(cp)
        start, end = self.editor.selection_code_points()
        if entity is not None:
            self.editor.set_cursor_code_point(cp)
            sub = menu.addMenu("Change label")
            for lab in self.task.labels:
                act = sub.addAction(lab.name)
                act.setEnabled(lab.name != entity.label)
                act.triggered.connect(lambda _=False, n=lab.name: self.apply_label(n))
            menu.addAction("Delete entity\tDel", self.delete_at_cursor)
        elif suggestion is not None:
            self.editor.set_cursor_code_point(cp)
            menu.addAction(f"Accept {suggestion.label}\tA", lambda: self.decide_next(True))
            menu.addAction("Reject\tR", lambda: self.decide_next(False))
            sub = menu.addMenu("Accept as")
            for lab in self.task.labels:
                sub.addAction(lab.name).triggered.connect(
                    lambda _=False, n=lab.name: self.apply_label(n)
                )
        elif end > start:
            sub = menu.addMenu("Label selection as")
            for lab in self.task.labels:
                sub.addAction(lab.name).triggered.connect(
                    lambda _=False, n=lab.name: self.apply_label(n)
                )
        menu.addSeparator()
        menu.addAction("Copy", self.editor.copy)
        menu.exec(global_pos)
