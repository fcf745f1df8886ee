"""Sentence classes with their neighbours in view vs the same sentences one by one.

The sentence task (``TaskKind.SENTENCE``, core/tasks/sentences.py) classifies each sentence
of a document in one of three input layouts (``TrainingSettings.sentence_context``):
``marked`` (the window of the document around the sentence, the sentence's tokens of token
type 1), ``pair`` (the sentence, then the passage around it) and ``none`` (the sentence
alone). This script trains each of them through the project, as a user does
(``Project.create`` → ``documents.add`` → ``training.start``), and next to them the baseline
the sentence task has to beat: the same sentences imported one per document and trained
with the document classify task. Same sentences, same train/dev/test split, same settings
(the "default" preset of the sentence kind), same seed for every method of a seed.

The corpora are built from real SST-2 sentences (../shared/data/classify/sst2), one line a
sentence with its polarity. SST-2's sentences come from different reviews, so the
documents are made here, two ways from the *same* sentences:

* ``sst2-grouped`` (context carries information): a document of ``--per-doc`` sentences
  has a polarity drawn at random and each sentence has that polarity with probability
  ``--agreement`` (0.8), as a review's sentences mostly share its verdict. A neighbour's
  polarity is then evidence for the sentence's own; nothing else links the sentences (no
  topic, no pronouns), so whatever context adds is that evidence. ``majority_share`` says
  how many sentences agree with their document's majority (predicting every sentence as
  its document's majority, given the gold labels, would score that).
* ``sst2-shuffled`` (neighbours independent): the same sentences dealt into documents of
  the same sizes at random. Context carries nothing here; it must not hurt.

Train and dev documents come from SST-2's train.txt, test documents from its dev.txt (the
held-out split), so the split is by document and no test sentence is seen in training.
The engine's early stopping uses the dev documents; nothing is tuned on test. Repeated
sentences are dropped (the project skips repeated texts, which would make the one-per-
document baseline train on fewer sentences).

    python benchmarks/bench_sentence_context.py --seeds 3 \
        --out benchmarks/results/sentence_context.json
    python benchmarks/bench_sentence_context.py --train-sentences 200 --seeds 1   # timing
    python benchmarks/bench_sentence_context.py --tiny                            # seconds

Test scores are those of ``core.engine.predict.Predictor(model_dir).evaluate`` (its
predictions are kept once to break accuracy down by sentences that agree with their
document's majority and those that do not).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_cli import add_common_args, emit, tiny, tiny_base_model

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from core.types import DocumentRecord, SentenceLabel, Split

DATA = Path(os.environ.get("ANNOTATOR_DATA", ROOT.parent / "shared" / "data"))
SST2 = DATA / "classify" / "sst2"
NAMES = {"0": "negative", "1": "positive"}
LABELS = ["negative", "positive"]
CORPORA = ("sst2-grouped", "sst2-shuffled")
METHODS = ("document", "none", "marked", "pair")  # document: one sentence a document, classify

Sentence = tuple[str, str]  # (text, label)


# --- the corpora ---------------------------------------------------------------------------


def read_sst2(path: Path) -> list[Sentence]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            label, _, text = line.partition(" ")
            out.append((text.strip(), NAMES[label]))
    return out


def unique(sentences: list[Sentence], seen: set[str]) -> list[Sentence]:
    """The sentences whose text was not seen yet (``seen`` grows)."""
    out = []
    for text, label in sentences:
        if text not in seen:
            seen.add(text)
            out.append((text, label))
    return out


def balanced(sentences: list[Sentence], n: int, rng: random.Random) -> list[Sentence]:
    """``n`` sentences, half of each polarity (as far as there are), in random order."""
    by_label: dict[str, list[Sentence]] = {lab: [] for lab in LABELS}
    for s in sentences:
        by_label[s[1]].append(s)
    for pool in by_label.values():
        rng.shuffle(pool)
    half = n // 2
    picked = by_label[LABELS[0]][:n - half] + by_label[LABELS[1]][:half]
    rng.shuffle(picked)
    return picked


def grouped_documents(sentences: list[Sentence], per_doc: int, agreement: float,
                      rng: random.Random) -> list[list[Sentence]]:
    """Documents of ``per_doc`` sentences (the last may be shorter): each has a polarity
    drawn at random, and each of its sentences that polarity with probability
    ``agreement`` (from the other pool when that one is used up)."""
    pools: dict[str, list[Sentence]] = {lab: [] for lab in LABELS}
    for s in sentences:
        pools[s[1]].append(s)
    docs: list[list[Sentence]] = []
    while any(pools.values()):
        polarity = rng.choice(LABELS)
        other = LABELS[1 - LABELS.index(polarity)]
        doc = []
        for _ in range(per_doc):
            want = polarity if rng.random() < agreement else other
            pool = pools[want] or pools[other if want == polarity else polarity]
            if not pool:
                break
            doc.append(pool.pop())
        docs.append(doc)
    return docs


def shuffled_documents(grouped: list[list[Sentence]], rng: random.Random) -> list[list[Sentence]]:
    """The same sentences dealt at random into documents of the same sizes."""
    flat = [s for d in grouped for s in d]
    rng.shuffle(flat)
    out, at = [], 0
    for d in grouped:
        out.append(flat[at:at + len(d)])
        at += len(d)
    return out


def majority_share(docs: list[list[Sentence]]) -> float:
    """The share of sentences whose label is their document's majority (a tie: half)."""
    hit = 0.0
    for d in docs:
        counts = Counter(lab for _, lab in d)
        top = max(counts.values())
        winners = [lab for lab, c in counts.items() if c == top]
        hit += sum(1.0 / len(winners) for _, lab in d if lab in winners)
    return hit / max(1, sum(len(d) for d in docs))


def neighbour_agreement(docs: list[list[Sentence]]) -> float:
    """The share of adjacent sentence pairs that share a label."""
    pairs = [(a[1], b[1]) for d in docs for a, b in itertools.pairwise(d)]
    return sum(a == b for a, b in pairs) / max(1, len(pairs))


def document_record(doc: list[Sentence]) -> DocumentRecord:
    """The sentences joined by a space, each a labelled ``SentenceLabel``."""
    parts, spans, at = [], [], 0
    for text, label in doc:
        parts.append(text)
        spans.append(SentenceLabel(at, at + len(text), (label,)))
        at += len(text) + 1
    return DocumentRecord(" ".join(parts), sentences=tuple(spans))


def one_per_document(docs: list[list[Sentence]]) -> list[DocumentRecord]:
    """The same sentences, in the same order, each a document with its class."""
    return [DocumentRecord(text, classes=(label,)) for d in docs for text, label in d]


def build_corpora(*, train: int, dev: int, test: int | None, per_doc: int, agreement: float,
                  seed: int) -> dict[str, dict[str, list[list[Sentence]]]]:
    """Per corpus, the documents (lists of sentences) of each split."""
    rng = random.Random(seed)
    seen: set[str] = set()
    held_out = unique(read_sst2(SST2 / "dev.txt"), seen)  # test: SST-2's held-out split
    pool = unique(read_sst2(SST2 / "train.txt"), seen)  # minus any test sentence
    train_dev = balanced(pool, train + dev, rng)
    test_set = balanced(held_out, test or len(held_out), rng)
    grouped: dict[str, list[list[Sentence]]] = {}
    # Train and dev documents are built together and cut by document.
    docs = grouped_documents(train_dev, per_doc, agreement, rng)
    rng.shuffle(docs)
    n_dev = max(1, round(len(docs) * dev / (train + dev)))
    grouped["dev"], grouped["train"] = docs[:n_dev], docs[n_dev:]
    grouped["test"] = grouped_documents(test_set, per_doc, agreement, rng)
    shuffled = {split: shuffled_documents(d, rng) for split, d in grouped.items()}
    return {"sst2-grouped": grouped, "sst2-shuffled": shuffled}


def describe(docs: dict[str, list[list[Sentence]]]) -> dict[str, Any]:
    return {split: {"documents": len(d), "sentences": sum(map(len, d)),
                    "labels": dict(Counter(lab for x in d for _, lab in x)),
                    "majority_share": round(majority_share(d), 4),
                    "neighbour_agreement": round(neighbour_agreement(d), 4)}
            for split, d in docs.items()}


# --- one run: train through the project, score the test documents ------------------------


def run_method(method: str, docs: dict[str, list[list[Sentence]]], settings: dict[str, Any],
               seed: int, workdir: Path) -> dict[str, Any]:
    from core.engine.inference import score_predictions
    from core.engine.predict import Predictor
    from core.engine.settings import preset_settings
    from core.project import Project

    as_documents = method == "document"
    kind = "classify" if as_documents else "sentence"
    build = one_per_document if as_documents else (lambda ds: [document_record(d) for d in ds])
    path = workdir / f"{method}-{seed}-{time.monotonic_ns()}.db"
    project = Project.create(path, tasks={kind: LABELS})
    try:
        for split in ("train", "dev"):
            summary, _ = project.documents.add(build(docs[split]), split=Split(split))
            if summary.duplicates or summary.conflicts:
                raise SystemExit(f"{method}: import of {split} lost sentences: {summary}")
        run_settings = preset_settings(
            "default", "sentence", seed=seed,
            sentence_context="none" if as_documents else method, **settings,
        )
        started = time.perf_counter()
        outcome = project.training.start(kind, run_settings)
        wall = time.perf_counter() - started
        result = outcome.result
        if result.status != "completed" or not result.model_path:
            raise SystemExit(f"{method}: training {result.status}: {result.reason}")
        predictor = Predictor(result.model_path)
        test = build(docs["test"])
        started = time.perf_counter()
        # What Predictor.evaluate does (predict, then score), the predictions kept.
        preds = predictor.predict(test)
        scores = score_predictions(predictor.spec, test, preds)
        predict_s = time.perf_counter() - started
    finally:
        project.close()
    predicted = ([p.labels[0] if p.labels else None for p in preds] if as_documents  # type: ignore[attr-defined]
                 else [s.labels[0] if s.labels else None for p in preds for s in p.sentences])  # type: ignore[attr-defined]
    return {
        "accuracy": round(scores["accuracy"], 4), "macro_f1": round(scores["macro_f1"], 4),
        "test_sentences": len(predicted),
        "by_majority": by_majority(docs["test"], predicted),
        "train_seconds": round(result.train_seconds, 1), "wall_seconds": round(wall, 1),
        "predict_seconds": round(predict_s, 1),
        "train_examples": result.train_examples, "train_tokens": result.train_tokens,
        "epochs_run": len(result.epochs), "best_epoch": result.best_epoch,
        "dev_macro_f1": round(float(result.dev_metrics.get("macro_f1", 0.0)), 4),
        "log": [line for line in result.log if line.startswith(("epoch", "early", "small"))],
    }


def by_majority(docs: list[list[Sentence]], predicted: list[str | None]) -> dict[str, Any]:
    """Accuracy on the sentences that agree with their document's majority label and on
    those that do not (ties count as agreeing): where context helps and where it misleads."""
    hits: dict[str, list[int]] = {"agree": [], "disagree": []}
    at = 0
    for d in docs:
        counts = Counter(lab for _, lab in d)
        top = max(counts.values())
        for _, lab in d:
            group = "agree" if counts[lab] == top else "disagree"
            hits[group].append(int(predicted[at] == lab))
            at += 1
    return {g: {"sentences": len(h), "accuracy": round(sum(h) / len(h), 4) if h else None}
            for g, h in hits.items()}


def resumed_runs(out: Path | None, config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The runs a cut-short invocation with the same ``config`` wrote to ``out``."""
    if out is None or not out.is_file():
        return {}
    data = json.loads(out.read_text(encoding="utf-8"))
    if "partial" not in data:
        raise SystemExit(f"--resume: {out} holds a finished result; nothing to resume")
    if data.get("config") != config:
        raise SystemExit(f"--resume: {out} was made with other sizes: {data.get('config')}")
    return dict(data["runs"])


# --- the summary ---------------------------------------------------------------------------


def summarise(per_seed: list[dict[str, Any]]) -> dict[str, Any]:
    """Per corpus and method: mean and standard deviation over seeds; per context layout,
    the paired difference from ``document`` (the one-by-one baseline) and from ``none``."""
    out: dict[str, Any] = {}
    for corpus in per_seed[0]["corpora"]:
        rows: dict[str, Any] = {}
        for method in METHODS:
            runs = [s["corpora"][corpus][method] for s in per_seed]
            row: dict[str, Any] = {}
            for key in ("accuracy", "macro_f1", "train_seconds"):
                values = [r[key] for r in runs]
                row[key] = round(statistics.mean(values), 4)
                row[f"{key}_std"] = round(statistics.stdev(values), 4) if len(values) > 1 else None
            for base in ("document", "none"):
                if method == base:
                    continue
                diffs = [r["macro_f1"] - s["corpora"][corpus][base]["macro_f1"]
                         for r, s in zip(runs, per_seed)]
                row[f"macro_f1_minus_{base}"] = round(statistics.mean(diffs), 4)
                row[f"macro_f1_minus_{base}_per_seed"] = [round(x, 4) for x in diffs]
            rows[method] = row
        out[corpus] = rows
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpora", default=",".join(CORPORA))
    ap.add_argument("--methods", default=",".join(METHODS))
    # 600 training sentences make the preset's 4 epochs just reach its floor of 150 steps:
    # fewer sentences would cost as much (more epochs), more would cost more.
    ap.add_argument("--train-sentences", type=int, default=600)
    ap.add_argument("--dev-sentences", type=int, default=150)
    ap.add_argument("--test-sentences", type=int, default=None,
                    help="test sentences from SST-2 dev.txt (default: all of them)")
    ap.add_argument("--per-doc", type=int, default=3, help="sentences per document")
    ap.add_argument("--agreement", type=float, default=0.8,
                    help="grouped corpus: chance that a sentence has its document's polarity")
    ap.add_argument("--data-seed", type=int, default=13, help="the corpus (same for every seed)")
    ap.add_argument("--seeds", type=int, default=1, help="training seeds 42, 43, ...")
    ap.add_argument("--epochs", type=int, default=None, help="default: the preset's")
    ap.add_argument("--base-model", default="default")
    ap.add_argument("--resume", action="store_true",
                    help="keep the runs a cut-short invocation left in --out (same sizes)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    add_common_args(ap)
    args = ap.parse_args()
    tiny(args, train_sentences=24, dev_sentences=8, test_sentences=8, seeds=1, epochs=1)

    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    if args.threads:
        torch.set_num_threads(args.threads)
    base_model = tiny_base_model() if args.tiny else args.base_model
    settings: dict[str, Any] = {"base_model": base_model, "epochs": args.epochs}
    corpora = [c for c in args.corpora.split(",") if c]
    methods = [m for m in args.methods.split(",") if m]
    for c in corpora:
        if c not in CORPORA:
            raise SystemExit(f"unknown corpus {c!r}; choose from {CORPORA}")
    for m in methods:
        if m not in METHODS:
            raise SystemExit(f"unknown method {m!r}; choose from {METHODS}")
    built = build_corpora(train=args.train_sentences, dev=args.dev_sentences,
                          test=args.test_sentences, per_doc=args.per_doc,
                          agreement=args.agreement, seed=args.data_seed)
    from core.engine.settings import preset_settings

    config = {"train_sentences": args.train_sentences, "dev_sentences": args.dev_sentences,
              "test_sentences": args.test_sentences, "per_doc": args.per_doc,
              "agreement": args.agreement, "data_seed": args.data_seed,
              "epochs": args.epochs, "base_model": args.base_model, "tiny": args.tiny}
    kept = resumed_runs(args.out, config) if args.resume else {}
    load_before = [round(x, 2) for x in os.getloadavg()]
    started = time.perf_counter()
    runs: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-sentence-context-") as tmp:
        for seed in [42 + k for k in range(args.seeds)]:
            for corpus in corpora:
                for method in methods:
                    key = f"{seed} {corpus} {method}"
                    if key in kept:
                        runs[key] = kept[key]
                        continue
                    row = run_method(method, built[corpus], settings, seed, Path(tmp))
                    row["load_average"] = [round(x, 2) for x in os.getloadavg()]
                    runs[key] = row
                    print(f"seed {key}: {row}", file=sys.stderr, flush=True)
                    if args.out is not None:  # a run cut short keeps what it did (--resume)
                        args.out.parent.mkdir(parents=True, exist_ok=True)
                        args.out.write_text(json.dumps(
                            {"partial": f"{len(runs)} runs done", "config": config,
                             "runs": runs}, indent=1) + "\n", encoding="utf-8")
    per_seed = [{"seed": seed, "corpora": {c: {m: runs[f"{seed} {c} {m}"] for m in methods}
                                           for c in corpora}}
                for seed in [42 + k for k in range(args.seeds)]]
    preset = preset_settings("default", "sentence", **{k: v for k, v in settings.items()
                                                       if k != "base_model"})
    result = {
        "benchmark": "sentence_context",
        "question": "sentence classes with their neighbours in view (marked, pair) vs the "
                    "sentence alone (none) vs the same sentences imported one per document "
                    "and trained with the classify task (document); same data, same run",
        "corpora": {c: describe(built[c]) for c in corpora},
        "how_built": {
            "sst2-grouped": f"real SST-2 sentences (train.txt for train/dev, dev.txt for "
                            f"test), {args.per_doc} a document; a document's polarity drawn at "
                            f"random, each sentence of that polarity with probability "
                            f"{args.agreement} (as a review's sentences mostly share its "
                            "verdict); context helps only through the neighbours' polarity",
            "sst2-shuffled": "the same sentences of each split dealt at random into documents "
                             "of the same sizes: neighbours independent, context carries "
                             "nothing",
        },
        "methods": {
            "document": "each sentence imported as its own document, classify task",
            "none": "sentence task, [CLS] sentence [SEP]",
            "marked": "sentence task, [CLS] window of the document [SEP], the sentence's "
                      "tokens token type 1",
            "pair": "sentence task, [CLS] sentence [SEP] window of the document [SEP]",
        },
        "settings": {"preset": "default", "kind": "sentence",
                     "learning_rate": preset.learning_rate, "batch_size": preset.batch_size,
                     "epochs": preset.epochs, "patience": preset.patience,
                     "max_length": preset.max_length, "min_steps": preset.min_steps,
                     "base_model": "tiny random BERT" if args.tiny else args.base_model,
                     "same_for_every_method": True},
        "sizes": {"train_sentences": args.train_sentences, "dev_sentences": args.dev_sentences,
                  "test_sentences": args.test_sentences or "all of SST-2 dev.txt",
                  "per_doc": args.per_doc, "agreement": args.agreement},
        "data_seed": args.data_seed,
        "seeds": [42 + k for k in range(args.seeds)],
        "summary": summarise(per_seed),
        "per_seed": per_seed,
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "machine": "shared and loaded: other work ran at the same time, so the seconds are "
                   "indicative (compare methods within a run, not across runs)",
        "load_average_start": load_before,
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "total_seconds": round(time.perf_counter() - started, 1),
        "resumed": sorted(kept),
        "resumed_note": "runs listed in 'resumed' were done by an earlier invocation of the "
                        "same command that was cut short (kept with --resume); their "
                        "seconds and load average are those of that invocation",
    }
    emit(result, args.out, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
