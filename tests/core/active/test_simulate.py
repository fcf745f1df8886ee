from __future__ import annotations

import json
from pathlib import Path

import pytest
from al_helpers import TinyModels, class_docs, ner_docs

from core.active.simulate import (
    SimulationEvent,
    SimulationSettings,
    labels_to_reach,
    simulate,
)
from core.errors import AnnotatorError
from core.types import TaskKind


def _settings(base: Path, task: TaskKind, **kw: object) -> SimulationSettings:
    values: dict[str, object] = dict(
        task=task, strategies=("random", "diverse"), seed_size=12, batch_size=6,
        rounds=2, seeds=1, epochs=2, base_model=str(base), learning_rate=5e-3,
        train_batch_size=8, max_length=64, device="cpu",
    )
    values.update(kw)
    return SimulationSettings(**values)  # type: ignore[arg-type]


def test_tiny_ner_simulation_json_shape(tiny_bert: Path) -> None:
    events: list[SimulationEvent] = []
    result = simulate(_settings(tiny_bert, TaskKind.NER), ner_docs(40, seed=1),
                      ner_docs(10, seed=2), on_event=events.append)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["metric"] == "f1" and set(data["curves"]) == {"random", "diverse"}
    for name, curve in data["curves"].items():
        assert [p["labels"] for p in curve] == [12, 18, 24], name
        assert all(0.0 <= p["f1"] <= 1.0 for p in curve)
        assert len(data["per_seed"][name]) == 1
    assert len(events) == 6
    assert set(data["comparison"]["strategies"]) == {"random", "diverse"}


def test_same_seed_set_for_every_strategy_and_two_seeds(tiny_bert: Path) -> None:
    result = simulate(
        _settings(tiny_bert, TaskKind.CLASSIFY, strategies=("random", "margin"), rounds=1,
                  seeds=2, epochs=1),
        class_docs(30, seed=1), class_docs(10, seed=2),
    )
    data = result.to_dict()
    assert data["metric"] == "accuracy"
    assert [len(data["per_seed"][s]) for s in ("random", "margin")] == [2, 2]
    # Round 0 trains the same seed set with the same seed: same score for both strategies.
    for seed in range(2):
        assert data["per_seed"]["random"][seed][0]["accuracy"] == pytest.approx(
            data["per_seed"]["margin"][seed][0]["accuracy"]
        )
    assert data["curves"]["margin"][0]["seeds"] == 2


def test_labels_to_reach() -> None:
    assert labels_to_reach([50, 100, 150], [0.2, 0.4, 0.6], 0.5) == pytest.approx(125)
    assert labels_to_reach([50, 100], [0.6, 0.7], 0.5) == 50
    assert labels_to_reach([50, 100], [0.1, 0.2], 0.5) is None


def test_bad_settings_are_clear(tiny_bert: Path) -> None:
    with pytest.raises(AnnotatorError, match="leaves nothing to query"):
        simulate(_settings(tiny_bert, TaskKind.NER, seed_size=50), ner_docs(20), ner_docs(5))
    with pytest.raises(ValueError, match="unknown strategy"):
        _settings(tiny_bert, TaskKind.NER, strategies=("bald",))


def test_min_steps_floor_reaches_every_training(tiny_bert: Path) -> None:
    from core.active.simulate import Simulation

    pool, dev = ner_docs(40, seed=1), ner_docs(10, seed=2)
    floored = Simulation(_settings(tiny_bert, TaskKind.NER, epochs=1, min_steps=40), pool, dev)
    s = floored._training_settings(0, None)
    assert (s.epochs, s.min_steps) == (1, 40)
    # explicit epochs without a floor: exactly those epochs, as the engine does
    plain = Simulation(_settings(tiny_bert, TaskKind.NER, epochs=1), pool, dev)
    assert plain._training_settings(0, None).min_steps == 0
    with pytest.raises(AnnotatorError, match="min-steps must be >= 0"):
        _settings(tiny_bert, TaskKind.NER, min_steps=-1)
