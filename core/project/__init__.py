"""The project facade: ``Project`` and the plain values its areas hand out.

The app and the CLI use only this package (and core's plain types): ``project.documents``,
``project.annotations``, ``project.review``, ``project.models``, ``project.training``.
Every change returns a :class:`Changes` carrying its inverse.
"""

from core.models import ModelVersionInfo, NoModelError
from core.project.annotations import RESERVED_KEYS
from core.project.base import Project, discard_new_database_project, is_project_url
from core.project.changes import Changes
from core.project.copying import CopySummary, copy_project
from core.project.documents import ImportSummary
from core.project.edits import Op
from core.project.queries import STATUSES, DocFilter, DocRow
from core.project.views import (
    AnswerView,
    CountsView,
    DocumentView,
    EntityView,
    LabelInfo,
    QuestionView,
    RelationView,
    SuggestionView,
    TaskInfo,
    TrainingRunInfo,
)

__all__ = [
    "RESERVED_KEYS",
    "STATUSES",
    "AnswerView",
    "Changes",
    "CopySummary",
    "CountsView",
    "DocFilter",
    "DocRow",
    "DocumentView",
    "EntityView",
    "ImportSummary",
    "LabelInfo",
    "ModelVersionInfo",
    "NoModelError",
    "Op",
    "Project",
    "QuestionView",
    "RelationView",
    "SuggestionView",
    "TaskInfo",
    "TrainingRunInfo",
    "copy_project",
    "discard_new_database_project",
    "is_project_url",
]
