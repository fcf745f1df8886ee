"""The inner loop as a generator (core.engine.loop) and the preparation of a run
(core.engine.prepare): plain step functions, no model, except one real run at the end."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from tiny_models import make_ner_docs

from core.engine.loop import (
    EpochProgress,
    Evaluation,
    StepProgress,
    train_while_improving,
)
from core.engine.prepare import plan_steps, prepare
from core.engine.results import FailureKind, TrainingFailure
from core.engine.settings import TrainingSettings
from core.types import DocumentRecord, EntitySpan, Split


class FakeModel:
    """A step function that records the batches it saw and returns scripted losses."""

    def __init__(self, losses: Sequence[float] | None = None) -> None:
        self.batches: list[list[int]] = []
        self.losses = list(losses or [])

    def step(self, batch: Sequence[int]) -> tuple[float, float]:
        self.batches.append(list(batch))
        n = len(self.batches)
        loss = self.losses[n - 1] if n <= len(self.losses) else 1.0 / n
        return loss, 0.1 / n


def three_batches(epoch: int) -> list[list[int]]:
    return [[0, 1], [2, 3], [4]]


def scores(*values: float):  # type: ignore[no-untyped-def]
    """evaluate(epoch) returning the given dev scores, one per epoch."""
    def evaluate(epoch: int) -> Evaluation:
        return Evaluation(val_loss=1.0 / epoch, metrics={"f1": values[epoch - 1]},
                          score=(values[epoch - 1], -1.0 / epoch))
    return evaluate


def test_yields_every_step_and_every_epoch_in_order() -> None:
    model = FakeModel()
    plan = plan_steps(3, TrainingSettings(epochs=2))
    out = list(train_while_improving(model.step, three_batches, plan=plan,
                                     evaluate=scores(0.5, 0.7)))
    kinds = ["s" if isinstance(p, StepProgress) else "e" for p in out]
    assert kinds == ["s", "s", "s", "e", "s", "s", "s", "e"]
    steps = [p for p in out if isinstance(p, StepProgress)]
    assert [p.step for p in steps] == [1, 2, 3, 4, 5, 6]
    assert [p.epoch for p in steps] == [1, 1, 1, 2, 2, 2]
    assert all(p.total_steps == 6 for p in steps)
    assert steps[1].loss == pytest.approx(0.5) and steps[1].learning_rate == pytest.approx(0.05)
    assert model.batches == three_batches(1) * 2
    epochs = [p for p in out if isinstance(p, EpochProgress)]
    assert [(e.epoch, e.step, e.is_best, e.stops_early) for e in epochs] == [
        (1, 3, True, False), (2, 6, True, False)]
    assert epochs[0].train_loss == pytest.approx((1 + 1 / 2 + 1 / 3) / 3)
    assert epochs[1].metrics == {"f1": 0.7} and epochs[1].val_loss == pytest.approx(0.5)
    event = steps[-1].event()
    assert event.step == 6 and event.eta_seconds == 0.0
    assert epochs[1].event().is_best and epochs[1].row().metrics == {"f1": 0.7}


def test_cancelling_stops_before_the_next_step() -> None:
    model = FakeModel()
    flag = {"cancel": False}
    plan = plan_steps(3, TrainingSettings(epochs=5))
    gen = train_while_improving(model.step, three_batches, plan=plan, evaluate=None,
                                cancelled=lambda: flag["cancel"])
    assert next(gen).step == 1
    assert next(gen).step == 2
    flag["cancel"] = True
    with pytest.raises(TrainingFailure) as caught:
        next(gen)
    assert caught.value.kind is FailureKind.CANCELLED
    assert len(model.batches) == 2  # no step after the cancel


def test_cancel_after_the_last_step_of_an_epoch_skips_evaluation() -> None:
    evaluated: list[int] = []

    def evaluate(epoch: int) -> Evaluation:
        evaluated.append(epoch)
        return Evaluation(None, {}, (0.0, 0.0))

    flag = {"cancel": False}
    gen = train_while_improving(FakeModel().step, three_batches,
                                plan=plan_steps(3, TrainingSettings(epochs=2)),
                                evaluate=evaluate, cancelled=lambda: flag["cancel"])
    for _ in range(3):
        next(gen)
    flag["cancel"] = True
    with pytest.raises(TrainingFailure):
        next(gen)
    assert evaluated == []


def test_a_caller_may_stop_by_not_asking_for_more() -> None:
    model = FakeModel()
    gen = train_while_improving(model.step, three_batches,
                                plan=plan_steps(3, TrainingSettings(epochs=3)), evaluate=None)
    for progress in gen:
        if progress.step == 4:
            break
    gen.close()
    assert len(model.batches) == 4


def test_a_diverging_loss_fails_before_counting_the_step() -> None:
    model = FakeModel(losses=[0.9, 0.8, math.nan])
    gen = train_while_improving(model.step, three_batches,
                                plan=plan_steps(3, TrainingSettings(epochs=2)), evaluate=None,
                                learning_rate=0.5)
    seen: list[Any] = []
    with pytest.raises(TrainingFailure) as caught:
        seen.extend(gen)  # what came before the failure stays
    assert caught.value.kind is FailureKind.DIVERGED
    assert [p.step for p in seen] == [1, 2]
    message = str(caught.value)
    assert "nan" in message and "step 3 (epoch 1)" in message and "learning rate 0.5" in message


def test_early_stopping_waits_for_patience_and_the_step_floor() -> None:
    plan = plan_steps(3, TrainingSettings(epochs=8))
    dev = scores(0.5, 0.6, 0.6, 0.55, 0.5, 0.4, 0.3, 0.2)
    out = [p for p in train_while_improving(FakeModel().step, three_batches, plan=plan,
                                            evaluate=dev, patience=2)
           if isinstance(p, EpochProgress)]
    # epoch 3 ties epoch 2 on F1 and wins on the lower validation loss; then two epochs
    # without improvement stop the run (patience 2)
    assert [(e.epoch, e.is_best) for e in out] == [
        (1, True), (2, True), (3, True), (4, False), (5, False)]
    assert out[-1].stops_early
    # the floor of steps holds early stopping off until 6 epochs x 3 steps = 18
    floored = [p for p in train_while_improving(FakeModel().step, three_batches, plan=plan,
                                                evaluate=dev, patience=2, min_steps=18)
               if isinstance(p, EpochProgress)]
    assert [e.epoch for e in floored] == [1, 2, 3, 4, 5, 6] and floored[-1].stops_early


def test_agree_overrides_the_local_stop_decision() -> None:
    """Distributed runs: a worker rank evaluates nothing and stops when rank 0 says so."""
    decisions: list[bool] = []

    def agree(stop: bool) -> bool:
        decisions.append(stop)
        return len(decisions) == 2

    out = [p for p in train_while_improving(FakeModel().step, three_batches,
                                            plan=plan_steps(3, TrainingSettings(epochs=4)),
                                            evaluate=None, agree=agree)
           if isinstance(p, EpochProgress)]
    assert decisions == [False, False]
    assert [(e.epoch, e.evaluation, e.is_best, e.stops_early) for e in out] == [
        (1, None, False, False), (2, None, False, True)]


# --- the plan and the preparation -------------------------------------------------------


def test_plan_applies_the_small_data_floor() -> None:
    settings = TrainingSettings(epochs=3, min_steps=40, max_epochs=20)
    plan = plan_steps(4, settings)
    assert (plan.epochs, plan.total_steps) == (10, 40) and "up to 10 epochs" in plan.note
    assert plan_steps(1, settings).epochs == 20  # capped at max_epochs
    big = plan_steps(50, settings)
    assert (big.epochs, big.total_steps, big.note) == (3, 150, "")
    assert plan_steps(4, TrainingSettings(epochs=3, min_steps=0)).epochs == 3


def test_prepare_splits_warns_and_plans() -> None:
    settings = TrainingSettings(batch_size=8, epochs=2, min_steps=0, dev_fraction=0.2, seed=3)
    docs = make_ner_docs(40)
    prep = prepare(task="ner", labels=["DRUG"], train=docs, settings=settings)
    assert prep.problem is None
    assert len(prep.train) + len(prep.dev) == 40 and prep.dev
    assert not {d.text for d in prep.train} & {d.text for d in prep.dev}
    assert prep.plan.batches_per_epoch == -(-len(prep.train) // 8)
    assert prep.plan.epochs == 2
    # the same inputs give the same split (stable, seeded)
    again = prepare(task="ner", labels=["DRUG"], train=docs, settings=settings)
    assert again.dev == prep.dev
    # documents marked dev are the dev set; no split is made then
    marked = [DocumentRecord(d.text, spans=d.spans, split=Split.DEV) for d in docs[:5]]
    prep2 = prepare(task="ner", labels=["DRUG"], train=docs[5:] + marked, settings=settings)
    assert list(prep2.dev) == marked and len(prep2.train) == 35


def test_prepare_reports_problems_without_raising() -> None:
    settings = TrainingSettings()
    none = prepare(task="ner", labels=[], train=make_ner_docs(3), settings=settings)
    assert none.problem and "no labels given" in none.problem
    dup = prepare(task="ner", labels=["A", "A"], train=make_ner_docs(3), settings=settings)
    assert dup.problem and "duplicate labels" in dup.problem
    odd = [DocumentRecord("x y", external_id="odd", spans=(EntitySpan(0, 1, "DOSE"),))]
    bad = prepare(task="ner", labels=["DRUG"], train=make_ner_docs(3) + odd, settings=settings)
    assert bad.problem and bad.problem.startswith("bad labels") and "odd" in bad.problem
    empty = prepare(task="classify", labels=["pos", "neg"],
                    train=[DocumentRecord("no class here")], settings=settings)
    assert empty.problem and empty.problem.startswith("no labelled training documents")
    # the guards are worked out anyway, for the settings dialog
    assert any("only 0 labelled document(s)" in w for w in empty.warnings)
    assert any("without labels for this task are left out" in w for w in empty.warnings)
    with pytest.raises(TrainingFailure) as caught:
        empty.require()
    assert caught.value.kind is FailureKind.BAD_INPUT


def test_the_run_trains_what_prepare_planned(tiny_bert: Path, tmp_path: Path) -> None:
    """A real run reports exactly the steps and epochs of the shared plan, and the steps
    come from the generator one by one."""
    from core.engine.job import TrainingJob
    from core.engine.results import EpochEvent, ProgressEvent

    settings = TrainingSettings(base_model=str(tiny_bert), epochs=2, batch_size=8,
                                max_length=32, stride=8, patience=0, device="cpu",
                                min_steps=0, learning_rate=1e-3)
    docs = make_ner_docs(30)
    labels = ["DRUG", "DOSE"]  # no DOSE: a warning from the preparation
    prep = prepare(task="ner", labels=labels, train=docs, settings=settings)
    assert any("'DOSE' (0)" in w for w in prep.warnings)
    events: list[Any] = []
    result = TrainingJob(task="ner", labels=labels, train=docs, settings=settings,
                         output_dir=tmp_path / "m", on_event=events.append).run()
    assert result.status == "completed" and result.failure is None, result.reason
    steps = [e for e in events if isinstance(e, ProgressEvent)]
    # short sentences: one window each, so the estimate of the plan is the run's plan
    assert [e.step for e in steps] == list(range(1, prep.plan.total_steps + 1))
    assert result.steps == prep.plan.total_steps
    assert [e.epoch for e in events if isinstance(e, EpochEvent)] == [1, 2]
    assert result.train_examples == len(prep.train) and result.dev_examples == len(prep.dev)
    # the preparation's warnings first (the run may add its own after training)
    assert list(result.warnings[:len(prep.warnings)]) == list(prep.warnings)


def test_data_warnings_count_the_same_for_a_plain_task_name() -> None:
    """The settings dialog hands the task as "ner": the counts must not all read 0."""
    from core.engine.prepare import data_warnings
    from core.types import DocumentRecord, EntitySpan, TaskKind

    docs = [DocumentRecord(text="aspirin helps", spans=(EntitySpan(0, 7, "Drug"),))] * 12
    as_kind = data_warnings(TaskKind.NER, ["Drug", "Dose"], docs, has_dev=False)
    as_text = data_warnings("ner", ["Drug", "Dose"], docs, has_dev=False)
    assert as_text == as_kind
    assert not any("'Drug' (0)" in w for w in as_text), as_text
