"""The spread over seeds: several ``bench_quality.py --seed N --out FILE`` results of one
corpus in, per side (plain recipe, default preset) each seed's score, the mean, the
standard deviation and how many seeds each side won, out (JSON; ``--markdown`` for a table).

    python benchmarks/report_quality.py --corpus trec /tmp/trec_seed*.json
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

METRICS = ("accuracy", "macro_f1", "f1", "exact_match")


def spread(corpus: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per side and metric: {seed: score}, mean, std; and the seed-by-seed comparison."""
    sides: dict[str, dict[str, dict[int, float]]] = {}
    for run in runs:
        row = run["corpora"].get(corpus)
        if row is None:
            continue
        seed = int(run.get("seed") or row.get("default", {}).get("settings", {}).get("seed")
                   or 42)
        for side in ("plain", "default"):
            for metric in METRICS:
                if side in row and metric in row[side]:
                    sides.setdefault(side, {}).setdefault(metric, {})[seed] = row[side][metric]
    if not sides:
        raise SystemExit(f"no results for corpus {corpus!r} in the files given")
    out: dict[str, Any] = {"corpus": corpus, "sides": {}}
    for side, metrics in sides.items():
        out["sides"][side] = {
            metric: {"per_seed": dict(sorted(scores.items())),
                     "mean": statistics.fmean(scores.values()),
                     "std": statistics.stdev(scores.values()) if len(scores) > 1 else 0.0,
                     "seeds": len(scores)}
            for metric, scores in metrics.items()
        }
    if {"plain", "default"} <= sides.keys():
        for metric in sides["plain"].keys() & sides["default"].keys():
            plain, ours = sides["plain"][metric], sides["default"][metric]
            common = sorted(plain.keys() & ours.keys())
            out.setdefault("paired", {})[metric] = {
                "seeds": common,
                "default_better": sum(ours[s] > plain[s] for s in common),
                "tied": sum(ours[s] == plain[s] for s in common),
                "plain_better": sum(ours[s] < plain[s] for s in common),
                "mean_difference": statistics.fmean(ours[s] - plain[s] for s in common)
                if common else None,
            }
    return out


def markdown(report: dict[str, Any]) -> str:
    lines = ["| side | metric | mean ± std | per seed |", "|---|---|---|---|"]
    for side, metrics in report["sides"].items():
        for metric, m in sorted(metrics.items()):
            seeds = ", ".join(f"{s}: {v:.3f}" for s, v in m["per_seed"].items())
            lines.append(f"| {side} | {metric} | {m['mean']:.4f} ± {m['std']:.4f} | {seeds} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args(argv)
    report = spread(args.corpus, [json.loads(f.read_text()) for f in args.files])
    print(markdown(report) if args.markdown else json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
