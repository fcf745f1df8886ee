"""A read-only text view that colours spans given in code-point offsets.

Only the spans inside the visible blocks become ExtraSelections (recomputed on scroll and
resize), so a 50,000-character note with hundreds of spans scrolls without lag.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QPoint, Qt, Signal
from PySide6.QtGui import QColor, QFont, QKeyEvent, QMouseEvent, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit, QToolTip, QWidget

from annotator.app.offsets import Utf16Index, display_text, snap_to_words
from annotator.app.qt_theme import text_color_for


@dataclass(frozen=True)
class SpanStyle:
    """One span to draw: ``text[start:end]`` (code points)."""

    start: int
    end: int
    color: str
    tooltip: str
    suggestion: bool = False
    current: bool = False


class QtSpanTextEdit(QPlainTextEdit):
    """Read-only, selectable text; spans drawn as backgrounds (human) or dashed underlines on a
    light tint (suggestions). Positions in and out are code points of the stored text."""

    keyPressed = Signal(QKeyEvent)  # keys the view did not use for navigation/selection
    contextRequested = Signal(int, QPoint)  # code point under the mouse, global position
    cursorMoved = Signal(int)  # code point of the cursor

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.DefaultContextMenu)
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.setFont(font)
        self.setCursorWidth(2)
        self._text = ""
        self._index = Utf16Index("")
        self._spans: list[SpanStyle] = []
        self._starts: list[int] = []
        self._max_len = 0
        self.snap_words = True
        self.key_filter: Callable[[QKeyEvent], bool] | None = None
        self.verticalScrollBar().valueChanged.connect(self._update_visible)
        self.cursorPositionChanged.connect(self._on_cursor)

    # --- content ---------------------------------------------------------------------

    def set_document_text(self, text: str) -> None:
        self._text = text
        self._index = Utf16Index(text)
        self._spans = []
        self._starts = []
        self.setPlainText(display_text(text))
        self.moveCursor(QTextCursor.MoveOperation.Start)

    def document_text(self) -> str:
        return self._text

    def set_spans(self, spans: Sequence[SpanStyle]) -> None:
        self._spans = sorted(spans, key=lambda s: (s.start, s.end))
        self._starts = [s.start for s in self._spans]
        self._max_len = max((s.end - s.start for s in self._spans), default=0)
        self._update_visible()

    # --- positions ---------------------------------------------------------------------

    def cursor_code_point(self) -> int:
        return self._index.to_code_point(min(self.textCursor().position(), self._index.utf16_len))

    def selection_code_points(self) -> tuple[int, int]:
        """The selection as code points (start == end when nothing is selected)."""
        c = self.textCursor()
        n = self._index.utf16_len
        return self._index.span_to_code_points(
            min(c.selectionStart(), n), min(c.selectionEnd(), n)
        )

    def select_code_points(self, start: int, end: int) -> None:
        cursor = self.textCursor()
        cursor.setPosition(self._index.to_utf16(start))
        cursor.setPosition(self._index.to_utf16(end), QTextCursor.MoveMode.KeepAnchor)
        self.setTextCursor(cursor)

    def set_cursor_code_point(self, cp: int) -> None:
        cursor = self.textCursor()
        cursor.setPosition(self._index.to_utf16(max(0, min(cp, len(self._text)))))
        self.setTextCursor(cursor)
        self.ensureCursorVisible()

    def code_point_at(self, pos: QPoint) -> int:
        u16 = self.cursorForPosition(pos).position()
        return self._index.to_code_point(min(u16, self._index.utf16_len))

    def spans_at(self, cp: int) -> list[SpanStyle]:
        """The drawn spans containing code point ``cp`` (or ending right at it)."""
        lo = bisect_left(self._starts, cp - self._max_len)
        out = []
        for span in self._spans[lo:]:
            if span.start > cp:
                break
            if span.start <= cp < span.end or (cp == span.end and span.start < cp):
                out.append(span)
        return out

    # --- drawing -----------------------------------------------------------------------

    def visible_range(self) -> tuple[int, int]:
        """Code-point range of the blocks on screen."""
        block = self.firstVisibleBlock()
        if not block.isValid():
            return 0, 0
        start16 = block.position()
        height = self.viewport().height()
        offset = self.contentOffset()
        end16 = start16
        while block.isValid():
            top = self.blockBoundingGeometry(block).translated(offset).top()
            if top > height:
                break
            end16 = block.position() + block.length()
            block = block.next()
        n = self._index.utf16_len
        return self._index.to_code_point(min(start16, n)), self._index.to_code_point(min(end16, n))

    def _update_visible(self) -> None:
        first, last = self.visible_range()
        lo = bisect_left(self._starts, first - self._max_len)
        selections = []
        palette_text = self.palette().text().color()
        # On a dark base a translucent label colour turns muddy under light text: there,
        # human spans are drawn opaque with black or white text (like the label chips) and
        # suggestions get a stronger tint.
        dark = self.palette().base().color().lightness() < 128
        for span in self._spans[lo:]:
            if span.start > last:
                break
            if span.end < first:
                continue
            sel = QTextEdit.ExtraSelection()
            cursor = QTextCursor(self.document())
            cursor.setPosition(self._index.to_utf16(span.start))
            cursor.setPosition(self._index.to_utf16(span.end), QTextCursor.MoveMode.KeepAnchor)
            sel.cursor = cursor
            fmt = QTextCharFormat()
            color = QColor(span.color)
            if span.suggestion:
                if dark:
                    color.setAlpha(150 if span.current else 95)
                else:
                    color.setAlpha(90 if span.current else 45)
                fmt.setBackground(color)
                fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.DashUnderline)
                fmt.setUnderlineColor(QColor(span.color).lighter(130) if dark else QColor(span.color))
                fmt.setFontItalic(True)
            elif dark:
                fmt.setBackground(color if span.current else color.darker(115))
                fmt.setForeground(QColor(text_color_for(span.color)))
            else:
                color.setAlpha(200 if span.current else 140)
                fmt.setBackground(color)
                fmt.setForeground(palette_text)
                if span.current:
                    fmt.setFontUnderline(True)
            sel.format = fmt
            selections.append(sel)
        self.setExtraSelections(selections)

    def resizeEvent(self, event: object) -> None:  # type: ignore[override]
        super().resizeEvent(event)  # type: ignore[arg-type]
        self._update_visible()

    # --- events ------------------------------------------------------------------------

    def _on_cursor(self) -> None:
        self.cursorMoved.emit(self.cursor_code_point())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        super().mouseReleaseEvent(event)
        if self.snap_words and self.textCursor().hasSelection():
            start, end = self.selection_code_points()
            s, e = snap_to_words(self._text, start, end)
            if (s, e) != (start, end) and e > s:
                self.select_code_points(s, e)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self.key_filter is not None and self.key_filter(event):
            event.accept()
            return
        super().keyPressEvent(event)

    def contextMenuEvent(self, event: object) -> None:  # type: ignore[override]
        pos = event.pos()  # type: ignore[attr-defined]
        self.contextRequested.emit(self.code_point_at(pos), event.globalPos())  # type: ignore[attr-defined]

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            spans = self.spans_at(self.code_point_at(event.pos()))  # type: ignore[attr-defined]
            if spans:
                QToolTip.showText(
                    event.globalPos(), "\n".join(s.tooltip for s in spans), self  # type: ignore[attr-defined]
                )
            else:
                QToolTip.hideText()
            return True
        return super().viewportEvent(event)
