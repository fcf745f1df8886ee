"""``annotator train | evaluate``: fine-tune a model on a project, score it on a gold file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from annotator.cli.data import add_brat_options
from annotator.cli.main import UsageError, emit
from annotator.cli.progress import ProgressBar
from annotator.cli.tasks import add_task_arguments, resolve_task
from core.engine.results import FailureKind
from core.errors import InputError, ProjectError
from core.types import TaskKind

# The exit code of a training run that did not complete, by the kind of failure (see
# annotator.cli.main): 2 for input the run cannot train on (the message goes to stderr as
# for any bad input), 1 for a run that failed for another reason. A cancelled run is not
# an error of the command (only the app cancels runs): 0, as for a completed one.
EXIT_CODES: dict[FailureKind, int] = {
    FailureKind.BAD_INPUT: 2,
    FailureKind.CANCELLED: 0,
    FailureKind.OUT_OF_MEMORY: 1,
    FailureKind.DIVERGED: 1,
    FailureKind.MISSING_MODEL: 1,
    FailureKind.NO_DEVICE: 1,
    FailureKind.DISK_FULL: 1,
    FailureKind.INTERNAL: 1,
}


def exit_code(result: Any) -> int:
    """The exit code of ``annotator train`` for a run's :class:`TrainingResult`."""
    if result.failure is None:
        return 0 if result.status == "completed" else 1
    return EXIT_CODES[result.failure]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from core.engine.settings import PRESETS

    p = sub.add_parser("train", help="fine-tune a model on the project's labelled documents")
    p.add_argument("project", help="project file (.db)")
    add_task_arguments(p)
    p.add_argument("--preset", default="default", choices=sorted(PRESETS))
    p.add_argument("--base-model", help="'default', a model directory, or a hub name (online)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--lr", type=float, help="learning rate")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--patience", type=int,
                   help="epochs without a better dev score before training stops (0: never "
                   "early; the best epoch is kept either way)")
    p.add_argument("--refit", action=argparse.BooleanOptionalAction, default=None,
                   help="after the best epoch is chosen on the held-out documents, train "
                   "again on all documents for that many epochs and keep that model (twice "
                   "the time; default: the preset's choice)")
    p.add_argument("--max-train", type=int, help="use at most N training documents")
    p.add_argument("--max-length", type=int, help="window size in sub-word tokens")
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"])
    p.add_argument("--precision", choices=["auto", "fp32", "bf16"],
                   help="auto (default): bf16 mixed precision where the device computes it "
                   "natively (CUDA, or a CPU with AVX-512 BF16 or AMX), else fp32")
    p.add_argument("--seed", type=int)
    p.add_argument("--no-predict", action="store_true",
                   help="do not pre-annotate the unreviewed documents with the new model")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="score a model version on a gold file (not imported)")
    p.add_argument("project", help="project file (.db)")
    add_task_arguments(p)
    p.add_argument("--data", required=True,
                   help="gold file to score against (sentence task: JSONL whose records carry "
                        '"sentences" with their labels)')
    p.add_argument("--format", help="file format (default: guessed from the file)")
    p.add_argument("--encoding",
                   help="text encoding of the gold file (default: UTF-8, or UTF-16 by BOM)")
    p.add_argument("--model",
                   help="model version number or directory (default: the active version)")
    p.add_argument("--batch-size", type=int, default=32)
    add_brat_options(p, "score")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_evaluate)


def _open(path: str) -> Any:
    from core.project import Project, is_project_url

    if not is_project_url(path) and not Path(path).is_file():
        raise ProjectError(f"{path}: no such project (create it with: annotator init {path} ...)")
    return Project.open(path)


def cmd_train(args: argparse.Namespace) -> int:
    from core.engine.results import EpochEvent, ProgressEvent, WarningEvent
    from core.engine.settings import preset_settings

    project = _open(args.project)
    try:  # the task named depends on the project's tasks, the settings on the task
        task = resolve_task(args.task, args.unit, project.documents.tasks())
        try:
            settings = preset_settings(
                args.preset, task, base_model=args.base_model, epochs=args.epochs,
                learning_rate=args.lr, batch_size=args.batch_size, max_train=args.max_train,
                max_length=args.max_length, device=args.device, seed=args.seed,
                precision=args.precision, patience=args.patience, refit=args.refit,
            )
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    except BaseException:
        project.close()
        raise

    from core.engine.project_bridge import distributed_rank

    worker = distributed_rank() > 0
    quiet = args.json or worker
    # Per optimiser step, on stderr, only on a terminal (never on a worker rank).
    bar = ProgressBar(total=None, desc="training", unit="step") if not worker else None

    shown_model = [""]  # the model whose epochs the lines are of ("": the one asked for)
    bar_model = [""]  # the model whose steps the bar counts

    def on_event(event: Any) -> None:  # called on this (the only) thread
        if bar is not None and isinstance(event, ProgressEvent):
            if event.model != bar_model[0]:  # a head after the tagger: its own count and ETA
                bar_model[0] = event.model
                bar.restart(f"training {event.model}", total=event.total_steps)
            bar.update_to(event.step, total=event.total_steps, epoch=event.epoch,
                          loss=f"{event.loss:.4f}",
                          **({"phase": "refit"} if event.phase == "refit" else {}))
        if quiet:
            return
        if isinstance(event, WarningEvent):
            _write(bar, f"warning: {event.message}", file=sys.stderr)
        elif isinstance(event, EpochEvent):
            if event.model != shown_model[0]:  # a head trained after the tagger: its own table
                shown_model[0] = event.model
                _write(bar, f"{event.model or task.value} model:")
            _write(bar, _epoch_line(event))

    if not quiet:
        print(f"{'epoch':>5} {'step':>6} {'train_loss':>10} {'val_loss':>9}  metrics")
    preannotation: Any = None
    try:
        outcome = project.training.start(task, settings, on_event=on_event)
        if bar is not None:
            bar.close()
        r = outcome.result
        if outcome.run_id is None:  # a worker rank under torchrun: rank 0 reports
            return 0 if r.status == "completed" else 1
        if r.status == "completed" and not args.no_predict:
            # As the app does: the new model pre-annotates the unreviewed documents.
            with ProgressBar(total=None, desc="pre-annotating", unit="doc") as pbar:
                preannotation = project.review.preannotate(
                    task, version=outcome.version,
                    on_progress=lambda e: pbar.update_to(e.done, total=e.total,
                                                         suggestions=e.suggestions),
                )
    finally:
        if bar is not None:
            bar.close()
        project.close()
    code = exit_code(r)
    if r.failure is FailureKind.BAD_INPUT:
        print(f"annotator: error: {r.reason}", file=sys.stderr)
        if args.json:
            emit(args, _train_payload(r, outcome), lambda: None)
        return code
    payload = _train_payload(r, outcome)
    for name in ("attributes", "relations"):  # the heads trained after the tagger
        head, skipped = getattr(outcome, name, None), getattr(outcome, f"{name}_skipped", None)
        if head is not None or skipped:
            payload[name] = ({"skipped": skipped} if head is None
                             else _train_payload(head.result, head))
    payload["preannotation"] = preannotation.to_dict() if preannotation is not None else None
    if getattr(outcome, "sources", None) is not None:  # team work: gold and single
        payload["sources"] = outcome.sources
    emit(args, payload, lambda: _print_train_summary(r, outcome, preannotation))
    if r.status == "failed" and not args.json:
        print(f"annotator: training failed: {r.reason}", file=sys.stderr)
    return code


def _train_payload(r: Any, outcome: Any) -> dict[str, Any]:
    return {
        "status": r.status,
        "reason": r.reason,
        "epochs": [row.flat() for row in r.epochs],
        "dev": r.dev_metrics,
        "best_epoch": r.best_epoch,
        "model_path": r.model_path,
        "model_version": outcome.version,
        "run_id": outcome.run_id,
        "tokens_per_second": r.tokens_per_second,
        "train_tokens": r.train_tokens,
        "train_seconds": r.train_seconds,
        "train_examples": r.train_examples,
        "dev_examples": r.dev_examples,
        # > 0: the saved model was trained again on all these documents (settings.refit);
        # "dev" and "epochs" are the run that held the dev documents out.
        "refit_documents": r.refit_documents,
        "warnings": list(r.warnings),
    }


def _write(bar: ProgressBar | None, line: str, *, file: Any = None) -> None:
    if bar is not None:
        bar.write(line, file=file)
    else:
        print(line, file=file or sys.stdout, flush=True)


def _epoch_line(event: Any) -> str:
    shown = {k: v for k, v in event.metrics.items() if isinstance(v, float)}
    metrics = "  ".join(f"{k} {v:.4f}" for k, v in shown.items())
    val = f"{event.val_loss:9.4f}" if event.val_loss is not None else f"{'-':>9}"
    best = "  *" if event.is_best else ""
    return f"{event.epoch:>5} {event.step:>6} {event.train_loss:10.4f} {val}  {metrics}{best}"


def _refit_clause(r: Any) -> str:
    n = getattr(r, "refit_documents", 0)
    return (f"; then refit on all {n} documents for {r.best_epoch} epoch(s), the dev score "
            "being the held-out run's" if n else "")


def _print_train_summary(r: Any, outcome: Any, preannotation: Any = None) -> None:
    if r.status != "completed":
        print(f"training {r.status}: {r.reason}")
        return
    print(f"model version {outcome.version} saved to {r.model_path} (best epoch "
          f"{r.best_epoch}{_refit_clause(r)}; {r.tokens_per_second:.0f} tokens/s)")
    from core.engine.project_bridge import sources_line

    line = sources_line(getattr(outcome, "sources", None))
    if line:
        print(line)
    head = getattr(outcome, "attributes", None)
    if head is not None:
        h = head.result
        if h.status == "completed":
            print(f"attribute model version {head.version} saved to {h.model_path} (best "
                  f"epoch {h.best_epoch}; dev accuracy {h.dev_metrics.get('accuracy', 0):.4f}"
                  f"{_refit_clause(h)})")
        else:
            print(f"attribute model {h.status}: {h.reason}")
    elif getattr(outcome, "attributes_skipped", None):
        print(f"attribute model not trained: {outcome.attributes_skipped}")
    head = getattr(outcome, "relations", None)
    if head is not None:
        h = head.result
        if h.status == "completed":
            print(f"relation model version {head.version} saved to {h.model_path} (best "
                  f"epoch {h.best_epoch}; dev F1 {h.dev_metrics.get('f1', 0):.4f})")
        else:
            print(f"relation model {h.status}: {h.reason}")
    elif getattr(outcome, "relations_skipped", None):
        print(f"relation model not trained: {outcome.relations_skipped}")
    if preannotation is not None:
        print(f"pre-annotated {preannotation.documents} unreviewed documents: "
              f"{preannotation.suggestions} suggestions to review")


def cmd_evaluate(args: argparse.Namespace) -> int:
    from core.engine.predict import Predictor
    from core.formats import read_file

    tasks: dict[TaskKind, Any] = {}
    task: TaskKind | None = None
    if args.model and not args.model.isdigit():
        model_dir = Path(args.model)
        if Path(args.project).is_file():
            project = _open(args.project)
            try:
                tasks = project.documents.tasks()
            finally:
                project.close()
    else:
        project = _open(args.project)
        try:
            tasks = project.documents.tasks()
            task = resolve_task(args.task, args.unit, tasks)
            model_dir = project.models.current(task, int(args.model) if args.model else None).path
        finally:
            project.close()
    # A brat gold folder is read with the project's declarations, as an import reads it
    # (binary attribute lines map to them; nested entities where the task allows them).
    ner = tasks.get(TaskKind.NER)
    docs = read_file(args.data, format=args.format, encoding=args.encoding,
                     attributes=ner.attributes if ner is not None else None,
                     overlapping=bool(ner is not None and ner.overlapping),
                     discontinuous=args.discontinuous or "refuse", skip=args.brat_skip)
    predictor = Predictor(model_dir)
    if task is None:  # a model directory: the project's tasks, else the model's own
        task = resolve_task(args.task, args.unit, tasks or (predictor.spec.task,))
    if predictor.spec.task is not task:
        hint = (" (add --unit sentence for the sentence task)"
                if predictor.spec.task is TaskKind.SENTENCE and args.unit is None else "")
        raise UsageError(f"model {model_dir} is a {predictor.spec.task.value} model, "
                         f"not {task.value}{hint}")
    without_gold: list[Any] = []
    if task is TaskKind.SENTENCE:
        without_gold = _gold_sentences(args.data, docs, predictor.spec.labels)
    metrics = predictor.evaluate(docs, batch_size=args.batch_size)
    metrics = {"model_path": str(model_dir), "task": task.value, "documents": len(docs),
               **metrics}
    if task is TaskKind.NER and Path(args.project).is_file():
        # Beside the spans: each attribute and the relations, scored on the gold entities.
        from core.engine.project_bridge import evaluate_attributes, evaluate_relations

        project = _open(args.project)
        try:
            scored = evaluate_attributes(project, docs, batch_size=args.batch_size)
            related = evaluate_relations(project, docs, batch_size=args.batch_size)
        finally:
            project.close()
        if related is not None:
            metrics["relations"] = {
                "precision": related["precision"], "recall": related["recall"],
                "f1": related["f1"], "support": related["support"],
                "predicted": related["predicted"], "per_label": related["per_label"],
            }
            metrics["relation_model"] = {"model_path": related["model_path"],
                                         "model_version": related["model_version"]}
        if scored is not None:
            metrics["attributes"] = scored["attributes"]
            metrics["attribute_model"] = {
                "model_path": scored["model_path"], "model_version": scored["model_version"],
                "accuracy": scored["accuracy"], "macro_f1": scored["f1"],
                "entities": scored["support"],
            }
    if task is TaskKind.SENTENCE:
        metrics["documents_scored"] = len(docs) - len(without_gold)
        metrics["documents_without_gold"] = [
            {"line": d.line, "id": d.external_id} for d in without_gold
        ]

    def human() -> None:
        if task is TaskKind.SENTENCE:
            print(f"scored {metrics['sentences']} gold sentences of "
                  f"{metrics['documents_scored']} documents")
        for key, value in metrics.items():
            if isinstance(value, float):
                print(f"{key:>12} {value:.4f}")
        for label, row in metrics.get("per_label", {}).items():
            cells = "  ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                              for k, v in row.items())
            print(f"  {label}: {cells}")
        for name, scores in metrics.get("attributes", {}).items():
            print(f"attribute {name} (gold entities): accuracy {scores['accuracy']:.4f}  "
                  f"macro-F1 {scores['macro_f1']:.4f}")
            for value, row in scores["per_value"].items():
                print(f"  {value}: precision {row['precision']:.4f}  recall "
                      f"{row['recall']:.4f}  f1 {row['f1']:.4f}  support {row['support']}")
        rel = metrics.get("relations")
        if rel:
            print(f"relations (gold entities): precision {rel['precision']:.4f}  recall "
                  f"{rel['recall']:.4f}  f1 {rel['f1']:.4f}  support {rel['support']}")
            for name, row in rel["per_label"].items():
                print(f"  {name}: precision {row['precision']:.4f}  recall "
                      f"{row['recall']:.4f}  f1 {row['f1']:.4f}  support {row['support']}")

    emit(args, metrics, human)
    return 0


def _gold_sentences(path: str, docs: Any, model_labels: Any) -> list[Any]:
    """The gold documents without a labelled sentence (reported, not scored); refuses a file
    with none and warns of gold classes the model does not know (always scored wrong)."""
    without = [d for d in docs if not any(s.labels for s in d.sentences)]
    if len(without) == len(docs):
        raise InputError(path, None, 'no gold sentence labels: a record needs "sentences": '
                         '[{"start": 0, "end": 42, "label": "X"}, ...] (multi-label: "labels": '
                         '[...]) to be scored at the sentence level')
    if without:
        lines = ", ".join(f"{path}:{d.line}" for d in without[:5])
        more = f" and {len(without) - 5} more" if len(without) > 5 else ""
        print(f"warning: {len(without)} of {len(docs)} gold documents have no labelled "
              f"sentences and are not scored: {lines}{more}", file=sys.stderr)
    known = set(model_labels)
    unknown = sorted({lab for d in docs for s in d.sentences for lab in s.labels} - known)
    if unknown:
        print(f"warning: the model does not know the gold classes {', '.join(unknown)}: "
              "those sentences count as wrong", file=sys.stderr)
    return without
