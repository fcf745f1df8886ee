"""The Team menu: assign documents to annotators (a share to two), the agreement of their
layers, and adjudication of double-annotated documents into gold labels.

The work is ``project.team``'s (core); this module holds the menu's actions, the assign
dialog, and opens the agreement and adjudication windows (``qt_agreement``,
``qt_adjudication``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from annotator.app.qt_adjudication import QtAdjudicationDialog
from annotator.app.qt_agreement import QtAgreementDialog
from annotator.app.qt_jobs import JobControl
from core.project.team import AssignResult, TeamSettings

if TYPE_CHECKING:
    from annotator.app.qt_main_window import QtMainWindow

DEFAULT_SHARE = 20  # % double-annotated when the project has no team settings yet
ASSIGN_HELP = (
    "Gives every document nobody has yet (unreviewed, not labelled, not in the test split) "
    "to these annotators in turn. The double-annotated share, drawn at random, goes to two "
    "of them: each labels a layer of their own, and the two layers are compared (Team › "
    "Agreement) and adjudicated into the gold labels (Team › Adjudicate). Documents "
    "assigned before keep their annotators.\n\nAssigning cannot be undone (Edit › Undo "
    "does not take it back); the team's settings are kept in the project.")


def split_names(text: str) -> list[str]:
    """Annotator names from a comma-separated text, blanks dropped."""
    return [n.strip() for n in text.split(",") if n.strip()]


def prefilled_names(settings: TeamSettings, current: str) -> list[str]:
    """The names the assign dialog starts with: whoever is working, then the team's."""
    return [current, *(n for n in settings.annotators if n != current)]


@dataclass(frozen=True)
class AssignChoice:
    annotators: tuple[str, ...]
    double_share: float  # 0-1
    show_others: bool


class QtAssignDialog(QDialog):
    """Team › Assign documents…: the annotators, the double-annotated share and whether
    annotators may see each other's layers early. ``choice()`` is what was chosen."""

    def __init__(self, settings: TeamSettings, current: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Assign documents")
        self.names = QLineEdit(", ".join(prefilled_names(settings, current)))
        self.names.setToolTip("Comma-separated, e.g. ana, ben. Documents are given in this "
                              "order, in turn.")
        self.share = QSpinBox(minimum=0, maximum=100, suffix=" %")
        self.share.setValue(round(settings.double_share * 100) if settings.annotators
                            else DEFAULT_SHARE)
        self.share.setToolTip("The share of documents labelled by two annotators")
        self.share.setMaximumWidth(110)
        self.show_others = QCheckBox(
            "Let annotators see each other's layers before both are done")
        self.show_others.setChecked(settings.show_others)
        info = QLabel(ASSIGN_HELP)
        info.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Annotators:", self.names)
        form.addRow("Double-annotated share:", self.share)
        form.addRow("", self.show_others)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.assign_button = buttons.addButton("Assign", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #C62828")
        self.problem.hide()
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(info)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)
        self.setMinimumWidth(520)

    def choice(self) -> AssignChoice:
        return AssignChoice(tuple(split_names(self.names.text())), self.share.value() / 100,
                            self.show_others.isChecked())

    def _accept(self) -> None:
        choice = self.choice()
        problem = ""
        if not choice.annotators:
            problem = "Give at least one annotator's name."
        elif choice.double_share > 0 and len(choice.annotators) < 2:
            problem = "Double annotation needs two annotators (or a share of 0 %)."
        if problem:
            self.problem.setText(problem)
            self.problem.show()
            return
        self.accept()


def assigned_text(result: AssignResult) -> str:
    if not result.documents:
        return ("No document to assign: every unreviewed, unlabelled document outside the "
                "test split has its annotators already.")
    who = " · ".join(f"{name} {n}" for name, n in result.per_annotator.items())
    return (f"Assigned {result.documents} document(s), {result.double} of them to two "
            f"annotators ({result.layers_made} layers made): {who}.")


class QtTeamActions(QObject):
    """The Team menu of a main window and the windows it opens (one of each at a time,
    closed when the window opens another project)."""

    def __init__(self, window: QtMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.act_assign = self._action(
            "&Assign documents…", self.assign_dialog,
            "Give documents to annotators, a share of them to two (team work)")
        self.act_agreement = self._action(
            "A&greement…", self.show_agreement,
            "How far the annotators' layers of the double-annotated documents agree")
        self.act_adjudicate = self._action(
            "A&djudicate…", self.show_adjudication,
            "Turn the layers of a double-annotated document into its gold labels")
        self.agreement: QtAgreementDialog | None = None
        self.adjudication: QtAdjudicationDialog | None = None

    def _action(self, text: str, slot: Callable[[], Any], tip: str) -> QAction:
        action = QAction(text, self.window)
        action.setStatusTip(tip)
        action.setToolTip(tip)
        action.triggered.connect(slot)
        self.window.addAction(action)
        return action

    def fill_menu(self, menu: QMenu) -> None:
        for action in (self.act_assign, self.act_agreement, self.act_adjudicate):
            menu.addAction(action)

    # --- assignment ----------------------------------------------------------------------

    def assign_dialog(self) -> None:
        project = self.window.project
        dialog = QtAssignDialog(project.team.settings(), project.annotator, self.window)
        if dialog.exec():
            self.assign(dialog.choice())

    def assign(self, choice: AssignChoice) -> Any:
        """Configure the team and assign (a worker thread, behind a busy dialog)."""
        project = self.window.project

        def work(emit: Callable[[object], None], control: JobControl) -> AssignResult:
            # Worker thread: never touches widgets; each call is one unit of work.
            project.team.configure(show_others=choice.show_others)
            return project.team.assign(annotators=list(choice.annotators),
                                       double_share=choice.double_share)

        def done(result: AssignResult) -> None:
            self.window.doc_list.layers_changed()
            self.window.update_counts()
            if self.adjudication is not None:
                self.adjudication.reload()
            text = assigned_text(result)
            self.window.statusBar().showMessage(text, 10000)
            QMessageBox.information(self.window, "Assign documents", text)

        return self.window.run_in_background("Assign documents", work, done)

    # --- agreement and adjudication windows ----------------------------------------------

    def show_agreement(self) -> QtAgreementDialog:
        if self.agreement is None:
            self.agreement = QtAgreementDialog(self.window.project, self.window)
            self.agreement.finished.connect(lambda _r: self._forget("agreement"))
        else:
            self.agreement.refresh()
        self.agreement.show()
        self.agreement.raise_()
        return self.agreement

    def show_adjudication(self) -> QtAdjudicationDialog:
        if self.adjudication is None:
            self.adjudication = QtAdjudicationDialog(self.window.ctx, self.window)
            self.adjudication.finished.connect(lambda _r: self._forget("adjudication"))
            # Ctrl+Z / Ctrl+Shift+Z work in it too: Undo takes a saved gold back.
            self.adjudication.addActions([self.window.act_undo, self.window.act_redo])
        self.adjudication.show()
        self.adjudication.raise_()
        return self.adjudication

    def _forget(self, name: str) -> None:
        dialog = getattr(self, name)
        setattr(self, name, None)
        if dialog is not None:
            dialog.deleteLater()

    def project_changed(self) -> None:
        """Another project is open: the windows of the old one close."""
        self.stop(10)
        for name in ("agreement", "adjudication"):
            dialog = getattr(self, name)
            if dialog is not None:
                dialog.close()
                self._forget(name)

    def stop(self, timeout: float | None = None) -> None:
        """Before the project closes: wait for a running agreement computation."""
        if self.agreement is not None:
            self.agreement.stop(timeout)
