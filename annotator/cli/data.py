"""``annotator init | import | export | stats``: the project's data from the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from annotator.cli.main import UsageError, emit
from annotator.cli.progress import ProgressBar
from annotator.cli.tasks import (
    RELATION_HELP,
    TASK_HELP,
    TASK_NAMES,
    UNITS,
    relation_specs,
    resolve_task,
    sentence_level,
)
from core.errors import InputError, ProjectError
from core.project import Project, is_project_url
from core.project.timings import format_duration
from core.types import AttributeSpec, Split, TaskKind

SPLITS = [s.value for s in Split]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("init", help="create a project (or add a task to an existing one)")
    p.add_argument("project", help="project file to create, e.g. notes.db")
    p.add_argument("--task", required=True, choices=TASK_NAMES, help=TASK_HELP)
    p.add_argument("--unit", choices=UNITS,
                   help="for --task classify: classes of whole documents (default) or of "
                        "the sentences inside them (the tool splits the text into sentences)")
    p.add_argument("--labels", default="", help="comma-separated label names")
    p.add_argument("--multi-label", action="store_true",
                   help="several classes per document (or per sentence)")
    p.add_argument(
        "--attribute", action="append", default=[], metavar="NAME=VALUE,VALUE[@LABEL,...]",
        help="for --task ner: an attribute every entity carries, with its values, the first "
             'the default: --attribute "negation=Affirmed,Negated"; limited to some entity '
             'labels after an @: --attribute "negation=Affirmed,Negated@Condition". Repeat '
             "the option for several. Names, values and labels cannot hold = , or @",
    )
    p.add_argument("--relation", action="append", default=[], metavar="NAME=HEAD>TAIL",
                   help=RELATION_HELP)
    p.add_argument("--overlapping", action=argparse.BooleanOptionalAction, default=None,
                   help="for --task ner: entities may overlap and nest ('[left lower lobe] "
                        "pneumonia': a BodySite inside a Condition); two never span exactly "
                        "the same text. Off by default. CoNLL cannot export overlapping "
                        "entities (jsonl and brat can). On an existing project "
                        "--no-overlapping switches it off, refused while entities overlap")
    p.add_argument("--name", help="project name (default: the file name)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("import", help="import documents and labels from a file")
    p.add_argument("project")
    p.add_argument("file")
    p.add_argument("--format", choices=_formats(), help="default: guessed from the file")
    p.add_argument("--split", choices=SPLITS, help="put every imported document in this split")
    p.add_argument(
        "--unit", choices=["file", "paragraph", "line"], default="file",
        help="for plain text: one document per file, paragraph or line",
    )
    p.add_argument("--encoding", help="text encoding of the file (default: UTF-8, or UTF-16 by BOM)")
    p.add_argument("--multi-label", action="store_true", help="classes are multi-label")
    add_brat_options(p, "import")
    p.add_argument("--annotator", default="import",
                   help="whose labels the file's are (default: import); team work: the "
                        "agreement and the adjudication see them under this name")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export", help="export documents and labels to a file")
    p.add_argument("project")
    p.add_argument("out")
    p.add_argument("--format", required=True, choices=_formats())
    p.add_argument("--split", choices=SPLITS)
    p.add_argument("--reviewed-only", action="store_true", help="only reviewed documents")
    p.add_argument("--no-text", action="store_true", help="leave the text out (privacy)")
    p.add_argument("--flavor", choices=["doccano", "prodigy"], help="JSONL shape (default doccano)")
    p.add_argument(
        "--unit", choices=UNITS,
        help="csv: one row per document, or per sentence (document_id, external_id, start, "
             "end, text, label(s), split); default: sentence when the project classifies "
             "sentences and not documents. jsonl always carries the sentences",
    )
    p.add_argument("--suggestions", action="store_true",
                   help="jsonl: also write each document's pending suggestions (a "
                        '"suggestions" list, each with "suggested": true, its kind, source '
                        "and confidence); importing the file again never takes them for labels")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("stats", help="counts of documents, annotations, splits and labels")
    p.add_argument("project")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_stats)


def _formats() -> list[str]:
    # The CLI contract's names; core.formats is imported only when a command runs.
    return ["text", "csv", "lines", "jsonl", "conll", "squad", "brat"]


def cmd_init(args: argparse.Namespace) -> int:
    labels = [x.strip() for x in args.labels.split(",") if x.strip()]
    if len(set(labels)) != len(labels):
        raise UsageError("--labels: a label is named twice")
    kind = resolve_task(args.task, args.unit)
    attributes = _attribute_specs(args.attribute, kind, labels)
    relations = relation_specs(args.relation, kind)
    if args.overlapping and kind is not TaskKind.NER:
        raise UsageError("--overlapping: overlapping spans are for --task ner (entities)")
    path = Path(args.project)
    created = not Project.exists(args.project)  # a file, or a database with a project
    if created:
        project = Project.create(
            args.project, tasks={kind: labels}, multi_label=args.multi_label, name=args.name
        )
    else:
        project = Project.open(args.project)
    try:
        if args.overlapping is False and not created and kind is TaskKind.NER:
            # first, so that a refusal (entities overlap) leaves the project as it was
            project.annotations.set_overlapping(False)
        project.annotations.add_task(kind, labels, multi_label=args.multi_label,
                                     attributes=attributes, relations=relations,
                                     overlapping=bool(args.overlapping))
    except Exception:
        project.close()
        if created and project.path is not None:  # nothing half-made: the new file goes
            for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                leftover.unlink(missing_ok=True)
        elif created:  # ... and a new database project's tables
            from core.project import discard_new_database_project

            discard_new_database_project(args.project)
        raise
    task = project.documents.tasks()[kind]
    payload = {
        "project": project.location,
        "created": created,
        "task": task.kind.value,
        "unit": "sentence" if kind is TaskKind.SENTENCE else "document",
        "multi_label": task.multi_label,
        "labels": [label.name for label in task.labels],
    }
    if task.attributes:
        payload["attributes"] = [spec.to_json() for spec in task.attributes]
    if task.relations:
        payload["relations"] = [spec.to_json() for spec in task.relations]
    if kind is TaskKind.NER:
        payload["overlapping"] = task.overlapping
    project.close()
    what = " (classes of sentences)" if kind is TaskKind.SENTENCE else ""
    attrs = "".join(f"\n  attribute {spec}" for spec in task.attributes)
    attrs += "".join(f"\n  relation {spec}" for spec in task.relations)
    if task.overlapping:
        attrs += "\n  entities may overlap and nest"
    emit(args, payload, lambda: print(
        f"{'created' if created else 'updated'} {payload['project']}: task {payload['task']}"
        f"{what}, labels: {', '.join(payload['labels']) or '(none yet)'}{attrs}"
    ))
    return 0


def _attribute_specs(texts: list[str], kind: TaskKind, labels: list[str]) -> list[AttributeSpec]:
    """The ``--attribute`` options as declarations; a bad one is a usage error saying how
    it should look."""
    if texts and kind is not TaskKind.NER:
        raise UsageError("--attribute: attributes are for --task ner (entities)")
    specs = []
    for text in texts:
        try:
            specs.append(AttributeSpec.parse(text))
        except ValueError as exc:
            raise UsageError(f"--attribute: {exc}") from None
    names = [s.name for s in specs]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UsageError(f"--attribute: {', '.join(map(repr, twice))} given twice")
    return specs


def _open(path: str, *, readonly: bool = False) -> Project:
    if not is_project_url(path) and not Path(path).exists():
        raise ProjectError(f"{path}: no such project (create it with: annotator init {path} --task ...)")
    return Project.open(path, readonly=readonly)


def add_brat_options(p: argparse.ArgumentParser, verb: str) -> None:
    """--discontinuous and --brat-skip: how a brat corpus the reader would refuse is read."""
    p.add_argument(
        "--discontinuous", choices=["refuse", "join"],
        help="brat: an entity in several fragments (T1 Disease 0 5;10 15) is refused "
             "(default), or joined into the one span covering its fragments",
    )
    p.add_argument(
        "--brat-skip", action="append", default=[], choices=["relations", "normalizations"],
        help=f"brat: {verb} the entities without the relations, events and equivalences "
             "(R, E, * lines; events and equivalences cannot be stored, relations are read "
             "otherwise) or the normalisations (N lines), instead of refusing the file"
             + ("; the summary counts what was skipped" if verb == "import" else "")
             + ". Repeat the option for both",
    )


def cmd_import(args: argparse.Namespace) -> int:
    from core.formats import guess_format, read_import

    if not Path(args.file).exists():
        raise InputError(args.file, None, "no such file")
    project = _open(args.project)
    try:
        fmt = args.format or guess_format(args.file)
        if fmt != "brat" and (args.discontinuous or args.brat_skip):
            raise UsageError(f"--discontinuous and --brat-skip apply to the brat format, not "
                             f"{fmt}")
        # Parse everything first: a bad line stops the import before the project is touched.
        records, brat = read_import(
            args.file, fmt, ner=project.documents.tasks().get(TaskKind.NER),
            text_unit=args.unit, encoding=args.encoding,
            discontinuous=args.discontinuous or "refuse", skip=args.brat_skip)
        # Suggestions in a JSONL file are never labels: say how many were left out.
        left_out = records.suggestions_left_out
        # The store takes the records one by one inside its one transaction: the bar
        # counts them as they go in (all or nothing still).
        with ProgressBar(total=len(records), desc="importing", unit="doc") as bar:
            summary, _ = project.documents.add(
                bar.wrap(records),  # type: ignore[arg-type]
                split=args.split, multi_label=True if args.multi_label else None,
                annotator=args.annotator,
            )
    finally:
        project.close()
    payload = {
        "file": args.file,
        "documents": len(records),
        "documents_added": summary.documents_added,
        "duplicates": summary.duplicates,
        "annotations_added": summary.annotations_added,
        "questions_added": summary.questions_added,
        "labels_added": summary.labels_added,
        "conflicts": summary.conflicts,
    }
    if left_out:
        payload["suggestions_not_imported"] = left_out
    if brat is not None:
        # What the brat files held that the project does not store, or stores changed.
        payload["discontinuous_joined"] = brat.joined
        payload["skipped"] = brat.skipped
        payload["notes"] = brat.notes
    if summary.conflicts and not args.json:
        print(
            f"annotator: warning: {len(summary.conflicts)} repeated texts carry labels that "
            "contradict their first copy (the first was kept):",
            file=sys.stderr,
        )
        for line in summary.conflicts[:10]:
            print(f"  {line}", file=sys.stderr)
        if len(summary.conflicts) > 10:
            print(f"  ... and {len(summary.conflicts) - 10} more", file=sys.stderr)
    emit(args, payload, lambda: print(
        f"imported {summary.documents_added} documents ({summary.duplicates} already there), "
        f"{summary.annotations_added} annotations"
        + (f"; new labels: {', '.join(summary.labels_added)}" if summary.labels_added else "")
        + "".join(f"; {part}" for part in (brat.summary() if brat is not None else ()))
        + (f"; {left_out} suggestion(s) not imported (a suggestion is never read as a label)"
           if left_out else "")
    ))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from core.formats import write_file

    project = _open(args.project, readonly=False)
    try:
        if args.suggestions and args.format != "jsonl":
            raise UsageError(f"--suggestions applies to the jsonl format, not {args.format}")
        tasks = project.documents.tasks()
        records = project.documents.records(split=args.split, reviewed_only=args.reviewed_only)
        ner = tasks.get(TaskKind.NER)
        pending = project.review.pending() if args.suggestions else None
    finally:
        project.close()
    sentence_task = tasks.get(TaskKind.SENTENCE)
    unit = args.unit
    if unit == "sentence":
        if sentence_task is None:
            raise UsageError("--unit sentence: the project has no sentence task (create one "
                             f"with: annotator init {args.project} --task classify --unit "
                             "sentence --labels ...)")
        if args.format not in ("csv", "jsonl"):
            raise UsageError(f"--unit sentence applies to the csv and jsonl formats, not "
                             f"{args.format}")
    elif unit is None:
        unit = "sentence" if args.format == "csv" and sentence_level(tasks) else "document"
    n = write_file(
        records, args.out, args.format, include_text=not args.no_text, flavor=args.flavor,
        unit=unit,
        sentence_multi_label=bool(sentence_task is not None and sentence_task.multi_label),
        suggestions=pending,
        # brat writes the values that differ from the default (jsonl writes every value).
        attributes=ner.attributes if ner is not None and args.format == "brat" else None,
    )
    payload: dict[str, object] = {"out": args.out, "format": args.format, "documents": n}
    if pending is not None:
        written = {r.doc_id for r in records}
        payload["suggestions"] = sum(len(v) for d, v in pending.items() if d in written)
    sentences = sum(len(r.sentences) for r in records)
    if sentence_task is not None:
        payload["sentences"] = sentences
    if args.format == "csv":
        payload["unit"] = unit
    rows = f"{sentences} sentences of {n} documents" if unit == "sentence" else f"{n} documents"
    more = f" and {payload['suggestions']} pending suggestions" if pending is not None else ""
    emit(args, payload, lambda: print(f"wrote {rows}{more} to {args.out}"))
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    project = _open(args.project, readonly=True)
    try:
        payload = project.documents.stats()
        # {annotator: {kind: {seconds, actions, documents}}}: time spent, as the app records it
        payload["time"] = project.timings.summary()
        # How often suggestions were taken, per task, in all and per source (model, patterns)
        payload["suggestions"] = {
            kind.value: project.review.report(kind) for kind in project.documents.tasks()
        }
    finally:
        project.close()

    def human() -> None:
        print(f"project {payload['project']}: {payload['documents']} documents, "
              f"{payload['annotations']} annotations")
        print("  splits: " + ", ".join(f"{k} {v}" for k, v in payload["splits"].items()))  # type: ignore[union-attr]
        print("  review: " + ", ".join(f"{k} {v}" for k, v in payload["review_status"].items()))  # type: ignore[union-attr]
        for key in ("entity_labels", "class_labels", "sentence_labels"):
            counts = payload[key]
            if counts:
                print(f"  {key.replace('_', ' ')}: "
                      + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))  # type: ignore[union-attr]
        for name, values in payload.get("attribute_values", {}).items():  # type: ignore[union-attr]
            print(f"  attribute {name}: " + ", ".join(f"{v} {n}" for v, n in values.items()))
        if "sentence" in payload["tasks"]:  # type: ignore[operator]
            print(f"  sentences: {payload['sentences']} ({payload['sentences_classified']} with "
                  f"a class, {payload['sentence_classes']} sentence classes)")
        if payload["questions"]:
            print(f"  questions: {payload['questions']} ({payload['questions_answered']} answered, "
                  f"{payload['unanswerable']} without answer)")
        for kind, report in payload["suggestions"].items():  # type: ignore[union-attr]
            for source, c in sorted(report["by_source"].items()):
                rate = report["rates_by_source"][source]["acceptance_rate"]
                print(f"  {kind} suggestions from {source}: {c['pending']} pending, "
                      f"{c['accepted']} accepted, {c['edited']} edited, {c['rejected']} "
                      f"rejected" + (f" (acceptance {rate:.0%})" if rate is not None else ""))
        for annotator, kinds in payload["time"].items():  # type: ignore[union-attr]
            print(f"  time spent by {annotator}: " + ", ".join(
                f"{kind} {format_duration(t['seconds'])} ({t['actions']} actions, "
                f"{t['documents']} documents)" for kind, t in kinds.items()
            ))

    emit(args, payload, human)
    return 0
