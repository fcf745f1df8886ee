"""project.models: list, current (named, else active, else newest), activate; and
project.training.prepare: what a run would train on."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.errors import AnnotatorError
from core.project import Project
from core.store.models import ModelVersion, Task
from core.types import TaskKind


def _add_version(project: Project, version: int, *, active: bool) -> None:
    with project.write() as s:
        task_id = s.scalar(select(Task.id).where(Task.kind == "ner"))
        s.add(ModelVersion(task_id=task_id, version=version, base_model="tiny",
                           path=f"ner-v{version}", metrics={"f1": version / 10},
                           labels=["Disease"], is_active=active))


def test_current_is_named_else_active_else_newest(project: Project) -> None:
    with pytest.raises(AnnotatorError, match="train one first"):
        project.models.current("ner")
    _add_version(project, 1, active=False)
    _add_version(project, 2, active=False)
    assert project.models.current("ner").version == 2  # none active: the newest
    changes = project.models.activate("ner", 1)
    assert changes.models and changes.kinds == {TaskKind.NER}
    assert project.models.current("ner").version == 1
    assert project.models.current(TaskKind.NER, version=2).version == 2
    current = project.models.current("ner")
    assert current.path == project.models_dir / "ner-v1"  # relative: under the models folder
    listed = project.models.list("ner")
    assert [(v.version, v.is_active) for v in listed] == [(2, False), (1, True)]
    assert project.models.list("classify") == []
    with pytest.raises(AnnotatorError, match="version 7"):
        project.models.activate("ner", 7)
    with pytest.raises(AnnotatorError):
        project.models.current("ner", version=7)


def test_training_prepare_reads_the_labelled_documents(project: Project) -> None:
    prep = project.training.prepare("ner")
    texts = [r.text for r in (*prep.train, *prep.dev)]
    assert len(texts) == 1 and texts[0].startswith("Patient with asthma")
    assert prep.problem is None and prep.plan.total_steps >= 1
    assert project.training.prepare("classify").train[0].classes == ("routine",)
    assert project.training.last_run() is None


def test_register_makes_the_new_version_current(project: Project) -> None:
    first, changes = project.models.register("ner", path="a", base_model="tiny", labels=["Disease"])
    assert changes.models and first.version == 1 and first.is_active
    second, _ = project.models.register("ner", path="b", base_model="tiny", activate=False)
    assert second.version == 2 and not second.is_active
    assert project.models.current("ner").id == first.id  # the active one, not the newest
    project.models.activate("ner", 2)
    assert project.models.current("ner").path == project.models_dir / "b"
