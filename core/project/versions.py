"""``project.models``: the trained model versions of each task, through :mod:`core.models`
(the one registry and path resolver): list, the current one (the named version, else the
active one, else the newest), register, activate."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core import models
from core.models import ModelVersionInfo
from core.project.changes import Changes
from core.types import TaskKind

if TYPE_CHECKING:
    from core.project.base import Project


class Models:
    def __init__(self, project: Project) -> None:
        self._project = project

    def list(self, kind: TaskKind | str | None = None) -> list[ModelVersionInfo]:
        """Every registered version (of ``kind`` if given), newest first."""
        return models.list_versions(self._project, kind)

    def current(self, kind: TaskKind | str, version: int | None = None) -> ModelVersionInfo:
        """The version to use: ``version`` if named, else the active one, else the newest;
        its directory resolved. Raises ``NoModelError`` when there is none."""
        return models.resolve(self._project, kind, version)

    def register(
        self,
        kind: TaskKind | str,
        *,
        path: str | Path,
        base_model: str,
        metrics: Mapping[str, Any] | None = None,
        labels: Sequence[str] = (),
        activate: bool = True,
    ) -> tuple[ModelVersionInfo, Changes]:
        """Record a trained model directory as the task's next version (active unless
        ``activate`` is False)."""
        info = models.register(
            self._project, kind, path=path, base_model=base_model, metrics=metrics,
            labels=labels, activate=activate,
        )
        return info, Changes(kinds=frozenset({TaskKind(kind)}), models=True)

    def activate(self, kind: TaskKind | str, version: int) -> Changes:
        """Make ``version`` the task's active model (the one predictions use)."""
        models.activate(self._project, kind, version)
        return Changes(kinds=frozenset({TaskKind(kind)}), models=True)
