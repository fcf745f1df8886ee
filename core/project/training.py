"""``project.training``: what a run would do (prepare) and the run itself (start).

Both delegate to the engine; this area only names them on the project.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from core.project.views import TrainingRunInfo, read_last_run
from core.types import TaskKind

if TYPE_CHECKING:
    from core.engine.prepare import Preparation
    from core.engine.project_bridge import ProjectTrainingOutcome
    from core.engine.results import TrainingEvent
    from core.engine.settings import TrainingSettings
    from core.project.base import Project


class Training:
    def __init__(self, project: Project) -> None:
        self._project = project

    def prepare(
        self, kind: TaskKind | str, settings: TrainingSettings | None = None
    ) -> Preparation:
        """What a run of ``kind`` with ``settings`` (default: the default settings) would do
        now: the training and dev documents (dev held out when the project has none), the
        data warnings, the plan of steps and epochs, and ``problem`` when it could not train.
        The same preparation the run makes (``core.engine.prepare``). One short read.
        An NER task that lets entities overlap (``init --overlapping``,
        ``core.store.repo.overlapping_allowed``) trains the per-label tagger
        (``spec.overlapping``; ``core.tasks.ner``), others the BIO tagger."""
        from core.engine.project_bridge import prepare_project
        from core.engine.settings import TrainingSettings

        return prepare_project(self._project, kind, settings or TrainingSettings())

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
