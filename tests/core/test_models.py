"""Model versions in one place (core.models): register, activate, list, resolve; and
evaluation, prediction and pre-annotation all pick the version it resolves."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from core import models
from core.models import NoModelError
from core.project import Project
from core.store import repo
from core.store.models import ModelVersion
from core.types import DocumentRecord, EntitySpan


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    p = Project.create(tmp_path / "notes.db", tasks={"ner": ["DRUG"], "classify": ["a", "b"]})
    yield p
    p.close()


def test_register_numbers_versions_and_activates_the_new_one(project: Project,
                                                               tmp_path: Path) -> None:
    v1 = models.register(project, "ner", path=tmp_path / "m1", base_model="default",
                         metrics={"f1": 0.5}, labels=["DRUG"])
    v2 = models.register(project, "ner", path=tmp_path / "m2", base_model="default",
                         metrics={"f1": 0.7}, labels=["DRUG"])
    c1 = models.register(project, "classify", path=tmp_path / "c1", base_model="x")
    assert (v1.version, v2.version, c1.version) == (1, 2, 1)  # numbered per task
    assert v2.is_active and v2.path == tmp_path / "m2" and v2.path.is_absolute()
    assert v2.metrics == {"f1": 0.7} and v2.labels == ("DRUG",) and v2.created_at is not None
    listed = models.list_versions(project, "ner")
    assert [(v.version, v.is_active) for v in listed] == [(2, True), (1, False)]
    assert [v.task.value for v in models.list_versions(project)] == ["classify", "ner", "ner"]
    assert models.resolve(project, "ner").id == v2.id
    assert models.resolve(project, "classify").id == c1.id  # the other task is untouched


def test_registered_and_read_back_times_are_the_same_aware_utc_time(
        project: Project, tmp_path: Path) -> None:
    registered = models.register(project, "ner", path=tmp_path / "m1", base_model="default")
    read_back = models.resolve(project, "ner")
    assert registered.created_at is not None and read_back.created_at is not None
    assert read_back.created_at.utcoffset() is not None  # SQLite alone returns it naive
    assert abs((read_back.created_at - registered.created_at).total_seconds()) < 1


def test_activate_and_resolve(project: Project, tmp_path: Path) -> None:
    for n in (1, 2, 3):
        models.register(project, "ner", path=tmp_path / f"m{n}", base_model="default")
    assert models.resolve(project, "ner").version == 3
    active = models.activate(project, "ner", 1)
    assert active.version == 1 and active.is_active
    assert models.resolve(project, "ner").version == 1  # the active one, not the newest
    assert models.resolve(project, "ner", 2).version == 2  # a named one
    assert [v.version for v in models.list_versions(project, "ner") if v.is_active] == [1]
    with pytest.raises(NoModelError, match="no model version 9"):
        models.activate(project, "ner", 9)
    with pytest.raises(NoModelError, match="no model version 9"):
        models.resolve(project, "ner", 9)


def test_no_active_version_resolves_to_the_newest(project: Project, tmp_path: Path) -> None:
    for n in (1, 2):
        models.register(project, "ner", path=tmp_path / f"m{n}", base_model="default",
                        activate=False)
    assert not any(v.is_active for v in models.list_versions(project, "ner"))
    assert models.resolve(project, "ner").version == 2


def test_no_version_at_all_is_a_clear_error(project: Project) -> None:
    with pytest.raises(NoModelError, match=r"train one first \(annotator train notes.db"):
        models.resolve(project, "ner")
    assert models.list_versions(project, "ner") == []


def test_a_session_works_like_the_project(project: Project, tmp_path: Path) -> None:
    """Inside the caller's unit of work (rolled back with it), and read-only sessions."""
    with pytest.raises(RuntimeError), project.write() as session:
        models.register(session, "ner", path=tmp_path / "m1", base_model="default")
        assert models.resolve(session, "ner").version == 1
        raise RuntimeError("roll back")
    assert models.list_versions(project, "ner") == []
    models.register(project, "ner", path="v1-dir", base_model="default")
    readonly = Project.open(project.path, readonly=True)
    try:
        with readonly.read() as session:
            assert models.resolve(session, "ner").path == project.models_dir / "v1-dir"
    finally:
        readonly.close()


def test_relative_paths_resolve_under_the_models_folder_then_the_project_folder(
        project: Project) -> None:
    beside = project.path.parent / "beside-dir"
    beside.mkdir()
    models.register(project, "ner", path="beside-dir", base_model="default")
    assert models.resolve(project, "ner").path == beside  # exists beside the project only
    (project.models_dir / "inside-dir").mkdir(parents=True)
    models.register(project, "ner", path="inside-dir", base_model="default")
    assert models.resolve(project, "ner").path == project.models_dir / "inside-dir"
    models.register(project, "ner", path="gone-dir", base_model="default")
    assert models.resolve(project, "ner").path == project.models_dir / "gone-dir"
    with project.read() as session:  # stored as given: a moved project keeps working
        assert session.scalars(select(ModelVersion.path).order_by(ModelVersion.id)).all() == [
            "beside-dir", "inside-dir", "gone-dir"]


# --- evaluate, predict and pre-annotate agree ---------------------------------------------


def _model_dir(base: Path, out: Path) -> Path:
    """An (untrained) NER model directory made from the tiny encoder."""
    from core.engine.modelio import build_model, save_model_dir
    from core.engine.settings import TaskSpec
    from core.types import TaskKind

    spec = TaskSpec(TaskKind.NER, ("DRUG",))
    model, tokenizer, _ = build_model(spec, str(base), lambda _: None)
    return save_model_dir(model, tokenizer, spec, out, settings={"max_length": 32, "stride": 8},
                          metrics={}, base_model=str(base))


@pytest.fixture(scope="module")
def two_model_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from tiny_models import build_tiny_bert

    root = tmp_path_factory.mktemp("versions")
    base = build_tiny_bert(root / "tiny-bert")
    return _model_dir(base, root / "v1"), _model_dir(base, root / "v2")


def test_evaluate_predict_and_preannotate_pick_the_same_version(
        project: Project, two_model_dirs: tuple[Path, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from annotator.cli.main import run
    from core.active.preannotate import preannotate
    from core.engine.predict import Predictor

    first, second = two_model_dirs
    models.register(project, "ner", path=first, base_model="tiny")
    models.register(project, "ner", path=second, base_model="tiny")
    with project.write() as s:
        repo.add_documents(s, [DocumentRecord("the patient was given zorblax today")])
    gold = tmp_path / "gold.conll"
    gold.write_text("given\tO\nzorblax\tB-DRUG\n\n")

    def picked(version_args: list[str]) -> tuple[Path, int, Path, int]:
        code = run(["evaluate", str(project.path), "--task", "ner", "--data", str(gold),
                    "--format", "conll", "--json", *version_args])
        out = capsys.readouterr()
        assert code == 0, out.err
        evaluated = Path(json.loads(out.out)["model_path"])
        named = int(version_args[1]) if version_args else None
        predictor = Predictor.for_project(project, "ner", named, device="cpu")
        queue = project.models.current("ner", named)
        pre = preannotate(project, "ner", version=named)
        return evaluated, queue.version, predictor.loaded.path, pre.model_version

    # the newest is the active one after registering
    evaluated, queue_version, predicted, preannotated = picked([])
    assert evaluated == predicted == second and queue_version == preannotated == 2
    # the user activates the first: everything follows it (evaluate used to take the newest)
    models.activate(project, "ner", 1)
    evaluated, queue_version, predicted, preannotated = picked([])
    assert evaluated == predicted == first and queue_version == preannotated == 1
    # a named version wins over the active one, everywhere
    evaluated, queue_version, predicted, preannotated = picked(["--model", "2"])
    assert evaluated == predicted == second and queue_version == preannotated == 2


def test_training_registers_through_the_module(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The version a run records is the one resolve() returns, with the run's metrics."""
    from core.engine import project_bridge
    from core.engine.results import TrainingResult

    with Project.create(tmp_path / "t.db", tasks={"ner": ["DRUG"]}) as p:
        with p.write() as s:
            repo.add_documents(s, [DocumentRecord("given zorblax", spans=(
                EntitySpan(6, 13, "DRUG"),))])

        class Done:
            def __init__(self, **kw: object) -> None:
                self.out = kw["output_dir"]

            def run(self) -> TrainingResult:
                return TrainingResult(status="completed", model_path=str(self.out),
                                      dev_metrics={"f1": 0.25})

        import core.engine.job as job_module
        from core.engine.settings import TrainingSettings

        monkeypatch.setattr(job_module, "TrainingJob", Done)
        outcome = project_bridge.train_project(p, "ner", TrainingSettings())
        info = models.resolve(p, "ner")
        assert (outcome.model_version_id, outcome.version) == (info.id, 1)
        assert info.metrics == {"f1": 0.25} and info.labels == ("DRUG",) and info.is_active
        assert str(info.path) == outcome.result.model_path
