"""Training throughput: our engine vs the plain and a tuned transformers Trainer, same data.

All three fine-tune the default encoder on the same NCBI-disease sentences with the seed-002
settings (batch 8, lr 2e-5, linear, no warmup); throughput is real (non-padding) tokens of
the training set × epochs ÷ wall time of the training loop. "plain" is bench_quality's
``plain_recipe`` (Trainer with its defaults); "tuned" is the same recipe with length-grouped
batches and fused AdamW. Also reports the peak RSS of the process (``engine_peak_rss_mb``
is the engine's alone because it runs first). Prints one JSON object. The Trainer needs
the ``accelerate`` package (benchmark only; the engine does not use it).

It measures the checkout it sits in (its ``core``, not the one the virtualenv installed),
so the same file runs unchanged from another checkout, with the same virtualenv:

    python benchmarks/bench_training.py --sentences 1000 --epochs 1
    /work/main/.venv/bin/python ../other/benchmarks/bench_training.py --only engine

The corpora come from ``$ANNOTATOR_DATA`` (default: ``shared/data`` beside the checkout).

How close each side comes to what the encoder's matmuls allow: torch's best n x n matrix
product rate, fp32 and (on a CPU with AVX-512 BF16 or AMX) bf16, measured before and after
the runs (the higher kept), and the
training FLOPs per real token (:func:`training_flops_per_token`); ``percent_of_fp32_peak``
= tokens/s x FLOPs per token / the fp32 peak. ``--preset default`` measures the engine
with the preset a user trains with (batch 16) instead of seed-002.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # before the virtualenv's editable install of another checkout
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_cli import add_common_args, emit, tiny
from bench_quality import DATA, plain_recipe, read_conll, sentence_record

SIDES = ("engine", "plain", "tuned")


def matmul_peak_gflops(dtype: str = "fp32", n: int = 2048, seconds: float = 3.0) -> float:
    """The best rate of torch's n x n matrix product here and now (the threads as set), in
    GFLOP/s: what the encoder's matmuls could reach at best. The best of many products,
    not their mean: on a shared machine the best is the one least slowed by others."""
    import torch

    kind = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype]
    a, b = torch.randn(n, n).to(kind), torch.randn(n, n).to(kind)
    for _ in range(2):
        a @ b
    best, deadline = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        a @ b
        best = max(best, 2 * n**3 / (time.perf_counter() - t0) / 1e9)
    return best


def training_flops_per_token(config: Any, lengths: list[int], n_labels: int) -> float:
    """FLOPs of one training step per real token of inputs of these lengths: the encoder's
    matmuls (per layer Q, K, V, output, and the two feed-forward ones; the attention
    products QK^T and AV over each input's own length) and the head, forward and backward
    (backward = 2x forward), 2 FLOPs a multiply-add. Padding is not counted: computing it
    is the waste this measures."""
    h, i, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    dense = layers * (4 * h * h + 2 * h * i) + h * n_labels  # multiply-adds per token
    total = sum(n * dense + layers * 2 * n * n * h for n in lengths)
    return 3 * 2 * total / max(sum(lengths), 1)


def efficiency(tokens_per_second: float, flops_per_token: float,
               peaks: dict[str, float]) -> dict[str, float]:
    """The share of each matmul peak that the training's real tokens used."""
    return {f"percent_of_{k}_peak": round(100 * tokens_per_second * flops_per_token / (v * 1e9), 1)
            for k, v in peaks.items()}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def cpu_description() -> dict[str, Any]:
    """The CPU measured on: its model name and the matmul-relevant instruction sets (the
    fp32 and bf16 peaks differ several times between machines with and without them)."""
    info: dict[str, Any] = {"model": None, "flags": []}
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return info
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and info["model"] is None:
            info["model"] = value.strip()
        elif key.strip() == "flags":
            flags = set(value.split())
            info["flags"] = sorted(flags & {"avx2", "avx512f", "avx512_bf16", "amx_bf16",
                                            "amx_tile", "fma"})
            break
    return info


def checkout() -> dict[str, Any]:
    """Which code is measured: this checkout, its commit, and where ``core`` came from."""
    import core

    core_dir = Path(core.__file__).resolve().parent
    if core_dir != ROOT / "core":
        raise SystemExit(f"imported core from {core_dir}, not from this checkout ({ROOT})")
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], check=True,
                                capture_output=True, text=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--",
                                     "core"], check=True, capture_output=True,
                                    text=True).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = None, None
    return {"path": str(ROOT), "commit": commit, "core_modified": dirty}


def tuned_trainer_args() -> dict[str, Any]:
    """Length-grouped batches and fused AdamW, in the installed transformers' spelling
    (5.x: ``train_sampling_strategy``; 4.x: ``group_by_length``). torch's fused AdamW runs
    on the CPU since torch 2.4."""
    from transformers import TrainingArguments

    fields = TrainingArguments.__dataclass_fields__
    grouping: dict[str, Any] = ({"train_sampling_strategy": "group_by_length"}
                                if "train_sampling_strategy" in fields
                                else {"group_by_length": True})
    return {**grouping, "optim": "adamw_torch_fused"}


def speedup(report: dict[str, Any], over: str) -> float | None:
    if "engine" not in report or over not in report:
        return None
    return float(report["engine"]["tokens_per_second"] / report[over]["tokens_per_second"])


def _encoder_config() -> Any:
    from transformers import AutoConfig

    from core.engine.settings import resolve_base_model

    return AutoConfig.from_pretrained(resolve_base_model(None))


def _token_lengths(docs: list[Any]) -> list[int]:
    """The engine's input lengths of ``docs`` (special tokens included)."""
    from transformers import AutoTokenizer

    from core.engine import tasks
    from core.engine.settings import TaskSpec, resolve_base_model
    from core.types import TaskKind

    tokenizer = AutoTokenizer.from_pretrained(resolve_base_model(None))
    labels = tuple(sorted({s.label for d in docs for s in d.spans}))
    feats = tasks.training_features(tokenizer, TaskSpec(TaskKind.NER, labels), docs,
                                    max_length=256, stride=64, warn=lambda _: None)
    return [len(f) for f in feats]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sentences", type=int, default=2000)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--only", choices=SIDES, help="run one side only")
    ap.add_argument("--preset", default="seed-002",
                    help="the engine's preset (seed-002: the Trainer's settings, as the "
                    "comparison needs; default: what a user trains with)")
    ap.add_argument("--no-cpu-paths", action="store_true",
                    help="train the engine side without core.engine.cpu_paths (the kept "
                    "word-embedding gradient and the faster dropout masks), to measure them")
    add_common_args(ap)
    args = ap.parse_args(argv)
    tiny(args, sentences=16)
    load_start = [round(x, 2) for x in os.getloadavg()]
    import torch
    import transformers

    from core.engine import cpu_paths
    from core.engine.job import TrainingJob
    from core.engine.settings import preset_settings

    cpu_paths.ENABLED = not args.no_cpu_paths

    torch.set_num_threads(os.cpu_count() or 1)
    sents = read_conll(DATA / "ner" / "ncbi-disease" / "train.tsv")[: args.sentences]
    docs = [sentence_record(w, t) for w, t in sents]
    labels = sorted({s.label for d in docs for s in d.spans})
    report: dict[str, Any] = {"sentences": len(docs), "epochs": args.epochs,
                              "threads": torch.get_num_threads(), "cpu": cpu_description(),
                              "checkout": checkout(),
                              "torch": torch.__version__,
                              "transformers": transformers.__version__}
    sides = [args.only] if args.only else list(SIDES)
    # A bf16 product without the instructions for it is emulated, a hundred times slower
    # (one 2048 x 2048 product: about 17 s on an AVX2 CPU): no peak of use, minutes lost.
    kinds = (("fp32", "bf16") if {"avx512_bf16", "amx_bf16"} & set(report["cpu"]["flags"])
             else ("fp32",))
    if kinds == ("fp32",):
        report["bf16_peak"] = "not measured: this CPU has no AVX-512 BF16 or AMX"
    peaks = {k: matmul_peak_gflops(k) for k in kinds}
    report["matmul_peak_gflops_before"] = {k: round(v, 1) for k, v in peaks.items()}
    if "engine" in sides:
        settings = preset_settings(args.preset, "ner", epochs=args.epochs, device="cpu",
                                   dev_fraction=0.0)
        with tempfile.TemporaryDirectory() as out:
            result = TrainingJob(task="ner", labels=labels, train=docs, settings=settings,
                                 output_dir=Path(out) / "m").run()
        report["engine"] = {"status": result.status, "train_seconds": result.train_seconds,
                            "tokens_per_second": result.tokens_per_second,
                            "train_tokens": result.train_tokens, "preset": args.preset,
                            "batch_size": settings.batch_size, "precision": settings.precision,
                            "cpu_paths": cpu_paths.ENABLED}
        report["engine_peak_rss_mb"] = peak_rss_mb()
        print(json.dumps({"engine": report["engine"]}), file=sys.stderr, flush=True)
    keep = ("train_seconds", "tokens_per_second", "train_tokens", "optimizer", "sampling")
    if "plain" in sides:
        plain = plain_recipe("ner", labels, docs, docs[:50], epochs=args.epochs)
        report["plain"] = {k: plain[k] for k in keep if k in plain}
        report["peak_rss_mb"] = peak_rss_mb()
        print(json.dumps({"plain": report["plain"]}), file=sys.stderr, flush=True)
    if "tuned" in sides:
        # No dev documents: length grouping would reorder predict()'s outputs too.
        tuned = plain_recipe("ner", labels, docs, [], epochs=args.epochs,
                             trainer_args=tuned_trainer_args())
        report["tuned"] = {k: tuned[k] for k in keep if k in tuned}
        report["tuned"]["trainer_args"] = tuned_trainer_args()
        report["peak_rss_mb"] = peak_rss_mb()
        print(json.dumps({"tuned": report["tuned"]}), file=sys.stderr, flush=True)
    after = {k: matmul_peak_gflops(k) for k in kinds}
    report["matmul_peak_gflops_after"] = {k: round(v, 1) for k, v in after.items()}
    peaks = {k: max(peaks[k], after[k]) for k in peaks}
    report["matmul_peak_gflops"] = {k: round(v, 1) for k, v in peaks.items()}
    config = _encoder_config()
    lengths = _token_lengths(docs)
    report["training_gflops_per_token"] = round(
        training_flops_per_token(config, lengths, 2 * len(labels) + 1) / 1e9, 5)
    for side in SIDES:
        if side in report:
            report[side].update(efficiency(report[side]["tokens_per_second"],
                                           report["training_gflops_per_token"] * 1e9, peaks))
    report["load_average_start"] = load_start
    report["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    if (vs_plain := speedup(report, "plain")) is not None:
        report["speedup"] = report["speedup_vs_plain"] = vs_plain  # "speedup": older results
    if (vs_tuned := speedup(report, "tuned")) is not None:
        report["speedup_vs_tuned"] = vs_tuned
    emit(report, args.out, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
