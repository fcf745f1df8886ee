"""Quality of the engine's "default" preset vs the plain transformers recipe (seed-002).

Prints one JSON object: per corpus, the plain recipe's and our default preset's score on
the held-out split, sizes and wall times. The plain recipe is transformers' Trainer with
run_ner / run_glue style preprocessing (first-sub-word labels, DataCollatorWithPadding /
DataCollatorForTokenClassification, truncation at max_length) and the seed-002 settings
(lr 2e-5, batch 8, 3 epochs, linear, no warmup, no weight decay, seed 42). For XQuAD the
"plain" column is our engine run with the seed-002 settings (same model head, windows,
decoding), which isolates the effect of the preset.

    python benchmarks/bench_quality.py --corpora ncbi,trec --max-train 2000 --max-eval 500
    python benchmarks/bench_quality.py --corpora trec --seed 3 --threads 1 --out s3.json
    python benchmarks/report_quality.py --corpus trec s*.json       # mean ± std over seeds

Runs on the CPU in minutes per corpus at reduced sizes; full sizes take hours on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_cli import add_common_args, emit, tiny

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from core.types import Answer, DocumentRecord, EntitySpan, Question

DATA = Path(os.environ.get("ANNOTATOR_DATA", ROOT.parent / "shared" / "data"))
CORPORA = ("ncbi", "wnut", "sst2", "trec", "xquad")


# --- corpus readers (plain files → DocumentRecords) ------------------------------------


def read_conll(path: Path) -> list[tuple[list[str], list[str]]]:
    """Sentences of a token<TAB>tag file; any whitespace-only line is a break."""
    sentences: list[tuple[list[str], list[str]]] = []
    words: list[str] = []
    tags: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if words:
                sentences.append((words, tags))
            words, tags = [], []
            continue
        parts = line.split("\t")
        words.append(parts[0].strip())
        tags.append(parts[-1].strip() or "O")
    if words:
        sentences.append((words, tags))
    return sentences


def sentence_record(words: list[str], tags: list[str]) -> DocumentRecord:
    """Words joined by spaces; BIO tags → character spans."""
    spans: list[EntitySpan] = []
    pos, current = 0, None
    for word, tag in zip(words, tags):
        start, end = pos, pos + len(word)
        pos = end + 1
        if tag.startswith("B-") or (tag.startswith("I-") and (current is None
                                                                or current[2] != tag[2:])):
            if current:
                spans.append(EntitySpan(*current))
            current = (start, end, tag[2:])
        elif tag.startswith("I-") and current:
            current = (current[0], end, current[2])
        else:
            if current:
                spans.append(EntitySpan(*current))
            current = None
    if current:
        spans.append(EntitySpan(*current))
    return DocumentRecord(text=" ".join(words), spans=tuple(spans))


def read_label_lines(path: Path, names: dict[str, str] | None = None) -> list[DocumentRecord]:
    docs = []
    raw = path.read_bytes()
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError:  # TREC's train.txt has one Latin-1 byte (line 66)
        content = raw.decode("latin-1")
    for line in content.splitlines():
        if line.strip():
            label, _, text = line.partition(" ")
            docs.append(DocumentRecord(text=text.strip(), classes=((names or {}).get(label,
                                                                                   label),)))
    return docs


def read_xquad(seed: int = 42) -> tuple[list[DocumentRecord], list[DocumentRecord]]:
    """XQuAD-en paragraphs (with their questions), split 80/20 by paragraph, seeded."""
    data = json.loads((DATA / "qa" / "xquad-en.json").read_text(encoding="utf-8"))
    docs = []
    for article in data["data"]:
        for para in article["paragraphs"]:
            qs = tuple(
                Question(q["question"], tuple(
                    Answer(a["answer_start"], a["answer_start"] + len(a["text"]), a["text"])
                    for a in q["answers"]), external_id=q["id"])
                for q in para["qas"])
            docs.append(DocumentRecord(text=para["context"], questions=qs))
    order = list(range(len(docs)))
    random.Random(seed).shuffle(order)
    cut = int(0.8 * len(docs))
    return [docs[i] for i in order[:cut]], [docs[i] for i in order[cut:]]


def load_corpus(name: str) -> tuple[str, list[str], list[DocumentRecord], list[DocumentRecord]]:
    """(task, labels, train, eval) of a corpus."""
    if name in ("ncbi", "wnut"):
        folder, tr, ev = (("ncbi-disease", "train.tsv", "devel.tsv") if name == "ncbi"
                          else ("wnut17", "train.conll", "dev.conll"))
        train = [sentence_record(w, t) for w, t in read_conll(DATA / "ner" / folder / tr)]
        dev = [sentence_record(w, t) for w, t in read_conll(DATA / "ner" / folder / ev)]
        labels = sorted({s.label for d in train + dev for s in d.spans})
        return "ner", labels, train, dev
    if name == "sst2":
        train = read_label_lines(DATA / "classify" / "sst2" / "train.txt")
        dev = read_label_lines(DATA / "classify" / "sst2" / "dev.txt")
        return "classify", sorted({d.classes[0] for d in train}), train, dev
    if name == "trec":
        train = read_label_lines(DATA / "classify" / "trec" / "train.txt")
        dev = read_label_lines(DATA / "classify" / "trec" / "test.txt")
        return "classify", sorted({d.classes[0] for d in train}), train, dev
    if name == "xquad":
        train, dev = read_xquad()
        return "qa", ["answer"], train, dev
    raise SystemExit(f"unknown corpus {name!r}; choose from {CORPORA}")


def limit(docs: list[DocumentRecord], n: int | None, seed: int = 42) -> list[DocumentRecord]:
    if n is None or n >= len(docs):
        return docs
    return random.Random(seed).sample(docs, n)


# --- the plain transformers recipe (Trainer) -------------------------------------------

# Issue 16's baseline: the plain Trainer at lr 1e-4, batch 16, 3 epochs, length-grouped.
STRONG_TRAINER = {"learning_rate": 1e-4, "per_device_train_batch_size": 16,
                  "num_train_epochs": 3, "train_sampling_strategy": "group_by_length"}
STRONG_ENGINE = {"learning_rate": 1e-4, "batch_size": 16, "epochs": 3}


def _length_grouped(args: Any) -> bool:
    """Whether TrainingArguments ask for length-grouped batches (5.x or 4.x spelling)."""
    return (getattr(args, "train_sampling_strategy", None) == "group_by_length"
            or bool(getattr(args, "group_by_length", False)))


def plain_recipe(task: str, labels: list[str], train: list[DocumentRecord],
                 dev: list[DocumentRecord], *, epochs: int = 3, max_length: int = 256,
                 seed: int = 42, trainer_args: dict[str, Any] | None = None) -> dict[str, Any]:
    """Fine-tune with transformers' Trainer at seed-002 settings (another ``seed`` only
    to measure the spread over seeds); score on ``dev`` (none: only train and time it).

    ``trainer_args``: more TrainingArguments (bench_training's tuned Trainer: length-grouped
    batches, fused AdamW), same model, data and seed-002 settings otherwise.
    """
    import numpy as np
    import torch
    import transformers
    from transformers import (
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
        AutoTokenizer,
        DataCollatorForTokenClassification,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
    )

    from core.engine.metrics import classification_metrics, entity_metrics
    from core.engine.settings import resolve_base_model

    transformers.logging.set_verbosity_error()
    base = resolve_base_model("default")
    tok = AutoTokenizer.from_pretrained(base)
    torch.manual_seed(seed)

    if task == "ner":
        tags = ["O"] + [f"{p}-{lab}" for lab in labels for p in ("B", "I")]
        t2i = {t: i for i, t in enumerate(tags)}

        def encode(docs: list[DocumentRecord]) -> tuple[list[dict[str, Any]], list[list[str]]]:
            rows, gold = [], []
            for d in docs:
                words = d.text.split(" ")
                wtags = ["O"] * len(words)
                starts = np.cumsum([0] + [len(w) + 1 for w in words[:-1]])
                for s in d.spans:
                    first = True
                    for k, st in enumerate(starts):
                        if s.start <= st < s.end:
                            wtags[k] = ("B-" if first else "I-") + s.label
                            first = False
                enc = tok(words, is_split_into_words=True, truncation=True,
                          max_length=max_length)
                prev, lab = None, []
                for wid in enc.word_ids():
                    lab.append(-100 if wid is None or wid == prev else t2i[wtags[wid]])
                    prev = wid
                rows.append({**{k: v for k, v in enc.items()}, "labels": lab})
                gold.append(wtags)
            return rows, gold

        train_rows, _ = encode(train)
        dev_rows, dev_gold = encode(dev)
        model = AutoModelForTokenClassification.from_pretrained(
            base, num_labels=len(tags), id2label=dict(enumerate(tags)), label2id=t2i)
        collator: Any = DataCollatorForTokenClassification(tok)
    else:
        l2i = {lab: i for i, lab in enumerate(labels)}

        def encode(docs: list[DocumentRecord]) -> tuple[list[dict[str, Any]], list[str]]:
            rows = []
            for d in docs:
                enc = tok(d.text, truncation=True, max_length=max_length)
                rows.append({**{k: v for k, v in enc.items()}, "labels": l2i[d.classes[0]]})
            return rows, [d.classes[0] for d in docs]

        train_rows, _ = encode(train)
        dev_rows, dev_gold = encode(dev)  # type: ignore[assignment]
        model = AutoModelForSequenceClassification.from_pretrained(
            base, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id=l2i)
        collator = DataCollatorWithPadding(tok)

    with tempfile.TemporaryDirectory() as out:
        common = dict(output_dir=out, per_device_eval_batch_size=32, save_strategy="no",
                      eval_strategy="no", logging_strategy="no", report_to=[],
                      disable_tqdm=True, use_cpu=True)
        chosen = dict(learning_rate=2e-5, per_device_train_batch_size=8,
                      num_train_epochs=epochs, weight_decay=0.0, warmup_steps=0,
                      lr_scheduler_type="linear", adam_beta1=0.9, adam_beta2=0.999,
                      adam_epsilon=1e-8, seed=seed)
        chosen.update(trainer_args or {})
        args = TrainingArguments(**common, **chosen)
        trainer = Trainer(model=model, args=args, train_dataset=train_rows,
                          data_collator=collator)
        t0 = time.perf_counter()
        trainer.train()
        train_seconds = time.perf_counter() - t0
        # transformers 5 length-groups predict()'s batches too when training was length-
        # grouped: the logits would not come back in dev order (the scores below read them
        # by position), so the dev set is predicted by a Trainer without grouping.
        scorer = trainer if not _length_grouped(args) else Trainer(
            model=trainer.model, args=TrainingArguments(**common), data_collator=collator)
        pred = scorer.predict(dev_rows) if dev_rows else None
        # The torch optimizer inside accelerate's wrapper: which AdamW really ran.
        optimizer = getattr(trainer.optimizer, "optimizer", trainer.optimizer)
    tokens = sum(len(r["input_ids"]) for r in train_rows) * int(args.num_train_epochs)
    out_metrics: dict[str, Any] = {
        "recipe": {k: chosen[k] for k in ("learning_rate", "per_device_train_batch_size",
                                          "num_train_epochs", "seed")},
        "train_seconds": train_seconds, "tokens_per_second": tokens / train_seconds,
        "train_tokens": tokens,
        "optimizer": {"optim": str(getattr(args.optim, "value", args.optim)),
                      "class": type(optimizer).__name__,
                      **{k: optimizer.defaults.get(k) for k in ("fused", "foreach")}},
        "sampling": ("group_by_length" if _length_grouped(args)
                     else getattr(args, "train_sampling_strategy", "random")),
    }
    if pred is None:
        return out_metrics
    if task == "ner":
        logits = pred.predictions
        pred_tags = []
        for row, gold in zip(range(len(dev_rows)), dev_gold):
            ids = np.argmax(logits[row], axis=-1)
            seq = [tags[i] for i, lab in zip(ids, dev_rows[row]["labels"]) if lab != -100]
            pred_tags.append(seq + ["O"] * (len(gold) - len(seq)))  # truncated words → O
        m = entity_metrics(dev_gold, pred_tags)
        out_metrics.update(precision=m["precision"], recall=m["recall"], f1=m["f1"])
    else:
        ids = np.argmax(pred.predictions, axis=-1)
        m = classification_metrics([(g,) for g in dev_gold], [(labels[i],) for i in ids],
                                   labels)
        out_metrics.update(accuracy=m["accuracy"], macro_f1=m["macro_f1"])
    return out_metrics


# --- our engine ---------------------------------------------------------------------------


CHOICE_SEED = 1729  # the choice split's own, apart from every training seed


def choice_split(train: list[DocumentRecord]) -> tuple[list[DocumentRecord], list[DocumentRecord]]:
    """(train, scored): a stable 15 % of a corpus's training split to choose settings on,
    so that its evaluation split stays unseen until the report (``--choice``)."""
    from core.engine.prepare import split_dev

    return split_dev(train, 0.15, CHOICE_SEED)


def engine_run(task: str, labels: list[str], train: list[DocumentRecord],
               dev: list[DocumentRecord], preset: str, **overrides: Any) -> dict[str, Any]:
    """Train with a preset (dev for early stopping: a held-out part of ``train``), then
    score on ``dev`` (the corpus's evaluation split, never seen in training)."""
    from core.engine.job import TrainingJob
    from core.engine.predict import Predictor
    from core.engine.settings import preset_settings

    settings = preset_settings(preset, task, device="cpu", **overrides)
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        result = TrainingJob(task=task, labels=labels, train=train, settings=settings,
                             output_dir=Path(out) / "m").run()
        wall = time.perf_counter() - t0
        if result.status != "completed":
            return {"status": result.status, "reason": result.reason}
        metrics = Predictor(result.model_path, device="cpu").evaluate(dev)
    keep = ("precision", "recall", "f1", "accuracy", "macro_f1", "exact_match")
    return {
        **{k: metrics[k] for k in keep if k in metrics},
        "best_epoch": result.best_epoch, "epochs_run": len(result.epochs),
        "averaged_epochs": list(result.averaged_epochs), "log": list(result.log),
        "train_seconds": result.train_seconds, "wall_seconds": wall,
        "tokens_per_second": result.tokens_per_second,
        "settings": {k: getattr(settings, k) for k in (
            "learning_rate", "batch_size", "epochs", "warmup_ratio", "weight_decay",
            "average_last", "layer_lr_decay", "seed", "precision", "patience", "refit")},
        "refit_documents": result.refit_documents,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpora", default=",".join(CORPORA))
    ap.add_argument("--max-train", type=int, help="limit training documents per corpus")
    ap.add_argument("--max-eval", type=int, help="limit evaluation documents per corpus")
    ap.add_argument("--skip-plain", action="store_true", help="only run our default preset")
    ap.add_argument("--skip-default", action="store_true", help="only run the plain recipe")
    ap.add_argument("--epochs", type=int, help="override the default preset's epochs")
    ap.add_argument("--lr", type=float, help="override the default preset's learning rate")
    ap.add_argument("--batch-size", type=int, help="override the default preset's batch size")
    ap.add_argument("--patience", type=int,
                    help="override the default preset's early-stopping patience (0: no early "
                    "stop; the best epoch on the held-out part is still kept)")
    ap.add_argument("--dev-fraction", type=float,
                    help="override the share of training data held out for early stopping "
                    "(diagnostic: 0 trains on everything, without early stopping)")
    ap.add_argument("--average-last", type=int,
                    help="override the default preset's tail averaging (epochs; 0 = off)")
    ap.add_argument("--layer-decay", type=float,
                    help="override the default preset's layer-wise learning-rate decay")
    ap.add_argument("--seed", type=int,
                    help="another seed for both sides (default 42, as in seed-002): to "
                    "measure the spread over seeds")
    ap.add_argument("--plain", choices=["seed-002", "strong"], default="seed-002",
                    help="the plain recipe: seed-002 (lr 2e-5, batch 8, 3 epochs) or strong "
                    "(lr 1e-4, batch 16, 3 epochs, length-grouped batches: issue 16's "
                    "baseline; for QA the engine at those settings, no early stopping)")
    ap.add_argument("--refit", action=argparse.BooleanOptionalAction, default=None,
                    help="override the default preset's refit (train again on all documents "
                    "for the best epoch's number of epochs)")
    ap.add_argument("--choice", action="store_true",
                    help="the split to choose settings on: a fixed 15 %% of the corpus's "
                    "training split is scored instead of its evaluation split, which is not "
                    "read; the rest trains (the engine holds out its own part of it)")
    ap.add_argument("--precision", choices=["auto", "fp32", "bf16"],
                    help="the default preset's training precision (default: the preset's, auto)")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch CPU threads (default: all cores; 1 on a busy shared machine)")
    ap.add_argument("--no-cpu-paths", action="store_true",
                    help="train our side without core.engine.cpu_paths (to compare)")
    add_common_args(ap)
    args = ap.parse_args(argv)
    tiny(args, corpora="ncbi", max_train=8, max_eval=4, epochs=1)
    import torch

    from core.engine import cpu_paths

    cpu_paths.ENABLED = not args.no_cpu_paths

    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    if args.threads:
        import core.engine.runtime as runtime

        runtime.use_all_cores = lambda: None  # the engine would raise it to every core
    seed = 42 if args.seed is None else args.seed  # 42: seed-002's own
    report: dict[str, Any] = {"max_train": args.max_train, "max_eval": args.max_eval,
                              "threads": torch.get_num_threads(), "seed": seed,
                              "plain_recipe": args.plain, "cpu_paths": cpu_paths.ENABLED,
                              "command": "python benchmarks/bench_quality.py "
                              + " ".join(sys.argv[1:]), "corpora": {}}
    for name in args.corpora.split(","):
        task, labels, train, dev = load_corpus(name.strip())
        if args.choice:
            train, dev = choice_split(train)
        train, dev = limit(train, args.max_train), limit(dev, args.max_eval)
        row: dict[str, Any] = {"task": task, "train": len(train), "eval": len(dev),
                               "evaluated_on": ("choice: a fixed 15 % of the training split"
                                                if args.choice else "the evaluation split")}
        if not args.skip_plain:
            strong = args.plain == "strong"
            if task == "qa":
                row["plain"] = engine_run(
                    task, labels, train, dev, "seed-002", dev_fraction=0.0, seed=seed,
                    **(STRONG_ENGINE if strong else {}))
                row["plain"]["note"] = f"engine with {args.plain} settings"
            else:
                row["plain"] = plain_recipe(task, labels, train, dev, seed=seed,
                                            trainer_args=STRONG_TRAINER if strong else None)
            row["plain"]["plain_recipe"] = args.plain
        if not args.skip_default:
            row["default"] = engine_run(task, labels, train, dev, "default", epochs=args.epochs,
                                        learning_rate=args.lr, batch_size=args.batch_size,
                                        patience=args.patience,
                                        average_last=args.average_last,
                                        layer_lr_decay=args.layer_decay, seed=seed,
                                        dev_fraction=args.dev_fraction,
                                        precision=args.precision, refit=args.refit)
        report["corpora"][name] = row
        print(json.dumps({name: row}), file=sys.stderr, flush=True)
        if args.out:
            args.out.write_text(json.dumps(report, indent=2))
    emit(report, args.out, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
