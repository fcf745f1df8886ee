"""``annotator predict | queue | simulate``: pre-annotation, the review queue and simulated
active learning from the command line."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from annotator.cli.main import UsageError, emit
from annotator.cli.progress import ProgressBar
from annotator.cli.tasks import add_task_arguments, resolve_task
from core.errors import AnnotatorError, InputError, ProjectError

FORMATS = ["text", "csv", "lines", "jsonl", "conll", "squad"]
STRATEGY_HELP = ("random, least_confidence, margin, entropy, diverse or cost_aware (entropy per "
                 "predicted second of labelling, from the recorded annotation times)")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "predict",
        help="pre-annotate: store a model version's suggestions for the unreviewed documents",
    )
    p.add_argument("project")
    add_task_arguments(p)
    p.add_argument("--model", type=int, metavar="V",
                   help="model version number (default: the active one, else the newest)")
    p.add_argument("--chunk-size", type=int, default=64, help="documents per write (64)")
    p.add_argument("--quantize", action="store_true",
                   help="int8 dynamic quantisation on CPU (faster, slightly different)")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                   help="auto (default): bf16 on a CPU that computes it natively (AVX-512 "
                   "BF16 or AMX), mixed precision on a GPU, else fp32")
    p.add_argument("--backend", choices=("auto", "torch", "onnx"), default="auto",
                   help="auto (default): the model's ONNX graph through OpenVINO, without "
                   "loading torch, for an entity model saved with its graph on a machine "
                   "without a GPU (precision auto or fp32); else torch")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("queue", help="the documents to label next, most useful first")
    p.add_argument("project")
    add_task_arguments(p)
    p.add_argument("--strategy", default="entropy", help=STRATEGY_HELP + " (default entropy)")
    p.add_argument("--limit", type=int, default=20, help="how many (default 20; 0 = all)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random strategy")
    p.add_argument("--batch-size", type=int, default=None,
                   help="diverse: size of the diverse batch (default: --limit)")
    p.add_argument("--annotator", default=None,
                   help="the queue of this annotator (team work: their documents, and their "
                        "layer of a double-annotated one)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_queue)

    p = sub.add_parser(
        "simulate",
        help="simulated active learning on labelled files: strategy curves on a dev file",
    )
    add_task_arguments(p)
    p.add_argument("--data", required=True, help="labelled file: the pool")
    p.add_argument("--format", choices=FORMATS, help="format of --data and --dev (guessed)")
    p.add_argument("--encoding", default=None,
                   help="text encoding of --data and --dev (default: UTF-8, or UTF-16 by BOM)")
    p.add_argument("--dev", required=True, help="labelled file scored after every round")
    p.add_argument("--seed-size", type=int, default=50)
    p.add_argument("--batch-size", type=int, default=50)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--strategy", default="random,entropy",
                   help="comma-separated: " + STRATEGY_HELP)
    p.add_argument("--seeds", type=int, default=1, help="repeat with seeds 0..N-1")
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs per round (default: the preset's, with its small-data floor, "
                   "as the app trains; giving epochs switches the floor off)")
    p.add_argument("--seconds-per-document", type=float, default=None, metavar="S",
                   help="simulated annotation time: S seconds a document plus --seconds-per-"
                   "1000-characters (default: the length prior, 5 s + 50 s per 1,000 "
                   "characters); what cost_aware divides by and labels per hour use")
    p.add_argument("--seconds-per-1000-characters", type=float, default=None, metavar="S")
    p.add_argument("--base-model", default="default")
    p.add_argument("--max-pool", type=int, default=None, help="subsample the pool per seed")
    p.add_argument("--max-dev", type=int, default=None, help="subsample the dev set")
    p.add_argument("--max-length", type=int, default=None, help="window size in tokens")
    p.add_argument("--learning-rate", type=float, default=None)
    p.add_argument("--min-steps", type=int, default=None,
                   help="train at least this many optimizer steps each round (small-data floor)")
    p.add_argument("--warm-start", action="store_true",
                   help="train each round from the previous round's model")
    p.add_argument("--plot", metavar="OUT.png", help="write a PNG: one line per strategy")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_simulate)


def _open(path: str) -> Any:
    from core.project import Project, is_project_url

    if not is_project_url(path) and not Path(path).exists():
        raise ProjectError(f"{path}: no such project (create it with: annotator init {path} --task ...)")
    return Project.open(path)


# --- predict ----------------------------------------------------------------------------


def _why_torch(project: Any, task: Any, result: Any,
               args: argparse.Namespace) -> tuple[str, Path | None] | None:
    """Why an entity model left to choose its runtime predicted with torch when the version
    has no usable graph, and the version's folder when a graph can be added to it (saved
    before graphs were written); None otherwise (a graph was used, or torch was asked for)."""
    from core import models
    from core.engine.modelio import read_annotator_json
    from core.engine.onnx_model import gpu_likely, missing_graph
    from core.tasks import kind_of

    if (result.backend != "torch" or args.backend != "auto" or args.quantize
            or args.precision == "bf16" or not result.documents or gpu_likely()):
        return None
    version = models.resolve(project, task, args.model)
    info = read_annotator_json(version.path)
    if info is None or not kind_of(version.task).onnx_predicts:
        return None
    why = missing_graph(info)
    if why is None:
        return None
    return why, (Path(version.path) if "onnx" not in info else None)


def _graph_note(version: int, why: str, folder: Path | None) -> str:
    """The note after a run that predicted with torch for want of a graph (``why``); a
    version saved before graphs were written gets its graph here (``folder``)."""
    from core.engine.onnx_export import add_graph

    note = (f"note: model version {version} predicted with torch, which takes about 5 s "
            f"more to start than its ONNX graph: {why}.")
    if folder is None:
        return note + " A model trained now gets a graph."
    try:
        entry = add_graph(folder)
    except (OSError, AnnotatorError) as exc:
        return note + f" Its graph could not be added to {folder}: {exc}."
    if "error" in entry:
        return note + f" Its graph was made now but failed the check ({entry['error']}): " \
            "torch keeps predicting for it; a model trained now gets a graph."
    return note + (f" Its graph was added now (checked by OpenVINO: largest difference "
                   f"{entry['max_difference']:.1e}); the next run uses it.")


def cmd_predict(args: argparse.Namespace) -> int:
    from core.active.preannotate import NOT_LOADED, PreannotateProgress

    project = _open(args.project)
    bar = ProgressBar(total=None, desc="predicting", unit="doc")

    def progress(event: PreannotateProgress) -> None:
        bar.update_to(event.done, total=event.total, suggestions=event.suggestions)

    try:
        task = resolve_task(args.task, args.unit, project.documents.tasks())
        result = project.review.preannotate(
            task, version=args.model, chunk_size=args.chunk_size,
            quantize=args.quantize, precision=args.precision, backend=args.backend,
            on_progress=progress,
        )
        why = _why_torch(project, task, result, args)
    finally:
        bar.close()
        project.close()
    payload = result.to_dict()

    def human() -> None:
        if result.backend == NOT_LOADED:
            print(f"model version {result.model_version}: no document left to predict (it has "
                  "predicted every unreviewed document outside the test split; the model was "
                  "not loaded)")
            return
        print(f"model version {result.model_version}: {result.documents} documents predicted, "
              f"{result.suggestions} suggestions stored ({result.replaced} older pending "
              f"replaced, {result.skipped_conflicts} skipped: human labels there) in "
              f"{result.seconds:.1f} s ({result.documents_per_second:.1f} documents/s, "
              f"{result.backend} {result.precision})")
        for after in result.followed:  # entities: the attribute model on the same documents
            print(f"  {after.task} model version {after.model_version}: {after.suggestions} "
                  f"suggestions on the entities of {after.documents} documents "
                  f"({after.skipped_conflicts} skipped: values a person set)")

    emit(args, payload, human)
    if why:
        print(_graph_note(result.model_version, *why), file=sys.stderr)
    return 0


# --- queue --------------------------------------------------------------------------------


def cmd_queue(args: argparse.Namespace) -> int:
    from core.active import strategies

    try:
        name = strategies.canonical_strategy(args.strategy)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.limit < 0:
        raise UsageError("--limit must be >= 0")
    limit = args.limit or None
    project = _open(args.project)
    try:
        task = resolve_task(args.task, args.unit, project.documents.tasks())
        predictor = None
        if name == "diverse":
            from core.engine.predict import Predictor

            predictor = Predictor(project.models.current(task).path)
        entries = project.review.queue(
            task, strategy=name, limit=limit, seed=args.seed,
            predictor=predictor, batch_size=args.batch_size or limit or strategies.DEFAULT_BATCH,
            annotator=args.annotator,
        )
        previews = {
            doc_id: (external_id, head.replace("\n", " "))
            for doc_id, (external_id, head) in project.documents.heads(
                e.doc_id for e in entries
            ).items()
        }
    finally:
        project.close()
    payload = {
        "task": task.value,
        "strategy": name,
        "documents": [
            {"id": e.doc_id, "score": None if e.score is None else round(e.score, 6),
             "model_version_id": e.model_version_id,
             "external_id": previews.get(e.doc_id, (None, ""))[0]}
            for e in entries
        ],
    }

    def human() -> None:
        if not entries:
            print("the queue is empty: no unreviewed train/unassigned document without labels")
        for e in entries:
            score = "   -  " if e.score is None else f"{e.score:.4f}"
            print(f"{e.doc_id:>7}  {score}  {previews.get(e.doc_id, (None, ''))[1]}")

    emit(args, payload, human)
    return 0


# --- simulate ---------------------------------------------------------------------------


def cmd_simulate(args: argparse.Namespace) -> int:
    from core.active.simulate import SimulationEvent, SimulationSettings, simulate
    from core.formats import read_file

    for path in (args.data, args.dev):
        if not Path(path).exists():
            raise InputError(path, None, "no such file")
    try:
        settings = SimulationSettings(
            task=resolve_task(args.task, args.unit),
            strategies=tuple(s for s in args.strategy.split(",") if s),
            seed_size=args.seed_size, batch_size=args.batch_size, rounds=args.rounds,
            seeds=args.seeds, epochs=args.epochs, base_model=args.base_model,
            max_pool=args.max_pool, max_dev=args.max_dev, warm_start=args.warm_start,
            learning_rate=args.learning_rate, max_length=args.max_length,
            min_steps=args.min_steps, time_model=_time_model(args),
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    pool = read_file(args.data, args.format, encoding=args.encoding)
    dev = read_file(args.dev, args.format, encoding=args.encoding)
    started = time.perf_counter()
    trainings = len(settings.strategies) * settings.seeds * (settings.rounds + 1)
    bar = ProgressBar(total=trainings, desc="simulating", unit="run")
    done = 0

    def progress(e: SimulationEvent) -> None:
        nonlocal done
        done += 1
        bar.update_to(done, strategy=e.strategy, labels=e.labels, value=f"{e.value:.4f}")
        if not args.json and not bar.shown:  # a log's line per training; a terminal has the bar
            print(f"[{time.perf_counter() - started:6.0f}s] {e.strategy} seed {e.seed} round "
                  f"{e.round}/{e.rounds}: {e.labels} labels -> {e.value:.4f}", file=sys.stderr,
                  flush=True)

    try:
        result = simulate(settings, pool, dev, on_event=progress)
    finally:
        bar.close()
    payload = result.to_dict()
    if args.plot:
        write_curves_png(payload, args.plot)
        payload["plot"] = str(args.plot)

    def human() -> None:
        metric = payload["metric"]
        for name, curve in payload["curves"].items():
            points = ", ".join(f"{p['labels']}: {p[metric]:.3f}" for p in curve)
            print(f"{name:>16}  {points}")
        comp = payload.get("comparison") or {}
        for name, row in comp.get("strategies", {}).items():
            if name != "random" and row["labels_to_reach"] is not None:
                hours = row.get("hours_to_reach")
                print(f"{name} reaches random's final {metric} ({comp['target']:.3f}) with "
                      f"{row['labels_to_reach']:.0f} labels "
                      f"({row['fraction_of_reference']:.0%} of random's)"
                      + (f" in {hours:.2f} h of annotation "
                         f"({row['hours_fraction_of_reference']:.0%} of random's)"
                         if hours is not None and row.get("hours_fraction_of_reference")
                         else ""))
        for name, row in comp.get("strategies", {}).items():
            if row.get("labels_per_hour") is not None:
                print(f"{name:>16}  {row['labels_per_hour']:.0f} labels per hour (simulated)")

    emit(args, payload, human)
    return 0


def _time_model(args: argparse.Namespace) -> Any:
    from core.active.time_model import PRIOR, TimeModel

    intercept, per_1000 = args.seconds_per_document, args.seconds_per_1000_characters
    if intercept is None and per_1000 is None:
        return PRIOR
    for name, value in (("--seconds-per-document", intercept),
                        ("--seconds-per-1000-characters", per_1000)):
        if value is not None and value < 0:
            raise UsageError(f"{name} must be >= 0")
    return TimeModel(intercept=PRIOR.intercept if intercept is None else max(intercept, 1.0),
                     per_char=PRIOR.per_char if per_1000 is None else per_1000 / 1000,
                     source="given")


# --- plotting -------------------------------------------------------------------------------

_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]


def write_curves_png(payload: dict[str, Any], out: str | Path, *, width: int = 800,
                     height: int = 500) -> None:
    """Write the mean curves as a PNG (labels on x, the metric on y, one line per strategy).

    Uses matplotlib when installed, else Qt's offscreen QPainter (PySide6 is a dependency)."""
    curves: dict[str, list[dict[str, Any]]] = payload["curves"]
    metric: str = payload["metric"]
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        _write_png_qt(curves, metric, Path(out), width, height)
        return
    fig, ax = plt.subplots(figsize=(width / 100, height / 100), dpi=100)
    for i, (name, curve) in enumerate(curves.items()):
        ax.plot([p["labels"] for p in curve], [p[metric] for p in curve], marker="o",
                label=name, color=_COLOURS[i % len(_COLOURS)])
    ax.set_xlabel("labelled documents")
    ax.set_ylabel(f"dev {metric}")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def _write_png_qt(curves: dict[str, list[dict[str, Any]]], metric: str, out: Path,
                  width: int, height: int) -> None:
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QPointF, QRectF, Qt
    from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter, QPen
    from PySide6.QtWidgets import QApplication

    # Fonts need an application. A QApplication (not a bare QGuiApplication), so that a
    # desktop window opened later in the same process can still be built.
    app = QGuiApplication.instance() or QApplication([])
    del app
    xs = [p["labels"] for c in curves.values() for p in c]
    ys = [p[metric] for c in curves.values() for p in c if p[metric] is not None]
    if not xs or not ys:
        raise InputError(out, None, "nothing to plot: the curves are empty")
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y0 = max(0.0, min(ys) - 0.05)
    y1 = min(1.0, max(ys) + 0.05) if max(ys) + 0.05 > y0 else y0 + 0.1
    left, right, top, bottom = 70, 170, 30, 55
    pw, ph = width - left - right, height - top - bottom

    def pos(x: float, y: float) -> QPointF:
        return QPointF(left + (x - x0) / (x1 - x0) * pw, top + (1 - (y - y0) / (y1 - y0)) * ph)

    image = QImage(width, height, QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    grid = QPen(QColor("#DDDDDD"))
    for i in range(6):
        y = y0 + (y1 - y0) * i / 5
        painter.setPen(grid)
        painter.drawLine(pos(x0, y), pos(x1, y))
        painter.setPen(QColor("black"))
        painter.drawText(QRectF(0, pos(x0, y).y() - 8, left - 8, 16),
                         int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                         f"{y:.2f}")
    for x in sorted(set(xs)):
        p = pos(x, y0)
        painter.drawText(QRectF(p.x() - 30, p.y() + 4, 60, 16),
                         int(Qt.AlignmentFlag.AlignHCenter), str(x))
    painter.drawRect(QRectF(left, top, pw, ph))
    painter.drawText(QRectF(left, height - 24, pw, 20), int(Qt.AlignmentFlag.AlignHCenter),
                     "labelled documents")
    painter.drawText(QRectF(4, 4, 300, 20), 0, f"dev {metric}")
    for i, (name, curve) in enumerate(curves.items()):
        colour = QColor(_COLOURS[i % len(_COLOURS)])
        painter.setPen(QPen(colour, 2.5))
        points = [pos(p["labels"], p[metric]) for p in curve if p[metric] is not None]
        for a, b in zip(points, points[1:]):
            painter.drawLine(a, b)
        for pt in points:
            painter.drawEllipse(pt, 3, 3)
        ly = top + 10 + 22 * i
        painter.drawLine(QPointF(width - right + 12, ly), QPointF(width - right + 40, ly))
        painter.setPen(QColor("black"))
        painter.drawText(QRectF(width - right + 46, ly - 9, right - 50, 18), 0, name)
    painter.end()
    if not image.save(str(out), "PNG"):
        raise InputError(out, None, "cannot write the PNG file")
