"""The per-label tagger of overlapping entities vs the BIO tagger on a corpus without overlaps
(issue 13: "no worse").

Both heads train with the engine's default preset and the default encoder on the corpus's
training sentences (early stopping on the engine's own held-out slice of them) and are
scored on its evaluation split (NCBI-disease devel, WNUT-17 dev), never seen in training.
Each is scored twice: as ``Predictor.evaluate`` scores it (seqeval strict for BIO, the
exact-match span sets for the per-label tagger) and, for both, with the same exact-match
span-set metric (``span_set``), so the two columns compare like with like.

    nice -n 19 python benchmarks/bench_overlapping.py --corpora ncbi --max-train 2000 \\
        --out benchmarks/results/overlapping_ncbi.json
    python benchmarks/bench_overlapping.py --tiny       # seconds: the test suite's run

On a busy machine the two heads may train in two processes at once (``--methods bio`` and
``--methods per_label``, each with its ``--out``); ``--combine A.json B.json --out C.json``
then merges their rows into one result that lists both commands.

Prints one JSON object: per corpus and method, the scores, sizes and wall times.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_cli import add_common_args, emit, tiny, tiny_base_model
from bench_quality import limit, load_corpus

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from core.types import DocumentRecord

METHODS = ("bio", "per_label")


def run_method(method: str, labels: list[str], train: list[DocumentRecord],
               dev: list[DocumentRecord], *, preset: str, base_model: str | None,
               **overrides: Any) -> dict[str, Any]:
    """Train one head (``bio``: the BIO tagger; ``per_label``: the tagger of overlapping
    entities) and score it on ``dev``."""
    from core.engine.job import TrainingJob
    from core.engine.metrics import span_set_metrics
    from core.engine.predict import Predictor
    from core.engine.settings import preset_settings

    if base_model is not None:
        overrides["base_model"] = base_model
    settings = preset_settings(preset, "ner", device="cpu", **overrides)
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        result = TrainingJob(task="ner", labels=labels, train=train, settings=settings,
                             output_dir=Path(out) / "m", overlapping=method == "per_label").run()
        wall = time.perf_counter() - t0
        if result.status != "completed":
            return {"status": result.status, "reason": result.reason}
        predictor = Predictor(result.model_path, device="cpu")
        assert predictor.spec.overlapping == (method == "per_label")
        evaluated = predictor.evaluate(dev)
        preds = predictor.predict(dev)
    span_set = span_set_metrics(
        [[(s.start, s.end, s.label) for s in d.spans] for d in dev],
        [[(s.start, s.end, s.label) for s in p.spans] for p in preds],  # type: ignore[union-attr]
    )
    return {
        "evaluate": {k: evaluated[k] for k in ("precision", "recall", "f1", "support",
                                               "predicted", "per_label")},
        "span_set": {k: span_set[k] for k in ("precision", "recall", "f1", "support",
                                              "predicted", "per_label")},
        "best_epoch": result.best_epoch, "epochs_run": len(result.epochs),
        "train_examples": result.train_examples, "dev_examples": result.dev_examples,
        "train_seconds": result.train_seconds, "wall_seconds": wall,
        "warnings": list(result.warnings),
        "settings": {k: getattr(settings, k) for k in (
            "learning_rate", "batch_size", "epochs", "max_length", "dev_fraction", "seed")},
    }


def with_difference(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with the per-label tagger's span-set F1 minus the BIO tagger's, when both ran."""
    if all(m in row and "span_set" in row[m] for m in METHODS):
        row["f1_per_label_minus_bio"] = (row["per_label"]["span_set"]["f1"]
                                         - row["bio"]["span_set"]["f1"])
    return row


def combine(paths: list[Path]) -> dict[str, Any]:
    """One result from runs of one method each (same corpora, sizes and seed)."""
    import json

    runs = [json.loads(p.read_text(encoding="utf-8")) for p in paths]
    out: dict[str, Any] = {k: v for k, v in runs[0].items() if k not in ("corpora", "command")}
    out["corpora"] = {}
    out["runs"] = [{"file": str(p), "command": r.get("command")} for p, r in zip(paths, runs)]
    for run in runs:
        for name, row in run["corpora"].items():
            merged = out["corpora"].setdefault(name, {})
            for key, value in row.items():
                if key in METHODS or key not in merged:
                    merged[key] = value
                elif key != "f1_per_label_minus_bio" and merged[key] != value:
                    raise SystemExit(f"{name}: the runs differ in {key} ({merged[key]} vs "
                                     f"{value}): not comparable")
    for row in out["corpora"].values():
        with_difference(row)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpora", default="ncbi", help="ncbi, wnut or both (comma-separated)")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--max-train", type=int,
                    help="a seeded sample of this many training sentences (default: all)")
    ap.add_argument("--max-eval", type=int, help="limit evaluation sentences (default: all)")
    ap.add_argument("--epochs", type=int, help="override the default preset's epochs")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--combine", nargs="+", type=Path, metavar="JSON",
                    help="merge the results of runs of single methods (no training)")
    add_common_args(ap)
    args = ap.parse_args(argv)
    if args.combine:
        emit(combine(args.combine), args.out, indent=2)
        return 0
    tiny(args, corpora="ncbi", max_train=24, max_eval=8, epochs=1)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    base_model = tiny_base_model() if args.tiny else None
    overrides: dict[str, Any] = {"seed": args.seed}
    if args.epochs:
        overrides["epochs"] = args.epochs
    if args.tiny:
        overrides.update(max_length=64, stride=16, min_steps=0)
    result: dict[str, Any] = {"preset": "default", "base_model": base_model or "default",
                              "threads": torch.get_num_threads(), "corpora": {}}
    for name in args.corpora.split(","):
        task, labels, train, dev = load_corpus(name)
        assert task == "ner"
        train = limit(train, args.max_train, args.seed)
        dev = limit(dev, args.max_eval, args.seed)
        row: dict[str, Any] = {"labels": labels, "train_sentences": len(train),
                               "eval_sentences": len(dev),
                               "eval_entities": sum(len(d.spans) for d in dev)}
        for method in args.methods.split(","):
            row[method] = run_method(method, labels, train, dev, preset="default",
                                     base_model=base_model, **overrides)
            print(f"# {name} {method}: F1 {row[method].get('span_set', {}).get('f1')}",
                  file=sys.stderr, flush=True)
        result["corpora"][name] = with_difference(row)
    emit(result, args.out, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
