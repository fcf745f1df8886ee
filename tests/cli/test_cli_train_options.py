"""``annotator train``'s settings options reach the training run: ``--patience`` (0 trains
every planned epoch) with the task's preset otherwise, and a bad value is refused before
anything runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from annotator.cli.main import run
from core.engine.settings import preset_settings
from core.project.training import Training


class _Stop(Exception):
    pass


@pytest.fixture
def project_and_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, list[Any]]:
    """A new NER project, and the settings of every run ``train`` starts (none runs)."""
    db = tmp_path / "p.db"
    assert run(["init", str(db), "--task", "ner", "--labels", "DRUG", "--json"]) == 0
    seen: list[Any] = []

    def start(self: Any, kind: Any, settings: Any, **_: Any) -> Any:
        seen.append(settings)
        raise _Stop

    monkeypatch.setattr(Training, "start", start)
    return db, seen


def test_patience_reaches_the_run_and_the_preset_keeps_the_rest(
    project_and_runs: tuple[Path, list[Any]], capsys: pytest.CaptureFixture[str],
) -> None:
    db, seen = project_and_runs
    for extra, want in (([], preset_settings("default", "ner").patience),
                        (["--patience", "0"], 0), (["--patience", "5"], 5)):
        with pytest.raises(_Stop):
            run(["train", str(db), "--task", "ner", "--no-predict", *extra])
        assert seen[-1].patience == want
        assert seen[-1].learning_rate == preset_settings("default", "ner").learning_rate
    assert preset_settings("default", "ner").patience != 0  # the option changes something
    capsys.readouterr()
    assert run(["train", str(db), "--task", "ner", "--patience", "-1"]) == 2
    assert "patience must be >= 0" in capsys.readouterr().err
    assert len(seen) == 3  # the refused one never started


def test_refit_reaches_the_run_and_no_refit_turns_a_presets_refit_off(
    project_and_runs: tuple[Path, list[Any]],
) -> None:
    db, seen = project_and_runs
    for extra, want in (([], preset_settings("default", "ner").refit),
                        (["--refit"], True), (["--no-refit"], False)):
        with pytest.raises(_Stop):
            run(["train", str(db), "--task", "ner", "--no-predict", *extra])
        assert seen[-1].refit is want
