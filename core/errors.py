"""The errors the engine raises for the user to read.

Each carries a message meant for a person: what is wrong, where, and what to do next.
The CLI prints them on stderr with exit code 2; the desktop app shows them in a dialog.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class AnnotatorError(Exception):
    """Base class: an error the user can act on (never shown as a traceback)."""


@dataclass(frozen=True)
class Remedy:
    """A way past an input problem that its reader offers as an option, for the app to ask
    about (the message says the command line's words for it): read again with ``option``
    set to ``value`` (brat: ``discontinuous="join"``; ``skip`` with "relations" or
    "normalizations"). ``problem``: the problem said without those words; ``action``: a
    button's words; ``effect``: what it does to what is imported."""

    option: str
    value: str
    problem: str
    action: str
    effect: str


class InputError(AnnotatorError):
    """Bad input data: names the file, the line (when known) and what is wrong; ``remedy``,
    when the reader has an option that reads it (:class:`Remedy`)."""

    def __init__(self, path: str | Path | None, line: int | None, problem: str, *,
                 remedy: Remedy | None = None) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        self.problem = problem
        self.remedy = remedy
        where = self.path or "<input>"
        if line is not None:
            where = f"{where}:{line}"
        self.where = where
        super().__init__(f"{where}: {problem}")


class ExportError(AnnotatorError):
    """Records that cannot be written in the chosen format (the target file is left untouched)."""


class ProjectError(AnnotatorError):
    """A project file that cannot be opened or used (not a project, read-only, too new)."""


class ModelError(AnnotatorError):
    """A model directory that cannot be loaded safely (missing, tampered, mismatched)."""


class TrainingError(AnnotatorError):
    """A training run that cannot start or that failed (the reason is in the message)."""
