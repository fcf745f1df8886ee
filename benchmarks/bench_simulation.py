"""Simulated active learning on real corpora: does uncertainty sampling reach random
sampling's final dev score with at most 70% of its labels?

    python benchmarks/bench_simulation.py --task ner       # NCBI-disease
    python benchmarks/bench_simulation.py --task classify  # SST-2

Pool = the corpus's train file (subsampled to --pool per seed), dev = its dev file
(subsampled to --dev once). Every strategy starts from the same --seed-size random
documents per seed; each round retrains from the default encoder (cold start). Prints one
JSON object (curves per strategy and seed, the mean curves and the comparison with
random); with --out also writes it after every seed, so a long run leaves partial results.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_cli import add_common_args, emit, tiny, tiny_base_model

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from core.active.simulate import (
    SimulationEvent,
    SimulationResult,
    SimulationSettings,
    simulate,
)
from core.formats import read_file
from core.types import TaskKind

DATA = Path(os.environ.get("ANNOTATOR_DATA", ROOT.parent / "shared" / "data"))
CORPORA = {  # name: (task, pool file, dev file, format)
    "ncbi": ("ner", DATA / "ner/ncbi-disease/train.tsv", DATA / "ner/ncbi-disease/devel.tsv",
             "conll"),
    "sst2": ("classify", DATA / "classify/sst2/train.txt", DATA / "classify/sst2/dev.txt",
             "lines"),
    "trec": ("classify", DATA / "classify/trec/train.txt", DATA / "classify/trec/test.txt",
             "lines"),
}
DEFAULT_CORPUS = {"ner": "ncbi", "classify": "sst2"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--task", choices=sorted(DEFAULT_CORPUS), default="ner")
    ap.add_argument("--corpus", choices=sorted(CORPORA), default=None,
                    help="default: ncbi for ner, sst2 for classify")
    ap.add_argument("--strategies", default="random,entropy")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--pool", type=int, default=1000)
    ap.add_argument("--dev", type=int, default=200)
    ap.add_argument("--seed-size", type=int, default=50)
    ap.add_argument("--batch-size", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--min-steps", type=int, default=None,
                    help="at least this many optimizer steps per training (small-data floor)")
    ap.add_argument("--learning-rate", type=float, default=None)
    ap.add_argument("--train-batch-size", type=int, default=8)
    ap.add_argument("--warm-start", action="store_true",
                    help="train each round from the previous round's model")
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--base-model", default="default")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch CPU threads (default: all cores; 1 on a busy shared machine)")
    add_common_args(ap)
    args = ap.parse_args()
    tiny(args, pool=40, dev=10, seed_size=8, batch_size=8, rounds=1, seeds=1, epochs=1,
         max_length=64)
    if args.tiny:
        args.base_model = tiny_base_model()

    if args.threads:
        import torch

        import core.engine.runtime as runtime

        torch.set_num_threads(args.threads)
        runtime.use_all_cores = lambda: None  # the engine would raise it to every core

    task_name, train_path, dev_path, fmt = CORPORA[args.corpus or DEFAULT_CORPUS[args.task]]
    encoding = "latin-1" if "trec" in str(train_path) else "utf-8"  # TREC train: 1 Latin-1 byte
    pool = read_file(train_path, fmt, encoding=encoding)
    dev = read_file(dev_path, fmt, encoding=encoding)
    task = TaskKind(task_name)
    merged: SimulationResult | None = None
    started = time.perf_counter()

    def log(e: SimulationEvent) -> None:
        print(f"[{time.perf_counter() - started:7.0f}s] {e.strategy:>16} seed {e.seed} "
              f"round {e.round}/{e.rounds} labels {e.labels:4d} -> {e.value:.4f} "
              f"({e.seconds:.0f}s)", file=sys.stderr, flush=True)

    for seed in range(args.first_seed, args.first_seed + args.seeds):
        settings = SimulationSettings(
            task=task, strategies=tuple(args.strategies.split(",")), seed_size=args.seed_size,
            batch_size=args.batch_size, rounds=args.rounds, seeds=1, first_seed=seed,
            epochs=args.epochs, base_model=args.base_model, max_pool=args.pool,
            max_dev=args.dev, learning_rate=args.learning_rate, max_length=args.max_length,
            train_batch_size=args.train_batch_size, warm_start=args.warm_start,
            min_steps=args.min_steps,
        )
        result = simulate(settings, pool, dev, on_event=log)
        if merged is None:
            merged = result
        else:
            for name, runs in result.per_seed.items():
                merged.per_seed.setdefault(name, []).extend(runs)
        merged.seconds = time.perf_counter() - started
        data = merged.to_dict()
        data["settings"]["seeds"] = seed - args.first_seed + 1
        data["settings"]["first_seed"] = args.first_seed
        data["corpus"] = {"pool": str(train_path.relative_to(DATA)),
                          "dev": str(dev_path.relative_to(DATA))}
        if args.out:
            args.out.write_text(json.dumps(data, indent=1))
    emit(data, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
