"""The main window: document list, one view per task, the training panel, menus.

Longer than 500 lines because it wires every menu action to its view in one place; its
dialogs, layout rules, help and training settings already live in their own qt_* modules.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressDialog,
    QSplitter,
    QTabWidget,
    QWidget,
)

from annotator import __version__
from annotator.app.qt_annotator_name import (
    annotator_name,
    ask_annotator_name,
    login_name,
    save_name,
    saved_name,
)
from annotator.app.qt_answers import QtAnswersView
from annotator.app.qt_classes import QtClassesView
from annotator.app.qt_commands import (
    AppliedChangeCommand,
    LabelAllCommand,
    QtProjectContext,
    SetReviewStatusCommand,
)
from annotator.app.qt_documents import LAYER_TIP, QtDocumentList
from annotator.app.qt_entities import QtEntitiesView
from annotator.app.qt_help import how_to_page, shortcut_sheet
from annotator.app.qt_jobs import (
    JobControl,
    QtBackgroundTask,
    QtLatestQuery,
    collect_garbage_on_gui_thread,
    warm_up_engine,
)
from annotator.app.qt_labels import QtLabelsDialog
from annotator.app.qt_project_dialogs import (
    EXPORT_FORMATS,
    IMPORT_SPLITS,
    QtNewProjectDialog,
    ask_database_url,
    export_default_path,
)
from annotator.app.qt_project_dialogs import choose as _choose
from annotator.app.qt_sentences import QtSentencesView
from annotator.app.qt_team import QtTeamActions
from annotator.app.qt_training import QtTrainingPanel
from annotator.app.qt_training_settings import TASK_TITLES
from annotator.app.qt_window_layout import MIN_EDITOR_WIDTH, QtWindowLayout, app_settings
from core.errors import AnnotatorError, Remedy
from core.project import CountsView, DocumentView, Project, is_project_url
from core.types import TaskKind

log = logging.getLogger(__name__)
MAX_RECENT = 8


def recent_projects() -> list[str]:
    value = app_settings().value("recentProjects", [])
    if isinstance(value, str):
        value = [value]
    return [p for p in (value or []) if is_project_url(p) or Path(p).exists()]


def remember_project(path: Path | str) -> None:
    """``path``: a project file, or a database URL (its password hidden)."""
    items = [str(path)] + [p for p in recent_projects() if p != str(path)]
    app_settings().setValue("recentProjects", items[:MAX_RECENT])


def layer_text(layer: str | None, annotator: str) -> str:
    """The corner above the editor when the document shown is an annotator's layer."""
    if layer is None:
        return ""
    whose = "Your" if layer == annotator else f"{html.escape(layer)}'s"
    return f"<b>{whose} layer</b> · double-annotated"


def ask_remedy(parent: QWidget, where: str, remedy: Remedy) -> bool:
    """Whether the user takes ``remedy`` for the import problem at ``where``."""
    box = QMessageBox(QMessageBox.Icon.Question, "Import",
                      f"{where}: {remedy.problem}.", parent=parent)
    box.setInformativeText(f"{remedy.action}? Then {remedy.effect}; nothing is imported "
                           "otherwise.")
    take = box.addButton(remedy.action, QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(take)
    box.exec()
    return box.clickedButton() is take


class QtMainWindow(QtWindowLayout, QMainWindow):
    """One open project. Every edit is committed at once; there is no Save."""

    countsUpdated = Signal(object)  # CountsView, after the status bar showed it
    engineReady = Signal()  # the training engine's modules are imported

    # Milliseconds after the first show before the engine's heavy modules are imported on
    # a worker (see qt_jobs.ENGINE_MODULES); None: never (tests), 0: at once.
    warm_up_delay_ms: int | None = 1500

    def __init__(self, project: Project) -> None:
        super().__init__()
        collect_garbage_on_gui_thread()  # Qt objects are destroyed on this thread only
        self.setMinimumSize(900, 600)
        self.project = project
        self.ctx: QtProjectContext
        self.doc: DocumentView | None = None
        self.views: dict[TaskKind, Any] = {}
        self._busy: list[QtBackgroundTask] = []
        self._counts_timer = QTimer(self, singleShot=True, interval=300)
        self._counts_timer.timeout.connect(self.update_counts)
        self.counts_label = QLabel()
        self.statusBar().addPermanentWidget(self.counts_label)
        self.time_label = QLabel(toolTip="Time spent labelling and reviewing, per kind")
        self.statusBar().addPermanentWidget(self.time_label)
        self.annotator_label = QLabel(toolTip="The name your labels, decisions and time are "
                                      "recorded under (Edit › Annotator name… changes it)")
        self.statusBar().addPermanentWidget(self.annotator_label)
        for later in (self.time_label, self.annotator_label):  # apart from the one before
            later.setContentsMargins(16, 0, 0, 0)
        self._build_actions()
        self.team = QtTeamActions(self)
        self._build_menus()
        self._load_project(project)
        self._restore_state()
        self.engine_warm_up: QtBackgroundTask | None = None

    # --- building ------------------------------------------------------------------------

    def _action(self, text: str, slot: Callable[[], Any], shortcut: Any = None,
                tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            if isinstance(shortcut, (list, tuple)):
                action.setShortcuts([QKeySequence(s) for s in shortcut])
            else:
                action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.act_new = self._action("&New project…", self.new_project, QKeySequence.StandardKey.New)
        self.act_open = self._action("&Open project…", self.open_project_dialog,
                                     QKeySequence.StandardKey.Open)
        self.act_open_database = self._action(
            "Open &database…", self.open_database_dialog, None,
            "Open a project shared in a PostgreSQL database (postgresql://user@host/dbname)")
        self.act_import = self._action("&Import…", self.import_dialog, "Ctrl+I",
                                       "Add documents (and their labels) from a file")
        self.act_export = self._action("&Export…", self.export_dialog, "Ctrl+E",
                                       "Write the documents and labels to a file")
        self.act_quit = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.act_undo = self._action("&Undo", lambda: self.ctx.undo_stack.undo(), "Ctrl+Z")
        self.act_redo = self._action("&Redo", lambda: self.ctx.undo_stack.redo(),
                                     ["Ctrl+Shift+Z", "Ctrl+Y"])
        self.act_labels = self._action("&Labels…", self.edit_labels, "Ctrl+L",
                                       "Edit label names, colours and keys")
        self.act_annotator = self._action("Annotator &name…", self.change_annotator_name, None,
                                          "Your name, recorded with the time you spend "
                                          "labelling and reviewing")
        self.act_next = self._action("&Next document", lambda: self.move(1), ["J", "Ctrl+Right"])
        self.act_prev = self._action("&Previous document", lambda: self.move(-1), ["K", "Ctrl+Left"])
        self.act_skip = self._action("&Skip document", self.skip, "S",
                                     "Mark as skipped and go to the next document")
        self.act_reviewed = self._action("Mark &reviewed", self.mark_reviewed,
                                         ["Ctrl+Return", "Ctrl+Enter"],
                                         "Mark as reviewed and go to the next document")
        self.act_patterns = self._action(
            "Apply &patterns or term list…", self.patterns_dialog, None,
            "Suggest entities from a pattern file (JSONL, as Prodigy writes them) or a term "
            "list (one term a line): reviewed like the model's suggestions")
        self.act_label_terms = self._action(
            "Suggest from my &labels", self.suggest_from_labels, None,
            "Every phrase you labelled as an entity, suggested wherever else it occurs")
        self.act_label_all = self._action(
            "Label &all occurrences", lambda: self.label_all_occurrences(suggest=False),
            "Ctrl+Shift+A",
            "The entity at the cursor: its label on every other place of its text in the "
            "unreviewed notes outside the test split (one Undo takes them all back)")
        self.act_suggest_all = self._action(
            "Suggest all o&ccurrences", lambda: self.label_all_occurrences(suggest=True),
            "Ctrl+Alt+A",
            "The entity at the cursor: its label suggested on every other place of its text, "
            "to review one by one")
        self.act_about = self._action("&About", self.show_about)
        self.act_shortcuts = self._action("&Keyboard shortcuts", self.show_shortcuts,
                                          ["F1", "?"], "Every key of the app on one page")
        self.act_how_to = self._action("&How to work", self.show_how_to, None,
                                       "Label, train, review: the workflow in short")

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        file.addAction(self.act_new)
        file.addAction(self.act_open)
        file.addAction(self.act_open_database)
        self.recent_menu = file.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file.addSeparator()
        file.addAction(self.act_import)
        file.addAction(self.act_export)
        file.addSeparator()
        file.addAction(self.act_quit)
        edit = bar.addMenu("&Edit")
        edit.addAction(self.act_undo)
        edit.addAction(self.act_redo)
        edit.addSeparator()
        edit.addAction(self.act_labels)
        edit.addAction(self.act_annotator)
        review = bar.addMenu("&Review")
        for a in (self.act_next, self.act_prev, self.act_skip, self.act_reviewed):
            review.addAction(a)
        review.addSeparator()
        for a in (self.act_label_all, self.act_suggest_all, self.act_patterns,
                  self.act_label_terms):
            review.addAction(a)
        self.view_menu = bar.addMenu("&View")
        theme_menu = self.view_menu.addMenu("&Theme")
        self.theme_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        from annotator.app.qt_theme import THEMES, current_theme

        for name, title in THEMES.items():
            action = theme_menu.addAction(title, lambda n=name: self.set_theme(n))
            action.setCheckable(True)
            action.setChecked(name == current_theme())
            group.addAction(action)
            self.theme_actions[name] = action
        self.view_menu.addSeparator()
        self.team_menu = bar.addMenu("&Team")
        self.team.fill_menu(self.team_menu)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.act_how_to)
        help_menu.addAction(self.act_shortcuts)
        help_menu.addSeparator()
        help_menu.addAction(self.act_about)

    def _load_project(self, project: Project) -> None:
        self.project = project
        self.ctx = QtProjectContext(project, self)
        self.ctx.documentChanged.connect(self._on_document_changed)
        # An undo or redo of the labels dialog's edits: every view's label set again.
        self.ctx.labelsChanged.connect(self._on_labels_changed)
        self.ctx.message.connect(lambda m: self.statusBar().showMessage(m, 6000))
        self.ctx.timeSpent.connect(self.time_label.setText)
        self._set_annotator(annotator_name())
        self.time_label.setText(self.ctx.time_spent_text())
        self.ctx.undo_stack.canUndoChanged.connect(self.act_undo.setEnabled)
        self.ctx.undo_stack.canRedoChanged.connect(self.act_redo.setEnabled)
        self.act_undo.setEnabled(False)
        self.act_redo.setEnabled(False)
        old_query = getattr(self, "_counts_query", None)
        if old_query is not None:
            old_query.ready.disconnect()
            old_query.stop(10)
            old_query.deleteLater()
        # Runs on a worker thread: it reads plain attributes, never the list widget.
        self._counts_kind: TaskKind | None = None
        self._counts_query = QtLatestQuery(
            lambda p=project: p.documents.counts(self._counts_kind, annotator=p.annotator),
            name="counts", parent=self,
        )
        self._counts_query.ready.connect(self._on_counts)

        previous = getattr(self, "doc_list", None)  # switching projects keeps the layout
        if previous is not None:
            self.team.project_changed()
        header = previous.header_state() if previous is not None else None
        splitter_state = self.splitter.saveState() if previous is not None else None
        self.doc_list = QtDocumentList(project)
        if header is not None:
            self.doc_list.restore_header_state(header)
        self.doc_list.documentSelected.connect(self.show_document)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.currentChanged.connect(lambda _i: self._on_tab_changed())
        self.tabs.setMinimumWidth(MIN_EDITOR_WIDTH)
        # Whose layer the document shown is (team work), in the corner above the editor.
        self.layer_label = QLabel(toolTip=LAYER_TIP)
        self.layer_label.setObjectName("layerLabel")
        self.layer_label.setContentsMargins(8, 0, 8, 0)
        self.layer_label.hide()
        self.tabs.setCornerWidget(self.layer_label, Qt.Corner.TopRightCorner)
        self.views = {}
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.doc_list)
        self.splitter.addWidget(self.tabs)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setChildrenCollapsible(False)
        self.doc_list.setMinimumWidth(300)
        self.splitter.setSizes([480, 660])
        if splitter_state is not None:
            self.splitter.restoreState(splitter_state)
        old = self.centralWidget()
        self.setCentralWidget(self.splitter)
        if old is not None:
            old.deleteLater()

        self.training = QtTrainingPanel(project)
        self.training.message.connect(lambda m: self.statusBar().showMessage(m, 8000))
        self.training.suggestionsRefreshed.connect(lambda _n: self._after_bulk_change())
        self.training.trainingFinished.connect(lambda _o: self.update_counts())
        dock = getattr(self, "training_dock", None)
        if dock is None:
            self.training_dock = QDockWidget("Training", self)
            self.training_dock.setObjectName("trainingDock")
            self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.training_dock)
            self.view_menu.addAction(self.training_dock.toggleViewAction())
        else:
            dock.widget().stop_queries(10)
            dock.widget().deleteLater()
        self.training_dock.setWidget(self.training)
        self._rebuild_views()
        self._on_tab_changed()
        if previous is not None:
            QTimer.singleShot(0, self._ensure_usable_layout)
        self.setWindowTitle(f"{project.short_name} — Annotator")
        remember_project(project.location)
        self.update_counts()
        if self.doc_list.model.rowCount():
            self.doc_list.select_row(0)

    def _rebuild_views(self) -> None:
        tasks = self.project.documents.tasks()
        current = self.tabs.currentIndex()
        self.tabs.clear()
        for view in self.views.values():
            view.deleteLater()
        self.views = {}
        # One view per kind, in the order of the tabs.
        makers: dict[TaskKind, Any] = {
            TaskKind.NER: QtEntitiesView, TaskKind.CLASSIFY: QtClassesView,
            TaskKind.SENTENCE: QtSentencesView, TaskKind.QA: QtAnswersView,
        }
        for kind, cls in makers.items():
            if kind not in tasks:
                continue
            view = cls(self.ctx)
            if kind is not TaskKind.QA:
                view.set_task(tasks[kind])
            self.views[kind] = view
            self.tabs.addTab(view, TASK_TITLES[kind])
        if 0 <= current < self.tabs.count():
            self.tabs.setCurrentIndex(current)
        names = [lab.name for t in tasks.values() for lab in t.labels]
        self.doc_list.set_label_names(names)
        if self.doc is not None:
            self.show_document(self.doc.id)

    def _on_labels_changed(self) -> None:
        """The tasks or label sets changed under the views (an undo or redo of the labels
        dialog): the class views and the list's label filter get them again (the entities
        view listens itself), and the document shown is drawn with them."""
        tasks = self.project.documents.tasks()
        for kind in (TaskKind.CLASSIFY, TaskKind.SENTENCE):
            view = self.views.get(kind)
            if view is not None and kind in tasks:
                view.set_task(tasks[kind])
        self.doc_list.set_label_names([lab.name for t in tasks.values() for lab in t.labels])
        if self.doc is not None:
            self.show_document(self.doc.id, keep_cursor=True)

    # --- documents -----------------------------------------------------------------------

    def show_document(self, doc_id: int, *, keep_cursor: bool = False) -> None:
        self.doc = self.project.documents.get(doc_id)
        layer = self.doc.layer if self.doc is not None else None
        self.layer_label.setText(layer_text(layer, self.project.annotator))
        self.layer_label.setVisible(layer is not None)
        for view in self.views.values():
            view.show_document(self.doc, keep_cursor=keep_cursor)
        if not keep_cursor:  # a refresh after an edit keeps the decision's clock running
            self.ctx.document_shown(doc_id)
            self._focus_view()

    def _on_tab_changed(self) -> None:
        # The list's status column and "Settings for" follow the kind of the view shown.
        kind = next((k for k, v in self.views.items() if v is self.tabs.currentWidget()), None)
        self.ctx.view_kind = kind
        if kind is not None and kind != self.doc_list.kind:
            self.doc_list.set_kind(kind)
            self._counts_kind = kind
            self.update_counts()
        training = getattr(self, "training", None)
        if training is not None and kind is not None:
            training.select_task(kind)
        self._focus_view()

    def _focus_view(self) -> None:
        view = self.tabs.currentWidget()
        target = getattr(view, "editor", None) or getattr(view, "passage", None) or getattr(view, "text", None)
        if target is not None:
            target.setFocus()

    def current_view(self) -> Any:
        return self.tabs.currentWidget()

    def _on_document_changed(self, doc_id: int) -> None:
        if self.doc is not None and doc_id == self.doc.id:
            self.show_document(doc_id, keep_cursor=True)
        elif self.doc_list.model.row_of(doc_id) is not None:
            self.doc_list.select_doc(doc_id)
        self.doc_list.model.refresh_document(doc_id)
        self._counts_timer.start()

    def _after_bulk_change(self) -> None:
        self.doc_list.reload()
        self.update_counts()
        if self.doc is not None:
            self.show_document(self.doc.id, keep_cursor=True)

    def move(self, delta: int) -> None:
        if not self.doc_list.move(delta):
            self.statusBar().showMessage("no more documents in this list", 3000)

    def _set_status(self, status: str) -> None:
        if self.doc is None:
            return
        if self.doc.review_status != status:
            self.ctx.push(SetReviewStatusCommand(self.ctx, self.doc.id, self.doc.review_status, status))
        self.move(1)

    def mark_reviewed(self) -> None:
        self._set_status("reviewed")

    def skip(self) -> None:
        self._set_status("skipped")

    def update_counts(self) -> None:
        """Recount on a worker thread (hundreds of ms at 100,000 documents); the labels
        update when ``_on_counts`` gets the result."""
        self._counts_query.request()

    def _on_counts(self, counts: CountsView) -> None:
        self.counts_label.setText(counts.summary())
        self.doc_list.set_status_counts(counts.statuses)
        self.training.counts_changed(self._counts_kind, counts.statuses)
        self.countsUpdated.emit(counts)

    # --- the annotator -------------------------------------------------------------------

    def _set_annotator(self, name: str) -> None:
        """Work as ``name``: the labels, decisions and times written from now on are theirs,
        and the list shows their layers of double-annotated documents (the document shown
        becomes their layer of it, or the document itself)."""
        self.ctx.annotator = name
        self.project.annotator = name
        self.annotator_label.setText(f"Annotator: {name}")
        doc_list = getattr(self, "doc_list", None)
        if doc_list is None or doc_list.project is not self.project or doc_list.annotator == name:
            return  # a list being made reads the name from the project
        shown = self.doc
        doc_list.set_annotator(name)
        self.update_counts()
        if shown is not None:
            original = shown.layer_of if shown.layer_of is not None else shown.id
            target = self.project.team.layer_for(original, name) or original
            if doc_list.model.row_of(target) is not None:
                doc_list.select_doc(target)
            else:
                doc_list.select_row(0)

    def change_annotator_name(self) -> None:
        """Edit › Annotator name…: whose labels, decisions and times the next ones are."""
        name = ask_annotator_name(self)
        if name is not None:
            self._set_annotator(name)
            self.statusBar().showMessage(
                f"Your labels and time are now recorded as {name}'s", 6000)

    def ask_annotator_name_once(self) -> None:
        """The app's first start (``run_app`` calls it, tests and scripts do not): ask the
        name once; cancelled, the login name stays and is kept, so it is not asked again."""
        if saved_name() is not None:
            return
        name = ask_annotator_name(self, first_start=True) or save_name(login_name())
        if name is not None:
            self._set_annotator(name)

    # --- project files -------------------------------------------------------------------

    def new_project(self) -> None:
        dialog = QtNewProjectDialog(self)
        if not dialog.exec():
            return
        try:
            project = dialog.create_project()
        except AnnotatorError as exc:
            QMessageBox.warning(self, "New project", str(exc))
            return
        self.switch_project(project)

    def open_project_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open project", "", "Projects (*.db);;All files (*)")
        if path:
            self.open_project(path)

    def open_database_dialog(self) -> None:
        url = ask_database_url(self)
        if url:
            self.open_project(url)

    def open_project(self, path: str) -> None:
        try:
            project = Project.open(path)
        except AnnotatorError as exc:
            QMessageBox.warning(self, "Open project", str(exc))
            return
        self.switch_project(project)

    def switch_project(self, project: Project) -> None:
        if self.training.is_running():
            QMessageBox.information(self, "Annotator", "Wait for the training run to end (or cancel it).")
            project.close()
            return
        old = self.project
        self.doc = None
        self._load_project(project)
        old.close()

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in recent_projects():
            self.recent_menu.addAction(path, lambda p=path: self.open_project(p))
        if not self.recent_menu.actions():
            self.recent_menu.addAction("(none)").setEnabled(False)

    def edit_labels(self) -> None:
        dialog = QtLabelsDialog(self.project, self)
        dialog.exec()
        undoable = [c for c in dialog.applied if c.inverse is not None]
        if undoable:  # one Undo takes the dialog's edits back (a deleted label with its labels)
            stack = self.ctx.undo_stack
            stack.beginMacro("edit labels")
            for changes in undoable:
                stack.push(AppliedChangeCommand(self.ctx, changes, "edit labels"))
            stack.endMacro()
        if dialog.changed:
            self._rebuild_views()
            self.doc_list.reload()

    # --- import / export (worker thread) -----------------------------------------------------

    def run_in_background(self, title: str, fn: Callable[[Callable[[object], None], JobControl], Any],
                          on_success: Callable[[Any], None]) -> QtBackgroundTask:
        """Run ``fn`` on a worker thread behind a cancellable busy dialog."""
        task = QtBackgroundTask(fn, name=title, parent=self)
        dialog = QProgressDialog(f"{title}…", "Cancel", 0, 0, self)
        dialog.setWindowTitle(title)
        dialog.setMinimumDuration(300)
        dialog.canceled.connect(task.cancel)
        task.succeeded.connect(on_success)
        task.failed.connect(lambda m: QMessageBox.warning(self, title, m))
        task.done.connect(dialog.close)
        task.done.connect(lambda: self._busy.remove(task))
        self._busy.append(task)
        task.start()
        return task

    def import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import documents", "",
            "All supported (*.txt *.csv *.tsv *.jsonl *.json *.conll *.bio *.ann);;"
            "brat standoff (*.ann);;All files (*)",
        )
        if not path:
            return
        if path.lower().endswith(".ann"):  # a brat corpus is a folder of .txt + .ann pairs
            scopes = {"Every .txt + .ann pair in its folder": True, "This document only": False}
            scope, ok = _choose(self, "Import", "Import:", list(scopes))
            if not ok:
                return
            if scopes.get(scope, False):
                path = str(Path(path).parent)
        split, ok = _choose(self, "Import", "Use the documents for:", list(IMPORT_SPLITS))
        if not ok:
            return
        self.import_file(path, IMPORT_SPLITS.get(split, split if split in ("train", "dev", "test")
                                                 else None))

    def import_file(self, path: str, split: str | None = None, *,
                    discontinuous: str = "refuse",
                    skip: frozenset[str] = frozenset()) -> QtBackgroundTask:
        """Import ``path`` on a worker thread (all or nothing). A brat corpus that needs one
        of its reader's options (discontinuous entities joined, relations or normalisations
        left out) is read again with it once the user agrees (``discontinuous``, ``skip``)."""
        project = self.project

        def work(emit: Callable[[object], None], control: JobControl) -> Any:
            # Worker thread: never touches widgets; one transaction, all or nothing.
            from core.errors import InputError
            from core.formats import read_import

            try:  # brat maps to the project's entity declarations
                records, report = read_import(
                    path, ner=project.documents.tasks().get(TaskKind.NER),
                    discontinuous=discontinuous, skip=skip)
            except InputError as exc:
                if exc.remedy is None:
                    raise
                return exc  # asked about on the GUI thread
            # Suggestions in a JSONL file are never labels: say how many were left out.
            left_out = records.suggestions_left_out
            if control.cancelled:
                return None
            return project.documents.add(records, split=split)[0], left_out, report

        def done(result: Any) -> None:
            if result is None:
                return
            if isinstance(result, AnnotatorError):  # an InputError with a remedy
                remedy = result.remedy
                if ask_remedy(self, result.where, remedy):
                    self.import_file(
                        path, split,
                        discontinuous=(remedy.value if remedy.option == "discontinuous"
                                       else discontinuous),
                        skip=skip | {remedy.value} if remedy.option == "skip" else skip)
                return
            summary, left_out, report = result
            self._rebuild_views()
            self._after_bulk_change()
            QMessageBox.information(
                self, "Import",
                f"{summary.documents_added} document(s) added, {summary.duplicates} already "
                f"present, {summary.annotations_added} label(s), {summary.questions_added} "
                "question(s)." + (f"\nNew labels: {', '.join(summary.labels_added)}"
                                  if summary.labels_added else "")
                + "".join(f"\n{part[0].upper()}{part[1:]}." for part in
                          (report.summary() if report is not None else ()))
                + (f"\n{left_out} suggestion(s) in the file were not imported: a suggestion "
                   "is never read as a label." if left_out else ""),
            )

        return self.run_in_background("Import", work, done)

    def export_dialog(self) -> None:
        from core.formats import FORMATS

        titles = {EXPORT_FORMATS.get(f, f): f for f in
                  sorted(FORMATS, key=lambda f: list(EXPORT_FORMATS).index(f)
                         if f in EXPORT_FORMATS else len(EXPORT_FORMATS))}
        title, ok = _choose(self, "Export", "Format:", list(titles), EXPORT_FORMATS["jsonl"])
        if not ok:
            return
        fmt = titles.get(title, title)
        path, _ = QFileDialog.getSaveFileName(
            self, "Export", export_default_path(self.project.path, fmt, self.project.short_name), "All files (*)")
        if path:
            self.export_file(path, fmt)

    def export_file(self, path: str, fmt: str) -> QtBackgroundTask:
        project = self.project

        def work(emit: Callable[[object], None], control: JobControl) -> Any:
            # Worker thread: never touches widgets.
            from core.formats import write_file

            ner = project.documents.tasks().get(TaskKind.NER)  # brat leaves defaults out
            return write_file(project.documents.records(), path, fmt,
                              attributes=ner.attributes if ner is not None else None)

        return self.run_in_background(
            "Export", work,
            lambda n: self.statusBar().showMessage(f"{n} document(s) written to {path}", 8000),
        )

    # --- patterns, term lists, label all occurrences ------------------------------------

    def patterns_dialog(self) -> None:
        if TaskKind.NER not in self.project.documents.tasks():
            QMessageBox.information(self, "Patterns", "Patterns suggest entities: this "
                                    "project has no entity task.")
            return
        path, _ = QFileDialog.getOpenFileName(
            self, "Apply patterns or a term list", "",
            "Patterns or terms (*.jsonl *.json *.txt);;All files (*)")
        if not path:
            return
        label: str | None = None
        from core.formats.patterns import looks_like_pattern_file

        try:
            head = Path(path).read_text(encoding="utf-8", errors="replace")[:4096]
        except OSError as exc:
            QMessageBox.warning(self, "Patterns", f"{path}: cannot read it ({exc.strerror})")
            return
        if not looks_like_pattern_file(head):
            labels = [lab.name for lab in self.project.documents.tasks()[TaskKind.NER].labels]
            label, ok = _choose(self, "Term list", f"Label the terms of {Path(path).name} as:",
                                labels)
            if not ok:
                return
        self.apply_patterns_file(path, label)

    def apply_patterns_file(self, path: str, label: str | None = None) -> QtBackgroundTask:
        """Store the matches of a pattern file (``label``: a term list's label) as
        suggestions of the source ``patterns:<file name>``."""
        project = self.project

        def work(emit: Callable[[object], None], control: JobControl) -> Any:
            # Worker thread: never touches widgets.
            from core.formats.patterns import read_patterns

            patterns = read_patterns(path, label=label)
            return project.review.apply_patterns(TaskKind.NER, patterns,
                                                 source=f"patterns:{Path(path).name}")

        return self.run_in_background("Patterns", work, self._patterns_done)

    def suggest_from_labels(self) -> QtBackgroundTask | None:
        """Every phrase labelled as an entity, suggested wherever else it occurs."""
        if TaskKind.NER not in self.project.documents.tasks():
            return None
        project = self.project

        def work(emit: Callable[[object], None], control: JobControl) -> Any:
            # Worker thread: never touches widgets.
            terms = project.review.label_terms(TaskKind.NER)
            if not terms:
                from core.errors import AnnotatorError

                raise AnnotatorError("no entity labelled yet: label a few first")
            return project.review.apply_patterns(TaskKind.NER, terms,
                                                 source="patterns:my labels")

        return self.run_in_background("Suggest from my labels", work, self._patterns_done)

    def _patterns_done(self, result: Any) -> None:
        self._after_bulk_change()
        self.statusBar().showMessage(
            f"{result.suggestions} suggestion(s) from {result.patterns} pattern(s) in "
            f"{result.documents} document(s) ({result.source}); {result.kept} already "
            f"pending, {result.removed} no longer found", 10000)

    def label_all_occurrences(self, *, suggest: bool) -> None:
        """The entity at the cursor of the entities view: its label on (or suggested for)
        every other occurrence of its text; one undoable step."""
        view = self.views.get(TaskKind.NER)
        if view is None or self.doc is None or self.tabs.currentWidget() is not view:
            self.statusBar().showMessage("put the cursor on an entity in the Entities tab", 5000)
            return
        entity = view.entity_at(view.editor.cursor_code_point())
        if entity is None:
            self.statusBar().showMessage("no entity at the cursor", 5000)
            return
        command = LabelAllCommand(self.ctx, self.doc.id, entity.start, entity.end,
                                  suggest=suggest)
        self.ctx.push(command)
        self._after_bulk_change()

    # --- about and state -----------------------------------------------------------------

    def show_about(self) -> None:
        from annotator.app.main import runtime_versions

        v = runtime_versions()
        QMessageBox.about(
            self, "About Annotator",
            f"<h3>Annotator {__version__}</h3>"
            "<p>Label entities, classes of notes and of their sentences, and answers; "
            "fine-tune a local model; review its suggestions.</p>"
            f"<p>Qt {v['qt']} · PySide6 {v['pyside']}<br>torch {v['torch']} · "
            f"transformers {v['transformers']}<br>Device: <b>{v['device']}</b></p>"
            f"<p>Project: {self.project.location}</p>",
        )

    def show_shortcuts(self) -> None:
        entities = self.views.get(TaskKind.NER)
        keys = getattr(entities, "attribute_keys", None) or None
        shortcut_sheet(self.actions(), self, keys).exec()

    def show_how_to(self) -> None:
        how_to_page(self).exec()

    def set_theme(self, name: str) -> None:
        """View › Theme: follow the system (the default), or light or dark; remembered."""
        from annotator.app.qt_theme import apply_theme

        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, name)
        app_settings().setValue("view/theme", name)
        self.training.apply_theme_colors()
        self.doc_list.reload()
        if name in self.theme_actions:
            self.theme_actions[name].setChecked(True)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if getattr(self, "_default_split_pending", False):
            self._default_split_pending = False
            QTimer.singleShot(0, self._default_split)  # after the first layout pass
        QTimer.singleShot(0, self._ensure_usable_layout)
        if self.engine_warm_up is None and self.warm_up_delay_ms is not None:
            self.engine_warm_up = QtBackgroundTask(warm_up_engine, name="engine warm-up",
                                                   parent=self)
            self.engine_warm_up.succeeded.connect(lambda _names: self.engineReady.emit())
            QTimer.singleShot(self.warm_up_delay_ms, self._start_warm_up)

    def _start_warm_up(self) -> None:
        task = self.engine_warm_up
        if task is not None and not task.is_running() and not self.training.is_running():
            task.start()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_state()
        for task in [self.training.task, self.training.preannotation, self.engine_warm_up,
                     *self._busy]:
            if task is not None and task.is_running():
                task.cancel()
                task.wait(10)
        self._counts_query.stop(10)
        self.training.stop_queries(10)
        self.team.stop(10)
        self.project.close()
        super().closeEvent(event)
