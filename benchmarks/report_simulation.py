"""Markdown tables from the JSON that ``bench_simulation.py --out`` (or ``annotator simulate
--json``) wrote: the mean curve per strategy (± std over seeds), each seed's curve, and how
many labels each strategy needed to reach random sampling's final score.

    python benchmarks/report_simulation.py benchmarks/results/al_ncbi.json
    python benchmarks/report_simulation.py --merge seeds0-2.json seeds3-4.json   # one table
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.active.simulate import labels_to_reach  # noqa: E402


def merge(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One result from several runs of the same settings with different seeds: the seeds'
    curves side by side, mean curves and the comparison with random recomputed."""
    metric = runs[0]["metric"]
    per_seed: dict[str, list[list[dict[str, Any]]]] = {}
    for data in runs:
        if data["metric"] != metric:
            raise SystemExit("cannot merge runs of different tasks")
        for name, seeds in data["per_seed"].items():
            per_seed.setdefault(name, []).extend(seeds)
    curves: dict[str, list[dict[str, Any]]] = {}
    for name, seeds in per_seed.items():
        n = min(len(run) for run in seeds)
        curves[name] = []
        for i in range(n):
            values = [run[i][metric] for run in seeds]
            curves[name].append({"round": i, "labels": seeds[0][i]["labels"],
                                 metric: float(np.mean(values)),
                                 "std": float(np.std(values)), "seeds": len(values)})
    comparison: dict[str, Any] = {}
    if "random" in curves:
        target = curves["random"][-1][metric]
        ref_labels = curves["random"][-1]["labels"]
        comparison = {"reference": "random", "target": target,
                      "reference_labels": ref_labels, "strategies": {}}
        for name, curve in curves.items():
            needed = labels_to_reach([p["labels"] for p in curve],
                                     [p[metric] for p in curve], target)
            comparison["strategies"][name] = {
                "final": curve[-1][metric], "labels_to_reach": needed,
                "fraction_of_reference": round(needed / ref_labels, 3) if needed else None,
            }
    return {"metric": metric, "curves": curves, "per_seed": per_seed,
            "comparison": comparison}


def report(data: dict[str, Any]) -> str:
    metric = data["metric"]
    curves: dict[str, list[dict[str, Any]]] = data["curves"]
    labels = [p["labels"] for p in next(iter(curves.values()))]
    lines = [
        "| strategy | " + " | ".join(str(n) for n in labels) + " |",
        "|---|" + "---|" * len(labels),
    ]
    for name, curve in curves.items():
        cells = [f"{p[metric]:.3f} ± {p['std']:.3f}" for p in curve]
        lines.append(f"| {name} (mean of {curve[0]['seeds']}) | " + " | ".join(cells) + " |")
    for name, runs in data.get("per_seed", {}).items():
        for i, run in enumerate(runs):
            cells = [f"{p[metric]:.3f}" for p in run]
            lines.append(f"| {name}, seed {i} | " + " | ".join(cells) + " |")
    comparison = data.get("comparison") or {}
    if comparison:
        lines.append("")
        lines.append(f"Random's final mean {metric}: {comparison['target']:.3f} at "
                     f"{comparison['reference_labels']} labels.")
        for name, row in comparison["strategies"].items():
            if name == comparison["reference"]:
                continue
            if row["labels_to_reach"] is None:
                lines.append(f"- {name}: final {row['final']:.3f}, never reaches it")
            else:
                lines.append(
                    f"- {name}: final {row['final']:.3f}, reaches it with "
                    f"{row['labels_to_reach']:.0f} labels = "
                    f"**{100 * row['fraction_of_reference']:.1f}%** of random's"
                )
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json", type=Path, nargs="+")
    ap.add_argument("--merge", action="store_true",
                    help="the files are seeds of one run: print one merged table")
    args = ap.parse_args()
    if args.merge:
        runs = [json.loads(p.read_text(encoding="utf-8")) for p in args.json]
        print(f"### {' + '.join(p.name for p in args.json)}\n")
        print(report(merge(runs)))
        return 0
    for path in args.json:
        print(f"### {path.name}\n")
        print(report(json.loads(path.read_text(encoding="utf-8"))))
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
