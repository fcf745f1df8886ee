"""Pre-annotation throughput: our Predictor / pre-annotation vs transformers' pipeline.

    python benchmarks/bench_preannotate.py                  # trains a small model first
    python benchmarks/bench_preannotate.py --model DIR      # a model dir written by the engine

Same fine-tuned model, same sentences (the first --sentences of NCBI-disease devel), one
run. Measures sentences/second of

- ``predictor``: ``Predictor.predict`` (length-sorted batches, dynamic padding,
  ``torch.inference_mode``), the work pre-annotation does per chunk;
- ``preannotate``: the whole ``preannotate()`` into a temporary project (snapshots, chunked
  writes of suggestions and scores included);
- ``pipeline``: ``pipeline("token-classification", aggregation_strategy="simple")`` over
  the texts at the same ``--batch-size`` (``pipeline_batch1``: at its default, 1);
- ``int8``: the predictor after dynamic int8 quantisation of ``nn.Linear``, with its
  agreement with fp32 (entity spans: F1 of int8 spans against fp32 spans; documents: share
  with exactly the same spans).

Each is run ``--repeat`` times; the figures are the median, with every run's seconds kept.
Prints one JSON object.

    python benchmarks/bench_preannotate.py --sentences 923 --batch-size 32 --repeat 3 \
        --out benchmarks/results/preannotate_b32.json
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_cli import add_common_args, emit, tiny

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from core.formats import read_file
from core.types import DocumentRecord

DATA = ROOT.parent / "shared" / "data" / "ner" / "ncbi-disease"


def train_model(out: Path, n: int, base: str, epochs: int) -> Path:
    from core.engine.job import TrainingJob
    from core.engine.settings import preset_settings

    docs = read_file(DATA / "train.tsv", "conll")[:n]
    settings = preset_settings("default", "ner", base_model=base, epochs=epochs,
                               patience=0)
    result = TrainingJob(task="ner", labels=["Disease"], train=docs, dev=[],
                         settings=settings, output_dir=out).run()
    if result.status != "completed" or not result.model_path:
        raise SystemExit(f"training failed: {result.reason}")
    return Path(result.model_path)


def spans_of(preds: list) -> list[set[tuple[int, int, str]]]:
    return [{(s.start, s.end, s.label) for s in p.spans} for p in preds]


def spans_of_records(records: list[DocumentRecord]) -> list[set[tuple[int, int, str]]]:
    return [{(s.start, s.end, s.label) for s in r.spans} for r in records]


def pipeline_spans(outputs: object) -> list[set[tuple[int, int, str]]]:
    return [{(int(e["start"]), int(e["end"]), str(e["entity_group"])) for e in out}
            for out in outputs]  # type: ignore[union-attr]


def agreement(ref: list[set], other: list[set]) -> dict[str, float]:
    tp = sum(len(a & b) for a, b in zip(ref, other))
    n_ref, n_other = sum(map(len, ref)), sum(map(len, other))
    f1 = 2 * tp / (n_ref + n_other) if n_ref + n_other else 1.0
    same = sum(a == b for a, b in zip(ref, other)) / max(len(ref), 1)
    return {"span_f1": round(f1, 4), "documents_identical": round(same, 4)}


def time_it(fn, repeat: int) -> tuple[float, object, list[float]]:  # type: ignore[no-untyped-def]
    """The median wall time of ``repeat`` runs of ``fn``, its last output, and every time."""
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out, [round(t, 3) for t in times]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, help="fine-tuned NER model dir (default: train one)")
    ap.add_argument("--train-sentences", type=int, default=300)
    ap.add_argument("--train-epochs", type=int, default=3,
                    help="epochs of the model trained when --model is not given (1 epoch "
                    "of 300 sentences predicts no entity at all: agreement would be void)")
    ap.add_argument("--base-model", default="default")
    ap.add_argument("--sentences", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=1, help="runs per method (the median is reported)")
    add_common_args(ap)
    args = ap.parse_args()
    tiny(args, train_sentences=16, train_epochs=1, sentences=16, batch_size=8)

    import torch
    import transformers

    from core.active.preannotate import preannotate, quantize_predictor
    from core.engine.predict import Predictor
    from core.project import Project
    from core.store import repo
    from core.store.models import ModelVersion

    tmp = Path(tempfile.mkdtemp(prefix="bench-preannotate-"))
    model_dir = args.model or train_model(
        tmp / "model", args.train_sentences, args.base_model, args.train_epochs
    )
    devel = read_file(DATA / "devel.tsv", "conll")[: args.sentences]
    docs = [DocumentRecord(d.text) for d in devel]
    gold = spans_of_records(devel)
    texts = [d.text for d in docs]

    predictor = Predictor(model_dir, device="cpu")
    threads = torch.get_num_threads()
    predictor.predict(docs[:32])  # warm-up
    t_ours, preds, runs_ours = time_it(
        lambda: predictor.predict(docs, batch_size=args.batch_size), args.repeat)
    fp32 = spans_of(preds)  # type: ignore[arg-type]

    pipe = transformers.pipeline(
        "token-classification", model=str(model_dir), tokenizer=str(model_dir),
        aggregation_strategy="simple", device=-1,
    )
    torch.set_num_threads(threads)
    pipe(texts[:8], batch_size=args.batch_size)
    t_pipe, pipe_out, runs_pipe = time_it(lambda: pipe(texts, batch_size=args.batch_size),
                                          args.repeat)
    t_pipe1, _, runs_pipe1 = time_it(lambda: pipe(texts), args.repeat)
    pipe_spans = pipeline_spans(pipe_out)
    # The stock pipeline's "simple" aggregation labels each subword on its own; a model
    # trained on first subwords (as run_ner.py and this engine train) gives its later
    # subwords no training, so words come out cut ("Ovar" of "Ovarian"). "first" labels a
    # word by its first subword, as the engine decodes. Both against the gold spans too.
    pipe_first = transformers.pipeline(
        "token-classification", model=str(model_dir), tokenizer=str(model_dir),
        aggregation_strategy="first", device=-1,
    )
    first_spans = pipeline_spans(pipe_first(texts, batch_size=args.batch_size))

    # End to end into a project: the same sentences as unreviewed documents.
    def end_to_end() -> object:
        path = tmp / f"bench-{time.monotonic_ns()}.db"
        project = Project.create(path, tasks={"ner": ["Disease"]})
        with project.write() as s:
            repo.add_documents(s, [replace(d) for d in docs])
            s.add(ModelVersion(task_id=repo.require_task(s, "ner").id, version=1,
                               base_model="bench", path=str(model_dir), is_active=True))
        try:
            return preannotate(project, "ner", predictor=predictor, batch_size=args.batch_size)
        finally:
            project.close()

    runs_pre = []
    for _ in range(args.repeat):  # preannotate() times itself (the project's setup excluded)
        result = end_to_end()
        runs_pre.append(round(result.seconds, 3))  # type: ignore[attr-defined]
    t_pre = statistics.median(runs_pre)

    q = Predictor(model_dir, device="cpu")
    quantize_predictor(q)
    q.predict(docs[:32])
    t_q, qpreds, runs_q = time_it(lambda: q.predict(docs, batch_size=args.batch_size),
                                  args.repeat)

    n = len(docs)
    out = {
        "model": str(model_dir),
        "trained": None if args.model else {"sentences": args.train_sentences,
                                            "epochs": args.train_epochs},
        "sentences": n,
        "torch_threads": threads,
        "batch_size": args.batch_size,
        "repeat": args.repeat,
        "statistic": "median",
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "predictor": {"seconds": round(t_ours, 2), "sentences_per_second": round(n / t_ours, 1),
                      "runs": runs_ours},
        "preannotate": {"seconds": round(t_pre, 2),
                        "sentences_per_second": round(n / t_pre, 1),
                        "suggestions": result.suggestions,  # type: ignore[attr-defined]
                        "runs": runs_pre},
        "pipeline": {"seconds": round(t_pipe, 2), "sentences_per_second": round(n / t_pipe, 1),
                     "batch_size": args.batch_size, "runs": runs_pipe},
        "pipeline_batch1": {"seconds": round(t_pipe1, 2),
                            "sentences_per_second": round(n / t_pipe1, 1), "runs": runs_pipe1},
        "speedup_predictor_vs_pipeline": round(t_pipe / t_ours, 2),
        "speedup_preannotate_vs_pipeline": round(t_pipe / t_pre, 2),
        "agreement_predictor_vs_pipeline": agreement(fp32, pipe_spans),
        "agreement_predictor_vs_pipeline_first": agreement(fp32, first_spans),
        "span_f1_against_gold": {
            "predictor": agreement(gold, fp32)["span_f1"],
            "pipeline_simple": agreement(gold, pipe_spans)["span_f1"],
            "pipeline_first": agreement(gold, first_spans)["span_f1"],
        },
        "int8": {
            "seconds": round(t_q, 2),
            "runs": runs_q,
            "sentences_per_second": round(n / t_q, 1),
            "speedup_vs_fp32": round(t_ours / t_q, 2),
            "agreement_with_fp32": agreement(fp32, spans_of(qpreds)),  # type: ignore[arg-type]
        },
        "entities_fp32": sum(map(len, fp32)),
    }
    emit(out, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
