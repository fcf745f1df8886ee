"""``project.training``: what a run would train on (prepare) and the run itself (start).

Both delegate to the engine; this area only names them on the project.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from core.project.views import TrainingRunInfo, read_last_run
from core.types import TaskKind

if TYPE_CHECKING:
    from core.engine.project_bridge import ProjectTrainingOutcome, TaskSnapshot
    from core.engine.results import TrainingEvent
    from core.engine.settings import TrainingSettings
    from core.project.base import Project


class Training:
    def __init__(self, project: Project) -> None:
        self._project = project

    def prepare(self, kind: TaskKind | str) -> TaskSnapshot:
        """The task's label set and labelled documents (train and dev), read at once."""
        from core.engine.project_bridge import snapshot_task

        return snapshot_task(self._project, kind)

    def start(
        self,
        kind: TaskKind | str,
        settings: TrainingSettings,
        *,
        on_event: Callable[[TrainingEvent], None] | None = None,
        on_job: Callable[[Any], None] | None = None,
    ) -> ProjectTrainingOutcome:
        """Train ``kind`` and record the run and the new model version. Runs on the
        caller's thread (a worker's, in the app) and opens its own sessions."""
        from core.engine.project_bridge import train_project

        return train_project(self._project, kind, settings, on_event=on_event, on_job=on_job)

    def last_run(self, kind: TaskKind | None = None, *,
                 with_epochs: bool = False) -> TrainingRunInfo | None:
        """The newest run (of ``kind``); ``with_epochs``: the newest that recorded epochs."""
        with self._project.read() as session:
            return read_last_run(session, kind, with_epochs=with_epochs)
