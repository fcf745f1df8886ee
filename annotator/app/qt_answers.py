"""The answers view: a passage, its questions, and each question's answer span."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QKeyEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from annotator.app.offsets import snap_to_words
from annotator.app.qt_commands import (
    AddQuestionCommand,
    DecideSuggestionsCommand,
    DeleteQuestionCommand,
    QtProjectContext,
    SetAnswerCommand,
)
from annotator.app.qt_span_text import QtSpanTextEdit, SpanStyle
from core.project import DocumentView, QuestionView, SuggestionView

ANSWER_COLOR = "#009E73"
SUGGESTION_COLOR = "#E69F00"


class QtAnswersView(QWidget):
    """Select a question, select its answer in the passage and press Enter (or U: no answer)."""

    def __init__(self, ctx: QtProjectContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.doc: DocumentView | None = None
        self.questions = QListWidget()
        self.questions.setWordWrap(True)
        self.questions.currentRowChanged.connect(lambda _row: self._redraw())
        self.new_question = QLineEdit(placeholderText="Type a question and press Enter")
        self.new_question.returnPressed.connect(self.add_question)
        add = QPushButton("Add")
        add.clicked.connect(self.add_question)
        delete = QPushButton("Delete")
        delete.setToolTip("Delete the selected question")
        delete.clicked.connect(self.delete_question)
        add_row = QHBoxLayout()
        add_row.addStretch(1)
        add_row.addWidget(add)
        add_row.addWidget(delete)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(QLabel("Questions"))
        left_layout.addWidget(self.questions, 1)
        left_layout.addWidget(self.new_question)
        left_layout.addLayout(add_row)

        self.passage = QtSpanTextEdit()
        self.passage.key_filter = self._on_key
        self.set_button = QPushButton("Set answer (Enter)")
        self.set_button.setToolTip("Use the selected words as the answer of the selected question")
        self.set_button.clicked.connect(self.set_answer_from_selection)
        self.none_button = QPushButton("No answer (U)")
        self.none_button.setToolTip("The passage does not answer this question")
        self.none_button.clicked.connect(self.mark_unanswerable)
        self.clear_button = QPushButton("Clear (Del)")
        self.clear_button.clicked.connect(self.clear_answer)
        self.accept_button = QPushButton("Accept suggestion (A)")
        self.accept_button.clicked.connect(lambda: self.decide(True))
        self.reject_button = QPushButton("Reject (R)")
        self.reject_button.clicked.connect(lambda: self.decide(False))
        # Two short rows (answering, reviewing) rather than one long one, so the view
        # fits beside the document list without forcing the window wider.
        buttons = QVBoxLayout()
        for group in ((self.set_button, self.none_button, self.clear_button),
                      (self.accept_button, self.reject_button)):
            row = QHBoxLayout()
            for b in group:
                b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
                row.addWidget(b)
            row.addStretch(1)
            buttons.addLayout(row)
        self.info = QLabel()
        self.info.setObjectName("hintLabel")
        self.info.setWordWrap(True)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.passage, 1)
        right_layout.addLayout(buttons)
        right_layout.addWidget(self.info)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("answersSplitter")
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([260, 520])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.splitter)

    # --- display -----------------------------------------------------------------------------

    def show_document(self, doc: DocumentView | None, *, keep_cursor: bool = False) -> None:
        same = doc is not None and self.doc is not None and doc.id == self.doc.id
        row = self.questions.currentRow() if same else 0
        if not same:
            self.passage.set_document_text(doc.text if doc else "")
        self.doc = doc
        self.questions.blockSignals(True)
        self.questions.clear()
        for q in doc.questions if doc else ():
            item = QListWidgetItem(self._question_label(q))
            item.setData(Qt.ItemDataRole.UserRole, q.id)
            if q.status == "open":
                item.setForeground(QColor("#D55E00"))
            self.questions.addItem(item)
        self.questions.blockSignals(False)
        if self.questions.count():
            self.questions.setCurrentRow(max(0, min(row, self.questions.count() - 1)))
        self._redraw()

    def _question_label(self, q: QuestionView) -> str:
        assert self.doc is not None
        if q.answers:
            a = q.answers[0]
            answer = f"→ “{self.doc.text[a.start:a.end]}”"
        elif q.is_impossible:
            answer = "→ no answer in the passage"
        else:
            answer = "→ (not answered yet)"
        mark = " ◆" if self._suggestion_for(q.id) else ""
        return f"{q.text}{mark}\n   {answer}"

    def current_question(self) -> QuestionView | None:
        if self.doc is None:
            return None
        row = self.questions.currentRow()
        return self.doc.questions[row] if 0 <= row < len(self.doc.questions) else None

    def _suggestion_for(self, question_id: int) -> SuggestionView | None:
        if self.doc is None:
            return None
        return next(
            (s for s in self.doc.suggestions_of("answer") if s.question_id == question_id), None
        )

    def _redraw(self) -> None:
        q = self.current_question()
        spans: list[SpanStyle] = []
        info = "Add a question, select it, select its answer in the passage and press Enter."
        if q is not None and self.doc is not None:
            for a in q.answers:
                spans.append(SpanStyle(a.start, a.end, ANSWER_COLOR, f"answer to: {q.text}"))
            s = self._suggestion_for(q.id)
            if s is not None and not s.payload.get("no_answer"):
                spans.append(
                    SpanStyle(
                        s.start, s.end, SUGGESTION_COLOR,
                        f"suggested answer ({s.confidence:.0%} confident)", suggestion=True,
                    )
                )
            if s is not None:
                what = ("no answer" if s.payload.get("no_answer")
                        else f"“{self.doc.text[s.start:s.end]}”")
                info = (f"Model suggests {what} ({s.confidence:.0%}) — A accept · R reject")
            elif q.answers:
                info = "Answered. Select other words and press Enter to change it."
            elif q.is_impossible:
                info = "Marked as not answerable from this passage."
            else:
                info = "Select the answer in the passage and press Enter, or U for no answer."
            if q.answers:
                self.passage.set_cursor_code_point(q.answers[0].start)
            elif s is not None and not s.payload.get("no_answer"):
                self.passage.set_cursor_code_point(s.start)
        self.passage.set_spans(spans)
        self.info.setText(info)
        has_s = q is not None and self._suggestion_for(q.id) is not None
        self.accept_button.setEnabled(has_s)
        self.reject_button.setEnabled(has_s)
        for b in (self.set_button, self.none_button, self.clear_button):
            b.setEnabled(q is not None)

    # --- actions -------------------------------------------------------------------------------

    def add_question(self) -> None:
        text = self.new_question.text().strip()
        if self.doc is None or not text:
            return
        same = " ".join(text.split()).casefold()
        for row, q in enumerate(self.doc.questions):
            if " ".join(q.text.split()).casefold() == same:
                # Refused with a message rather than a second copy of the question.
                self.questions.setCurrentRow(row)
                self.ctx.message.emit(f"this passage already has the question “{q.text}”")
                return
        if self.ctx.push(AddQuestionCommand(self.ctx, self.doc.id, text)):
            self.new_question.clear()
            self.questions.setCurrentRow(self.questions.count() - 1)
            self.passage.setFocus()

    def delete_question(self) -> None:
        q = self.current_question()
        if self.doc is not None and q is not None:
            self.ctx.push(DeleteQuestionCommand(self.ctx, self.doc.id, q.id))

    def set_answer_from_selection(self) -> None:
        q = self.current_question()
        if self.doc is None or q is None:
            self.ctx.message.emit("select or add a question first")
            return
        start, end = self.passage.selection_code_points()
        start, end = snap_to_words(self.doc.text, start, end)
        if end <= start:
            self.ctx.message.emit("select the answer's words in the passage first")
            return
        self.ctx.push(SetAnswerCommand(self.ctx, self.doc.id, q.id, start, end))

    def mark_unanswerable(self) -> None:
        q = self.current_question()
        if self.doc is not None and q is not None:
            self.ctx.push(SetAnswerCommand(self.ctx, self.doc.id, q.id, None, None))

    def clear_answer(self) -> None:
        q = self.current_question()
        if self.doc is not None and q is not None:
            self.ctx.push(SetAnswerCommand(self.ctx, self.doc.id, q.id, None, None, clear=True))

    def decide(self, accept: bool) -> None:
        q = self.current_question()
        s = self._suggestion_for(q.id) if q else None
        if self.doc is None or s is None:
            self.ctx.message.emit("no suggested answer for this question")
            return
        self.ctx.push(DecideSuggestionsCommand(self.ctx, self.doc.id, [s.id], accept=accept))

    def _on_key(self, event: QKeyEvent) -> bool:
        if event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier):
            return False
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.set_answer_from_selection()
        elif key == Qt.Key.Key_U:
            self.mark_unanswerable()
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.clear_answer()
        elif key == Qt.Key.Key_A:
            self.decide(True)
        elif key == Qt.Key.Key_R:
            self.decide(False)
        else:
            return False
        return True
