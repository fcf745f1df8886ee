"""The parts of the sentences view (qt_sentences.py): the note's text with the current
sentence framed, the table of sentences, and the plain helpers they share.

Neither part is a widget per sentence: the sentences are spans of one text (formats of its
layout, ``QtSpanTextEdit``) and rows of one table model, so a note of thousands of sentences
opens and scrolls at once.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QKeyEvent, QPainter, QPaintEvent, QPen, QTextCursor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QTextEdit, QWidget

from annotator.app.qt_classes import CHOSEN_ALPHA
from annotator.app.qt_span_text import QtSpanTextEdit, SpanStyle
from core.project import SuggestionView, TaskInfo
from core.types import SentenceLabel

UNKNOWN_COLOR = "#888888"  # a class the task no longer has
ModelIndex = QModelIndex | QPersistentModelIndex


# --- plain helpers (no widgets) ------------------------------------------------------------


def sentence_index_at(sentences: Sequence[SentenceLabel], cp: int) -> int:
    """The index of the sentence holding code point ``cp``: the last one starting at or
    before it (the white space after a sentence belongs to it); 0 before the first."""
    starts = [s.start for s in sentences]
    return max(0, bisect_right(starts, cp) - 1)


def first_to_label(sentences: Sequence[SentenceLabel]) -> int:
    """Where labelling a note starts: its first sentence without a class, else the first."""
    return next((i for i, s in enumerate(sentences) if not s.labels), 0)


def suggestion_probabilities(s: SuggestionView) -> dict[str, float]:
    """The model's probability of each class of a sentence suggestion, most likely first
    (an older payload without probabilities: the suggestion's confidence for its label)."""
    probs = {str(k): float(v) for k, v in (s.payload.get("probabilities") or {}).items()}
    for name in s.payload.get("labels") or [s.label]:
        probs.setdefault(str(name), s.confidence)
    return dict(sorted(probs.items(), key=lambda kv: -kv[1]))


def suggested_labels(s: SuggestionView) -> tuple[str, ...]:
    return tuple(str(x) for x in (s.payload.get("labels") or [s.label]) if x)


def suggestion_labels_are(s: SuggestionView, name: str) -> bool:
    """Whether choosing ``name`` is choosing what ``s`` suggests (so it is an accept)."""
    return suggested_labels(s) == (name,)


def suggestion_text(s: SuggestionView) -> str:
    """"Plan 82%" (several classes: "Plan 82%, Finding 61%")."""
    probs = suggestion_probabilities(s)
    return ", ".join(f"{name} {probs.get(name, s.confidence):.0%}" for name in suggested_labels(s))


def one_line(text: str) -> str:
    return " ".join(text.split())


# --- the text ------------------------------------------------------------------------------


class QtSentenceText(QtSpanTextEdit):
    """The note's text with a frame around the current sentence (drawn over the visible
    lines only), which is also drawn a little stronger than the others."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.snap_words = False
        self._focus: SpanStyle | None = None

    def set_focus_span(self, span: SpanStyle | None) -> None:
        if span != self._focus:
            self._focus = span
            self._update_current()
            self.viewport().update()

    def focus_span(self) -> SpanStyle | None:
        return self._focus

    def _update_current(self) -> None:
        """The current sentence as the one extra selection (no span is marked current)."""
        span = getattr(self, "_focus", None)
        if span is None or span.end <= span.start:
            self.setExtraSelections([])
            return
        sel = QTextEdit.ExtraSelection()
        cursor = QTextCursor(self.document())
        cursor.setPosition(self.utf16_of(span.start))
        cursor.setPosition(self.utf16_of(span.end), QTextCursor.MoveMode.KeepAnchor)
        sel.cursor = cursor
        sel.format = self._span_format(span.color, suggestion=span.suggestion, current=True,
                                       faint=span.faint)
        self.setExtraSelections([sel])

    def focus_rects(self) -> list[QRectF]:
        """The current sentence's part of each visible line, in viewport coordinates."""
        span = self._focus
        if span is None or span.end <= span.start:
            return []
        start16, end16 = self.utf16_of(span.start), self.utf16_of(span.end)
        offset = self.contentOffset()
        top, bottom = 0, self.viewport().height()
        rects: list[QRectF] = []
        block = self.document().findBlock(start16)
        while block.isValid() and block.position() < end16:
            geometry = self.blockBoundingGeometry(block).translated(offset)
            if geometry.top() > bottom:
                break
            if geometry.bottom() >= top and block.isVisible():
                layout = block.layout()
                pos = block.position()
                a = max(start16, pos) - pos
                b = min(end16, pos + block.length() - 1) - pos
                first = layout.lineForTextPosition(a)
                n = first.lineNumber() if first.isValid() else 0
                while n < layout.lineCount():
                    line = layout.lineAt(n)
                    n += 1
                    if line.textStart() >= b:
                        break
                    la = max(a, line.textStart())
                    lb = min(b, line.textStart() + line.textLength())
                    if lb <= la:
                        continue
                    x1 = float(line.cursorToX(la)[0])
                    x2 = float(line.cursorToX(lb)[0])
                    rect = QRectF(min(x1, x2), line.y(), abs(x2 - x1), line.height())
                    rect = rect.translated(geometry.topLeft())
                    if rect.bottom() >= top and rect.top() <= bottom:
                        rects.append(rect)
            block = block.next()
        return rects

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        rects = self.focus_rects()
        if not rects:
            return
        painter = QPainter(self.viewport())
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(self.palette().highlight().color(), 2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for rect in rects:
            painter.drawRoundedRect(rect.adjusted(-2, 0, 2, 0), 3, 3)
        painter.end()


# --- the table -----------------------------------------------------------------------------


class SentenceTableModel(QAbstractTableModel):
    """One row per sentence of the document shown: number, text, classes, suggestion."""

    COLUMNS = ("#", "Sentence", "Class", "Model suggests")
    NUMBER, TEXT, CLASS, SUGGESTION = range(4)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.text = ""
        self.sentences: tuple[SentenceLabel, ...] = ()
        self.suggestions: dict[tuple[int, int], SuggestionView] = {}
        self.task: TaskInfo | None = None

    def set_document(self, text: str, sentences: Sequence[SentenceLabel],
                     suggestions: dict[tuple[int, int], SuggestionView],
                     task: TaskInfo | None) -> None:
        self.beginResetModel()
        self.text = text
        self.sentences = tuple(sentences)
        self.suggestions = dict(suggestions)
        self.task = task
        self.endResetModel()

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.sentences)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None

    def color_of(self, label: str) -> str:
        info = self.task.label(label) if self.task else None
        return info.color if info else UNKNOWN_COLOR

    def data(self, index: ModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.sentences):
            return None
        s = self.sentences[index.row()]
        col = index.column()
        suggestion = self.suggestions.get((s.start, s.end))
        if role == Qt.ItemDataRole.DisplayRole:
            if col == self.NUMBER:
                return index.row() + 1
            if col == self.TEXT:
                return one_line(self.text[s.start:s.end])
            if col == self.CLASS:
                return ", ".join(s.labels)
            if col == self.SUGGESTION:
                return suggestion_text(suggestion) if suggestion else ""
        elif role == Qt.ItemDataRole.BackgroundRole and col == self.CLASS and s.labels:
            color = QColor(self.color_of(s.labels[0]))
            color.setAlphaF(CHOSEN_ALPHA)  # the text's own colour stays readable on it
            return color
        elif role == Qt.ItemDataRole.FontRole and col == self.SUGGESTION and suggestion:
            font = QFont()
            font.setItalic(True)
            return font
        elif role == Qt.ItemDataRole.ToolTipRole:
            if col == self.TEXT:
                return self.text[s.start:s.end]
            if col == self.SUGGESTION and suggestion:
                return "Model: " + " · ".join(
                    f"{k} {v:.0%}" for k, v in suggestion_probabilities(suggestion).items()
                )
        elif role == Qt.ItemDataRole.TextAlignmentRole and col == self.NUMBER:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class QtSentenceTable(QTableView):
    """The sentences as rows; clicking one makes it current; keys go to ``key_filter``."""

    def __init__(self, key_filter: Callable[[QKeyEvent], bool]) -> None:
        super().__init__()
        self._key_filter = key_filter
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the keys stay with the text
        self.setWordWrap(False)
        self.setAlternatingRowColors(True)
        self.verticalHeader().hide()
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.horizontalHeader().setHighlightSections(False)

    def keyboardSearch(self, search: str) -> None:
        del search  # letters are label keys here, not a search

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self._key_filter(event):
            event.accept()
            return
        super().keyPressEvent(event)
