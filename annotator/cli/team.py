"""Team work on the command line: ``annotator assign`` (who labels what, a share by two),
``annotator agreement`` (how far the annotators' layers agree) and ``annotator adjudicate``
(the layers of a double-annotated document into its gold labels)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from annotator.cli.main import UsageError, emit
from core.errors import ProjectError

TASKS = ("ner", "classify", "sentence", "qa")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "assign", help="give documents to annotators, a share of them to two (team work)",
        description="Give every document nobody has yet (unreviewed, unlabelled, not test) to "
                    "the annotators in turn; --double of them, drawn at random, to two, who "
                    "each label their own layer of it. Settings are kept in the project.")
    p.add_argument("project")
    p.add_argument("--annotators", help="comma-separated names, e.g. ana,ben (kept)")
    p.add_argument("--double", type=float, default=None, metavar="SHARE",
                   help="share of documents labelled by two annotators, 0-1 (e.g. 0.2; kept)")
    p.add_argument("--seed", type=int, default=None, help="seed of the draw (kept)")
    p.add_argument("--show-others", dest="show_others", action="store_true", default=None,
                   help="let annotators see each other's layers before both are done")
    p.add_argument("--hide-others", dest="show_others", action="store_false",
                   help="never show another's layer before every layer is done (default)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_assign)

    p = sub.add_parser("agreement", help="inter-annotator agreement of the double-annotated "
                                         "documents")
    p.add_argument("project")
    p.add_argument("--task", choices=TASKS, default=None, help="one task (default: all)")
    p.add_argument("--unfinished", action="store_true",
                   help="also count layers not marked done")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_agreement)

    p = sub.add_parser(
        "adjudicate", help="list double-annotated documents, or write one's gold labels",
        description="Without a document: the double-annotated documents and their layers. "
                    "With --doc: its items, agreed and disputed, by annotator. With --take, "
                    "--choose or --agreed-only: write the gold labels (agreed items always, "
                    "each disputed one as chosen) and mark the document reviewed.")
    p.add_argument("project")
    p.add_argument("--doc", type=int, help="the document's id")
    p.add_argument("--take", metavar="ANNOTATOR",
                   help="for every disputed item, this annotator's version")
    p.add_argument("--choose", action="append", default=[], metavar="ITEM=ANNOTATOR",
                   help="this item's version (repeats; ITEM as listed; ANNOTATOR or 'none')")
    p.add_argument("--agreed-only", action="store_true",
                   help="write the agreed items only; disputed ones are left out of the gold")
    p.add_argument("--force", action="store_true",
                   help="adjudicate before every layer is marked done")
    p.add_argument("--annotator", default=None, help="who adjudicates (default: user)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_adjudicate)


def _open(path: str, annotator: str | None = None) -> Any:
    from core.project import Project, is_project_url

    if not is_project_url(path) and not Path(path).exists():
        raise ProjectError(f"{path}: no such project (create it with: annotator init {path} "
                           "--task ...)")
    return Project.open(path, annotator=annotator)


def cmd_assign(args: argparse.Namespace) -> int:
    names = None
    if args.annotators is not None:
        names = [n.strip() for n in args.annotators.split(",") if n.strip()]
        if not names:
            raise UsageError("--annotators needs at least one name")
    with _open(args.project) as project:
        if args.show_others is not None:
            project.team.configure(show_others=args.show_others)
        result = project.team.assign(annotators=names, double_share=args.double, seed=args.seed)
        team = project.team.settings()
    payload = {**result.to_dict(), "annotators": list(team.annotators),
               "double_share": team.double_share, "show_others": team.show_others}

    def human() -> None:
        print(f"assigned {result.documents} documents ({result.double} to two annotators, "
              f"{result.layers_made} layers made)")
        for name, n in result.per_annotator.items():
            print(f"  {name}: {n}")

    emit(args, payload, human)
    return 0


def cmd_agreement(args: argparse.Namespace) -> int:
    with _open(args.project) as project:
        report = project.team.agreement(args.task, unfinished=args.unfinished)
    emit(args, report, lambda: _print_agreement(report))
    return 0


def _print_agreement(report: dict[str, Any]) -> None:
    print(f"{report['documents']} documents with two or more layers"
          f"{'' if report['unfinished_included'] else ' done'}; annotators: "
          f"{', '.join(report['annotators']) or 'none'}")
    for pair in report.get("entities", {}).get("pairs", []):
        print(f"entities {pair['a']} / {pair['b']}: {pair['documents']} documents, exact F1 "
              f"{pair['f1']:.3f}, overlap F1 {pair['overlap_f1']:.3f}")
        for label, c in pair["per_label"].items():
            print(f"    {label}: F1 {c['f1']:.3f} ({c['both']} shared of {c['a_spans']} / "
                  f"{c['b_spans']})")
    for pair in report.get("attributes", {}).get("pairs", []):
        for name, c in pair["per_attribute"].items():
            kappa = "-" if c["kappa"] is None else f"{c['kappa']:.3f}"
            print(f"attribute {name} {pair['a']} / {pair['b']}: {c['entities']} shared "
                  f"entities, agreement {c['agreement']:.3f}, kappa {kappa}")
    for pair in report.get("relations", {}).get("pairs", []):
        print(f"relations {pair['a']} / {pair['b']}: F1 {pair['f1']:.3f} ({pair['both']} "
              f"shared of {pair['a_relations']} / {pair['b_relations']})")
        for label, c in pair["per_label"].items():
            print(f"    {label}: F1 {c['f1']:.3f} ({c['both']} shared of {c['a_relations']} / "
                  f"{c['b_relations']})")
    for key, title in (("classes", "classes"), ("sentences", "sentence classes")):
        part = report.get(key)
        if not part:
            continue
        for pair in part["pairs"]:
            kappa = "-" if pair["kappa"] is None else f"{pair['kappa']:.3f}"
            print(f"{title} {pair['a']} / {pair['b']}: {pair['documents']} items, kappa "
                  f"{kappa}")
        if part.get("alpha") is not None:
            print(f"{title}: Krippendorff's alpha {part['alpha']:.3f}")
    for pair in report.get("answers", {}).get("pairs", []):
        em = "-" if pair["exact_match"] is None else f"{pair['exact_match']:.3f}"
        f1 = "-" if pair["token_f1"] is None else f"{pair['token_f1']:.3f}"
        print(f"answers {pair['a']} / {pair['b']}: {pair['questions']} questions, exact "
              f"match {em}, token F1 {f1}")


def _choices(args: argparse.Namespace, adj: Any) -> dict[str, str | None]:
    choices: dict[str, str | None] = {}
    if args.take:
        choices = {item.key: args.take for item in adj.disputed}
    for raw in args.choose:
        key, sep, who = raw.rpartition("=")
        if not sep or not key:
            raise UsageError(f"--choose {raw!r}: write ITEM=ANNOTATOR (or ITEM=none)")
        choices[key] = None if who.lower() == "none" else who
    return choices


def _item_dict(item: Any) -> dict[str, Any]:
    return {"key": item.key, "kind": item.kind, "agreed": item.agreed, "title": item.title,
            "start": item.start, "end": item.end,
            "versions": [{"annotators": list(v.annotators), "value": v.describe()}
                         for v in item.versions]}


def cmd_adjudicate(args: argparse.Namespace) -> int:
    writes = bool(args.take or args.choose or args.agreed_only)
    if writes and args.doc is None:
        raise UsageError("--take, --choose and --agreed-only need --doc ID")
    with _open(args.project, args.annotator) as project:
        if args.doc is None:
            docs = project.team.documents()
            payload = {"documents": [
                {"id": d.doc_id, "external_id": d.external_id, "ready": d.ready,
                 "adjudicated": d.adjudicated,
                 "layers": [{"annotator": x.annotator, "id": x.doc_id, "status": x.status}
                            for x in d.layers]} for d in docs]}

            def human_list() -> None:
                if not docs:
                    print("no double-annotated documents (annotator assign P --annotators "
                          "ana,ben --double 0.2)")
                for d in docs:
                    state = ("adjudicated" if d.adjudicated else "ready to adjudicate"
                             if d.ready else "waiting for "
                             + ", ".join(x.annotator for x in d.layers if not x.done))
                    print(f"{d.doc_id:>6}  {d.external_id or '':<16} {state}")

            emit(args, payload, human_list)
            return 0
        adj = project.team.adjudication(args.doc)
        written = None
        if writes:
            changes = project.team.adjudicate(args.doc, _choices(args, adj), force=args.force)
            written = sorted(changes.documents)
        payload = {"id": adj.doc_id, "ready": adj.ready, "annotators": list(adj.annotators),
                   "items": [_item_dict(i) for i in adj.items], "written": written}

    def human() -> None:
        print(f"document {adj.doc_id}: layers of {', '.join(adj.annotators)}"
              f"{'' if adj.ready else ' (not every layer is done)'}")
        for item in adj.items:
            where = adj.text[item.start:item.end] if item.start is not None else ""
            head = f"  {'agreed  ' if item.agreed else 'DISPUTED'} {item.key}"
            print(head + (f"  {where!r}" if where and item.kind != 'answer' else
                          f"  {item.title}" if item.title else ""))
            if not item.agreed:
                for v in item.versions:
                    print(f"      {', '.join(v.annotators)}: {v.describe()}")
        if written is not None:
            print(f"gold labels written to document {adj.doc_id}; it is marked reviewed")
        elif adj.disputed:
            print("write the gold with --take ANNOTATOR, --choose ITEM=ANNOTATOR or "
                  "--agreed-only", file=sys.stderr)

    emit(args, payload, human)
    return 0
