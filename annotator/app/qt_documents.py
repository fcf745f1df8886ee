"""The document list: a table model that reads pages from SQLite, plus its filter bar.

The list is the annotator's (``project.annotator``): where they have a layer of a
double-annotated document (team work), the layer is listed in the document's place, its
preview marked "(your layer)"."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QByteArray,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QStyle,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from annotator.app.qt_theme import status_colors
from core.project import STATUSES, DocFilter, DocRow, Project
from core.types import Split, TaskKind

COLUMNS = ("id", "preview", "status", "labels", "score", "split")
# Preferred widths; "preview" stretches to what is left, so the short columns stay readable
# in a narrow list. "split" starts hidden (the filter box above shows it); the header's
# context menu shows or hides any column, and the header state is remembered.
COLUMN_WIDTHS = {"id": 72, "status": 80, "labels": 110, "score": 76, "split": 76}
HIDDEN_BY_DEFAULT = ("split",)
# A list narrower than the preferred widths shrinks its columns instead of scrolling
# sideways: each first down to the width of what it typically shows (its sample), then,
# in GIVE_ORDER, further; the preview keeps at least PREVIEW_MIN_WIDTH, elided.
COLUMN_SAMPLES = {"id": "note-000", "status": "unlabelled", "labels": "Disease",
                  "score": "0.000", "split": "train"}
GIVE_ORDER = ("labels", "score", "split", "status", "id")  # the id and status go last
PREVIEW_MIN_WIDTH = 60
CELL_PADDING = 14  # a cell's text margins, and room for the sort of text the sample stands for
# What the header says (COLUMNS are the keys the saved header state and tests use).
HEADERS = {"score": "uncertainty"}
HEADER_TIPS = {
    "status": "unlabelled · labelled (labelled by hand for this view's kind; pending "
    "suggestions may remain) · suggested (the model proposes labels, none given yet) · "
    "reviewed · skipped",
    "score": "The model's uncertainty for this document, from the last pre-annotation:\n"
    "higher = the model is less sure, so label it first. Empty: not predicted yet.",
}

LAYER_MARK = "(your layer) "
LAYER_TIP = ("Your layer of this document: it is double-annotated, and you label it on your "
             "own (the other annotator has a layer too). Mark it reviewed when you are done; "
             "the document's gold labels are written by adjudication (Team › Adjudicate…).")

ModelIndex = QModelIndex | QPersistentModelIndex


class QtDocumentTableModel(QAbstractTableModel):
    """Rows are the ids of the filtered documents (one cheap query); the columns of a row
    are read a page at a time on first display and kept in a small LRU cache."""

    PAGE = 200
    MAX_PAGES = 40

    def __init__(self, project: Project, parent: Any = None) -> None:
        super().__init__(parent)
        self.project = project
        self.filter = DocFilter(annotator=project.annotator)
        self._status_colors = status_colors()
        self._ids: list[int] = []
        self._row_of: dict[int, int] | None = None
        self._pages: OrderedDict[int, list[DocRow]] = OrderedDict()
        self.refresh()

    # --- data access -----------------------------------------------------------------

    def set_filter(self, flt: DocFilter) -> None:
        self.filter = flt
        self.refresh()

    def refresh(self) -> None:
        """Re-run the filter (documents added, statuses changed)."""
        self.beginResetModel()
        self._ids = self.project.documents.filter(self.filter)
        self._row_of = None
        self._pages.clear()
        self.endResetModel()

    def refresh_document(self, doc_id: int) -> None:
        """Re-read one document's row after an edit."""
        row = self.row_of(doc_id)
        if row is None:
            return
        self._pages.pop(row // self.PAGE, None)
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def doc_id(self, row: int) -> int | None:
        return self._ids[row] if 0 <= row < len(self._ids) else None

    def row_of(self, doc_id: int) -> int | None:
        if self._row_of is None:
            self._row_of = {d: i for i, d in enumerate(self._ids)}
        return self._row_of.get(doc_id)

    def doc_row(self, row: int) -> DocRow | None:
        if not 0 <= row < len(self._ids):
            return None
        page = row // self.PAGE
        rows = self._pages.get(page)
        if rows is None:
            ids = self._ids[page * self.PAGE : (page + 1) * self.PAGE]
            rows = self.project.documents.page(ids, kind=self.filter.kind)
            if len(rows) != len(ids):  # a document vanished meanwhile: keep indices aligned
                got = {r.id: r for r in rows}
                rows = [got.get(i) or DocRow(i, None, "(deleted)", "", "", "", None) for i in ids]
            self._pages[page] = rows
            while len(self._pages) > self.MAX_PAGES:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(page)
        return rows[row % self.PAGE]

    # --- Qt model ------------------------------------------------------------------------

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS.get(COLUMNS[section], COLUMNS[section])
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            return HEADER_TIPS.get(COLUMNS[section])
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.doc_row(index.row())
        if row is None:
            return None
        col = COLUMNS[index.column()]
        layer = row.layer is not None  # the annotator's own layer (only theirs are listed)
        if role == Qt.ItemDataRole.DisplayRole:
            if col == "id":
                return row.external_id or str(row.id)
            if col == "score":
                return "" if row.score is None else f"{row.score:.3f}"
            if col == "preview" and layer:
                return LAYER_MARK + row.preview
            return getattr(row, col)
        if role == Qt.ItemDataRole.ForegroundRole and col == "status":
            return QColor(self._status_colors.get(row.status, "#9E9E9E"))
        if role == Qt.ItemDataRole.ToolTipRole and layer:
            return LAYER_TIP + (f"\n\n{row.preview}" if col == "preview" else "")
        if role == Qt.ItemDataRole.ToolTipRole and col in ("preview", "labels"):
            return getattr(row, col) or None
        if role == Qt.ItemDataRole.TextAlignmentRole and col == "score":
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.UserRole:
            return row.id
        return None


def fit_widths(preferred: dict[int, int], floors: dict[int, int], room: int, least: int,
               give_order: Sequence[int] = ()) -> dict[int, int]:
    """Column widths that add up to at most ``room`` where they can: the preferred ones
    when they fit; else each shrinks in proportion to how far it is above its floor; below
    the floors, the columns of ``give_order`` give up width one after the other (never
    under ``least``), the others keep their floors."""
    if sum(preferred.values()) <= room:
        return dict(preferred)
    floors = {c: min(floors.get(c, least), w) for c, w in preferred.items()}
    slack = sum(preferred[c] - floors[c] for c in preferred)
    short = sum(preferred.values()) - room
    if slack >= short:
        # Rounded up, so that the cuts add up to at least what is short.
        return {c: preferred[c] - -(-(preferred[c] - floors[c]) * short // max(slack, 1))
                for c in preferred}
    widths, short = dict(floors), short - slack
    for c in give_order:
        if c in widths and short > 0:
            cut = min(short, max(widths[c] - least, 0))
            widths[c] -= cut
            short -= cut
    return widths


class QtDocumentTable(QTableView):
    """The list's table. Its columns share the width it has (a narrow list shrinks them,
    see :func:`fit_widths`; a column the user drags keeps its new width), and showing a
    cell (a click, J / K) scrolls only up or down, never sideways."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._preferred = {COLUMNS.index(n): w for n, w in COLUMN_WIDTHS.items()}
        self._fitting = False

    def setup_header(self) -> None:
        """Resize modes, preferred widths and the hidden columns (once the model is set)."""
        header = self.horizontalHeader()
        self._fitting = True
        for col, name in enumerate(COLUMNS):
            if name == "preview":
                header.setSectionResizeMode(col, QHeaderView.ResizeMode.Stretch)
            else:
                header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
                header.resizeSection(col, self._preferred[col])
            header.setSectionHidden(col, name in HIDDEN_BY_DEFAULT)
        self._fitting = False
        header.sectionResized.connect(self._on_section_resized)

    def preferred_widths(self) -> dict[str, int]:
        return {COLUMNS[c]: w for c, w in self._preferred.items()}

    def comfortable_width(self) -> int:
        """The width at which no shown column is shrunk (the preview at its least)."""
        header = self.horizontalHeader()
        columns = sum(w for c, w in self._preferred.items() if not header.isSectionHidden(c))
        bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        return columns + PREVIEW_MIN_WIDTH + bar + 2 * self.frameWidth()

    def take_preferred_from_header(self) -> None:
        """After a restored header state: its widths are the preferred ones."""
        header = self.horizontalHeader()
        for col in self._preferred:
            if not header.isSectionHidden(col) and header.sectionSize(col) > 0:
                self._preferred[col] = header.sectionSize(col)
        self.fit_columns()

    def save_header(self) -> QByteArray:
        """The header state with the preferred widths (not the shrunk ones of a narrow
        window, which would stay shrunk in a wider one)."""
        header = self.horizontalHeader()
        shown = {c: header.sectionSize(c) for c in self._preferred if not header.isSectionHidden(c)}
        self._fitting = True
        try:
            for col in shown:
                header.resizeSection(col, self._preferred[col])
            state = header.saveState()
            for col, width in shown.items():
                header.resizeSection(col, width)
        finally:
            self._fitting = False
        return state

    def fit_columns(self, keep: int | None = None) -> None:
        """Shrink the short columns so that every column fits the viewport (``keep``: the
        column the user is dragging, which keeps its width as far as it can)."""
        if not self.isVisible():
            return  # sized on the first show, when the width is known
        header = self.horizontalHeader()
        shown = [c for c in self._preferred if not header.isSectionHidden(c)]
        room = self.viewport().width() - PREVIEW_MIN_WIDTH
        least = header.minimumSectionSize()
        metrics = self.fontMetrics()
        floors = {c: metrics.horizontalAdvance(COLUMN_SAMPLES[COLUMNS[c]]) + CELL_PADDING
                  for c in shown}
        widths: dict[int, int] = {}
        if keep in shown:  # as wide as the user makes it while the others keep their floors
            others = [c for c in shown if c != keep]
            kept = sum(min(floors[c], self._preferred[c]) for c in others)
            widths[keep] = max(least, min(self._preferred[keep], room - kept))
            shown, room = others, room - widths[keep]
        order = [COLUMNS.index(name) for name in GIVE_ORDER]
        widths.update(fit_widths({c: self._preferred[c] for c in shown}, floors, room, least,
                                 order))
        self._fitting = True
        try:
            for col, width in widths.items():
                if header.sectionSize(col) != width:
                    header.resizeSection(col, width)
        finally:
            self._fitting = False

    def _on_section_resized(self, col: int, _old: int, new: int) -> None:
        header = self.horizontalHeader()
        if self._fitting or col not in self._preferred or new <= 0 or header.isSectionHidden(col):
            return
        self._preferred[col] = new  # the user dragged it, or it was shown again
        self.fit_columns(keep=col)

    def resizeEvent(self, event: QResizeEvent) -> None:  # the viewport's size
        super().resizeEvent(event)
        self.fit_columns()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.fit_columns()

    def scrollTo(self, index: ModelIndex,
                 hint: QAbstractItemView.ScrollHint = QAbstractItemView.ScrollHint.EnsureVisible,
                 ) -> None:
        # A click on a cell, or J / K, would otherwise scroll that cell's column into view
        # and push the id column out (before the columns fitted, they often did not).
        bar = self.horizontalScrollBar()
        x = bar.value()
        super().scrollTo(index, hint)
        bar.setValue(x)


class QtDocumentList(QWidget):
    """Filters, search, counts and the paged table. Emits ``documentSelected(doc_id)``."""

    documentSelected = Signal(int)

    def __init__(self, project: Project, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self._status_counts: dict[str, int] | None = None
        self._kind: TaskKind | None = None
        self._annotator: str | None = project.annotator  # whose list this is
        self.model = QtDocumentTableModel(project, self)

        self.search = QLineEdit(placeholderText="Search text…")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip("Show only documents containing this text")
        self.status_box = QComboBox(toolTip="Filter by status")
        self.status_box.addItem("any status", None)
        for status in STATUSES:
            self.status_box.addItem(status, status)
        self.split_box = QComboBox(toolTip="Filter by split")
        self.split_box.addItem("any split", None)
        for split in Split:
            self.split_box.addItem(split.value, split.value)
        self.label_box = QComboBox(toolTip="Filter by label (entity or class)")
        self.sort_box = QCheckBox("Most uncertain first")
        self.sort_box.setToolTip(
            "Notes that still want labels for this view first, the ones the model is least "
            "sure of at the top (uncertainty, after pre-annotation); notes already labelled "
            "or reviewed follow"
        )
        self.per_second_box = QCheckBox("per second")
        self.per_second_box.setToolTip(
            "Rank by uncertainty per predicted second of labelling: a short uncertain note "
            "before a long one that is hardly more uncertain. The time per note is learnt "
            "from the times recorded in this project (from 10 timed notes on; before that, "
            "from the note's length)"
        )
        self.per_second_box.setEnabled(False)
        self.counts = QLabel()
        self.counts.setObjectName("countsLabel")
        self.counts.setWordWrap(True)  # a narrow list: two lines rather than a cut one

        self.table = QtDocumentTable()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.setAlternatingRowColors(True)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        header = self.table.horizontalHeader()
        header.setObjectName("documentHeader")
        header.setMinimumSectionSize(36)
        header.setTextElideMode(Qt.TextElideMode.ElideRight)  # "uncertai…", not clipped
        header.setStretchLastSection(False)
        header.setSectionsMovable(True)
        self.table.setup_header()
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._header_menu)

        filters = QHBoxLayout()
        filters.addWidget(self.status_box)
        filters.addWidget(self.split_box)
        filters.addWidget(self.label_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.search)
        layout.addLayout(filters)
        order = QHBoxLayout()
        order.addWidget(self.sort_box)
        order.addWidget(self.per_second_box)
        order.addStretch(1)
        layout.addLayout(order)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.counts)

        self._search_timer = QTimer(self, singleShot=True, interval=250)
        self._search_timer.timeout.connect(self._apply_filter)
        self.search.textChanged.connect(self._search_timer.start)
        for box in (self.status_box, self.split_box, self.label_box):
            box.currentIndexChanged.connect(self._apply_filter)
        self.sort_box.toggled.connect(self.per_second_box.setEnabled)
        self.sort_box.toggled.connect(self._apply_filter)
        self.per_second_box.toggled.connect(self._apply_filter)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_row)
        self.set_label_names([])  # counts: the owner calls update_counts() once it is shown

    def _header_menu(self, pos: QPoint) -> None:
        header = self.table.horizontalHeader()
        menu = QMenu(self)
        for col, name in enumerate(COLUMNS):
            if name == "preview":
                continue
            action = menu.addAction(HEADERS.get(name, name))
            action.setCheckable(True)
            action.setChecked(not header.isSectionHidden(col))
            action.toggled.connect(lambda on, c=col: self._show_column(c, on))
        menu.exec(header.mapToGlobal(pos))

    def comfortable_width(self) -> int:
        """How wide the list wants to be: every shown column at its preferred width."""
        margins = self.layout().contentsMargins()
        return self.table.comfortable_width() + margins.left() + margins.right()

    def _show_column(self, col: int, on: bool) -> None:
        self.table.horizontalHeader().setSectionHidden(col, not on)
        self.table.fit_columns()  # the others share the width it took or gave back

    def header_state(self) -> QByteArray:
        """Column widths, order and visibility, for the window's saved state."""
        return self.table.save_header()

    def restore_header_state(self, state: QByteArray) -> None:
        header = self.table.horizontalHeader()
        if header.restoreState(state) and header.count() == len(COLUMNS):
            # The stretch mode is part of the state; keep "preview" the one that stretches.
            col = COLUMNS.index("preview")
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Stretch)
            header.setSectionHidden(col, False)
            self.table.take_preferred_from_header()

    def set_label_names(self, names: list[str]) -> None:
        current = self.label_box.currentData()
        self.label_box.blockSignals(True)
        self.label_box.clear()
        self.label_box.addItem("any label", None)
        for name in names:
            self.label_box.addItem(name, name)
        idx = self.label_box.findData(current)
        self.label_box.setCurrentIndex(max(idx, 0))
        self.label_box.blockSignals(False)

    def current_filter(self) -> DocFilter:
        return DocFilter(
            status=self.status_box.currentData(),
            split=self.split_box.currentData(),
            label=self.label_box.currentData(),
            search=self.search.text(),
            sort_by_score=self.sort_box.isChecked(),
            per_second=self.sort_box.isChecked() and self.per_second_box.isChecked(),
            kind=self._kind,
            annotator=self._annotator,
        )

    @property
    def annotator(self) -> str | None:
        return self._annotator

    def set_annotator(self, name: str | None) -> None:
        """List the documents as ``name`` sees them (their layers in their documents'
        place); the owner recounts and picks the document to show."""
        if name != self._annotator:
            self._annotator = name
            self._apply_filter()

    def layers_changed(self) -> None:
        """Layers were made (an assignment): list them."""
        self.reload()

    @property
    def kind(self) -> TaskKind | None:
        return self._kind

    def set_kind(self, kind: TaskKind | None) -> None:
        """Show statuses and labels as the view of ``kind`` sees them (a note labelled
        for entities is not "labelled" in the classes view); the owner recounts."""
        if kind != self._kind:
            self._kind = kind
            self._status_counts = None
            self._apply_filter()

    def _apply_filter(self) -> None:
        current = self.current_doc_id()
        self.model.set_filter(self.current_filter())
        self.update_counts()
        if current is not None and self.model.row_of(current) is not None:
            self.select_doc(current)

    def reload(self) -> None:
        """Documents were added or statuses changed in bulk (import, pre-annotation)."""
        current = self.current_doc_id()
        self.model.refresh()
        self.update_counts()
        if current is not None and self.model.row_of(current) is not None:
            self.select_doc(current)
        elif self.model.rowCount():
            self.select_row(0)

    def set_status_counts(self, counts: dict[str, int]) -> None:
        """The per-status counts, computed off the GUI thread by the owner."""
        self._status_counts = dict(counts)
        self.update_counts()

    def update_counts(self) -> None:
        """Re-render the counts line (cheap: the status counts are cached)."""
        shown = self.model.rowCount()
        counts = self._status_counts
        if counts is None:
            self.counts.setText(f"{shown} shown")
            self.counts.setToolTip("")
            return
        total = sum(counts.values())
        parts = " · ".join(f"{counts[s]} {s}" for s in STATUSES if counts.get(s))
        self.counts.setText(f"{shown} shown of {total}  —  {parts}")
        self.counts.setToolTip(f"{shown} shown of {total}\n" + "\n".join(
            f"{counts.get(s, 0)} {s}" for s in STATUSES))

    def _on_current_row(self, current: QModelIndex, _previous: QModelIndex) -> None:
        doc_id = self.model.doc_id(current.row())
        if doc_id is not None:
            self.documentSelected.emit(doc_id)

    def current_doc_id(self) -> int | None:
        return self.model.doc_id(self.table.currentIndex().row())

    def select_row(self, row: int) -> None:
        if 0 <= row < self.model.rowCount():
            index = self.model.index(row, 0)
            self.table.setCurrentIndex(index)
            self.table.scrollTo(index)

    def select_doc(self, doc_id: int) -> None:
        row = self.model.row_of(doc_id)
        if row is not None:
            self.select_row(row)

    def move(self, delta: int) -> bool:
        """Select the next (+1) or previous (-1) document; False at either end."""
        row = self.table.currentIndex().row()
        target = 0 if row < 0 else row + delta
        if not 0 <= target < self.model.rowCount():
            return False
        self.select_row(target)
        return True
