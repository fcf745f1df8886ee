"""The sentences view: a note with its sentences, and a class (or several) for each.

The note is one read-only text in which every sentence is a span: the colour of its class,
a dashed tint of the suggested class when only the model has one, a light neutral tint when
it has neither; the current sentence has a frame. Below it a table lists the sentences with
their classes and the model's suggestion and probability. Neither is a widget per sentence
(qt_sentence_parts.py), so a note of thousands of sentences opens and scrolls at once.

Keys: a class's key gives the current sentence that class and goes to the next one (a
multi-label task: ticks or unticks it and stays); Up / Down or Enter move between sentences;
A / R accept or reject the suggestion of the sentence; Shift+A accepts every suggestion of
the note at or above the threshold; Delete clears; Ctrl+B splits the sentence at the caret,
Ctrl+M merges it with the next. Every edit is an undoable command.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from annotator.app.qt_commands import (
    AcceptAboveCommand,
    ChangeCommand,
    DecideSuggestionsCommand,
    MergeSentencesCommand,
    QtProjectContext,
    SetSentenceClassesCommand,
    SplitSentenceCommand,
)
from annotator.app.qt_labels import QtLabelBar
from annotator.app.qt_sentence_parts import (
    UNKNOWN_COLOR,
    QtSentenceTable,
    QtSentenceText,
    SentenceTableModel,
    first_to_label,
    one_line,
    sentence_index_at,
    suggestion_labels_are,
    suggestion_text,
)
from annotator.app.qt_span_text import SpanStyle
from core.project import DocumentView, SuggestionView, TaskInfo
from core.types import SentenceLabel

SUGGESTION_KIND = "sentence"  # the kind of the suggestions this view reviews
# The faint tints of sentences without a class or suggestion, every other one darker, so
# where one ends and the next begins shows in either theme.
NEUTRAL_COLORS = ("#C8C8C8", "#404040")
SPLIT_KEY = "Ctrl+B"  # "break" the sentence at the caret
MERGE_KEY = "Ctrl+M"


# --- the view ------------------------------------------------------------------------------


class QtSentencesView(QWidget):
    """Sentence classes for one note at a time: keys class the current sentence and move on."""

    def __init__(self, ctx: QtProjectContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.task: TaskInfo | None = None
        self.doc: DocumentView | None = None
        self.sentences: tuple[SentenceLabel, ...] = ()
        self.current = 0  # index into self.sentences
        self._suggestions: dict[tuple[int, int], SuggestionView] = {}

        self.label_bar = QtLabelBar()
        self.label_bar.labelClicked.connect(self.apply_label)
        self.text = QtSentenceText()
        self.text.key_filter = self.handle_key
        self.text.cursorMoved.connect(self._on_cursor_moved)
        self.text.contextRequested.connect(self._on_context_menu)
        self.model = SentenceTableModel(self)
        self.table = QtSentenceTable(self.handle_key)
        self.table.setModel(self.model)
        self.table.clicked.connect(lambda index: self.set_current(index.row()))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(SentenceTableModel.TEXT, QHeaderView.ResizeMode.Stretch)
        for col in (SentenceTableModel.NUMBER, SentenceTableModel.CLASS,
                    SentenceTableModel.SUGGESTION):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("sentencesSplitter")
        self.splitter.addWidget(self.text)
        self.splitter.addWidget(self.table)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)

        self.act_split = self._action("Split the sentence at the caret", SPLIT_KEY,
                                      self.split_at_caret)
        self.act_merge = self._action("Merge the sentence with the next", MERGE_KEY,
                                      self.merge_with_next)
        self.split_button = QPushButton(f"Split at caret ({SPLIT_KEY})")
        self.split_button.setToolTip("Click where the new sentence starts, then split")
        self.split_button.clicked.connect(self.split_at_caret)
        self.merge_button = QPushButton(f"Merge with next ({MERGE_KEY})")
        self.merge_button.clicked.connect(self.merge_with_next)
        self.threshold = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.05, value=0.8)
        self.threshold.setToolTip("Confidence threshold for \"Accept all ≥\"")
        self.accept_all = QPushButton("Accept all ≥")
        self.accept_all.setToolTip("Accept every sentence suggestion of this note at or above "
                                   "the threshold (Shift+A)")
        self.accept_all.clicked.connect(self.accept_above_threshold)
        self.suggestion_count = QLabel()
        for b in (self.split_button, self.merge_button, self.accept_all):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.threshold.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        edit_row = QHBoxLayout()
        edit_row.addWidget(self.split_button)
        edit_row.addWidget(self.merge_button)
        edit_row.addStretch(1)
        review_row = QHBoxLayout()
        review_row.addWidget(self.suggestion_count, 1)
        review_row.addWidget(self.accept_all)
        review_row.addWidget(self.threshold)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.hint = QLabel()
        self.hint.setObjectName("hintLabel")
        self.hint.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.label_bar)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.info)
        layout.addLayout(edit_row)
        layout.addLayout(review_row)
        layout.addWidget(self.hint)
        ctx.returnTo.connect(self._on_return_to)

    def _action(self, text: str, key: str, slot: Any) -> QAction:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(key))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    # --- display ---------------------------------------------------------------------------

    def set_task(self, task: TaskInfo | None) -> None:
        self.task = task
        self.label_bar.set_labels(task.labels if task else ())
        names = [lab.name for lab in task.labels] if task else []
        metrics = self.table.fontMetrics()
        widest = max((metrics.horizontalAdvance(n) for n in names), default=60)
        self.table.setColumnWidth(SentenceTableModel.NUMBER, metrics.horizontalAdvance("0000") + 12)
        self.table.setColumnWidth(SentenceTableModel.CLASS, max(70, widest + 20))
        self.table.setColumnWidth(SentenceTableModel.SUGGESTION,
                                  max(110, widest + metrics.horizontalAdvance(" 100%") + 20))
        multi = bool(task and task.multi_label)
        self.hint.setText(
            ("A class's key ticks or unticks it on the sentence (several allowed); Enter or ↓ "
             "goes to the next sentence." if multi else
             "A class's key sets the sentence's class and goes to the next sentence.")
            + " ↑ / ↓ previous / next sentence · A / R accept / reject its suggestion · "
            "Shift+A accept all ≥ threshold · Del clear · J / K next / previous note"
        )
        self._refresh()

    def show_document(self, doc: DocumentView | None, *, keep_cursor: bool = False) -> None:
        same = doc is not None and self.doc is not None and doc.id == self.doc.id
        # The caret is always in the current sentence (moving to one puts it there): after an
        # edit the current sentence is the one that holds it now (after a split at the caret:
        # the new sentence that starts there).
        held = self.text.cursor_code_point() if same else None
        if not same:
            self.text.set_document_text(doc.text if doc else "")
        self.doc = doc
        self.sentences = doc.sentences if doc else ()
        self._suggestions = {
            (s.start, s.end): s for s in (doc.suggestions_of(SUGGESTION_KIND) if doc else ())
        }
        self.current = (sentence_index_at(self.sentences, held) if held is not None
                        else first_to_label(self.sentences))
        self._refresh()
        if not same:
            self._show_current(move_caret=True)

    def _color(self, label: str) -> str:
        info = self.task.label(label) if self.task else None
        return info.color if info else UNKNOWN_COLOR

    def suggestion_for(self, s: SentenceLabel) -> SuggestionView | None:
        """The pending suggestion of sentence ``s`` (one made for exactly its extent)."""
        return self._suggestions.get((s.start, s.end))

    def _span(self, s: SentenceLabel, index: int) -> SpanStyle:
        text = one_line(self.doc.text[s.start:s.end]) if self.doc else ""
        short = text if len(text) <= 80 else text[:77] + "…"
        suggestion = self.suggestion_for(s)
        model = f"\nmodel suggests {suggestion_text(suggestion)}" if suggestion else ""
        if s.labels:
            return SpanStyle(s.start, s.end, self._color(s.labels[0]),
                             f"{', '.join(s.labels)}: “{short}”{model}")
        if suggestion is not None:
            return SpanStyle(s.start, s.end, self._color(suggestion.label),
                             f"no class yet: “{short}”{model}", suggestion=True)
        return SpanStyle(s.start, s.end, NEUTRAL_COLORS[index % 2], f"no class yet: “{short}”",
                         faint=True)

    def _refresh(self) -> None:
        """Everything drawn from the document: the spans, the table, the counts."""
        self.text.set_spans([self._span(s, i) for i, s in enumerate(self.sentences)])
        self.model.set_document(self.doc.text if self.doc else "", self.sentences,
                                self._suggestions, self.task)
        shown = sum(1 for s in self.sentences if self.suggestion_for(s) is not None)
        self.suggestion_count.setText(
            f"{shown} sentence suggestion{'s' if shown != 1 else ''} to review" if shown
            else "No pending suggestions"
        )
        self.accept_all.setEnabled(bool(shown))
        self.current = max(0, min(self.current, len(self.sentences) - 1))
        self._show_current(move_caret=False)

    def current_sentence(self) -> SentenceLabel | None:
        return self.sentences[self.current] if self.sentences else None

    def _show_current(self, *, move_caret: bool) -> None:
        s = self.current_sentence()
        self.text.set_focus_span(self._span(s, self.current) if s is not None else None)
        self.merge_button.setEnabled(s is not None and self.current + 1 < len(self.sentences))
        self.split_button.setEnabled(s is not None)
        if s is None:
            self.table.clearSelection()
            self.info.setText("This note has no sentences." if self.doc else "")
            return
        if move_caret:
            cp = self.text.cursor_code_point()
            if not s.start <= cp < s.end:
                self.text.blockSignals(True)
                self.text.set_cursor_code_point(s.start)
                self.text.blockSignals(False)
        self.table.selectRow(self.current)
        self.table.scrollTo(self.model.index(self.current, 0))
        self.info.setText(self._describe(s))

    def _describe(self, s: SentenceLabel) -> str:
        n = len(self.sentences)
        what = (f"<b>{', '.join(s.labels)}</b>" if s.labels else "no class yet")
        suggestion = self.suggestion_for(s)
        model = (f" · model suggests <b>{suggestion_text(suggestion)}</b> — A accept · R reject"
                 if suggestion else "")
        return f"Sentence {self.current + 1} of {n}: {what}{model}"

    # --- moving ----------------------------------------------------------------------------

    def set_current(self, index: int) -> None:
        if not self.sentences:
            return
        self.current = max(0, min(index, len(self.sentences) - 1))
        self._show_current(move_caret=True)

    def move(self, delta: int) -> bool:
        """To the next (``delta`` 1) or previous sentence; False at either end."""
        target = self.current + delta
        if not 0 <= target < len(self.sentences):
            if self.sentences:
                self.ctx.message.emit(
                    "last sentence of the note: J for the next note" if delta > 0
                    else "first sentence of the note"
                )
            return False
        self.set_current(target)
        return True

    def _on_cursor_moved(self, cp: int) -> None:
        if self.sentences:
            index = sentence_index_at(self.sentences, cp)
            if index != self.current:
                self.current = index
                self._show_current(move_caret=False)

    def _on_return_to(self, doc_id: int, cp: int) -> None:
        """An edit of this note undone or redone: back to the sentence it changed."""
        if self.doc is not None and doc_id == self.doc.id and self.sentences:
            self.set_current(sentence_index_at(self.sentences, cp))

    # --- edits -----------------------------------------------------------------------------

    def _push(self, command: ChangeCommand, focus: int) -> bool:
        command.focus = focus
        return self.ctx.push(command)

    def apply_label(self, name: str) -> None:
        """Give the current sentence the class ``name`` and go to the next sentence (multi-
        label: tick or untick it and stay). A pending suggestion of an unlabelled sentence
        is decided by it: accepted if it is the class suggested, else edited to it."""
        s = self.current_sentence()
        if self.doc is None or self.task is None or s is None:
            return
        suggestion = self.suggestion_for(s)
        if self.task.multi_label:
            labels = [x for x in s.labels if x != name] if name in s.labels else [*s.labels, name]
            self._push(SetSentenceClassesCommand(self.ctx, self.doc.id, s.start, s.end, labels),
                       s.start)
            return
        if s.labels == (name,):
            self.move(1)  # already that class: nothing to write
            return
        if suggestion is not None and not s.labels:
            command: ChangeCommand = DecideSuggestionsCommand(
                self.ctx, self.doc.id, [suggestion.id], accept=True,
                label=None if suggestion_labels_are(suggestion, name) else name,
            )
        else:
            command = SetSentenceClassesCommand(self.ctx, self.doc.id, s.start, s.end, [name])
        if self._push(command, s.start):
            self.move(1)

    def clear_current(self) -> None:
        s = self.current_sentence()
        if self.doc is None or s is None:
            return
        if not s.labels:
            self.ctx.message.emit("this sentence has no class to clear")
            return
        self._push(SetSentenceClassesCommand(self.ctx, self.doc.id, s.start, s.end, []), s.start)

    def decide(self, accept: bool) -> None:
        """Accept or reject the current sentence's suggestion, then go to the next sentence."""
        s = self.current_sentence()
        if self.doc is None or s is None:
            return
        suggestion = self.suggestion_for(s)
        if suggestion is None:
            self.ctx.message.emit("no suggestion for this sentence")
            return
        command = DecideSuggestionsCommand(self.ctx, self.doc.id, [suggestion.id], accept=accept)
        if self._push(command, s.start):
            self.move(1)

    def accept_above_threshold(self) -> None:
        """Every sentence suggestion of this note at or above the threshold, in one step."""
        if self.doc is None:
            return
        s = self.current_sentence()
        command = AcceptAboveCommand(self.ctx, self.doc.id, SUGGESTION_KIND,
                                     round(self.threshold.value(), 4))
        self._push(command, s.start if s else 0)

    def split_at(self, cp: int) -> None:
        if self.doc is None or not self.sentences:
            return
        self._push(SplitSentenceCommand(self.ctx, self.doc.id, cp), cp)

    def split_at_caret(self) -> None:
        self.split_at(self.text.cursor_code_point())

    def merge_with_next(self) -> None:
        s = self.current_sentence()
        if self.doc is None or s is None:
            return
        if self.current + 1 >= len(self.sentences):
            self.ctx.message.emit("the last sentence has no next one to merge with")
            return
        self._push(MergeSentencesCommand(self.ctx, self.doc.id, s.start), s.start)

    def merge_with_previous(self) -> None:
        if self.doc is None or self.current == 0 or not self.sentences:
            return
        previous = self.sentences[self.current - 1]
        if self._push(MergeSentencesCommand(self.ctx, self.doc.id, previous.start),
                      previous.start):
            self.set_current(sentence_index_at(self.sentences, previous.start))

    # --- keys and menu ---------------------------------------------------------------------

    def handle_key(self, event: QKeyEvent) -> bool:
        """The view's keys (from the text or the table); False: not one of them."""
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
                   | Qt.KeyboardModifier.MetaModifier):
            return False
        key = event.key()
        shift = bool(mods & Qt.KeyboardModifier.ShiftModifier)
        if key in (Qt.Key.Key_Down, Qt.Key.Key_Up) and not shift:
            self.move(1 if key == Qt.Key.Key_Down else -1)
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.move(1)
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.clear_current()
        elif key == Qt.Key.Key_A and shift:
            self.accept_above_threshold()
        elif key == Qt.Key.Key_A:
            self.decide(True)
        elif key == Qt.Key.Key_R:
            self.decide(False)
        elif (label := self.label_bar.label_for_key(event.text())) is not None:
            self.apply_label(label)
        else:
            return False
        return True

    def _on_context_menu(self, cp: int, global_pos: QPoint) -> None:
        if self.doc is None or not self.sentences:
            return
        self.text.set_cursor_code_point(cp)  # the sentence clicked is the current one
        s = self.current_sentence()
        assert s is not None
        menu = QMenu(self)
        if self.task is not None:
            sub = menu.addMenu("Class")
            for lab in self.task.labels:
                act = sub.addAction(lab.name)
                act.setCheckable(True)
                act.setChecked(lab.name in s.labels)
                act.triggered.connect(lambda _=False, n=lab.name: self.apply_label(n))
        suggestion = self.suggestion_for(s)
        if suggestion is not None:
            menu.addAction(f"Accept {suggestion_text(suggestion)}\tA", lambda: self.decide(True))
            menu.addAction("Reject the suggestion\tR", lambda: self.decide(False))
        clear = menu.addAction("Clear the class\tDel", self.clear_current)
        clear.setEnabled(bool(s.labels))
        menu.addSeparator()
        menu.addAction(f"Split the sentence here\t{SPLIT_KEY}", lambda: self.split_at(cp))
        merge = menu.addAction(f"Merge with the next sentence\t{MERGE_KEY}", self.merge_with_next)
        merge.setEnabled(self.current + 1 < len(self.sentences))
        back = menu.addAction("Merge with the previous sentence", self.merge_with_previous)
        back.setEnabled(self.current > 0)
        menu.addSeparator()
        menu.addAction("Copy", self.text.copy)
        menu.exec(global_pos)
