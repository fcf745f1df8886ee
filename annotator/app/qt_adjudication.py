"""Team › Adjudicate…: the double-annotated documents, and for the one chosen a curation
view of its layers (``project.team.adjudication``).

The text is shown once, each entity stretch the layers marked tinted (disputed ones in
amber); below it, one row per disputed item (a stretch of entities, an attribute of an
agreed entity, the classes, a sentence's classes, an answer) with a choice per annotator
and "leave out", and the agreed items listed (they go into the gold without a click).
"Save gold" writes the gold through one undoable command (``AdjudicateCommand``); Undo
takes it back whole. Only the disputed items get widgets, so a long note stays quick.

An annotator who holds a layer of a document sees the other layers only once every layer
is done, or when the team allows it (Team › Assign documents…).
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from annotator.app.qt_commands import AdjudicateCommand, QtProjectContext
from annotator.app.qt_span_text import QtSpanTextEdit, SpanStyle
from core.errors import AnnotatorError
from core.project import Changes, DocumentView
from core.project.team import Adjudication, Item, TeamDocument, Version
from core.types import TaskKind

# The layers differ here: a colour no label gets by default, a wavy underline and a tag.
DISPUTED_COLOR = "#F06292"
DISPUTED_BADGE = "≠"
CHOICE_WIDTH = 40  # characters of a version shown on its button (the tooltip has it all)
NO_DOCUMENTS = ("No double-annotated documents yet. Team › Assign documents… gives a share "
                "of the documents to two annotators; each labels a layer of their own and "
                "marks it done, then the layers are adjudicated here.")


def excerpt(text: str, n: int = CHOICE_WIDTH) -> str:
    one = " ".join(text.split())
    return one if len(one) <= n else one[: n - 1] + "…"


def state_text(doc: TeamDocument) -> str:
    if doc.adjudicated:
        return "adjudicated"
    if doc.ready:
        return "ready"
    return "waiting for " + ", ".join(x.annotator for x in doc.layers if not x.done)


def layers_text(doc: TeamDocument) -> str:
    return " · ".join(f"{x.annotator} {'done' if x.done else 'open'}" for x in doc.layers)


def item_title(item: Item, text: str) -> str:
    """What an item is, in words: "“200 mg twice daily”", "temporality of “cellulitis”"."""
    where = text[item.start:item.end] if item.start is not None and item.end is not None else ""
    if item.kind == "entities":
        return f"entities at “{excerpt(where, 40)}”"
    if item.kind == "attribute":
        return f"{item.key.rsplit(':', 1)[1]} of “{excerpt(where, 40)}”"
    if item.kind == "classes":
        return "document classes"
    if item.kind == "sentence":
        return f"sentence “{excerpt(where, 40)}”"
    return f"answer to “{excerpt(item.title, 50)}”"


def version_text(item: Item, version: Version, text: str) -> str:
    """One annotator's version of an item, in words."""
    value = version.value
    if item.kind == "entities":
        return ", ".join(f"{label} “{text[s:e]}”" for s, e, label in value) or "no entity"
    if item.kind == "attribute":
        return str(value) or "(default)"
    if item.kind in ("classes", "sentence"):
        return ", ".join(str(v) for v in value) or "(none)"
    return version.describe()


_NOTHING = object()  # the gold cannot say (what the item names is not in it)


def gold_value(item: Item, gold: DocumentView) -> Any:
    """What the gold of an adjudicated document holds for ``item``, in the form of its
    versions' values (``_NOTHING`` where it cannot say)."""
    if item.kind == "entities":
        return tuple(sorted((e.start, e.end, e.label) for e in gold.entities
                            if item.start is not None and item.end is not None
                            and e.start < item.end and item.start < e.end))
    if item.kind == "attribute":
        _, where, label, name = item.key.split(":")
        start, end = (int(x) for x in where.split("-"))
        entity = next((e for e in gold.entities
                       if (e.start, e.end, e.label) == (start, end, label)), None)
        return _NOTHING if entity is None else entity.attributes.get(name, "")
    if item.kind == "classes":
        return tuple(sorted(gold.classes))
    if item.kind == "sentence":
        sentence = next((x for x in gold.sentences if (x.start, x.end) == (item.start, item.end)),
                        None)
        return _NOTHING if sentence is None else tuple(sorted(sentence.labels))
    question = next((q for q in gold.questions if q.text == item.title), None)
    if question is None:
        return _NOTHING
    return (tuple(sorted((a.start, a.end) for a in question.answers)), question.is_impossible)


def previous_choices(adj: Adjudication, gold: DocumentView) -> dict[str, str | None]:
    """The choices that would give the gold ``gold`` holds (an adjudicated document shown
    again): for each disputed item, the annotator whose version it is, or None (left out)
    where the gold has nothing there and no version is nothing; items the gold matches in
    no way (edited since) are left undecided."""
    out: dict[str, str | None] = {}
    for item in adj.disputed:
        value = gold_value(item, gold)
        if value is _NOTHING:
            continue
        for version in item.versions:
            mine = version.value
            if item.kind == "answer":
                mine = (mine.spans, mine.impossible)
            elif item.kind == "attribute":
                mine = mine or ""
            if mine == value:
                out[item.key] = min(version.annotators)
                break
        else:
            if value in ((), "") or (item.kind == "answer" and value == ((), False)):
                out[item.key] = None
    return out


class QtAdjudicationDialog(QDialog):
    """The list of double-annotated documents and the curation view of the one chosen.

    ``documentShown(doc_id)`` once a document's items are on screen; ``saved(doc_id)``
    after its gold was written."""

    documentShown = Signal(int)
    saved = Signal(int)

    def __init__(self, ctx: QtProjectContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.project = ctx.project
        self.setWindowTitle("Adjudicate double-annotated documents")
        self.docs: list[TeamDocument] = []
        self.adj: Adjudication | None = None
        self.visible_items = False  # the versions may be shown to whoever is working
        self.groups: dict[str, QButtonGroup] = {}  # disputed item key -> its choice
        self._groups_owner = QObject(self)  # the groups of the rows shown (replaced whole)
        self._building = False

        self.doc_table = QTableWidget(0, 4)
        self.doc_table.setHorizontalHeaderLabels(["document", "layers", "state", "preview"])
        self.doc_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.doc_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.doc_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.doc_table.verticalHeader().hide()
        self.doc_table.setWordWrap(False)
        head = self.doc_table.horizontalHeader()
        for c in range(3):
            head.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)  # elided; tooltip
        self.doc_table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.doc_table.currentCellChanged.connect(lambda row, *_: self._on_doc_row(row))
        self.empty = QLabel(NO_DOCUMENTS)
        self.empty.setWordWrap(True)
        self.empty.hide()

        self.header = QLabel()
        self.header.setWordWrap(True)
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.text = QtSpanTextEdit()
        self.hidden_note = QLabel()
        self.hidden_note.setWordWrap(True)
        self.hidden_note.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.hidden_note.hide()

        self.disputed = QTableWidget(0, 0)
        self.disputed.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.disputed.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.disputed.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.disputed.verticalHeader().hide()
        self.disputed.currentCellChanged.connect(
            lambda row, *_: self._show_item(self._disputed_items(), row))
        self.agreed = QTableWidget(0, 2)
        self.agreed.setHorizontalHeaderLabels(["item", "every layer"])
        self.agreed.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.agreed.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.agreed.verticalHeader().hide()
        self.agreed.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.ResizeToContents)
        self.agreed.horizontalHeader().setStretchLastSection(True)
        self.agreed.currentCellChanged.connect(
            lambda row, *_: self._show_item(self._agreed_items(), row))
        self.items_tabs = QTabWidget()
        self.items_tabs.addTab(self.disputed, "Disputed")
        self.items_tabs.addTab(self.agreed, "Agreed")

        self.take_row = QHBoxLayout()
        self.take_label = QLabel("Every disputed item from:")
        self.take_row.addWidget(self.take_label)
        self.take_buttons: list[QPushButton] = []
        self.take_row.addStretch(1)
        self.chosen_label = QLabel()
        self.save_button = QPushButton("Save gold")
        self.save_button.setToolTip(
            "Write the agreed items and the chosen versions as the document's gold labels "
            "and mark it reviewed (Edit › Undo takes them back)")
        self.save_button.clicked.connect(self.save)
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.chosen_label, 1)
        bottom.addWidget(self.save_button)
        bottom.addWidget(close)

        curation = QWidget()
        right = QVBoxLayout(curation)
        right.setContentsMargins(0, 0, 0, 0)
        right.addWidget(self.header)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.text)
        items = QWidget()
        items_layout = QVBoxLayout(items)
        items_layout.setContentsMargins(0, 0, 0, 0)
        items_layout.addWidget(self.hidden_note)
        items_layout.addWidget(self.items_tabs, 1)
        items_layout.addLayout(self.take_row)
        split.addWidget(items)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setSizes([240, 360])
        split.setChildrenCollapsible(False)
        right.addWidget(split, 1)
        right.addLayout(bottom)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(QLabel("<b>Double-annotated documents</b>"))
        left_layout.addWidget(self.doc_table, 1)
        left_layout.addWidget(self.empty)
        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(left)
        main.addWidget(curation)
        main.setStretchFactor(0, 2)
        main.setStretchFactor(1, 3)
        main.setChildrenCollapsible(False)
        main.setSizes([440, 740])
        layout = QVBoxLayout(self)
        layout.addWidget(main)
        self.resize(1180, 760)
        ctx.changed.connect(self._on_changed)
        self.reload()

    # --- the documents -------------------------------------------------------------------

    def reload(self) -> None:
        """Read the double-annotated documents again; keep the one shown (and its choices)."""
        current = self.adj.doc_id if self.adj is not None else None
        self.docs = self.project.team.documents()
        self._building = True
        self.doc_table.setRowCount(len(self.docs))
        for row, doc in enumerate(self.docs):
            values = (doc.external_id or str(doc.doc_id), layers_text(doc), state_text(doc),
                      doc.preview)
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setToolTip(doc.preview)
                self.doc_table.setItem(row, col, item)
        self._building = False
        self.empty.setVisible(not self.docs)
        ids = [d.doc_id for d in self.docs]
        if current in ids:
            self.doc_table.selectRow(ids.index(current))
            self.show_document(current, keep_choices=True)
        elif self.docs:
            ready = next((i for i, d in enumerate(self.docs) if d.ready and not d.adjudicated), 0)
            self.doc_table.selectRow(ready)  # shows it, unless the row was current already
            if self.adj is None or self.adj.doc_id != self.docs[ready].doc_id:
                self.show_document(self.docs[ready].doc_id)
        else:
            self._clear()

    def _on_doc_row(self, row: int) -> None:
        if (not self._building and 0 <= row < len(self.docs)
                and (self.adj is None or self.adj.doc_id != self.docs[row].doc_id)):
            self.show_document(self.docs[row].doc_id)

    def select_document(self, doc_id: int) -> None:
        ids = [d.doc_id for d in self.docs]
        if doc_id in ids:
            self.doc_table.selectRow(ids.index(doc_id))

    def _on_changed(self, changes: Changes) -> None:
        """An edit, undo or redo anywhere: refresh when it touched a team document."""
        touched = {d.doc_id for d in self.docs} | {x.doc_id for d in self.docs for x in d.layers}
        if changes.documents & touched or changes.document_set:
            self.reload()

    def _clear(self) -> None:
        self.adj = None
        self.header.setText("")
        self.text.set_document_text("")
        self.disputed.setRowCount(0)
        self.agreed.setRowCount(0)
        self.groups = {}
        self.save_button.setEnabled(False)
        self.chosen_label.setText("")

    # --- one document -----------------------------------------------------------------

    def show_document(self, doc_id: int, *, keep_choices: bool = False) -> None:
        before = self.choices() if keep_choices else {}
        try:
            adj = self.project.team.adjudication(doc_id)
        except AnnotatorError as exc:
            self._clear()
            self.header.setText(str(exc))
            return
        self.adj = adj
        doc = next((d for d in self.docs if d.doc_id == doc_id), None)
        if not keep_choices and doc is not None and doc.adjudicated:
            gold = self.project.documents.get(doc_id)
            if gold is not None:  # shown again: the choices that made its gold
                before = previous_choices(adj, gold)
        me = self.project.annotator
        self.visible_items = (adj.ready or me not in adj.annotators
                              or self.project.team.settings().show_others)
        name = (doc.external_id if doc is not None else None) or str(doc_id)
        state = state_text(doc) if doc is not None else ""
        note = {"adjudicated": " — adjudicated: its gold is written; saving again replaces it",
                "ready": " — every layer is done"}.get(state, f" — {state}")
        counts = (
            f"<br>{len(adj.disputed)} disputed, {len(adj.agreed)} agreed (the agreed items go "
            "into the gold as they are). In the text: "
            f"<span style='background:{DISPUTED_COLOR}'>&nbsp;{DISPUTED_BADGE}&nbsp;</span> "
            "the layers differ, in a label's colour: every layer agrees")
        # Even how many items are disputed tells an annotator about the other layers.
        self.header.setText(f"<b>{html.escape(name)}</b>{note}"
                            + (counts if self.visible_items else ""))
        self.text.set_document_text(adj.text)
        self.text.set_spans(self._spans(adj) if self.visible_items else [])
        self.hidden_note.setText(
            f"You ({me}) have a layer of this document: the other layers stay hidden until "
            "every layer is marked done (or the team allows it: Team › Assign documents…).")
        self.hidden_note.setVisible(not self.visible_items)
        self.items_tabs.setVisible(self.visible_items)
        self._fill_disputed(adj, before)
        self._fill_agreed(adj)
        self._fill_take_buttons(adj)
        self.items_tabs.setTabText(0, f"Disputed ({len(adj.disputed)})")
        self.items_tabs.setTabText(1, f"Agreed ({len(adj.agreed)})")
        self.save_button.setEnabled(self.visible_items)
        self._update_chosen()
        self.documentShown.emit(doc_id)

    def _spans(self, adj: Adjudication) -> list[SpanStyle]:
        ner = self.project.documents.tasks().get(TaskKind.NER)
        disputed_spans = {(i.start, i.end) for i in adj.disputed if i.kind == "attribute"}
        out = []
        for item in adj.items:
            if item.kind != "entities" or item.start is None or item.end is None:
                continue
            if item.agreed:
                for s, e, label in item.versions[0].value:
                    info = ner.label(label) if ner is not None else None
                    disputed = (s, e) in disputed_spans
                    tip = f"agreed: {label}" + (" (an attribute is disputed)" if disputed else "")
                    color = info.color if info else "#888888"
                    out.append(SpanStyle(s, e, DISPUTED_COLOR if disputed else color, tip,
                                         marked=disputed,
                                         badge=DISPUTED_BADGE if disputed else ""))
            else:
                tip = "disputed:\n" + "\n".join(
                    f"{', '.join(v.annotators)}: {version_text(item, v, adj.text)}"
                    for v in item.versions)
                out.append(SpanStyle(item.start, item.end, DISPUTED_COLOR, tip, marked=True,
                                     badge=DISPUTED_BADGE))
        return out

    def _disputed_items(self) -> tuple[Item, ...]:
        return self.adj.disputed if self.adj is not None and self.visible_items else ()

    def _agreed_items(self) -> tuple[Item, ...]:
        return self.adj.agreed if self.adj is not None and self.visible_items else ()

    def _fill_disputed(self, adj: Adjudication, before: dict[str, str | None]) -> None:
        names = sorted(adj.annotators)  # the same columns for every document
        items = self._disputed_items()
        self.groups = {}
        self._groups_owner.deleteLater()
        self._groups_owner = QObject(self)
        self.disputed.clear()
        self.disputed.setColumnCount(2 + len(names))
        self.disputed.setHorizontalHeaderLabels(["item", *names, "leave out"])
        self.disputed.setRowCount(len(items))
        for row, item in enumerate(items):
            what = QTableWidgetItem(item_title(item, adj.text))
            what.setToolTip(item.title or what.text())
            self.disputed.setItem(row, 0, what)
            group = QButtonGroup(self._groups_owner)
            group.setExclusive(True)
            for col, name in enumerate([*names, None], start=1):
                version = item.version_of(name) if name is not None else None
                full = version_text(item, version, adj.text) if version else "leave out"
                button = QRadioButton(excerpt(full))
                button.setToolTip(f"{name}'s version: {full}" if name else
                                  "Leave this item out of the gold")
                button.setProperty("annotator", name)
                group.addButton(button)
                self.disputed.setCellWidget(row, col, button)
                if item.key in before and before[item.key] == name:
                    button.setChecked(True)
            group.buttonToggled.connect(lambda _b, _on: self._update_chosen())
            self.groups[item.key] = group
        head = self.disputed.horizontalHeader()
        head.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)  # elided; tooltip
        head.setStretchLastSection(False)

    def _fill_agreed(self, adj: Adjudication) -> None:
        items = self._agreed_items()
        self.agreed.setRowCount(len(items))
        for row, item in enumerate(items):
            self.agreed.setItem(row, 0, QTableWidgetItem(item_title(item, adj.text)))
            value = version_text(item, item.versions[0], adj.text)
            cell = QTableWidgetItem(value)
            cell.setToolTip(value)
            self.agreed.setItem(row, 1, cell)

    def _fill_take_buttons(self, adj: Adjudication) -> None:
        for button in self.take_buttons:
            self.take_row.removeWidget(button)
            button.deleteLater()
        self.take_buttons = []
        for n, name in enumerate(sorted(adj.annotators)):
            button = QPushButton(name)
            button.setToolTip(f"Choose {name}'s version of every disputed item")
            button.clicked.connect(lambda _c=False, who=name: self.take_all(who))
            self.take_row.insertWidget(1 + n, button)
            self.take_buttons.append(button)
        shown = self.visible_items and bool(adj.disputed)
        self.take_label.setVisible(shown)
        for button in self.take_buttons:
            button.setVisible(shown)

    def _show_item(self, items: tuple[Item, ...], row: int) -> None:
        """Scroll the text to an item's stretch and select it."""
        if 0 <= row < len(items):
            item = items[row]
            if item.start is not None and item.end is not None:
                self.text.select_code_points(item.start, item.end)
                self.text.ensureCursorVisible()

    # --- choices -----------------------------------------------------------------------

    def choose(self, key: str, annotator: str | None) -> None:
        """Choose ``annotator``'s version of the disputed item ``key`` (None: leave it out)."""
        for button in self.groups[key].buttons():
            if button.property("annotator") == annotator:
                button.setChecked(True)

    def take_all(self, annotator: str) -> None:
        for key in self.groups:
            self.choose(key, annotator)

    def choices(self) -> dict[str, str | None]:
        """``{item key: annotator or None (leave out)}`` of the disputed items chosen."""
        out: dict[str, str | None] = {}
        for key, group in self.groups.items():
            button = group.checkedButton()
            if button is not None:
                out[key] = button.property("annotator")
        return out

    def _update_chosen(self) -> None:
        if self.adj is None or not self.visible_items:
            self.chosen_label.setText("")
            return
        n = len(self.adj.disputed)
        self.chosen_label.setText(f"{len(self.choices())} of {n} disputed item(s) decided"
                                  if n else "Nothing disputed: the layers agree")

    def save(self) -> bool:
        """Write the gold (asking first when a layer is open or an item undecided)."""
        adj = self.adj
        if adj is None or not self.visible_items:
            return False
        choices = self.choices()
        force = False
        if not adj.ready:
            waiting = ", ".join(x.annotator for x in adj.layers if not x.done)
            if not self._confirm(
                    "Layer not done",
                    f"{waiting} has not marked their layer done: it may still change.\n\n"
                    "Write the gold now anyway (force)?"):
                return False
            force = True
        open_items = len(adj.disputed) - len(choices)
        if open_items and not self._confirm(
                "Undecided items",
                f"{open_items} disputed item(s) have no version chosen: they are left out "
                "of the gold.\n\nSave the gold without them?"):
            return False
        command = AdjudicateCommand(self.ctx, adj.doc_id, choices, force=force)
        self.ctx.push(command)
        if command.failed:
            return False
        doc = next((d for d in self.docs if d.doc_id == adj.doc_id), None)
        name = (doc.external_id if doc is not None else None) or f"document {adj.doc_id}"
        self.ctx.message.emit(f"Gold labels of {name} written; it is marked reviewed "
                              "(Edit › Undo takes them back)")
        self.saved.emit(adj.doc_id)
        return True

    def _confirm(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self, title, text)
        return answer == QMessageBox.StandardButton.Yes
