"""``annotator copy SRC DST``: a project from a file to a PostgreSQL database, back, or to
another file."""

from __future__ import annotations

import argparse
import sys

from annotator.cli.main import emit

HELP = (
    "Copy a whole project: every table, every row with its id, from SRC (a project file or "
    "a database URL, postgresql://user@host/dbname) to DST (a new file, or an empty "
    "database: createdb NAME first). Model versions are copied as rows: their stored paths "
    "still point at the same model folders, which are NOT copied (a team shares them on a "
    "drive every machine sees). SRC is only read; it must be at this tool's schema (open it "
    "once to upgrade it). A copy that fails leaves nothing: no file, or the database rolled "
    "back."
)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("copy", help="copy a project between a file and a PostgreSQL database",
                       description=HELP)
    p.add_argument("source", metavar="SRC", help="project file or database URL to copy")
    p.add_argument("destination", metavar="DST",
                   help="new project file, or the URL of an empty database")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_copy)


def cmd_copy(args: argparse.Namespace) -> int:
    from core.project import copy_project

    def progress(table: str, rows: int) -> None:
        if not args.json:
            print(f"  {table}: {rows} rows", file=sys.stderr)

    summary = copy_project(args.source, args.destination, on_table=progress)
    emit(args, {"source": summary.source, "destination": summary.destination,
                "rows": summary.rows, "tables": summary.tables},
         lambda: print(f"copied {summary.rows} rows in {len(summary.tables)} tables from "
                       f"{summary.source} to {summary.destination} (model folders are "
                       "referenced, not copied)"))
    return 0
