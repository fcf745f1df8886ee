"""Training throughput: our engine vs the plain transformers recipe, same data and settings.

Both fine-tune the default encoder on the same NCBI-disease sentences with the seed-002
settings (batch 8, lr 2e-5); throughput is real (non-padding) tokens of the training set
× epochs ÷ wall time of the training loop. Also reports the peak RSS of the process.
Prints one JSON object. The plain recipe's Trainer needs the ``accelerate`` package
(benchmark only; the engine does not use it).

    python benchmarks/bench_training.py --sentences 2000 --epochs 1
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_cli import add_common_args, emit, tiny
from bench_quality import DATA, plain_recipe, read_conll, sentence_record


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sentences", type=int, default=2000)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--only", choices=["engine", "plain"], help="run one side only")
    add_common_args(ap)
    args = ap.parse_args(argv)
    tiny(args, sentences=16)
    import torch

    from core.engine.job import TrainingJob
    from core.engine.settings import preset_settings

    torch.set_num_threads(os.cpu_count() or 1)
    sents = read_conll(DATA / "ner" / "ncbi-disease" / "train.tsv")[: args.sentences]
    docs = [sentence_record(w, t) for w, t in sents]
    labels = sorted({s.label for d in docs for s in d.spans})
    report: dict[str, object] = {"sentences": len(docs), "epochs": args.epochs,
                                 "threads": torch.get_num_threads()}
    if args.only != "plain":
        settings = preset_settings("seed-002", "ner", epochs=args.epochs, device="cpu",
                                   dev_fraction=0.0)
        with tempfile.TemporaryDirectory() as out:
            result = TrainingJob(task="ner", labels=labels, train=docs, settings=settings,
                                 output_dir=Path(out) / "m").run()
        report["engine"] = {"status": result.status, "train_seconds": result.train_seconds,
                            "tokens_per_second": result.tokens_per_second,
                            "train_tokens": result.train_tokens}
        report["engine_peak_rss_mb"] = peak_rss_mb()
        print(json.dumps({"engine": report["engine"]}), file=sys.stderr, flush=True)
    if args.only != "engine":
        plain = plain_recipe("ner", labels, docs, docs[:50], epochs=args.epochs)
        report["plain"] = {k: plain[k] for k in ("train_seconds", "tokens_per_second")}
        report["peak_rss_mb"] = peak_rss_mb()
    if "engine" in report and "plain" in report:
        report["speedup"] = (report["engine"]["tokens_per_second"]  # type: ignore[index]
                             / report["plain"]["tokens_per_second"])  # type: ignore[index]
    emit(report, args.out, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
