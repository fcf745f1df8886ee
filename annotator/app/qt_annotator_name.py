"""Who is labelling: the annotator's name, asked once and kept in the app's settings.

Every label, decision and review status the app writes is stored as theirs
(``project.annotator``; in a team, each annotator's layers of the double-annotated
documents are theirs), and it is recorded with the time each decision took
(``project.timings``), so that the per-annotator totals of ``annotator stats`` name people,
not "user". By default it is the login name; Edit › Annotator name… changes it.
"""

from __future__ import annotations

import getpass

from PySide6.QtWidgets import QInputDialog, QLineEdit, QWidget

from annotator.app.qt_window_layout import app_settings

NAME_KEY = "annotator/name"
MAX_NAME = 100  # the length of the store's annotator column


def login_name() -> str:
    """The user's login name, or "user" (the store's default) when there is none."""
    try:
        return getpass.getuser().strip() or "user"
    except (OSError, KeyError, ImportError):  # no login name (some containers)
        return "user"


def saved_name() -> str | None:
    """The name chosen before, or None when it was never asked."""
    value = app_settings().value(NAME_KEY)
    return " ".join(str(value).split()) or None if value is not None else None


def annotator_name() -> str:
    """The name labels and timings are recorded under: the one chosen, else the login
    name."""
    return saved_name() or login_name()


def save_name(name: str) -> str | None:
    """Keep ``name`` (on one line, at most MAX_NAME characters); None if it is empty."""
    name = " ".join(name.split())[:MAX_NAME]
    if not name:
        return None
    app_settings().setValue(NAME_KEY, name)
    return name


def ask_annotator_name(parent: QWidget | None, *, first_start: bool = False) -> str | None:
    """Ask for the name (the current one filled in) and keep it; None when cancelled or
    left empty (the name stays what it was)."""
    dialog = QInputDialog(parent)
    dialog.setWindowTitle("Annotator name")
    intro = "Welcome. " if first_start else ""
    dialog.setLabelText(
        f"{intro}Your name: the labels you make and the time you spend are recorded under "
        "it\n(in a team, your layers are listed under it; Edit › Annotator name… changes "
        "it later):")
    dialog.setInputMode(QInputDialog.InputMode.TextInput)
    dialog.setTextEchoMode(QLineEdit.EchoMode.Normal)
    dialog.setTextValue(annotator_name())
    if not dialog.exec():
        return None
    return save_name(dialog.textValue())
