"""``annotator train`` chooses its exit code by the kind of failure on the result, never by
the text of its reason; the JSON payload keeps its keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from annotator.cli.engine import EXIT_CODES
from core.engine.results import FailureKind, TrainingResult

PAYLOAD_KEYS = {
    "status", "reason", "epochs", "dev", "best_epoch", "model_path", "model_version",
    "run_id", "tokens_per_second", "train_tokens", "train_seconds", "train_examples",
    "dev_examples", "refit_documents", "warnings",
}


def _train_with(result: TrainingResult, project_path: Path, monkeypatch: pytest.MonkeyPatch,
                capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any], str]:
    from annotator.cli.main import run
    from core.engine import project_bridge

    def fake_train(project: Any, task: Any, settings: Any, **kw: Any) -> Any:
        return project_bridge.ProjectTrainingOutcome(result, 7, None, None)

    monkeypatch.setattr(project_bridge, "train_project", fake_train)
    code = run(["train", str(project_path), "--task", "ner", "--no-predict", "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


@pytest.mark.parametrize("kind", list(FailureKind))
def test_each_failure_kind_has_its_exit_code(kind: FailureKind, project_path: Path,
                                             monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    status = "cancelled" if kind is FailureKind.CANCELLED else "failed"
    # the reason is worded to mislead a text match: only the kind may decide
    reason = "no labelled documents" if kind is not FailureKind.BAD_INPUT else "it went wrong"
    code, payload, err = _train_with(TrainingResult(status=status, reason=reason, failure=kind),
                                     project_path, monkeypatch, capsys)
    expected = {FailureKind.BAD_INPUT: 2, FailureKind.CANCELLED: 0}.get(kind, 1)
    assert code == EXIT_CODES[kind] == expected
    assert payload["status"] == status and payload["reason"] == reason
    assert set(payload) - {"preannotation"} == PAYLOAD_KEYS
    if kind is FailureKind.BAD_INPUT:
        assert f"annotator: error: {reason}" in err and "preannotation" not in payload
    else:
        assert payload["preannotation"] is None


def test_a_completed_run_exits_0(project_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    code, payload, _ = _train_with(TrainingResult(status="completed"), project_path,
                                   monkeypatch, capsys)
    assert code == 0 and payload["status"] == "completed"


def test_a_project_without_labelled_documents_is_bad_input(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A real run: nothing to train on ends before any step, typed BAD_INPUT, exit 2."""
    from annotator.cli.main import run
    from core.project import Project

    path = tmp_path / "empty.db"
    Project.create(path, tasks={"classify": ["pos", "neg"]}).close()
    code = run(["train", str(path), "--task", "classify", "--json"])
    out, err = capsys.readouterr()
    assert code == 2
    payload = json.loads(out)
    assert payload["status"] == "failed" and payload["reason"].startswith("no labelled")
    assert "annotator: error: no labelled training documents" in err
    with Project.open(path) as project:
        run_info = project.training.last_run()
    assert run_info is not None and run_info.status == "failed"  # the run is on record
