from __future__ import annotations

import json
from pathlib import Path

import pytest
from al_helpers import class_docs, ner_docs

from core.active.simulate import (
    SimulationEvent,
    SimulationSettings,
    labels_to_reach,
    simulate,
    strip_labels,
)
from core.errors import AnnotatorError
from core.tasks import all_kinds
from core.types import Answer, DocumentRecord, EntitySpan, Question, SentenceLabel, TaskKind


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
    result = simulate(_settings(tiny_bert, TaskKind.NER, min_steps=16, learning_rate=1e-2),
                      ner_docs(40, seed=1),
                      ner_docs(10, seed=2), on_event=events.append)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["metric"] == "f1" and set(data["curves"]) == {"random", "diverse"}
    for name, curve in data["curves"].items():
        assert [p["labels"] for p in curve] == [12, 18, 24], name
        assert all(0.0 <= p["f1"] <= 1.0 for p in curve)
        assert len(data["per_seed"][name]) == 1
    assert len(events) == 6
    # The events, the per-seed curves and the mean curves are the same trainings.
    for e in events:
        point = data["per_seed"][e.strategy][e.seed][e.round]
        assert (point["round"], point["labels"]) == (e.round, e.labels)
        assert point["f1"] == pytest.approx(e.value)
        assert data["curves"][e.strategy][e.round]["f1"] == pytest.approx(e.value, abs=1e-4)
    # The tiny model learns the drug names from 24 labelled sentences.
    assert all(curve[-1]["f1"] > 0.5 for curve in data["curves"].values()), data["curves"]
    comparison = data["comparison"]
    assert set(comparison["strategies"]) == {"random", "diverse"}
    assert comparison["target"] == data["curves"]["random"][-1]["f1"]
    assert comparison["reference_labels"] == 24
    assert comparison["strategies"]["random"]["final"] == comparison["target"]
    for name, row in comparison["strategies"].items():
        curve = data["curves"][name]
        assert row["labels_to_reach"] == labels_to_reach(
            [p["labels"] for p in curve], [p["f1"] for p in curve], comparison["target"])


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


def test_min_steps_floor_reaches_every_training(
        tiny_bert: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every training of the simulation really takes the floor of optimizer steps (12 seed
    documents at batch 8 are 2 steps an epoch), and without a floor exactly its epochs."""
    from core.engine.job import TrainingJob

    steps: list[int] = []
    real_run = TrainingJob.run

    def counting_run(self: TrainingJob) -> object:
        result = real_run(self)
        steps.append(result.steps)
        return result

    monkeypatch.setattr(TrainingJob, "run", counting_run)
    pool, dev = ner_docs(40, seed=1), ner_docs(6, seed=2)
    simulate(_settings(tiny_bert, TaskKind.NER, strategies=("random",), rounds=1, epochs=1,
                       min_steps=10), pool, dev)
    assert len(steps) == 2 and all(n >= 10 for n in steps), steps
    steps.clear()
    simulate(_settings(tiny_bert, TaskKind.NER, strategies=("random",), rounds=1, epochs=1),
             pool, dev)
    assert steps == [2, 3], steps  # 12 then 18 documents, one epoch at batch 8
    with pytest.raises(AnnotatorError, match="min-steps must be >= 0"):
        _settings(tiny_bert, TaskKind.NER, min_steps=-1)


def sentence_notes(n: int, seed: int, prefix: str) -> list[DocumentRecord]:
    """Notes of three sentences each (the class-task sentences, pos or neg), every sentence
    labelled."""
    parts = class_docs(3 * n, seed=seed)
    notes = []
    for i in range(n):
        text, sentences = "", []
        for part in parts[3 * i: 3 * i + 3]:
            if text:
                text += " "
            sentences.append(SentenceLabel(len(text), len(text) + len(part.text) + 1,
                                           part.classes))
            text += part.text + "."
        notes.append(DocumentRecord(text, external_id=f"{prefix}-{i}",
                                    sentences=tuple(sentences)))
    return notes


def test_strip_labels_leaves_no_gold_of_any_kind() -> None:
    doc = DocumentRecord(
        "Aspirin helps. Pain gone.", spans=(EntitySpan(0, 7, "DRUG"),), classes=("pos",),
        questions=(Question("what drug", (Answer(0, 7, "Aspirin"),)),),
        sentences=(SentenceLabel(0, 14, ("pos",)), SentenceLabel(15, 25, ("neg",))),
        labelled_for=frozenset(TaskKind),
    )
    stripped = strip_labels(doc)
    for kind in all_kinds():
        assert kind.is_labelled(doc), kind.kind
        assert not kind.is_labelled(stripped), kind.kind
    # what the model is asked stays: the text, the questions, the sentences to classify
    assert stripped.text == doc.text and [q.text for q in stripped.questions] == ["what drug"]
    assert stripped.sentences == (SentenceLabel(0, 14), SentenceLabel(15, 25))


def test_a_sentence_simulation_queries_without_the_gold_classes(
        tiny_bert: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.engine.predict import Predictor

    asked: list[DocumentRecord] = []
    real_predict = Predictor.predict

    def recording_predict(self: Predictor, docs: list[DocumentRecord], *a: object,
                          **kw: object) -> object:
        asked.extend(docs)
        return real_predict(self, docs, *a, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Predictor, "predict", recording_predict)
    result = simulate(
        _settings(tiny_bert, TaskKind.SENTENCE, strategies=("random", "entropy"), seed_size=8,
                  batch_size=4, rounds=1, epochs=1),
        sentence_notes(20, 1, "pool"), sentence_notes(6, 2, "dev"),
    )
    data = result.to_dict()
    assert data["metric"] == "accuracy"
    for name in ("random", "entropy"):
        assert [p["labels"] for p in data["curves"][name]] == [8, 12]
        assert all(0.0 <= p["accuracy"] <= 1.0 for p in data["curves"][name])
    queried = [d for d in asked if d.external_id.startswith("pool")]
    assert len(queried) == 12  # the entropy round asked the model about the 12 left
    assert all(len(d.sentences) == 3 and not any(s.labels for s in d.sentences)
               for d in queried)


def test_cost_aware_simulation_reports_hours_and_labels_per_hour(tiny_bert: Path) -> None:
    from core.active.time_model import TimeModel

    pool = class_docs(30, seed=1)
    # Some documents made long: under this time model they cost ten times as much.
    pool = [DocumentRecord(text=d.text + (" filler" * 200 if i % 3 == 0 else ""),
                           classes=d.classes, labelled_for=d.labelled_for)
            for i, d in enumerate(pool)]
    model = TimeModel(intercept=10.0, per_char=0.1, source="given")
    result = simulate(
        _settings(tiny_bert, TaskKind.CLASSIFY, strategies=("random", "cost_aware"), rounds=2,
                  seed_size=6, batch_size=4, epochs=1, time_model=model),
        pool, class_docs(10, seed=2),
    )
    data = json.loads(json.dumps(result.to_dict()))
    for name in ("random", "cost_aware"):
        hours = [p["hours"] for p in data["curves"][name]]
        assert hours == sorted(hours) and hours[0] > 0
        row = data["comparison"]["strategies"][name]
        last = data["curves"][name][-1]
        assert row["labels_per_hour"] == pytest.approx(last["labels"] / last["hours"], rel=1e-3)
    # Round 0 is the same seed set for both: the same simulated hours.
    assert data["curves"]["random"][0]["hours"] == data["curves"]["cost_aware"][0]["hours"]
    # cost_aware picks cheap documents: its 8 picks are all short ones (random's are not
    # bound to be), so they cost no more than 8 of the longest short documents.
    picked_hours = {n: data["curves"][n][-1]["hours"] - data["curves"][n][0]["hours"]
                    for n in ("random", "cost_aware")}
    assert picked_hours["cost_aware"] <= picked_hours["random"]
    longest_short = max(len(d.text) for d in pool if len(d.text) < 500)
    assert picked_hours["cost_aware"] * 3600 <= 8 * (10.0 + 0.1 * longest_short) + 1e-6
    assert data["settings"]["time_model"]["source"] == "given"


def test_simulation_trains_as_the_app_does_unless_told() -> None:
    """Default epochs: the preset's, so its small-data floor applies (explicit epochs
    switch it off, as everywhere)."""
    assert SimulationSettings(task=TaskKind.NER).epochs is None


def test_files_with_nested_entities_train_the_per_label_tagger(
        tiny_bert: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each drug also as a "DOSE_DRUG" span over it and the word after: nested and
    overlapping spans, which the BIO tagger cannot learn, so every round trains the
    per-label tagger (as a project that lets entities overlap does)."""
    import dataclasses

    from core.engine import job as job_module

    def nested(docs: list[DocumentRecord]) -> list[DocumentRecord]:
        out = []
        for d in docs:
            drug = d.spans[0]
            after = d.text.find(" ", drug.end + 1)
            wider = EntitySpan(drug.start, after if after > 0 else len(d.text), "DOSE_DRUG")
            out.append(dataclasses.replace(d, spans=(drug, wider) if wider.end > drug.end
                                           else d.spans))
        return out

    seen: list[bool] = []
    real = job_module.TrainingJob.__init__

    def spy(self: object, *args: object, **kw: object) -> None:
        seen.append(bool(kw.get("overlapping")))
        real(self, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(job_module.TrainingJob, "__init__", spy)
    settings = _settings(tiny_bert, TaskKind.NER, strategies=("random",), rounds=1,
                         min_steps=16, learning_rate=1e-2)
    result = simulate(settings, nested(ner_docs(30, seed=1)), nested(ner_docs(8, seed=2)))
    data = result.to_dict()
    assert data["overlapping"] is True and seen == [True, True]
    assert all(0.0 <= p["f1"] <= 1.0 for p in data["curves"]["random"])
    # the same files without the nested spans: the BIO tagger, as before
    seen.clear()
    plain = simulate(settings, ner_docs(30, seed=1), ner_docs(8, seed=2)).to_dict()
    assert plain["overlapping"] is False and seen == [False, False]
