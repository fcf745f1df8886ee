"""``project.models``: the trained model versions of each task: list, the current one (the
active one unless a version is named), activate."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from core.project.changes import Changes
from core.project.views import ModelVersionInfo, read_model_versions
from core.store import repo
from core.store.models import ModelVersion
from core.store.repo import AnnotationError
from core.types import TaskKind

if TYPE_CHECKING:
    from core.active.preannotate import ModelVersionInfo as ResolvedVersion
    from core.project.base import Project


class Models:
    def __init__(self, project: Project) -> None:
        self._project = project

    def list(self, kind: TaskKind | str | None = None) -> list[ModelVersionInfo]:
        """Every model version, newest first (of ``kind`` if given)."""
        with self._project.read() as session:
            versions = read_model_versions(session)
        if kind is not None:
            versions = [v for v in versions if v.task == TaskKind(kind).value]
        return versions

    def current(self, kind: TaskKind | str, version: int | None = None) -> ResolvedVersion:
        """The version to use: ``version`` if named, else the active one, else the newest;
        with its directory resolved. Raises ``NoModelError`` when there is none."""
        from core.active.preannotate import choose_model_version

        with self._project.read() as session:
            return choose_model_version(session, self._project, kind, version=version)

    def activate(self, kind: TaskKind | str, version: int) -> Changes:
        """Make ``version`` the task's active model (the one predictions use)."""
        kind = TaskKind(kind)
        with self._project.write() as session:
            task = repo.require_task(session, kind)
            rows = session.scalars(select(ModelVersion).where(ModelVersion.task_id == task.id))
            rows = list(rows)
            if not any(r.version == version for r in rows):
                raise AnnotationError(f"the {kind.value} task has no model version {version}")
            for r in rows:
                r.is_active = r.version == version
        return Changes(kinds=frozenset({kind}), models=True)
