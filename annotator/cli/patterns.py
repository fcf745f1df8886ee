"""``annotator patterns``: a pattern file or a term list as suggestions to review."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from annotator.cli.main import UsageError, emit
from annotator.cli.progress import ProgressBar
from core.errors import InputError, ProjectError
from core.project import Project


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "patterns",
        help="suggest entities from a pattern file or a term list (reviewed like the model's)",
        description=(
            "Match a Prodigy-style pattern file (JSONL: {\"label\": \"Disease\", \"pattern\": "
            "\"breast cancer\"}, a phrase matched ignoring case on word boundaries, or "
            "\"pattern\": [{\"LOWER\": ...}, {\"TEXT\": ...}, {\"REGEX\": ...}], one spec a "
            "token) or a term list (one term a line, with --label) in the unreviewed "
            "documents outside the test split. Matches become pending suggestions of the "
            "source 'patterns:<file name>', never over a human entity, the longest of "
            "overlapping matches; running it again changes nothing."
        ),
    )
    p.add_argument("project", help="project file (.db)")
    p.add_argument("file", nargs="?", help="pattern file (.jsonl) or term list (with --label)")
    p.add_argument("--task", default="ner", choices=["ner"],
                   help="patterns suggest entities (the only task they apply to)")
    p.add_argument("--label", help="the label of every term of a plain term list")
    p.add_argument("--from-labels", action="store_true",
                   help="use the texts of the project's own entities (outside the test split) "
                        "as the term list, each under its most frequent label")
    p.add_argument("--save", metavar="OUT.jsonl",
                   help="with --from-labels: also write the terms as a pattern file (the "
                        "suggestions then come from 'patterns:<its name>')")
    p.add_argument("--confidence", type=float,
                   help="the confidence stored with each match (default 0.5: below the "
                        "usual accept-all thresholds, so each is looked at)")
    p.add_argument("--encoding", help="text encoding of the file (default: UTF-8)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_patterns)


def cmd_patterns(args: argparse.Namespace) -> int:
    from core.formats.patterns import read_patterns, write_patterns

    if args.from_labels == bool(args.file):
        raise UsageError("give a pattern file or term list, or --from-labels (one of them)")
    if args.save and not args.from_labels:
        raise UsageError("--save writes the terms of --from-labels; a file given is used as it is")
    if args.label is not None and not args.file:
        raise UsageError("--label names the label of a term list FILE")
    if not Path(args.project).is_file():
        raise ProjectError(f"{args.project}: no such project (create it with: annotator init "
                           f"{args.project} --task ner --labels ...)")
    patterns: list[Any] = []
    if args.file:
        if not Path(args.file).exists():
            raise InputError(args.file, None, "no such file")
        # Read (and check) the whole file before the project is touched.
        patterns = read_patterns(args.file, label=args.label, encoding=args.encoding)
        source = f"patterns:{Path(args.file).name}"
    project = Project.open(args.project)
    try:
        saved = None
        if args.from_labels:
            patterns = project.review.label_terms(args.task)
            if not patterns:
                raise UsageError("the project has no entity labelled outside the test split "
                                 "to take terms from")
            source = "patterns:labels"
            if args.save:
                write_patterns(patterns, args.save)
                saved = args.save
                source = f"patterns:{Path(args.save).name}"
        with ProgressBar(total=None, desc="matching", unit="doc") as bar:
            result = project.review.apply_patterns(
                args.task, patterns, source=source, confidence=args.confidence,
                on_progress=lambda e: bar.update_to(e.done, total=e.total,
                                                    suggestions=e.suggestions),
            )
    finally:
        project.close()
    payload = result.to_dict()
    if args.from_labels:
        payload["terms_saved_to"] = saved

    def human() -> None:
        print(f"{result.patterns} patterns ({result.source}) over {result.documents} "
              f"unreviewed documents: {result.suggestions} new suggestions to review "
              f"({result.kept} already pending, {result.decided_before} decided before, "
              f"{result.other_source} over another source's pending ones, "
              f"{result.removed} no longer matched and removed) in {result.seconds:.1f} s")
        if saved:
            print(f"terms written to {saved}")

    emit(args, payload, human)
    return 0
