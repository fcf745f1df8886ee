"""Quality through the project, as a user gets it: init, import, train, evaluate (the CLI).

Unlike ``bench_quality.py``, which hands documents to the trainer, this runs the
``annotator`` commands a user runs, so what the project counts as labelled, the dev split it
takes and the preset's small-data floor are all part of the figure:

    annotator init P --task ner --labels Disease
    annotator import P ncbi/train.tsv --format conll --split train
    annotator train P --task ner --json --no-predict        # dev: the engine's own hold-out
    annotator evaluate P --task ner --data ncbi/devel.tsv --format conll --json

Nothing is tuned on the evaluation file. Prints one JSON object (``--out FILE`` writes it
there too): sizes the run trained on, the metrics on the held-out file, and the wall time of
each step.

``--corpus`` picks the data (default ``ncbi``, the CoNLL files as they are). The other
corpora (``wnut``, ``sst2``, ``trec``, ``xquad``) are the same splits as
``bench_quality.py`` (XQuAD-en by paragraph, 80/20, seeded), written as JSONL files by the
project's own writer (XQuAD as SQuAD JSON) and imported from them, so classes and answers take the user's path too.

    python benchmarks/bench_project_quality.py --out benchmarks/results/project_ncbi.json
    python benchmarks/bench_project_quality.py --corpus trec --out benchmarks/results/project_trec.json
    python benchmarks/bench_project_quality.py --max-train 300 --max-eval 100   # minutes
    python benchmarks/bench_project_quality.py --tiny                            # seconds

``--source DIR`` runs the commands of another checkout (an older commit in a git worktree),
so before/after figures come from the same script.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("ANNOTATOR_DATA", ROOT.parent / "shared" / "data"))


def _sentences(path: Path, limit: int | None) -> str:
    """The first ``limit`` blank-line separated sentences of a CoNLL file, as text."""
    blocks: list[list[str]] = [[]]
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    blocks = [b for b in blocks if b]
    if limit is not None:
        blocks = blocks[:limit]
    return "\n\n".join("\n".join(b) for b in blocks) + "\n"


def _write_corpus(name: str, train_file: Path, eval_file: Path, max_train: int | None,
                  max_eval: int | None, fmt: str) -> tuple[str, list[str]]:
    """The corpus's train and eval documents (``bench_quality.load_corpus``: the same
    splits) as JSONL files, written by the project's writer; its task and labels."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    sys.path.insert(0, str(ROOT))
    from bench_quality import load_corpus

    from core.formats import write_file

    task, labels, train, dev = load_corpus(name)
    write_file(train[:max_train] if max_train else train, train_file, fmt)
    write_file(dev[:max_eval] if max_eval else dev, eval_file, fmt)
    return task, labels


def _run(cmd: list[str], *, source: Path, log: list[dict[str, Any]]) -> dict[str, Any]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONPATH=str(source))
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "annotator", *cmd], cwd=source, env=env,
        capture_output=True, text=True,
    )
    seconds = time.perf_counter() - started
    log.append({"command": cmd[0], "seconds": round(seconds, 2), "exit": proc.returncode})
    if proc.returncode != 0:
        raise SystemExit(f"annotator {' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    return json.loads(proc.stdout) if "--json" in cmd else {}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="ncbi",
                    choices=["ncbi", "wnut", "sst2", "trec", "xquad"])
    ap.add_argument("--train", type=Path, default=DATA / "ner" / "ncbi-disease" / "train.tsv")
    ap.add_argument("--eval", type=Path, default=DATA / "ner" / "ncbi-disease" / "devel.tsv")
    ap.add_argument("--label", default="Disease")
    ap.add_argument("--max-train", type=int, help="import only the first N training sentences")
    ap.add_argument("--max-eval", type=int, help="evaluate on the first N sentences")
    ap.add_argument("--source", type=Path, default=ROOT, help="checkout whose CLI to run")
    ap.add_argument("--train-args", default="", help="extra arguments for 'annotator train'")
    ap.add_argument("--tiny", action="store_true", help="a few sentences and steps (tests)")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    extra = args.train_args.split()
    log: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        if args.tiny:
            args.max_train, args.max_eval = args.max_train or 40, args.max_eval or 20
            sys.path.insert(0, str(ROOT))
            from tests.tiny_models import build_tiny_bert  # random 2-layer encoder, no download

            tiny = build_tiny_bert(tmpdir / "tiny")
            extra += ["--base-model", str(tiny), "--epochs", "1"]
        if args.corpus == "ncbi":
            task, labels, fmt = "ner", [args.label], "conll"
            train_file, eval_file = tmpdir / "train.conll", tmpdir / "eval.conll"
            train_file.write_text(_sentences(args.train, args.max_train), encoding="utf-8")
            eval_file.write_text(_sentences(args.eval, args.max_eval), encoding="utf-8")
        else:  # answers travel as SQuAD JSON, the rest as JSONL
            fmt = "squad" if args.corpus == "xquad" else "jsonl"
            ext = "json" if fmt == "squad" else "jsonl"
            train_file, eval_file = tmpdir / f"train.{ext}", tmpdir / f"eval.{ext}"
            task, labels = _write_corpus(args.corpus, train_file, eval_file, args.max_train,
                                         args.max_eval, fmt)
        project = str(tmpdir / "p.db")
        init = ["init", project, "--task", task]
        if labels and task != "qa":
            init += ["--labels", ",".join(labels)]
        _run(init, source=args.source, log=log)
        imported = _run(["import", project, str(train_file), "--format", fmt, "--split",
                         "train", "--json"], source=args.source, log=log)
        trained = _run(["train", project, "--task", task, "--json", "--no-predict", *extra],
                       source=args.source, log=log)
        scored = _run(["evaluate", project, "--task", task, "--data", str(eval_file),
                       "--format", fmt, "--json"], source=args.source, log=log)
    result = {
        "benchmark": "project_quality",
        "command": "python benchmarks/bench_project_quality.py "
        + " ".join(a for a in (argv if argv is not None else sys.argv[1:])),
        "corpus": args.corpus, "task": task,
        "train_file": str(args.train.name) if args.corpus == "ncbi" else f"{args.corpus} train",
        "eval_file": str(args.eval.name) if args.corpus == "ncbi" else f"{args.corpus} eval",
        "imported": imported.get("added", imported),
        "trained": trained,
        "eval": scored,
        "steps": log,
    }
    text = json.dumps(result, indent=1, sort_keys=True)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
