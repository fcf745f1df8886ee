"""Refit (settings.refit): after the run that held the dev documents out has chosen its
best epoch, the same run on all documents, stopped after that epoch, is the saved model."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import pytest
from tiny_models import DRUGS, make_class_docs

from core.engine.job import TrainingJob
from core.engine.predict import Predictor
from core.engine.results import ProgressEvent
from core.engine.settings import TrainingSettings, preset_settings
from core.types import DocumentRecord, TaskKind

BATCH = 8


def settings(base: Path, **kw: Any) -> TrainingSettings:
    values: dict[str, Any] = {
        "base_model": str(base), "learning_rate": 3e-3, "batch_size": BATCH, "epochs": 6,
        "max_length": 32, "stride": 8, "patience": 0, "warmup_ratio": 0.0, "device": "cpu",
    }
    values.update(kw)
    return TrainingSettings(**values)


def drug_docs(n: int, seed: int) -> list[DocumentRecord]:
    """Classes carried by drug names only, words the sentiment documents never hold:
    zorblax / quintarin are "pos", melovate / drapsil "neg"."""
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        positive = i % 2 == 0
        words = [rng.choice(DRUGS[:2] if positive else DRUGS[2:]) for _ in range(4)]
        docs.append(DocumentRecord(text=" ".join(words), classes=("pos" if positive else "neg",)))
    return docs


def run(tmp_path: Path, name: str, s: TrainingSettings, dev: list[DocumentRecord] | None
        ) -> tuple[Any, list[Any]]:
    events: list[Any] = []
    job = TrainingJob(task="classify", labels=["pos", "neg"], train=make_class_docs(48),
                      dev=dev, settings=s, output_dir=tmp_path / name, on_event=events.append)
    return job.run(), events


@pytest.fixture(scope="module")
def runs(tiny_bert: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("refit")
    dev = drug_docs(24, seed=1)
    return {
        "held_out": run(out, "held_out", settings(tiny_bert), dev),
        "refit": run(out, "refit", settings(tiny_bert, refit=True), dev),
        "dev": dev,
    }


def test_refit_trains_on_the_dev_documents_too(runs: dict[str, Any]) -> None:
    result, _ = runs["refit"]
    assert result.status == "completed", result.reason
    assert result.refit_documents == 48 + 24
    # Only the dev documents tie the drug names to the classes: the refit model learnt them.
    fresh = drug_docs(20, seed=7)
    preds = Predictor(result.model_path, device="cpu").predict(
        [DocumentRecord(text=d.text) for d in fresh])
    right = sum(p.labels == d.classes for p, d in zip(preds, fresh))
    assert right >= 18, right


def test_refit_reports_the_first_runs_dev_scores_and_epochs(runs: dict[str, Any]) -> None:
    held_out, _ = runs["held_out"]
    refit, _ = runs["refit"]
    assert held_out.refit_documents == 0
    # The first pass is the same seeded run: the same epochs, best epoch and dev scores.
    assert refit.best_epoch == held_out.best_epoch
    assert [r.train_loss for r in refit.epochs] == pytest.approx(
        [r.train_loss for r in held_out.epochs])
    assert refit.dev_metrics["accuracy"] == held_out.dev_metrics["accuracy"]
    saved = json.loads((Path(refit.model_path) / "annotator.json").read_text())
    assert saved["refit"] == {"documents": 72, "epochs": refit.best_epoch}
    assert json.loads((Path(held_out.model_path) / "annotator.json").read_text())["refit"] is None


def test_refit_steps_count_on_after_the_first_pass(runs: dict[str, Any]) -> None:
    result, events = runs["refit"]
    steps = [e for e in events if isinstance(e, ProgressEvent)]
    first = [e for e in steps if e.phase == "train"]
    second = [e for e in steps if e.phase == "refit"]
    assert len(first) == 6 * math.ceil(48 / BATCH)  # patience 0: every epoch runs
    assert len(second) == result.best_epoch * math.ceil(72 / BATCH)
    assert [e.step for e in steps] == list(range(1, len(steps) + 1))
    assert {e.total_steps for e in second} == {len(steps)}
    assert second[-1].eta_seconds == 0.0
    assert result.steps == len(steps)


def test_no_refit_without_dev_documents(tiny_bert: Path, tmp_path: Path) -> None:
    result, events = run(tmp_path, "no_dev", settings(tiny_bert, epochs=2, refit=True), [])
    assert result.status == "completed", result.reason
    assert result.refit_documents == 0
    assert not [e for e in events if isinstance(e, ProgressEvent) and e.phase == "refit"]
    assert any(line.startswith("no refit: no dev documents") for line in result.log)


def test_refit_is_on_where_it_was_chosen_and_can_be_turned_off() -> None:
    assert TrainingSettings().refit is False
    # Chosen for the attribute head only (core.engine.settings, the ATTRIBUTE preset).
    assert [k.value for k in TaskKind if preset_settings("default", k).refit] == ["attribute"]
    assert preset_settings("default", "ner", refit=True).refit is True
    assert preset_settings("default", "attribute", refit=False).refit is False
    assert preset_settings("seed-002", "attribute").refit is False
