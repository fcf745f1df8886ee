"""Team › Agreement…: how far the annotators' layers of the double-annotated documents
agree, a table per task (``project.team.agreement``, computed on a worker thread).

Each pair of annotators: entities, exact-span and overlap F1 (and per label); attributes of
the entities both marked, agreement and kappa; classes and sentence classes, Cohen's kappa
(per label too) and Krippendorff's alpha over every annotator; answers, exact match and
token F1. Only layers marked done count, unless "Count layers not marked done" is ticked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractScrollArea,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from annotator.app.qt_jobs import JobControl, QtBackgroundTask
from core.project import Project

NONE_YET = ("No double-annotated document has every layer marked done yet. Each annotator "
            "labels their own layer of it (the list shows it as “(your layer)”) and marks it "
            "done with Review › Mark reviewed (Ctrl+Enter). Tick “Count layers not marked "
            "done” to see the agreement so far.")
NO_TEAM = ("No document is double-annotated yet: Team › Assign documents… gives a share of "
           "them to two annotators, who each label a layer of their own.")
NOTHING_LABELLED = "The layers compared hold no labels of this kind yet."


@dataclass(frozen=True)
class Table:
    name: str  # the key tests and the dialog use: "entities", "entity labels", ...
    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    tips: dict[str, str] = field(default_factory=dict)  # header -> tooltip


@dataclass(frozen=True)
class Section:
    title: str  # the tab's
    tables: tuple[Table, ...]
    notes: tuple[str, ...] = ()


def number(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


def _pair(p: dict[str, Any]) -> str:
    return f"{p['a']} / {p['b']}"


SPAN_TIPS = {
    "exact F1": "Entities with the same start, end and label in both layers, as an F1 of "
                "one layer against the other",
    "overlap F1": "As exact F1, counting entities of the same label that overlap",
    "same": "Entities both layers have exactly",
    "spans A": "Entities in the first annotator's layers",
    "spans B": "Entities in the second annotator's layers",
}
KAPPA_TIPS = {
    "kappa": "Cohen's kappa: agreement beyond what chance would give (1 perfect, 0 chance)",
    "observed": "The share of items both gave the same labels",
    "A": "Items the first annotator gave this label", "B": "... the second annotator",
    "both": "Items both gave this label",
}


def _class_section(part: dict[str, Any], title: str, unit: str, key: str) -> Section:
    pairs = part.get("pairs", [])
    overall = Table(key, title, ("annotators", unit, "kappa", "observed"), tuple(
        (_pair(p), str(p["documents"]), number(p["kappa"]), number(p["observed"]))
        for p in pairs), KAPPA_TIPS)
    per_label = Table(f"{key} labels", "Per label (has it or not)",
                      ("annotators", "label", "kappa", "A", "B", "both"), tuple(
                          (_pair(p), label, number(c["kappa"]), str(c["a"]), str(c["b"]),
                           str(c["both"]))
                          for p in pairs for label, c in p["per_label"].items()), KAPPA_TIPS)
    notes = []
    if "alpha" in part:
        notes.append(f"Krippendorff's alpha over every annotator: {number(part['alpha'])}")
    for label, alpha in part.get("alpha_per_label", {}).items():
        notes.append(f"Krippendorff's alpha, {label}: {number(alpha)}")
    if not any(p["documents"] for p in pairs):
        notes.append(NOTHING_LABELLED)
    return Section(title, (overall, per_label), tuple(notes))


def agreement_sections(report: dict[str, Any]) -> list[Section]:
    """The report of ``project.team.agreement`` as tables of text, a section per task."""
    out: list[Section] = []
    if "entities" in report:
        pairs = report["entities"]["pairs"]
        heads = ("exact F1", "overlap F1", "same", "spans A", "spans B")
        out.append(Section("Entities", (
            Table("entities", "Entities", ("annotators", "documents", *heads), tuple(
                (_pair(p), str(p["documents"]), number(p["f1"]), number(p["overlap_f1"]),
                 str(p["both"]), str(p["a_spans"]), str(p["b_spans"])) for p in pairs),
                SPAN_TIPS),
            Table("entity labels", "Per label", ("annotators", "label", *heads), tuple(
                (_pair(p), label, number(c["f1"]), number(c["overlap_f1"]), str(c["both"]),
                 str(c["a_spans"]), str(c["b_spans"]))
                for p in pairs for label, c in p["per_label"].items()), SPAN_TIPS),
        )))
    if "attributes" in report:
        pairs = report["attributes"]["pairs"]
        out.append(Section("Attributes", (
            Table("attributes", "Attributes of the entities both layers have",
                  ("annotators", "attribute", "entities", "agreement", "kappa"), tuple(
                      (_pair(p), name, str(c["entities"]), number(c["agreement"]),
                       number(c["kappa"]))
                      for p in pairs for name, c in p["per_attribute"].items()),
                  {"agreement": "The share of shared entities given the same value",
                   "kappa": KAPPA_TIPS["kappa"]}),
        )))
    if "classes" in report:
        out.append(_class_section(report["classes"], "Classes", "documents", "classes"))
    if "sentences" in report:
        out.append(_class_section(report["sentences"], "Sentence classes", "sentences",
                                  "sentences"))
    if "answers" in report:
        pairs = report["answers"]["pairs"]
        out.append(Section("Answers", (
            Table("answers", "Answers", ("annotators", "questions", "exact match", "token F1"),
                  tuple((_pair(p), str(p["questions"]), number(p["exact_match"]),
                         number(p["token_f1"])) for p in pairs),
                  {"exact match": "The share of questions answered alike (after SQuAD's "
                                  "normalisation; both “no answer” counts as alike)",
                   "token F1": "Word overlap of the two answers, averaged over questions"}),
        )))
    return out


@dataclass(frozen=True)
class AgreementResult:
    report: dict[str, Any]
    team_documents: int  # double-annotated documents, done or not


def compute_agreement(project: Project, unfinished: bool) -> AgreementResult:
    """Worker thread: the report and how many documents are double-annotated. Never
    touches widgets."""
    return AgreementResult(project.team.agreement(unfinished=unfinished),
                           len(project.team.documents()))


class QtAgreementDialog(QDialog):
    """The agreement report, recomputed on opening, on Refresh and when the checkbox
    changes. ``reportShown(report)`` once the tables show a report."""

    reportShown = Signal(object)

    def __init__(self, project: Project, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.setWindowTitle("Agreement between annotators")
        self.summary = QLabel("Computing…")
        self.summary.setWordWrap(True)
        self.unfinished = QCheckBox("Count layers not marked done")
        self.unfinished.setToolTip("Also compare layers their annotator has not marked done")
        self.unfinished.toggled.connect(self.refresh)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.empty = QLabel()
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.empty.hide()
        self.tabs = QTabWidget()
        self.tables: dict[str, QTableWidget] = {}
        self.notes: dict[str, QLabel] = {}  # section title -> its notes (alpha, ...)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.unfinished)
        top.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.empty)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(buttons)
        self.resize(820, 560)
        self._task: QtBackgroundTask | None = None
        self._again = False
        self.report: dict[str, Any] | None = None
        self.refresh()

    # --- computing ----------------------------------------------------------------------

    def refresh(self) -> None:
        """Recompute on a worker thread (once more after the current run, if one runs)."""
        if self._task is not None:
            self._again = True
            return
        self._again = False
        project, unfinished = self.project, self.unfinished.isChecked()

        def work(emit: Callable[[object], None], control: JobControl) -> AgreementResult:
            # Worker thread: never touches widgets.
            return compute_agreement(project, unfinished)

        self.refresh_button.setEnabled(False)
        task = QtBackgroundTask(work, name="agreement", parent=self)
        task.succeeded.connect(self.show_result)
        task.failed.connect(self._failed)
        task.done.connect(self._done)
        self._task = task
        task.start()

    def _done(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.deleteLater()
        self.refresh_button.setEnabled(True)
        if self._again:
            self.refresh()

    def _failed(self, message: str) -> None:
        self.summary.setText(f"The agreement could not be computed: {message}")

    def stop(self, timeout: float | None = None) -> None:
        """Before the project closes: wait for a running computation."""
        self._again = False
        if self._task is not None:
            self._task.wait(timeout)

    # --- showing ------------------------------------------------------------------------

    def show_result(self, result: AgreementResult) -> None:
        report = result.report
        self.report = report
        n = report["documents"]
        done = "" if report.get("unfinished_included") else " (those with every layer done)"
        names = ", ".join(report["annotators"]) or "none"
        self.summary.setText(f"{n} of {result.team_documents} double-annotated document(s) "
                             f"compared{done}; annotators: {names}")
        if n == 0:
            self.empty.setText(NO_TEAM if result.team_documents == 0 else NONE_YET)
        self.empty.setVisible(n == 0)
        self.tabs.setVisible(n > 0)
        current = self.tabs.tabText(self.tabs.currentIndex())
        self.tabs.clear()
        self.tables, self.notes = {}, {}
        for section in agreement_sections(report):
            self.tabs.addTab(self._section_widget(section), section.title)
        titles = [self.tabs.tabText(i) for i in range(self.tabs.count())]
        if current in titles:
            self.tabs.setCurrentIndex(titles.index(current))
        self.reportShown.emit(report)

    def _section_widget(self, section: Section) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        for table in section.tables:
            heading = QLabel(f"<b>{table.title}</b>")
            layout.addWidget(heading)
            widget = _table_widget(table.headers, table.rows, table.tips)
            self.tables[table.name] = widget
            layout.addWidget(widget)
        if section.notes:
            notes = QLabel("\n".join(section.notes))
            notes.setWordWrap(True)
            notes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.notes[section.title] = notes
            layout.addWidget(notes)
        layout.addStretch(1)  # short tables stay as tall as their rows, at the top
        return page

    def cell(self, table: str, row: int, column: str) -> str:
        """The text of a cell (tests, and a quick look from a script)."""
        widget = self.tables[table]
        headers = [widget.horizontalHeaderItem(c).text() for c in range(widget.columnCount())]
        item = widget.item(row, headers.index(column))
        return item.text() if item is not None else ""


def _table_widget(headers: Sequence[str], rows: Sequence[Sequence[str]],
                  tips: dict[str, str]) -> QTableWidget:
    table = QTableWidget(len(rows), len(headers))
    table.setHorizontalHeaderLabels(list(headers))
    for c, head in enumerate(headers):
        if head in tips:
            table.horizontalHeaderItem(c).setToolTip(tips[head])
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            item = QTableWidgetItem(value)
            if c > 0 and headers[c] not in ("label", "attribute"):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(r, c, item)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.verticalHeader().hide()
    table.setAlternatingRowColors(True)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setMinimumSectionSize(64)
    header.setStretchLastSection(False)
    # At most as tall as its rows (a long per-label table scrolls within the page's share).
    table.setSizeAdjustPolicy(QAbstractScrollArea.SizeAdjustPolicy.AdjustToContents)
    table.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)
    table.resizeRowsToContents()
    bar = table.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
    table.setMaximumHeight(header.sizeHint().height() + table.verticalHeader().length()
                           + 2 * table.frameWidth() + bar)
    return table
