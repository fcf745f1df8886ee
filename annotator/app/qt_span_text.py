"""A read-only text view that colours spans given in code-point offsets.

The spans are formats of the text blocks' layouts (as a syntax highlighter sets them), set
again only for the blocks whose spans changed; the one under the cursor is an extra
selection on top. So a 50,000-character note with 1,800 spans, even one without line
breaks, scrolls without work of ours (see benchmarks/bench_gui_long_note.py).

Spans marked ``editable`` can be resized: drag an edge (the mouse pointer becomes a resize
arrow over it), or press Alt+Left/Right to move the edge of the span under the cursor that is
nearer the cursor by one word (the cursor then sits on that edge, so the next press moves it
again; a one-word span grows in the arrow's direction). Alt alone, as window managers bind
Shift+Alt and Ctrl+Alt with the arrows (openbox, GNOME, Xfce). The view only reports the new
extent (``spanResized``), snapped to words; the owner changes the store.

A span with a non-default attribute value (``marked``) gets a wavy underline in the
attribute colour, in the same block formats; its ``badge`` (short text such as "neg") is a
small tag painted after the span's last character, in a gap the format leaves there (letter
spacing on that character), so it covers no text. Only the badges of the lines on screen are
painted.

With ``stack_overlaps`` (the entities view), spans that share characters (nested or
crossing entities, a suggestion over an entity) are put on rows (:func:`stack_rows`): row 0,
the outermost, is drawn as above, in the block formats (row-0 spans never overlap one
another, so each character has one background); a span on row d > 0 is a bar in its label
colour under its text, the d-th from the bottom of the line (dashed for a suggestion),
painted for the lines on screen only, and marked, when it is the current one, by its own
tint on top (an extra selection) and a thicker bar. Its badge's gap is cut into the formats
of the row-0 span it sits in. So every span stays visible and a long note still costs
nothing on scroll but the few bars on screen.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QPoint, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QTextCharFormat,
    QTextCursor,
    QTextLayout,
    QTextLine,
)
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit, QToolTip, QWidget

from annotator.app.offsets import Utf16Index, display_text, snap_to_words
from annotator.app.qt_theme import attribute_colors, text_color_for
from core.words import move_edge

# Background alpha of a span's label colour: [dark base][current] for suggestions,
# [current] for human spans on a light base (on a dark one they are opaque). Qt draws an
# extra selection's format merged over the text's own, not composited with it, so the
# current span's alpha is its final one.
_SUGGESTION_ALPHA = {False: {False: 45, True: 90}, True: {False: 95, True: 150}}
_HUMAN_ALPHA = {False: 140, True: 200}
# [dark base][current] for faint spans (a sentence without a class: only its extent shows).
_FAINT_ALPHA = {False: {False: 40, True: 80}, True: {False: 50, True: 100}}
EDGE_GRAB_PX = 4  # how close to a span's edge the mouse must be to drag it
EDGE_KEYS = {Qt.Key.Key_Left: -1, Qt.Key.Key_Right: 1}  # with Alt: move an edge one word
BADGE_SCALE = 0.7  # the badge's font size, as a share of the text's
BADGE_PAD_PX = 3  # space each side of the badge's text inside its tag
BAR_PX = 3  # the height of a nested span's bar (the current one's: BAR_PX + 1)
BAR_GAP_PX = 1  # between two rows of bars, and left free at each end of a bar


def _x_of(line: QTextLine, position: int) -> float:
    """The x of a position of a block on ``line`` (PySide6 returns ``(x, position)``)."""
    x = line.cursorToX(position)
    return float(x[0] if isinstance(x, tuple) else x)


def stack_rows(extents: Sequence[tuple[int, int]]) -> list[int]:
    """The row each span is drawn on, spans given as ``(start, end)`` sorted by start, the
    longer first at the same start: the least row that no span still open holds and that
    lies below every open span containing this one. Spans sharing a character never share
    a row, and a span inside another is on a higher row than it (row 0: the outermost)."""
    rows: list[int] = []
    open_: list[tuple[int, int, int]] = []  # (start, end, row) of the spans not ended yet
    for start, end in extents:
        open_ = [o for o in open_ if o[1] > start]
        floor = max((row + 1 for s, e, row in open_ if s <= start and e >= end), default=0)
        taken = {row for _s, _e, row in open_}
        row = floor
        while row in taken:
            row += 1
        open_.append((start, end, row))
        rows.append(row)
    return rows


# How a range of a block looks: colour, suggestion, faint, marked, gap after it (px; a badge).
_Look = tuple[str, bool, bool, bool, float]


@dataclass(frozen=True)
class SpanStyle:
    """One span to draw: ``text[start:end]`` (code points)."""

    start: int
    end: int
    color: str
    tooltip: str
    suggestion: bool = False
    current: bool = False
    editable: bool = False  # its edges can be dragged / moved with the keyboard
    faint: bool = False  # a light tint only: where a thing is, not what it is
    marked: bool = False  # an attribute has a value other than its default: a wavy underline
    badge: str = ""  # short text painted after the span (what the mark means), or none


class QtSpanTextEdit(QPlainTextEdit):
    """Read-only, selectable text; spans drawn as backgrounds (human) or dashed underlines on a
    light tint (suggestions). Positions in and out are code points of the stored text."""

    keyPressed = Signal(QKeyEvent)  # keys the view did not use for navigation/selection
    clicked = Signal(int)  # a click that selected nothing: the code point clicked
    contextRequested = Signal(int, QPoint)  # code point under the mouse, global position
    cursorMoved = Signal(int)  # code point of the cursor
    spanResized = Signal(int, int, int, int)  # old start, old end, new start, new end

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
        self._dark = self.palette().base().color().lightness() < 128
        self._formats: dict[tuple[object, ...], QTextCharFormat] = {}
        # Block number -> the (start, length, look) ranges set on its layout.
        self._applied: dict[int, tuple[tuple[int, int, _Look], ...] | None] = {}
        self._looks: list[tuple[int, int, _Look]] = []  # what _applied was made from
        self._badges: list[SpanStyle] = []  # spans with a badge, by end
        self._badge_ends: list[int] = []
        self._badge_widths: dict[str, float] = {}
        self.snap_words = True
        self.stack_overlaps = False  # draw spans that share characters on rows (see above)
        self._rows: list[int] = []  # the row of each span of _spans
        self._extents: list[tuple[int, int]] = []  # what _rows was made from
        self._bars: list[tuple[SpanStyle, int]] = []  # spans on a row > 0, by start
        self._bar_starts: list[int] = []
        self._bar_max_len = 0
        # (start, end, suggestion) -> px a span's badge sits left of its end (several badges
        # after one character: side by side).
        self._badge_shift: dict[tuple[int, int, bool], float] = {}
        self.key_filter: Callable[[QKeyEvent], bool] | None = None
        self._drag: tuple[SpanStyle, str] | None = None  # span and edge being dragged
        self._keyboard_selection = False  # the selection was made or changed with keys
        self.viewport().setMouseTracking(True)
        self.cursorPositionChanged.connect(self._on_cursor)

    # --- content ---------------------------------------------------------------------

    def set_document_text(self, text: str) -> None:
        self._text = text
        self._index = Utf16Index(text)
        self._spans = []
        self._starts = []
        self._applied = {}  # new blocks, no formats yet
        self._looks = []
        self._badges = []
        self._badge_ends = []
        self._rows = []
        self._extents = []
        self._bars = []
        self._bar_starts = []
        self.setPlainText(display_text(text))
        self.moveCursor(QTextCursor.MoveOperation.Start)

    def document_text(self) -> str:
        return self._text

    def set_spans(self, spans: Sequence[SpanStyle]) -> None:
        # The outer span first at the same start (its row is lower), a human one before a
        # suggestion of the same extent.
        self._spans = sorted(spans, key=lambda s: (s.start, -s.end, s.suggestion))
        self._starts = [s.start for s in self._spans]
        self._max_len = max((s.end - s.start for s in self._spans), default=0)
        extents = [(s.start, s.end) for s in self._spans]
        if extents != self._extents or len(self._rows) != len(extents):  # a cursor move: same
            self._extents = extents
            self._rows = stack_rows(extents) if self.stack_overlaps else [0] * len(extents)
        looks = [(s.start, s.end, self._look(s), row)
                 for s, row in zip(self._spans, self._rows, strict=True)]
        bars = [(s, row) for s, row in zip(self._spans, self._rows, strict=True) if row]
        if looks != self._looks:  # a cursor move changes only which span is current
            self._looks = looks
            self._badges = sorted((s for s in self._spans if s.badge), key=lambda s: s.end)
            self._badge_ends = [s.end for s in self._badges]
            self._badge_shift = {}
            for end in set(self._badge_ends):  # several badges after one character: in a row
                here = [s for s in self._badges if s.end == end]
                shift = 0.0
                for span in reversed(here):  # the outer span's badge first, on the left
                    self._badge_shift[(span.start, span.end, span.suggestion)] = shift
                    shift += self._badge_width(span.badge)
            self._apply_spans()
            self.viewport().update()
        elif bars != self._bars:
            self.viewport().update()  # a bar's current look changed
        self._bars = bars
        self._bar_starts = [s.start for s, _row in bars]
        self._bar_max_len = max((s.end - s.start for s, _row in bars), default=0)
        self._update_current()

    def row_of(self, span: SpanStyle) -> int:
        """The row ``span`` (one of those set) is drawn on: 0 in the text's formats, d > 0
        a bar, the d-th under the line."""
        return next(row for s, row in zip(self._spans, self._rows, strict=True) if s == span)

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

    def snapped_selection(self) -> tuple[int, int]:
        """The selection to label, snapped to words: a mouse selection without edge
        punctuation, one made or changed with the keyboard with what it covers (so a full
        stop is kept only when selected on purpose)."""
        start, end = self.selection_code_points()
        return snap_to_words(self._text, start, end, keep_punctuation=self._keyboard_selection)

    def select_code_points(self, start: int, end: int) -> None:
        self._keyboard_selection = False
        cursor = self.textCursor()
        cursor.setPosition(self._index.to_utf16(start))
        cursor.setPosition(self._index.to_utf16(end), QTextCursor.MoveMode.KeepAnchor)
        self.setTextCursor(cursor)

    def set_cursor_code_point(self, cp: int) -> None:
        cursor = self.textCursor()
        cursor.setPosition(self._index.to_utf16(max(0, min(cp, len(self._text)))))
        self.setTextCursor(cursor)
        self.ensureCursorVisible()

    def utf16_of(self, cp: int) -> int:
        """Qt's (UTF-16) position of code point ``cp`` of the text shown."""
        return self._index.to_utf16(max(0, min(cp, len(self._text))))

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
        """Code-point range of the lines on screen (from the start of the top line to the
        end of the bottom one, partly visible lines included)."""
        if not self.firstVisibleBlock().isValid():
            return 0, 0
        rect = self.viewport().rect()
        # Both corners of each edge, so a right-to-left line is covered too.
        start16 = min(self.cursorForPosition(rect.topLeft()).position(),
                      self.cursorForPosition(rect.topRight()).position())
        end16 = max(self.cursorForPosition(rect.bottomLeft()).position(),
                    self.cursorForPosition(rect.bottomRight()).position())
        n = self._index.utf16_len
        return self._index.to_code_point(min(start16, n)), self._index.to_code_point(min(end16, n))

    def _badge_font(self) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * BADGE_SCALE)
        font.setBold(True)
        return font

    def _badge_width(self, badge: str) -> float:
        """The width of a badge's tag, in pixels (the gap left after its span)."""
        if not badge:
            return 0.0
        width = self._badge_widths.get(badge)
        if width is None:
            advance = QFontMetricsF(self._badge_font()).horizontalAdvance(badge)
            width = self._badge_widths[badge] = round(advance + 2 * BADGE_PAD_PX + 3)
        return width

    def _look(self, span: SpanStyle) -> _Look:
        return (span.color, span.suggestion, span.faint, span.marked,
                self._badge_width(span.badge))

    def _span_format(self, color_name: str, *, suggestion: bool, current: bool,
                     faint: bool = False, marked: bool = False,
                     gap: float = 0.0) -> QTextCharFormat:
        """The look of a span; ``current`` marks the one under the cursor; ``marked``: a
        non-default attribute (wavy underline); ``gap``: pixels left after each character
        (set on a span's last one, where its badge is painted)."""
        key = (color_name, suggestion, current, self._dark, faint, marked, gap)
        fmt = self._formats.get(key)
        if fmt is not None:
            return fmt
        if not color_name:  # no span on row 0 here: only the gap of a nested span's badge
            fmt = QTextCharFormat()
            fmt.setFontLetterSpacingType(QFont.SpacingType.AbsoluteSpacing)
            fmt.setFontLetterSpacing(gap)
            self._formats[key] = fmt
            return fmt
        if gap:
            fmt = QTextCharFormat(self._span_format(
                color_name, suggestion=suggestion, current=current, faint=faint, marked=marked
            ))
            fmt.setFontLetterSpacingType(QFont.SpacingType.AbsoluteSpacing)
            fmt.setFontLetterSpacing(gap)
            self._formats[key] = fmt
            return fmt
        fmt = QTextCharFormat()
        color = QColor(color_name)
        if faint:  # the text keeps its own colour: a light tint reads in either theme
            color.setAlpha(_FAINT_ALPHA[self._dark][current])
            fmt.setBackground(color)
            self._formats[key] = fmt
            return fmt
        # On a dark base a translucent label colour turns muddy under light text: there,
        # human spans are drawn opaque with black or white text (like the label chips) and
        # suggestions get a stronger tint.
        if suggestion:
            color.setAlpha(_SUGGESTION_ALPHA[self._dark][current])
            fmt.setBackground(color)
            fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.DashUnderline)
            fmt.setUnderlineColor(
                QColor(color_name).lighter(130) if self._dark else QColor(color_name)
            )
            fmt.setFontItalic(True)
        elif self._dark:
            fmt.setBackground(color if current else color.darker(115))
            fmt.setForeground(QColor(text_color_for(color_name)))
        else:
            color.setAlpha(_HUMAN_ALPHA[current])
            fmt.setBackground(color)
            fmt.setForeground(self.palette().text().color())
            if current:
                fmt.setFontUnderline(True)
        if marked and not suggestion:  # on a dark base: the span's own (black or white) text
            fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
            fmt.setUnderlineColor(QColor(text_color_for(color_name) if self._dark
                                         else attribute_colors(False)["mark"]))
        self._formats[key] = fmt
        return fmt

    def _apply_spans(self) -> None:
        """Put the spans into the text blocks' layouts as formats, like a syntax highlighter.

        Qt then draws them with the text in one pass, and nothing is left to do on scroll.
        (Extra selections cost Qt one pass over every visible line of a block per selection:
        on a 50,000-character note without line breaks, one block, a scroll step took ~400
        ms.) Only blocks whose formats changed are set again and laid out anew."""
        doc = self.document()
        per_block: dict[int, list[tuple[int, int, _Look]]] = {}
        for start, end, look in self._pieces():
            start16 = self._index.to_utf16(start)
            end16 = self._index.to_utf16(end)
            block = doc.findBlock(start16)
            while block.isValid() and block.position() < end16:
                pos = block.position()
                s, e = max(start16, pos) - pos, min(end16, pos + block.length() - 1) - pos
                if e > s:
                    per_block.setdefault(block.blockNumber(), []).append((s, e - s, look))
                block = block.next()
        for number in set(self._applied) | set(per_block):
            ranges = tuple(per_block.get(number, ()))
            if self._applied.get(number, ()) == ranges:
                continue
            block = doc.findBlockByNumber(number)
            if not block.isValid():
                continue
            out = []
            for s, n, (color, suggestion, faint, marked, gap) in ranges:
                r = QTextLayout.FormatRange()
                r.start, r.length = s, n
                r.format = self._span_format(color, suggestion=suggestion, current=False,
                                             faint=faint, marked=marked, gap=gap)
                out.append(r)
            block.layout().setFormats(out)
            doc.markContentsDirty(block.position(), block.length())
            if ranges:
                self._applied[number] = ranges
            else:
                self._applied.pop(number, None)

    def _pieces(self) -> list[tuple[int, int, _Look]]:
        """The code-point ranges to format, in order: each span on row 0 with its look, cut
        at every character a badge's gap follows (that character's look has the gap: the
        sum of the badges after it). A gap outside every row-0 span is a range of its own,
        with no colour. (Without ``stack_overlaps`` row-0 spans may overlap, as before.)"""
        gaps: dict[int, float] = {}
        for span in self._badges:
            if span.end > span.start:
                gaps[span.end - 1] = gaps.get(span.end - 1, 0.0) + self._badge_width(span.badge)
        points = sorted(gaps)
        out: list[tuple[int, int, _Look]] = []
        covered: set[int] = set()
        for start, end, look, row in self._looks:
            if row or end <= start:
                continue
            plain = (*look[:4], 0.0)
            at = start
            for point in points[bisect_left(points, start):bisect_left(points, end)]:
                if point > at:
                    out.append((at, point, plain))
                out.append((point, point + 1, (*look[:4], gaps[point])))
                covered.add(point)
                at = point + 1
            if end > at:
                out.append((at, end, plain))
        out += [(p, p + 1, ("", False, False, False, gaps[p])) for p in points if p not in covered]
        out.sort(key=lambda piece: piece[0])
        return out

    def _update_current(self) -> None:
        """The spans marked current (under the cursor): a few extra selections on top."""
        selections = []
        for span in self._spans:
            if not span.current or span.end <= span.start:
                continue
            sel = QTextEdit.ExtraSelection()
            cursor = QTextCursor(self.document())
            cursor.setPosition(self._index.to_utf16(span.start))
            cursor.setPosition(self._index.to_utf16(span.end), QTextCursor.MoveMode.KeepAnchor)
            sel.cursor = cursor
            sel.format = self._span_format(span.color, suggestion=span.suggestion, current=True,
                                           faint=span.faint, marked=span.marked)
            selections.append(sel)
        self.setExtraSelections(selections)

    def _restyle(self) -> None:
        """The palette changed (light/dark, text colour): every span format is made anew."""
        self._dark = self.palette().base().color().lightness() < 128
        self._formats.clear()
        self._badge_widths.clear()
        self._applied = {number: None for number in self._applied}  # set every block again
        self._apply_spans()
        self._update_current()

    def badge_rect(self, span: SpanStyle) -> QRectF:
        """Where ``span``'s badge is painted (viewport coordinates): the gap after its last
        character, in the middle of its line."""
        cursor = QTextCursor(self.document())
        cursor.setPosition(self._index.to_utf16(span.end))
        rect = self.cursorRect(cursor)
        width = self._badge_width(span.badge)
        height = QFontMetricsF(self._badge_font()).height() + 2
        top = rect.top() + (rect.height() - height) / 2
        left = rect.left() - width + 1 - self._badge_shift.get(
            (span.start, span.end, span.suggestion), 0.0)
        return QRectF(left, top, width - 2, height)

    def line_rects(self, start: int, end: int,
                   blocks: dict[int, tuple[QTextLayout, int, float, float, int]] | None = None,
                   ) -> list[QRectF]:
        """The pieces of ``text[start:end]`` on each line it spans, in viewport coordinates
        (a line's full height). ``blocks``: what was read of each block already, kept
        between calls of one paint (layout, position, left, top, then the line's length)."""
        s16, e16 = self._index.to_utf16(start), self._index.to_utf16(end)
        block = self.document().findBlock(s16)
        known = {} if blocks is None else blocks
        out = []
        while block.isValid() and block.position() < e16:
            number = block.blockNumber()
            info = known.get(number)
            if info is None:
                layout = block.layout()
                # The geometry first: it lays the block out again if its formats changed.
                top = self.blockBoundingGeometry(block).translated(self.contentOffset()).top()
                at = layout.position()
                info = known[number] = (layout, block.position(), at.x(), top + at.y(),
                                        block.length() - 1 if block.isVisible() else -1)
            layout, pos, left, top, length = info
            if length >= 0 and layout.lineCount():
                a, b = max(s16 - pos, 0), min(e16 - pos, length)
                line = layout.lineForTextPosition(a)
                index = line.lineNumber() if line.isValid() else 0
                count = layout.lineCount()
                while index < count:
                    line = layout.lineAt(index)
                    first = line.textStart()
                    if first >= b:
                        break
                    last = first + line.textLength()
                    if last > a:
                        x1 = _x_of(line, max(a, first))
                        x2 = _x_of(line, min(b, last))
                        out.append(QRectF(min(x1, x2) + left, top + line.y(), abs(x2 - x1),
                                          line.height()))
                    index += 1
            block = block.next()
        return out

    def bar_height(self) -> int:
        """The height of a bar: :data:`BAR_PX` while one row of bars is shown; with more,
        the rows share the font's descent and 2 px above the baseline, at least 2 px each, so
        that a second or third row stays under the letters instead of striking through them
        (the plain-text layout has no extra line spacing to give them)."""
        rows = max((row for _span, row in self._bars), default=1)
        if rows <= 1:
            return BAR_PX
        room = int(QFontMetricsF(self.font()).descent()) + 2
        return max(2, min(BAR_PX, (room - (rows - 1) * BAR_GAP_PX) // rows))

    def bar_rects(self, span: SpanStyle, row: int,
                  blocks: dict[int, tuple[QTextLayout, int, float, float, int]] | None = None,
                  ) -> list[QRectF]:
        """Where the bar of ``span``, drawn on ``row`` (> 0), is painted: under its text on
        each of its lines, the row-th from the bottom of the line (:meth:`bar_height`)."""
        bar = self.bar_height()
        height = bar + (1 if span.current else 0)
        out = []
        for rect in self.line_rects(span.start, span.end, blocks):
            bottom = rect.bottom() - 1 - (row - 1) * (bar + BAR_GAP_PX)
            width = rect.width() - 2 * BAR_GAP_PX
            if width > 0:
                out.append(QRectF(rect.left() + BAR_GAP_PX, bottom - height, width, height))
        return out

    def _paint_bars(self, painter: QPainter, first: int, last: int) -> None:
        lo = bisect_left(self._bar_starts, first - self._bar_max_len)
        blocks: dict[int, tuple[QTextLayout, int, float, float, int]] = {}
        for span, row in self._bars[lo:]:
            if span.start > last:
                break
            if span.end < first:
                continue
            color = QColor(span.color)
            if span.faint:
                color.setAlpha(_FAINT_ALPHA[self._dark][True])
            for rect in self.bar_rects(span, row, blocks):
                if span.suggestion:  # dashed, as a suggestion's underline
                    x, step = rect.left(), 2 * BAR_PX + 2
                    while x < rect.right():
                        painter.fillRect(QRectF(x, rect.top(), min(step / 2, rect.right() - x),
                                                rect.height()), color)
                        x += step
                else:
                    painter.fillRect(rect, color)

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self._badges and not self._bars:
            return
        first, last = self.visible_range()
        painter = QPainter(self.viewport())
        try:  # an exception with the painter active would take the process down
            self._paint_bars(painter, first, last)
            self._paint_badges(painter, first, last)
        finally:
            painter.end()

    def _paint_badges(self, painter: QPainter, first: int, last: int) -> None:
        lo = bisect_left(self._badge_ends, first)
        colors = attribute_colors(self._dark)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setFont(self._badge_font())
        for span in self._badges[lo:]:
            if span.end - 1 > last:
                break
            rect = self.badge_rect(span)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(colors["badge"]))
            painter.drawRoundedRect(rect, 3, 3)
            painter.setPen(QColor(colors["badge_text"]))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, span.badge)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "_formats"):
            self._restyle()

    # --- events ------------------------------------------------------------------------

    def _on_cursor(self) -> None:
        self.cursorMoved.emit(self.cursor_code_point())

    def edge_at(self, pos: QPoint) -> tuple[SpanStyle, str] | None:
        """The editable span whose start or end edge is under ``pos`` (viewport coordinates),
        and which edge: "start" or "end"."""
        cp = self.code_point_at(pos)
        lo = bisect_left(self._starts, cp - 1 - self._max_len)
        near = []
        for span in self._spans[lo:]:
            if span.start > cp + 1:
                break
            if span.editable:
                near.append(span)
        # Nested spans may share an edge: the current one's is taken, else the shortest's.
        near.sort(key=lambda s: (not s.current, s.end - s.start))
        for span in near:
            for edge, at in (("start", span.start), ("end", span.end)):
                if abs(at - cp) > 1:
                    continue
                cursor = QTextCursor(self.document())
                cursor.setPosition(self._index.to_utf16(at))
                rect = self.cursorRect(cursor)
                if abs(pos.x() - rect.x()) <= EDGE_GRAB_PX and rect.top() <= pos.y() <= rect.bottom():
                    return span, edge
        return None

    def _dragged_extent(self, pos: QPoint) -> tuple[int, int]:
        assert self._drag is not None
        span, edge = self._drag
        cp = self.code_point_at(pos)
        if edge == "end":
            return snap_to_words(self._text, span.start, max(cp, span.start + 1))
        return snap_to_words(self._text, min(cp, span.end - 1), span.end)

    def _resize(self, span: SpanStyle, start: int, end: int, edge: str) -> None:
        if end > start and (start, end) != (span.start, span.end):
            self.set_cursor_code_point(start if edge == "start" else end)  # on the moved edge
            self.spanResized.emit(span.start, span.end, start, end)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._keyboard_selection = False
        if (
            event.button() == Qt.MouseButton.LeftButton
            and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
            and (grab := self.edge_at(event.position().toPoint())) is not None
        ):
            self._drag = grab
            self.select_code_points(grab[0].start, grab[0].end)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        if self._drag is not None:
            self.select_code_points(*self._dragged_extent(pos))  # shows the new extent
            event.accept()
            return
        if event.buttons() == Qt.MouseButton.NoButton:
            on_edge = self.edge_at(pos) is not None
            self.viewport().setCursor(
                Qt.CursorShape.SizeHorCursor if on_edge else Qt.CursorShape.IBeamCursor
            )
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag is not None:
            span, edge = self._drag
            start, end = self._dragged_extent(event.position().toPoint())
            self._drag = None
            self.set_cursor_code_point(span.start)  # drop the feedback selection
            self._resize(span, start, end, edge)
            event.accept()
            return
        super().mouseReleaseEvent(event)
        if self.snap_words and self.textCursor().hasSelection():
            start, end = self.selection_code_points()
            s, e = snap_to_words(self._text, start, end)
            if (s, e) != (start, end) and e > s:
                self.select_code_points(s, e)
        elif event.button() == Qt.MouseButton.LeftButton and not self.textCursor().hasSelection():
            self.clicked.emit(self.code_point_at(event.position().toPoint()))

    def _move_edge_by_key(self, event: QKeyEvent) -> bool:
        """Alt+Left/Right on an editable span under the cursor: move its nearer edge."""
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        step = EDGE_KEYS.get(event.key())
        if mods != Qt.KeyboardModifier.AltModifier or step is None:
            return False
        cp = self.cursor_code_point()
        # The current span (the one chosen among nested ones), else the shortest containing
        # the cursor, else one ending at it.
        spans = sorted((s for s in self.spans_at(cp) if s.editable),
                       key=lambda s: (not s.current, not s.start <= cp < s.end, s.end - s.start))
        span = spans[0] if spans else None
        if span is None:
            return False
        edge = "start" if cp - span.start < span.end - cp else "end"
        moved = move_edge(self._text, span.start, span.end, edge=edge, step=step)
        shrinks = (edge == "start") == (step > 0)
        if moved == (span.start, span.end) and shrinks:  # one word: grow the other way
            edge = "end" if edge == "start" else "start"
            moved = move_edge(self._text, span.start, span.end, edge=edge, step=step)
        self._resize(span, *moved, edge)
        return True

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self._move_edge_by_key(event):
            event.accept()
            return
        if self.key_filter is not None and self.key_filter(event):
            event.accept()
            return
        had = self.selection_code_points()
        super().keyPressEvent(event)
        if self.textCursor().hasSelection() and self.selection_code_points() != had:
            self._keyboard_selection = True

    def contextMenuEvent(self, event: object) -> None:  # type: ignore[override]
        pos = event.pos()  # type: ignore[attr-defined]
        self.contextRequested.emit(self.code_point_at(pos), event.globalPos())  # type: ignore[attr-defined]

    def event(self, event: QEvent) -> bool:
        # Tab and Shift+Tab move the focus before keyPressEvent sees them: the owner's key
        # filter gets them first (the entities view cycles through nested spans with them).
        if (event.type() == QEvent.Type.KeyPress and self.key_filter is not None
                and event.key() in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab)  # type: ignore[attr-defined]
                and self.key_filter(event)):  # type: ignore[arg-type]
            event.accept()
            return True
        return super().event(event)

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
