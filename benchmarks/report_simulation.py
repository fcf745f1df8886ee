"""Markdown tables from the JSON that ``bench_simulation.py --out`` (or ``annotator simulate
--json``) wrote: the mean curve per strategy (± std over seeds), each seed's curve, and how
many labels each strategy needed to reach random sampling's final score.

    python benchmarks/report_simulation.py benchmarks/results/al_ncbi.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


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
    args = ap.parse_args()
    for path in args.json:
        print(f"### {path.name}\n")
        print(report(json.loads(path.read_text(encoding="utf-8"))))
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
