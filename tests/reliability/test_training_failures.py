"""Training runs that go wrong: NaN loss, out of memory, cancel, a base model that cannot be
found. Each ends as failed or cancelled with the reason recorded (on the result and on the
project's TrainingRun row), no model version is registered or left half-written, and the
human annotations are untouched (hash before/after)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.engine import project_bridge as bridge
from core.engine.results import FailureKind
from core.engine.settings import TrainingSettings
from core.project import Project
from core.store import repo
from core.types import DocumentRecord, EntitySpan

from .reliability_lib import Tally, annotation_fingerprint, raw_ro

TALLY = Tally("training-failures")


@pytest.fixture(scope="module", autouse=True)
def _summary() -> Iterator[None]:
    yield
    TALLY.emit()


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CI machine is shared: keep torch on one core."""
    import torch

    from core.engine import runtime

    monkeypatch.setattr(runtime, "use_all_cores", lambda: None)
    torch.set_num_threads(1)


def labelled_project(path: Path, n: int = 24) -> Project:
    project = Project.create(path, tasks={"ner": ["Disease", "Drug"]})
    docs = []
    for i in range(n):
        text = f"patient {i} has flu and was given aspirin today"
        a, b = text.index("flu"), text.index("aspirin")
        docs.append(DocumentRecord(text, spans=(EntitySpan(a, a + 3, "Disease"), EntitySpan(b, b + 7, "Drug"))))
    with project.write() as s:
        repo.add_documents(s, docs)
    return project


def tiny_settings(base: Path, **kw: Any) -> TrainingSettings:
    values: dict[str, Any] = dict(
        base_model=str(base), epochs=2, batch_size=4, eval_batch_size=8, max_length=32, stride=8,
        device="cpu", learning_rate=1e-3, warmup_ratio=0.0,
    )
    values.update(kw)
    return TrainingSettings(**values)


def _runs(path: Path) -> list[tuple[str, str | None, int | None]]:
    with raw_ro(path) as conn:
        return conn.execute("SELECT status, error, model_version_id FROM training_runs ORDER BY id").fetchall()


def _versions(path: Path) -> int:
    with raw_ro(path) as conn:
        return conn.execute("SELECT count(*) FROM model_versions").fetchone()[0]


def _check_failed_run(project: Project, before: str, outcome: Any, status: str, words: str,
                      kind: FailureKind) -> None:
    path = project.path
    assert outcome.result.status == status, outcome.result
    assert outcome.result.failure is kind, outcome.result.failure
    assert words in outcome.result.reason.lower(), outcome.result.reason
    assert outcome.model_version_id is None and _versions(path) == 0
    (run_status, error, mv) = _runs(path)[-1]
    assert run_status == status and error and words in error.lower() and mv is None
    assert annotation_fingerprint(path) == before, "a failed run changed the annotations"
    leftovers = list(project.models_dir.iterdir()) if project.models_dir.exists() else []
    assert leftovers == [], f"a {status} run left {leftovers}"


def test_completed_run_for_reference(tiny_base: Path, tmp_path: Path) -> None:
    """The same setup trains fine, so the failures below come from what each test injects."""
    project = labelled_project(tmp_path / "ok.db")
    before = annotation_fingerprint(project.path)
    outcome = bridge.train_project(project, "ner", tiny_settings(tiny_base))
    assert outcome.result.status == "completed", outcome.result.reason
    assert _versions(project.path) == 1 and _runs(project.path)[-1][0] == "completed"
    assert annotation_fingerprint(project.path) == before
    from core.engine.modelio import load_model

    load_model(outcome.result.model_path)
    project.close()
    TALLY.add("reference runs completed")


def test_nan_loss_fails_with_reason(tiny_base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    real = torch.nn.functional.cross_entropy

    def nan_loss(*a: Any, **k: Any) -> Any:
        return real(*a, **k) * float("nan")

    monkeypatch.setattr(torch.nn.functional, "cross_entropy", nan_loss)
    project = labelled_project(tmp_path / "nan.db")
    before = annotation_fingerprint(project.path)
    outcome = bridge.train_project(project, "ner", tiny_settings(tiny_base))
    _check_failed_run(project, before, outcome, "failed", "nan", FailureKind.DIVERGED)
    project.close()
    TALLY.add("NaN-loss runs failed cleanly")


def test_out_of_memory_fails_with_reason(tiny_base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    calls = {"n": 0}
    real = torch.nn.functional.cross_entropy

    def oom(*a: Any, **k: Any) -> Any:
        calls["n"] += 1
        if calls["n"] >= 2:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(*a, **k)

    monkeypatch.setattr(torch.nn.functional, "cross_entropy", oom)
    project = labelled_project(tmp_path / "oom.db")
    before = annotation_fingerprint(project.path)
    outcome = bridge.train_project(project, "ner", tiny_settings(tiny_base))
    _check_failed_run(project, before, outcome, "failed", "out of memory",
                      FailureKind.OUT_OF_MEMORY)
    assert "batch size" in outcome.result.reason
    project.close()
    TALLY.add("out-of-memory runs failed cleanly")


def test_host_memory_error_fails_with_reason(tiny_base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    def oom(*a: Any, **k: Any) -> Any:
        raise MemoryError()

    monkeypatch.setattr(torch.nn.functional, "cross_entropy", oom)
    project = labelled_project(tmp_path / "mem.db")
    before = annotation_fingerprint(project.path)
    outcome = bridge.train_project(project, "ner", tiny_settings(tiny_base))
    _check_failed_run(project, before, outcome, "failed", "out of memory",
                      FailureKind.OUT_OF_MEMORY)
    project.close()


def test_cancel_ends_as_cancelled(tiny_base: Path, tmp_path: Path) -> None:
    from core.engine.results import ProgressEvent

    project = labelled_project(tmp_path / "cancel.db")
    before = annotation_fingerprint(project.path)
    handle: dict[str, Any] = {}

    def on_event(event: Any) -> None:
        if isinstance(event, ProgressEvent) and event.step >= 2:
            handle["job"].cancel()

    outcome = bridge.train_project(
        project, "ner", tiny_settings(tiny_base, epochs=5), on_event=on_event,
        on_job=lambda job: handle.__setitem__("job", job),
    )
    _check_failed_run(project, before, outcome, "cancelled", "cancel", FailureKind.CANCELLED)
    project.close()
    TALLY.add("cancelled runs ended as cancelled")


@pytest.mark.parametrize("base", ["/nonexistent/model/dir", "some-org/some-model", "no-config-dir"])
def test_missing_base_model_fails_with_reason(base: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    if base == "no-config-dir":
        (tmp_path / "empty-model").mkdir()
        base = str(tmp_path / "empty-model")
    project = labelled_project(tmp_path / "nobase.db")
    before = annotation_fingerprint(project.path)
    outcome = bridge.train_project(project, "ner", tiny_settings(Path(base)))
    words = "base model"
    _check_failed_run(project, before, outcome, "failed", words, FailureKind.MISSING_MODEL)
    project.close()
    TALLY.add("runs with a missing base model failed cleanly")


def test_unexpected_error_in_a_step_is_recorded(tiny_base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    def boom(*a: Any, **k: Any) -> Any:
        raise RuntimeError("simulated driver fault")

    monkeypatch.setattr(torch.nn.functional, "cross_entropy", boom)
    project = labelled_project(tmp_path / "boom.db")
    before = annotation_fingerprint(project.path)
    outcome = bridge.train_project(project, "ner", tiny_settings(tiny_base))
    _check_failed_run(project, before, outcome, "failed", "simulated driver fault",
                      FailureKind.INTERNAL)
    project.close()
    TALLY.add("runs with an unexpected error failed cleanly")


def test_failure_while_saving_registers_no_model(tiny_base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Disk full while writing the model: the run fails, no version row, nothing half-written."""
    from core.engine import modelio

    real = modelio.sha256_file

    def disk_full(*a: Any, **k: Any) -> Any:
        real(*a, **k)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(modelio, "sha256_file", disk_full)
    project = labelled_project(tmp_path / "full.db")
    before = annotation_fingerprint(project.path)
    outcome = bridge.train_project(project, "ner", tiny_settings(tiny_base, epochs=1))
    _check_failed_run(project, before, outcome, "failed", "no space left",
                      FailureKind.DISK_FULL)
    project.close()
    TALLY.add("runs failing while saving left no model")
