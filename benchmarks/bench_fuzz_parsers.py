"""Parser fuzzing (opt-in, long): hypothesis through read_file + add_documents for every
format, plus the peak memory of importing a big single-line file; prints one JSON object.

    .venv/bin/python benchmarks/bench_fuzz_parsers.py --examples 5000 --big-mb 50

Uses the same mutation strategy and checks as tests/reliability/test_bad_input.py: any
exception other than a clean InputError/AnnotatorError is a failure (the lone-surrogate bug
known at the time of writing is counted separately, not failed).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_cli import add_common_args, emit, tiny


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000, help="examples per format")
    parser.add_argument("--big-mb", type=int, default=50, help="size of the single-line file (0: skip)")
    add_common_args(parser)
    args = parser.parse_args()
    tiny(args, examples=3, big_mb=1)

    from hypothesis import HealthCheck, given, settings
    from reliability import test_bad_input as t
    from reliability.reliability_lib import cli_env, run_measuring_rss

    from core.project import Project

    out: dict[str, object] = {"examples_per_format": args.examples}
    failures: list[dict[str, str]] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        template = tmpdir / "template.db"
        Project.create(template, tasks={"ner": ["Disease"], "classify": ["pos"]}).close()
        examples = 0
        for fmt in sorted(t.SAMPLES):
            path = tmpdir / f"{fmt}.db"
            shutil.copy(template, path)
            project = Project.open(path)
            target = tmpdir / f"fuzz{t.SAMPLES[fmt][0]}"
            seen: list[bytes] = []

            @settings(max_examples=args.examples, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            @given(data=t.mutated(fmt))
            def run(data: bytes) -> None:
                target.write_bytes(data)
                seen.append(data)
                t._import_like_the_cli(project, target, fmt)

            try:
                run()
            except Exception as exc:
                failures.append({"format": fmt, "error": f"{type(exc).__name__}: {exc}"[:500],
                                 "input": repr(seen[-1][:300]) if seen else "",
                                 "trace": traceback.format_exc()[-1500:]})
            finally:
                project.close()
            examples += len(seen)
        out["fuzz"] = {**t.FUZZ_STATS, "examples": examples}
        if args.big_mb:
            big_results = {}
            for fmt in ("text", "jsonl", "csv", "lines", "conll"):
                path = tmpdir / f"big-{fmt}.db"
                shutil.copy(template, path)
                body = "fever and cough " * (args.big_mb * 1024 * 1024 // 16)
                big = tmpdir / f"big.{fmt}"
                if fmt == "jsonl":
                    big.write_text(json.dumps({"text": body}) + "\n", encoding="utf-8")
                elif fmt == "csv":
                    big.write_text("text\n" + body.replace(",", " ") + "\n", encoding="utf-8")
                elif fmt == "lines":
                    big.write_text("pos " + body + "\n", encoding="utf-8")
                elif fmt == "conll":
                    big.write_text("x" * len(body) + "\tO\n", encoding="utf-8")
                else:
                    big.write_text(body, encoding="utf-8")
                del body
                r = run_measuring_rss([sys.executable, "-m", "annotator", "import", str(path), str(big),
                                       "--format", fmt, "--json"], env=cli_env(), timeout=900)
                big_results[fmt] = {"rc": r["rc"], "peak_rss_mb": round(r["peak_rss_mb"]),
                                    "traceback": "Traceback" in r["stderr"],
                                    "stderr": r["stderr"][-300:]}
                big.unlink()
            out["big_single_line"] = {"mb": args.big_mb, **big_results}
    out["failures"] = failures
    out["seconds"] = round(time.monotonic() - started, 1)
    emit(out, args.out)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
