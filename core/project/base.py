"""A project: one SQLite file plus a folder of trained models beside it, or a PostgreSQL
database (``postgresql://user@host/dbname``) shared by a team, and the facade the app and
the CLI use (in the spirit of anki's collection object).

>>> project = Project.create("notes.db", tasks={"ner": ["Disease", "Medication"]})
>>> shared = Project.open("postgresql://anna@db.example.org/notes")
>>> changes = project.annotations.add_entity(doc_id, 10, 18, "Disease")
>>> project.undo(changes)  # the inverse was computed when the change was made

``project.write()`` / ``project.read()`` (sessions on the store) remain for core's own
modules; the app and the CLI call the areas.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.project.annotations import Annotations
from core.project.changes import Changes
from core.project.documents import Documents
from core.project.ops import Op, apply_op
from core.project.reviewing import Review
from core.project.team import Team
from core.project.timings import Timings
from core.project.training import Training
from core.project.versions import Models
from core.store import repo
from core.store.db import (
    ProjectDB,
    create_db,
    discard_new_database_project,
    is_database_url,
    open_db,
    project_exists,
)
from core.store.models import TrainingRun, acting_as
from core.tasks import kind_of
from core.types import TaskKind

# Where a database project's trained models are written (every machine that trains or
# predicts must see the same folder: a shared drive); default: the user's data folder.
MODELS_DIR_ENV = "ANNOTATOR_MODELS_DIR"


__all__ = ["MODELS_DIR_ENV", "Project", "discard_new_database_project", "is_project_url"]


def is_project_url(target: object) -> bool:
    """Whether ``target`` names a project in a PostgreSQL database rather than a file."""
    return is_database_url(target)


class Project:
    """An open project (a file or a database). Thread-safe: every thread opens its own
    sessions."""

    def __init__(self, db: ProjectDB, annotator: str | None = None) -> None:
        self.db = db
        # Who is working: every label, decision and review status written through this
        # project object is theirs (the app asks the name; the CLI's --annotator).
        self.annotator = annotator or "user"
        self.documents = Documents(self)
        self.annotations = Annotations(self)
        self.review = Review(self)
        self.models = Models(self)
        self.training = Training(self)
        self.timings = Timings(self)
        self.team = Team(self)

    @property
    def name(self) -> str:
        with self.read() as session:
            return repo.project_name(session)

    def apply(self, op: Op) -> Changes:
        """Apply one edit in its own unit of work; returns what changed and its inverse.
        Raises an ``AnnotatorError`` (nothing written) when the edit is refused."""
        with self.write() as session:
            return apply_op(session, op)

    def undo(self, changes: Changes) -> Changes:
        """Apply the inverse of ``changes``; the result's ``inverse`` redoes them."""
        if changes.inverse is None:
            raise repo.AnnotationError("this change cannot be undone")
        return self.apply(changes.inverse)

    @property
    def path(self) -> Path | None:
        """The project file; ``None`` for a project in a database (see :attr:`location`)."""
        return self.db.path

    @property
    def location(self) -> str:
        """Where the project is, for people: the file's path, or the database URL with its
        password hidden (what ``Project.open`` takes back)."""
        return self.db.location

    @property
    def is_database(self) -> bool:
        return self.db.path is None

    @property
    def short_name(self) -> str:
        """The file's name without ``.db``, or the database's name (window titles)."""
        return self.db.path.stem if self.db.path is not None else str(self.db.url.database)

    @property
    def models_dir(self) -> Path:
        """Where trained model versions live: ``<project>.models/`` beside the file; for a
        database project ``$ANNOTATOR_MODELS_DIR/<database>``, by default under the user's
        data folder (model versions store absolute paths: a team shares one folder)."""
        if self.db.path is not None:
            return self.db.path.with_name(self.db.path.stem + ".models")
        root = os.environ.get(MODELS_DIR_ENV)
        if not root:
            import platformdirs

            root = str(Path(platformdirs.user_data_dir("text-annotator", appauthor=False))
                       / "models")
        url = self.db.url
        where = "-".join(str(x) for x in (url.host or url.query.get("host") or "local",
                                          url.port, url.database) if x)
        return Path(root).expanduser().resolve() / where.replace("/", "_").strip("_")

    @staticmethod
    def exists(target: str | os.PathLike[str]) -> bool:
        """Whether there is a project at ``target``: the file exists, or the database holds
        a project's tables."""
        return project_exists(target)

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, readonly: bool = False,
             annotator: str | None = None) -> Project:
        """Open a project file or a database URL (``postgresql://user@host/dbname``), to
        work in as ``annotator`` (default "user")."""
        project = cls(open_db(path, readonly=readonly), annotator)
        if not readonly:
            project.recover()
        return project

    def recover(self) -> list[int]:
        """Tidy what a killed process left behind: training runs still marked "running"
        become failed ("interrupted"), and half-written model folders are removed."""
        with self.write() as session:
            marked = repo.mark_interrupted_runs(session)
            still_running = session.scalar(
                select(func.count(TrainingRun.id)).where(TrainingRun.status == "running")
            )
        if not still_running and self.models_dir.is_dir():
            for partial in self.models_dir.glob(".*.partial"):
                shutil.rmtree(partial, ignore_errors=True)
        return marked

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        *,
        tasks: Mapping[TaskKind | str, Sequence[str]] | None = None,
        multi_label: bool = False,
        name: str | None = None,
    ) -> Project:
        """Create a project file, or the project's schema in an empty PostgreSQL database
        (``postgresql://user@host/dbname``), with the given tasks and their label sets."""
        project = cls(create_db(path, name=name))
        if tasks:
            with project.write() as session:
                for kind, labels in tasks.items():
                    capable = kind_of(kind).multi_label_capable
                    task = repo.ensure_task(session, kind, multi_label=multi_label and capable)
                    repo.ensure_labels(session, task, labels)
        return project

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One unit of work, committed when the block ends, holding the project's write lock
        (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a transaction-level advisory lock)."""
        with acting_as(self.annotator), self.db.write() as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session on one consistent snapshot."""
        with self.db.read() as session:
            yield session

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
