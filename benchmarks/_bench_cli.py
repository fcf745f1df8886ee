"""What every benchmark script shares on its command line: ``--tiny`` (a run of seconds, for
the test suite, so that no script rots) and ``--out FILE`` (the JSON result, and only it,
written to FILE too: the raw result a README number points to)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def add_common_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tiny", action="store_true",
                        help="a run of a few seconds on a few examples (the test suite's)")
    parser.add_argument("--out", type=Path, default=None,
                        help="also write the JSON result (only it) to this file")


def tiny(args: argparse.Namespace, **values: Any) -> None:
    """With ``--tiny``, set these argument values (the sizes of a run of seconds)."""
    if args.tiny:
        for name, value in values.items():
            setattr(args, name, value)


def emit(result: dict[str, Any], out: Path | None, *, indent: int | None = None) -> None:
    """Print the JSON result on stdout and, with ``--out``, write it to that file, with the
    command line that produced it."""
    result = {**result, "command": " ".join(["python", *sys.argv])}
    text = json.dumps(result, indent=indent)
    print(text, flush=True)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n", encoding="utf-8")


def tiny_base_model() -> str:
    """The tests' tiny random BERT (tests/tiny_models.py), built in a temporary folder: what a
    ``--tiny`` run trains instead of the default encoder, so that it takes seconds."""
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from tiny_models import build_tiny_bert

    return str(build_tiny_bert(Path(tempfile.mkdtemp(prefix="bench-tiny-")) / "tiny-bert"))
