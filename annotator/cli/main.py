"""Argument parsing and the one error path of the command line.

Wherever a command takes a project, it takes a project file (``notes.db``) or the URL of a
project in a PostgreSQL database (``postgresql://user@host/dbname``).

Every subcommand takes ``--json`` (exactly one JSON object on stdout). Exit codes:
0 success, 2 bad input or unusable project (message on stderr, project unchanged),
1 a run that failed for another reason (e.g. a training run that diverged).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from core.errors import AnnotatorError

# Modules that add subcommands with ``register(subparsers)``; missing ones are skipped so
# a partial install still runs the commands it has.
COMMAND_MODULES = (
    "annotator.cli.data", "annotator.cli.engine", "annotator.cli.active", "annotator.cli.patterns",
    "annotator.cli.copy", "annotator.cli.team",
)


class UsageError(AnnotatorError):
    """Wrong command-line arguments."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="annotator",
        description=(
            "Label text, fine-tune a local model and review its suggestions. "
            "With no command, opens the desktop app."
        ),
    )
    from annotator import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    gui = sub.add_parser("gui", help="open the desktop app (the demo project when none is given)")
    gui.add_argument("project", nargs="?", help="project file (.db) or database URL "
                     "(postgresql://user@host/dbname) to open")
    gui.set_defaults(func=_run_gui)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(sub)
    return parser


def _run_gui(args: argparse.Namespace) -> int:
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY")
        or os.environ.get("WAYLAND_DISPLAY")
        or os.environ.get("QT_QPA_PLATFORM")
    ):
        print(
            "annotator: no display found (DISPLAY and WAYLAND_DISPLAY are unset), so the desktop "
            "app cannot open. Run it in a desktop session, or use the headless commands: "
            "annotator --help",
            file=sys.stderr,
        )
        return 2
    from annotator.app.main import run_app

    return run_app(args.project)


def emit(args: argparse.Namespace, payload: dict[str, Any], human: Callable[[], None]) -> None:
    """Print ``payload`` as one JSON object under ``--json``, else call ``human()``."""
    if getattr(args, "json", False):
        json.dump(payload, sys.stdout, ensure_ascii=False, default=str)
        sys.stdout.write("\n")
    else:
        human()


def _opens_in_app(arg: str) -> bool:
    """``annotator notes.db`` and ``annotator postgresql://...`` open the app."""
    if arg.endswith(".db") and os.path.isfile(arg):
        return True
    if "://" not in arg:
        return False
    from core.project import is_project_url

    return is_project_url(arg)


def run(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv:
        argv = ["gui"]
    elif _opens_in_app(argv[0]):
        argv = ["gui", *argv]
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except AnnotatorError as exc:
        if getattr(args, "json", False):
            json.dump({"error": str(exc)}, sys.stdout)
            sys.stdout.write("\n")
        print(f"annotator: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader of our output went away (e.g. `| head`): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("annotator: interrupted", file=sys.stderr)
        return 130
