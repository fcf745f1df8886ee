"""The `annotator` command: no arguments opens the desktop app; subcommands run headless."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    from annotator.cli.main import run

    return run(argv)
