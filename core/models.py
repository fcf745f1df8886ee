"""Model versions in one place: register, activate, list and resolve them.

    info = models.register(project, "ner", path=model_dir, base_model="default",
                           metrics=result.dev_metrics, labels=["Disease"])
    models.resolve(project, "ner").path        # the version to use, its directory
    models.resolve(project, "ner", version=2)   # a named version
    models.activate(project, "ner", 2)

**Which version is used** (evaluate, pre-annotation, the queue, the app: all call
:func:`resolve`): the version named, else the task's active version, else — when none is
active (rows written by hand or by an older program) — the newest one. A new version is
registered active, so after training the newest version is the active one until the user
activates another. :class:`NoModelError` when the task has no such version.

**Where a version lives** (:func:`resolve_path`, the one path resolver): the stored path
as it is when absolute; a relative one under the project's models folder
(``<project>.models/`` beside the file), else beside the project file.

Every function takes a :class:`~core.project.Project` (it opens its own short read or
write session) or an open SQLAlchemy ``Session`` (the caller owns the transaction).
Results are plain frozen :class:`ModelVersionInfo` values, safe to hand to any thread.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import ModelError
from core.store import repo
from core.store.models import ModelVersion, Task
from core.types import TaskKind


class NoModelError(ModelError):
    """The task has no (such) trained model version."""


@dataclass(frozen=True)
class ModelVersionInfo:
    """A registered model version: a plain copy of its row, with its directory resolved
    to an absolute path."""

    id: int
    task: TaskKind
    version: int
    base_model: str
    path: Path
    metrics: dict[str, Any] = field(default_factory=dict, compare=False)
    labels: tuple[str, ...] = ()
    is_active: bool = False
    created_at: _dt.datetime | None = None


class _ProjectLike(Protocol):
    """What these functions need of a project (``core.project.Project``)."""

    @property
    def path(self) -> Path | None: ...

    def read(self) -> Any: ...

    def write(self) -> Any: ...


def models_dir_for(project_file: str | Path) -> Path:
    """The models folder of a project file: ``<name>.models/`` beside it."""
    path = Path(project_file)
    return path.with_name(path.stem + ".models")


def resolve_path(project_file: str | Path | None, stored: str | Path) -> Path:
    """The absolute directory of a version whose stored path is ``stored``: itself when
    absolute; relative ones under the project's models folder, else beside the project
    file (the first that exists; the models folder when neither does)."""
    path = Path(stored).expanduser()
    if path.is_absolute() or project_file is None:
        return path.absolute()
    project_file = Path(project_file).absolute()
    for base in (models_dir_for(project_file), project_file.parent):
        if (base / path).exists():
            return base / path
    return models_dir_for(project_file) / path


def register(
    source: _ProjectLike | Session,
    task: TaskKind | str,
    *,
    path: str | Path,
    base_model: str,
    metrics: Mapping[str, Any] | None = None,
    labels: Sequence[str] = (),
    activate: bool = True,
) -> ModelVersionInfo:
    """Record a trained model directory as the task's next version (1, 2, ...); active
    (and every other version of the task inactive) unless ``activate`` is False."""
    kind = TaskKind(task)
    with _session(source, write=True) as session:
        task_id = repo.require_task(session, kind).id
        number = (session.scalar(
            select(func.max(ModelVersion.version)).where(ModelVersion.task_id == task_id)
        ) or 0) + 1
        if activate:
            _deactivate_all(session, task_id)
        row = ModelVersion(
            task_id=task_id, version=number, base_model=base_model, path=str(path),
            metrics=dict(metrics or {}), labels=list(labels), is_active=activate,
        )
        session.add(row)
        session.flush()
        return _info(row, kind, _project_file(source))


def activate(source: _ProjectLike | Session, task: TaskKind | str,
             version: int) -> ModelVersionInfo:
    """Make ``version`` the task's active version (the one used unless another is named);
    every other version of the task becomes inactive."""
    kind = TaskKind(task)
    with _session(source, write=True) as session:
        row = _find(session, kind, version=version)
        if row is None:
            raise NoModelError(f"the {kind.value} task has no model version {version}")
        _deactivate_all(session, row.task_id)
        row.is_active = True
        session.flush()
        return _info(row, kind, _project_file(source))


def list_versions(source: _ProjectLike | Session,
                  task: TaskKind | str | None = None) -> list[ModelVersionInfo]:
    """The registered versions (of ``task``, or of every task), newest first."""
    with _session(source, write=False) as session:
        stmt = select(ModelVersion, Task.kind).join(Task, ModelVersion.task_id == Task.id)
        if task is not None:
            stmt = stmt.where(Task.kind == TaskKind(task).value)
        rows = session.execute(stmt.order_by(ModelVersion.id.desc())).all()
        where = _project_file(source)
        return [_info(row, TaskKind(kind), where) for row, kind in rows]


def resolve(
    source: _ProjectLike | Session,
    task: TaskKind | str,
    version: int | None = None,
    *,
    model_version_id: int | None = None,
) -> ModelVersionInfo:
    """The version to use (see the module docstring): ``version`` (or the row
    ``model_version_id``) when given, else the active one, else the newest. Raises
    :class:`NoModelError` when there is none."""
    kind = TaskKind(task)
    with _session(source, write=False) as session:
        row = _find(session, kind, version=version, model_version_id=model_version_id)
        where = _project_file(source)
        if row is None:
            which = (f"model version {version}" if version is not None
                     else f"model version id {model_version_id}" if model_version_id is not None
                     else "trained model")
            name = where.name if where is not None else "PROJECT"
            raise NoModelError(
                f"the {kind.value} task has no {which}; train one first (annotator train "
                f"{name} --task {kind.value})"
            )
        return _info(row, kind, where)


# --- helpers ---------------------------------------------------------------------------


def _find(session: Session, kind: TaskKind, *, version: int | None = None,
          model_version_id: int | None = None) -> ModelVersion | None:
    task_id = repo.require_task(session, kind).id
    stmt = select(ModelVersion).where(ModelVersion.task_id == task_id)
    if model_version_id is not None:
        return session.scalars(stmt.where(ModelVersion.id == model_version_id)).first()
    if version is not None:
        return session.scalars(stmt.where(ModelVersion.version == version)).first()
    return session.scalars(
        stmt.order_by(ModelVersion.is_active.desc(), ModelVersion.version.desc())
    ).first()


def _deactivate_all(session: Session, task_id: int) -> None:
    for old in session.scalars(select(ModelVersion).where(
            ModelVersion.task_id == task_id, ModelVersion.is_active)):
        old.is_active = False


def _info(row: ModelVersion, kind: TaskKind, project_file: Path | None) -> ModelVersionInfo:
    return ModelVersionInfo(
        id=row.id, task=kind, version=row.version, base_model=row.base_model,
        path=resolve_path(project_file, row.path), metrics=dict(row.metrics or {}),
        labels=tuple(str(x) for x in (row.labels or ())), is_active=bool(row.is_active),
        created_at=_aware(row.created_at),
    )


def _aware(when: _dt.datetime | None) -> _dt.datetime | None:
    """UTC, with its zone: SQLite hands stored times back naive (they were written in UTC),
    PostgreSQL and a just-registered row aware."""
    if when is not None and when.tzinfo is None:
        return when.replace(tzinfo=_dt.timezone.utc)
    return when


@contextmanager
def _session(source: _ProjectLike | Session, *, write: bool) -> Iterator[Session]:
    if isinstance(source, Session):
        yield source
    elif write:
        with source.write() as session:
            yield session
    else:
        with source.read() as session:
            yield session


def _project_file(source: _ProjectLike | Session) -> Path | None:
    """The project file behind ``source`` (for relative model paths and messages)."""
    if not isinstance(source, Session):
        # A project in a database has no file: its versions store absolute paths.
        return Path(source.path) if source.path is not None else None
    url = source.get_bind().url
    if url.get_backend_name() != "sqlite":
        return None
    database = (url.database or "").removeprefix("file:")  # "file:": a read-only URI
    return Path(database) if database and database != ":memory:" else None
