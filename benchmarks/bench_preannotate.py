"""Pre-annotation throughput: our Predictor / pre-annotation vs transformers' pipeline.

    python benchmarks/bench_preannotate.py                  # trains a small model first
    python benchmarks/bench_preannotate.py --model DIR      # a model dir written by the engine

Same fine-tuned model, same sentences (the first --sentences of NCBI-disease devel, then
the last ones of train when more than its 923 are asked for). Measures sentences/second of

- ``end_to_end`` (what a user waits for): ``annotator predict`` on a new project of the
  sentences, as a whole process (start-up, model load, reading, predicting, writing),
  against a whole process that loads the stock pipeline and tags the same texts, the two
  in turn ``--e2e-repeat`` times; the ratio is taken pair by pair;
- ``app``: what the app's worker runs when pre-annotation starts, on a fresh copy of that
  project, in this process (imports done, as the app's engine warm-up does at start-up):
  ``first`` loading the model from disk, ``again`` with it cached; in the same rounds as
  the two processes, each against the pipeline's process of its round;
- ``predictor``: ``Predictor.predict`` at its default precision ("auto": bf16 on a CPU
  with AVX-512 BF16 or AMX) and ``predictor_fp32``, with their agreement (entity spans: F1
  of one's spans against the other's; documents: share with exactly the same spans);
- ``preannotate``: the whole ``preannotate()`` into a temporary project (snapshots, chunked
  writes of suggestions and scores included; the model already loaded);
- ``pipeline``: ``pipeline("token-classification", aggregation_strategy="simple")`` over
  the texts at the same ``--batch-size`` (``pipeline_batch1``: at its default, 1; skipped
  with ``--skip-batch1``);
- ``int8``: the predictor after dynamic int8 quantisation of ``nn.Linear``, with its
  agreement with fp32.

Each is run ``--repeat`` times; the figures are the median, with every run's seconds kept.
The load average is recorded before and after. Prints one JSON object.

    python benchmarks/bench_preannotate.py --train-sentences 1000 --sentences 1000 \
        --batch-size 32 --repeat 3 --e2e-repeat 3 --skip-batch1 \
        --out benchmarks/results/preannotate_e2e.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
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

import core.engine  # noqa: F401  (OpenMP wait policy before torch, as in the CLI and the app)
from core.formats import read_file
from core.types import DocumentRecord

DATA = Path(os.environ.get("ANNOTATOR_DATA", ROOT.parent / "shared" / "data")) / "ner" / "ncbi-disease"


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


def read_sentences(n: int) -> list[DocumentRecord]:
    """The first ``n`` sentences of NCBI-disease devel, then the last of train past its 923."""
    devel = read_file(DATA / "devel.tsv", "conll")
    if n > len(devel):
        devel += read_file(DATA / "train.tsv", "conll")[-(n - len(devel)):]
    return devel[:n]


# The pipeline as a user runs it: one process that loads it and tags the texts.
PIPELINE_PROCESS = """
import json, sys
texts = json.load(open(sys.argv[2], encoding="utf-8"))
import transformers
pipe = transformers.pipeline("token-classification", model=sys.argv[1], tokenizer=sys.argv[1],
                             aggregation_strategy="simple", device=-1)
print(sum(len(found) for found in pipe(texts, batch_size=int(sys.argv[3]))))
"""

# annotator predict from this checkout.
CLI_PROCESS = "import sys; from annotator.cli import main; sys.argv[0] = 'annotator'; " \
    "raise SystemExit(main())"


def whole_process(cmd: list[str], env: dict[str, str]) -> dict[str, float]:
    """Wall and CPU seconds of one child process, start-up and exit included."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=str(ROOT), capture_output=True, text=True,
                          check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{cmd[:3]} failed ({done.returncode}): {done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": round(wall, 3), "cpu": round(cpu, 3), "stdout": done.stdout.strip()}


def end_to_end(model_dir: Path, docs: list[DocumentRecord], tmp: Path, repeat: int,
               batch_size: int) -> dict[str, object]:
    """``annotator predict`` vs the pipeline, each as a whole process, in turn."""
    from core.project import Project
    from core.store import repo
    from core.store.models import ModelVersion

    template = tmp / "e2e-template.db"
    project = Project.create(template, tasks={"ner": ["Disease"]})
    with project.write() as s:
        repo.add_documents(s, [DocumentRecord(d.text) for d in docs])
        s.add(ModelVersion(task_id=repo.require_task(s, "ner").id, version=1,
                           base_model="bench", path=str(model_dir), is_active=True))
    project.close()
    texts = tmp / "e2e-texts.json"
    texts.write_text(json.dumps([d.text for d in docs]), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1"}
    # The pipeline as it comes (OpenMP's default wait policy, as a user runs it) and with
    # the wait policy the engine sets (core/engine/__init__.py): what the rest gives.
    passive_env = {**env, "OMP_WAIT_POLICY": "PASSIVE"}
    pipeline_cmd = [sys.executable, "-c", PIPELINE_PROCESS, str(model_dir), str(texts),
                    str(batch_size)]
    ours: list[dict[str, float]] = []
    theirs: list[dict[str, float]] = []
    passive: list[dict[str, float]] = []
    app: list[dict[str, float]] = []
    result: dict[str, object] = {}
    stored: list[set[tuple[int, int, str]]] = []
    for r in range(repeat + 1):  # the first round warms the file cache and is not counted
        db = tmp / f"e2e-{r}.db"
        shutil.copy(template, db)
        a = whole_process([sys.executable, "-c", CLI_PROCESS, "predict", str(db), "--task",
                           "ner", "--json"], env)
        b = whole_process(pipeline_cmd, env)
        c = whole_process(pipeline_cmd, passive_env)
        d = in_the_app(template, tmp, r)  # round 0 also does the app's start-up imports
        if r:
            ours.append(a)
            theirs.append(b)
            passive.append(c)
            app.append(d)
            result = json.loads(str(a["stdout"]))
            stored = stored_spans(db, len(docs))
    n = len(docs)
    wall_a = statistics.median(x["wall"] for x in ours)
    wall_b = statistics.median(x["wall"] for x in theirs)
    return {
        "command": "annotator predict PROJECT --task ner --json (a new project of the "
                   "sentences, model version 1 = --model)",
        "annotator_predict": {"seconds": round(wall_a, 2),
                              "sentences_per_second": round(n / wall_a, 1),
                              "cpu_seconds": statistics.median(x["cpu"] for x in ours),
                              "runs": [x["wall"] for x in ours],
                              "inside_preannotate_seconds": result.get("seconds"),
                              "precision": result.get("precision"),
                              "backend": result.get("backend"),
                              "suggestions": result.get("suggestions")},
        "pipeline_process": {"seconds": round(wall_b, 2),
                             "sentences_per_second": round(n / wall_b, 1),
                             "cpu_seconds": statistics.median(x["cpu"] for x in theirs),
                             "runs": [x["wall"] for x in theirs], "batch_size": batch_size},
        "pipeline_process_passive_waits": {
            "seconds": round(statistics.median(x["wall"] for x in passive), 2),
            "cpu_seconds": statistics.median(x["cpu"] for x in passive),
            "runs": [x["wall"] for x in passive], "OMP_WAIT_POLICY": "PASSIVE"},
        "speedup_pairwise_median": round(statistics.median(
            b["wall"] / a["wall"] for a, b in zip(ours, theirs)), 2),
        "app": {name: {
            "seconds": statistics.median(d[name] for d in app),
            "runs": [d[name] for d in app],
            "speedup_vs_pipeline_process_pairwise_median": round(statistics.median(
                b["wall"] / d[name] for d, b in zip(app, theirs)), 2),
        } for name in ("first", "again")},
        "speedup_vs_passive_pipeline_pairwise_median": round(statistics.median(
            c["wall"] / a["wall"] for a, c in zip(ours, passive)), 2),
        "repeat": repeat,
        "_spans": stored,  # what the command stored, for its agreement (not printed)
    }


def stored_spans(db: Path, n: int) -> list[set[tuple[int, int, str]]]:
    """The entity suggestions a project holds, per document in the order they were added."""
    import sqlite3

    spans: list[set[tuple[int, int, str]]] = [set() for _ in range(n)]
    with sqlite3.connect(db) as c:
        ids = [r[0] for r in c.execute("SELECT id FROM documents ORDER BY id")]
        row_of = {doc_id: i for i, doc_id in enumerate(ids)}
        for doc_id, payload in c.execute("SELECT document_id, payload FROM suggestions"):
            span = json.loads(payload)
            spans[row_of[doc_id]].add((span["start"], span["end"], span["label"]))
    return spans


def in_the_app(template: Path, tmp: Path, r: int) -> dict[str, float]:
    """What the app's worker runs when pre-annotation starts (``project.review.preannotate``,
    as ``annotator.app.qt_jobs.preannotate_project``), on fresh copies of the end-to-end
    project, in this process, whose imports are done as the app's are at start-up (its
    engine warm-up): seconds of ``first`` (the model loaded from disk: the predictor cache
    emptied before) and ``again`` (found loaded: a second pre-annotation in the session)."""
    from core.engine.predict import clear_predictor_cache
    from core.project import Project

    clear_predictor_cache()
    out: dict[str, float] = {}
    for name in ("first", "again"):
        db = tmp / f"app-{r}-{name}.db"
        shutil.copy(template, db)
        project = Project.open(db)
        try:
            t0 = time.perf_counter()
            project.review.preannotate("ner")
            out[name] = round(time.perf_counter() - t0, 3)
        finally:
            project.close()
    return out


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
    ap.add_argument("--e2e-repeat", type=int, default=1,
                    help="pairs of whole processes (annotator predict, pipeline) counted")
    ap.add_argument("--skip-batch1", action="store_true",
                    help="leave out the pipeline at batch 1 (slow; measured before)")
    add_common_args(ap)
    args = ap.parse_args()
    tiny(args, train_sentences=16, train_epochs=1, sentences=16, batch_size=8, e2e_repeat=1)
    load_start = [round(x, 2) for x in os.getloadavg()]

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
    devel = read_sentences(args.sentences)
    docs = [DocumentRecord(d.text) for d in devel]
    gold = spans_of_records(devel)
    texts = [d.text for d in docs]

    e2e = end_to_end(Path(model_dir), docs, tmp, args.e2e_repeat, args.batch_size)
    cli_spans = e2e.pop("_spans")
    print(json.dumps({"end_to_end": e2e}), file=sys.stderr, flush=True)

    predictor = Predictor(model_dir, device="cpu")  # precision "auto"
    exact = Predictor(model_dir, device="cpu", precision="fp32")
    threads = torch.get_num_threads()
    predictor.predict(docs[:32])  # warm-up
    exact.predict(docs[:32])
    runs_ours: list[float] = []
    runs_fp32: list[float] = []
    for _ in range(args.repeat):  # in turn, so that a change of load hits both
        _, preds, one = time_it(lambda: predictor.predict(docs, batch_size=args.batch_size), 1)
        _, preds32, one32 = time_it(lambda: exact.predict(docs, batch_size=args.batch_size), 1)
        runs_ours += one
        runs_fp32 += one32
    t_ours, t_fp32 = statistics.median(runs_ours), statistics.median(runs_fp32)
    ours = spans_of(preds)  # type: ignore[arg-type]
    fp32 = spans_of(preds32)  # type: ignore[arg-type]

    pipe = transformers.pipeline(
        "token-classification", model=str(model_dir), tokenizer=str(model_dir),
        aggregation_strategy="simple", device=-1,
    )
    torch.set_num_threads(threads)
    pipe(texts[:8], batch_size=args.batch_size)
    t_pipe, pipe_out, runs_pipe = time_it(lambda: pipe(texts, batch_size=args.batch_size),
                                          args.repeat)
    t_pipe1, _, runs_pipe1 = (time_it(lambda: pipe(texts), args.repeat)
                              if not args.skip_batch1 else (float("nan"), None, []))
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
    def into_project() -> object:
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
        result = into_project()
        runs_pre.append(round(result.seconds, 3))  # type: ignore[attr-defined]
    t_pre = statistics.median(runs_pre)

    q = Predictor(model_dir, device="cpu")
    quantize_predictor(q)
    q.predict(docs[:32])
    t_q, qpreds, runs_q = time_it(lambda: q.predict(docs, batch_size=args.batch_size),
                                  args.repeat)

    n = len(docs)
    info = predictor.model_info
    out = {
        "model": str(model_dir),
        "trained": None if args.model else {"sentences": args.train_sentences,
                                            "epochs": args.train_epochs},
        "model_trained_on": {"train_examples": info.get("train_examples"),
                             "epochs": len(info.get("epochs") or []),
                             "base_model": info.get("base_model")},
        "sentences": n,
        "torch_threads": threads,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "batch_size": args.batch_size,
        "repeat": args.repeat,
        "statistic": "median",
        "load_average_start": load_start,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "end_to_end": e2e,
        "speedup_end_to_end_vs_pipeline": e2e["speedup_pairwise_median"],
        "app": e2e["app"],
        "predictor": {"seconds": round(t_ours, 2), "sentences_per_second": round(n / t_ours, 1),
                      "precision": predictor.precision, "runs": runs_ours},
        "predictor_fp32": {"seconds": round(t_fp32, 2),
                           "sentences_per_second": round(n / t_fp32, 1), "runs": runs_fp32},
        "speedup_predictor_vs_fp32": round(t_fp32 / t_ours, 2),
        "agreement_predictor_vs_fp32": agreement(fp32, ours),
        "agreement_annotator_predict_vs_fp32": agreement(fp32, cli_spans),
        "preannotate": {"seconds": round(t_pre, 2),
                        "sentences_per_second": round(n / t_pre, 1),
                        "suggestions": result.suggestions,  # type: ignore[attr-defined]
                        "runs": runs_pre},
        "pipeline": {"seconds": round(t_pipe, 2), "sentences_per_second": round(n / t_pipe, 1),
                     "batch_size": args.batch_size, "runs": runs_pipe},
        "pipeline_batch1": None if args.skip_batch1 else {
            "seconds": round(t_pipe1, 2), "sentences_per_second": round(n / t_pipe1, 1),
            "runs": runs_pipe1},
        "speedup_predictor_vs_pipeline": round(t_pipe / t_ours, 2),
        "speedup_preannotate_vs_pipeline": round(t_pipe / t_pre, 2),
        "agreement_predictor_vs_pipeline": agreement(fp32, pipe_spans),
        "agreement_predictor_vs_pipeline_first": agreement(fp32, first_spans),
        "span_f1_against_gold": {
            "predictor": agreement(gold, ours)["span_f1"],
            "predictor_fp32": agreement(gold, fp32)["span_f1"],
            "annotator_predict": agreement(gold, cli_spans)["span_f1"],
            "pipeline_simple": agreement(gold, pipe_spans)["span_f1"],
            "pipeline_first": agreement(gold, first_spans)["span_f1"],
        },
        "int8": {
            "seconds": round(t_q, 2),
            "runs": runs_q,
            "sentences_per_second": round(n / t_q, 1),
            "speedup_vs_fp32": round(t_fp32 / t_q, 2),
            "agreement_with_fp32": agreement(fp32, spans_of(qpreds)),  # type: ignore[arg-type]
        },
        "entities_fp32": sum(map(len, fp32)),
        "entities": sum(map(len, ours)),
    }
    emit(out, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
