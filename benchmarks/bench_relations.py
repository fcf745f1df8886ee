"""The relation head and its negatives: most candidate pairs of entities hold no relation;
train on every pair with class weights, on every pair unweighted, or on the pairs with a
relation and at most 3 times as many without (issue 13, relations: "class-weighted or
negatives subsampled: measure").

No relation corpus ships with the shared data, so the notes are synthetic medication lists
in the clinical style, with several medications per note so that most pairs are negatives:
``"Home meds: aspirin 81 mg daily, warfarin 5 mg at night; no metformin. Started 40 mg of
atorvastatin."`` Each dose is the ``dose_of`` (Dosage > Medication) of its medication, written
after it or before it ("40 mg of atorvastatin"); medications without a dose ("no metformin")
are distractors. Train and test notes are drawn with different seeds.

Methods (the relation head alone, ``project.training.start("relation")``, the default preset
and encoder; the gold entities are given, as ``annotator evaluate`` gives them):

* ``weighted``: the head as shipped, every candidate pair, each weighed in the cross-entropy
  by its class's inverse frequency (``n / (classes x count)``; ``CLASS_WEIGHTED``);
* ``all``: every candidate pair, unweighted;
* ``subsample``: the pairs with a relation and at most 3 times as many without, drawn with a
  fixed seed, unweighted (``NEGATIVES_PER_POSITIVE = 3``).

Scores: micro precision, recall and F1 of the test relations; training pairs, seconds.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_relations.py --seeds 2 \\
        --out benchmarks/results/relations_negatives.json
    python benchmarks/bench_relations.py --tiny          # seconds (tiny random model)
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _bench_cli import add_common_args, emit, tiny, tiny_base_model

from core.types import DocumentRecord, EntitySpan, Relation, Split, TaskKind

MEDICATIONS = ["aspirin", "warfarin", "metformin", "atorvastatin", "lisinopril", "amlodipine",
               "omeprazole", "metoprolol", "furosemide", "gabapentin", "insulin", "heparin"]
DOSES = ["81 mg", "5 mg", "500 mg", "40 mg", "10 mg", "2.5 mg", "20 units", "1 g", "25 mcg"]
TIMES = ["daily", "at night", "twice a day", "as needed", "every morning", "with meals"]
OPENINGS = ["Home meds:", "Current medications:", "Plan:", "On admission", "Discharged on"]
METHODS = ("weighted", "all", "subsample")
# The switches of core.tasks.relations each method sets: (CLASS_WEIGHTED, NEGATIVES_PER_POSITIVE)
RECIPES = {"weighted": (True, None), "all": (False, None), "subsample": (False, 3)}


class _Note:
    """A note being written: its text and its entities so far."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.spans: list[EntitySpan] = []

    def add(self, part: str, label: str | None = None) -> EntitySpan | None:
        span = EntitySpan(len(self.text), len(self.text) + len(part), label) if label else None
        self.text += part
        if span is not None:
            self.spans.append(span)
        return span


def synthetic_notes(n: int, seed: int) -> list[DocumentRecord]:
    """Notes of 3-8 medication mentions, most with a dose (after it, or "N mg of" before)."""
    rng = random.Random(seed)
    notes = []
    for i in range(n):
        note = _Note(rng.choice(OPENINGS) + " ")
        pairs: list[tuple[EntitySpan, EntitySpan]] = []  # (dose, medication)
        for k, med in enumerate(rng.sample(MEDICATIONS, rng.randint(3, 8))):
            if k:
                note.add(rng.choice([", ", "; ", ". Started ", " and "]))
            if rng.random() < 0.2:  # a distractor: a medication with no dose
                note.add("no ")
                note.add(med, "Medication")
                continue
            dose = rng.choice(DOSES)
            if rng.random() < 0.5:  # "aspirin 81 mg daily"
                m = note.add(med, "Medication")
                note.add(" ")
                d = note.add(dose, "Dosage")
            else:  # "40 mg of atorvastatin"
                d = note.add(dose, "Dosage")
                note.add(" of ")
                m = note.add(med, "Medication")
            note.add(" " + rng.choice(TIMES))
            assert d is not None and m is not None
            pairs.append((d, m))
        note.add(".")
        spans = sorted(note.spans, key=lambda s: s.start)
        index = {(s.start, s.end): j for j, s in enumerate(spans)}
        notes.append(DocumentRecord(
            note.text, external_id=f"note-{seed}-{i}", spans=tuple(spans),
            relations=tuple(Relation(index[(d.start, d.end)], index[(m.start, m.end)], "dose_of")
                            for d, m in pairs),
            labelled_for=frozenset({TaskKind.NER, TaskKind.RELATION})))
    return notes


def run_method(method: str, train: list[DocumentRecord], test: list[DocumentRecord], *,
               seed: int, base_model: str, epochs: int | None, workdir: Path) -> dict[str, Any]:
    from core.engine.predict import Predictor
    from core.engine.settings import preset_settings
    from core.project import Project
    from core.tasks import relations as rel

    project = Project.create(workdir / f"{method}-{seed}.db",
                             tasks={"ner": ["Dosage", "Medication"]})
    project.annotations.add_relation_type("dose_of=Dosage>Medication")
    n_dev = max(1, len(train) // 5)
    project.documents.add(train[n_dev:])
    project.documents.add(train[:n_dev], split=Split.DEV)
    saved = (rel.CLASS_WEIGHTED, rel.NEGATIVES_PER_POSITIVE)
    positives = sum(len(d.relations) for d in train[n_dev:])
    pairs = sum(sum(1 for a in d.spans for b in d.spans
                    if a.label == "Dosage" and b.label == "Medication") for d in train[n_dev:])
    try:
        rel.CLASS_WEIGHTED, rel.NEGATIVES_PER_POSITIVE = RECIPES[method]
        settings = preset_settings("default", "relation", base_model=base_model, seed=seed,
                                   epochs=epochs, device="cpu")
        started = time.perf_counter()
        outcome = project.training.start("relation", settings)
        seconds = time.perf_counter() - started
    finally:
        rel.CLASS_WEIGHTED, rel.NEGATIVES_PER_POSITIVE = saved
        path = project.models.current(TaskKind.RELATION).path if outcome_ok(project) else None
        project.close()
    r = outcome.result
    if r.status != "completed" or path is None:
        raise SystemExit(f"{method}: the relation head did not train: {r.reason}")
    scores = Predictor(path).evaluate(test)
    ratio = RECIPES[method][1]
    kept = positives + min(pairs - positives, ratio * max(positives, 1)) if ratio else pairs
    return {"method": method, "seed": seed,
            "test": {k: round(float(scores[k]), 4) for k in ("precision", "recall", "f1")},
            "dev_f1": round(float(r.dev_metrics.get("f1", 0.0)), 4),
            "train_pairs": pairs, "train_positives": positives, "pairs_trained_on": kept,
            "epochs_run": len(r.epochs), "best_epoch": r.best_epoch,
            "seconds": round(seconds, 1)}


def outcome_ok(project: Any) -> bool:
    from core import models

    try:
        models.resolve(project, TaskKind.RELATION)
    except Exception:  # noqa: BLE001 - no version: the run failed, said below
        return False
    return True


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train-notes", type=int, default=150)
    ap.add_argument("--test-notes", type=int, default=100)
    ap.add_argument("--seeds", type=int, default=1, help="training seeds 42, 43, ...")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--base-model", default="default")
    ap.add_argument("--epochs", type=int, default=None, help="default: the preset's")
    add_common_args(ap)
    args = ap.parse_args()
    tiny(args, train_notes=24, test_notes=8, seeds=1, epochs=1)
    base_model = tiny_base_model() if args.tiny else args.base_model
    train = synthetic_notes(args.train_notes, seed=1)
    test = synthetic_notes(args.test_notes, seed=2)
    methods = [m for m in args.methods.split(",") if m]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise SystemExit(f"unknown method(s) {unknown}: choose from {list(METHODS)}")
    load_before = [round(x, 2) for x in os.getloadavg()]
    per_run = []
    with tempfile.TemporaryDirectory(prefix="bench-relations-") as tmp:
        for seed in [42 + k for k in range(args.seeds)]:
            for method in methods:
                row = run_method(method, train, test, seed=seed, base_model=base_model,
                                 epochs=args.epochs, workdir=Path(tmp))
                row["load_average"] = [round(x, 2) for x in os.getloadavg()]
                print(f"{method} seed {seed}: test F1 {row['test']['f1']} "
                      f"({row['seconds']} s)", file=sys.stderr, flush=True)
                per_run.append(row)
    summary = {}
    for method in methods:
        rows = [r for r in per_run if r["method"] == method]
        f1s = [r["test"]["f1"] for r in rows]
        summary[method] = {
            "test_f1_mean": round(statistics.mean(f1s), 4),
            "test_f1_sd": round(statistics.stdev(f1s), 4) if len(f1s) > 1 else None,
            "precision_mean": round(statistics.mean(r["test"]["precision"] for r in rows), 4),
            "recall_mean": round(statistics.mean(r["test"]["recall"] for r in rows), 4),
            "seconds_mean": round(statistics.mean(r["seconds"] for r in rows), 1),
        }
    result = {
        "benchmark": "relations_negatives",
        "question": "train the relation head on every candidate pair with class weights, "
                    "every pair unweighted, or the pairs with a relation and at most 3 times "
                    "as many without",
        "data": {"train_notes": len(train), "test_notes": len(test),
                 "train_relations": sum(len(d.relations) for d in train),
                 "test_relations": sum(len(d.relations) for d in test),
                 "note": "synthetic medication notes (see the script's docstring)"},
        "base_model": "tiny random BERT" if args.tiny else args.base_model,
        "per_run": per_run, "summary": summary, "load_average_start": load_before,
    }
    emit(result, args.out, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
