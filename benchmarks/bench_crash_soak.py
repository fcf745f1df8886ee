"""Crash soak (opt-in, long): many SIGKILL trials against a project; prints one JSON object.

    .venv/bin/python benchmarks/bench_crash_soak.py --annotate 500 --import 100 --seed 1

Same harness and checks as tests/reliability/test_crash_safety.py (a warm fork server runs
the tool's code in a worker process that is killed at seeded random moments; afterwards
the file must pass PRAGMA integrity_check, hold every acknowledged action and no
half-applied import), only with many more trials.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_cli import add_common_args, emit, tiny
from reliability.reliability_lib import (
    Zygote,
    annotation_state,
    integrity,
    read_log,
    verify_annotate,
    verify_imports,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--annotate", type=int, default=200, help="annotate trials")
    parser.add_argument("--import", dest="imports", type=int, default=50, help="import trials")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-kill-seconds", type=float, default=0.8)
    add_common_args(parser)
    args = parser.parse_args()
    tiny(args, annotate=2, imports=1)

    from core.project import Project
    from core.store import repo
    from core.types import DocumentRecord

    rng = random.Random(args.seed)
    out: dict[str, object] = {"seed": args.seed}
    started = time.monotonic()
    zygote = Zygote()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmpdir = Path(tmp)
            path = tmpdir / "soak.db"
            with Project.create(path, tasks={"ner": ["Disease", "Drug", "Symptom"],
                                             "classify": ["pos", "neg"], "qa": []}) as p:
                with p.write() as s:
                    repo.add_documents(s, [DocumentRecord(
                        f"Patient {i} with flu and cough, given aspirin; follow-up visit {i}.")
                        for i in range(100)])
            totals = {"trials": 0, "killed": 0, "acknowledged": 0, "lost": 0, "phantom": 0,
                      "in_flight_committed": 0, "integrity_failures": 0}
            problems: list[str] = []
            for trial in range(args.annotate):
                initial = annotation_state(path)
                log = tmpdir / f"a{trial}.log"
                r = zygote.run({"mode": "annotate", "db": str(path), "log": str(log),
                                "seed": args.seed * 100000 + trial, "ops": 2000},
                               kill_after=rng.uniform(0.01, args.max_kill_seconds))
                totals["trials"] += 1
                totals["killed"] += r["killed"]
                if integrity(path) != "ok":
                    totals["integrity_failures"] += 1
                v = verify_annotate(path, read_log(log), initial)
                totals["acknowledged"] += v.acknowledged
                totals["lost"] += v.lost
                totals["phantom"] += v.phantom
                totals["in_flight_committed"] += v.in_flight_committed
                problems += v.problems
                log.unlink()
            out["annotate"] = totals

            ipath = tmpdir / "imports.db"
            Project.create(ipath, tasks={"ner": ["Disease", "Drug"]}).close()
            ilog = tmpdir / "imports.log"
            killed = integrity_failures = 0
            for trial in range(args.imports):
                r = zygote.run({"mode": "import", "db": str(ipath), "log": str(ilog), "seed": trial,
                                "first_batch": trial * 4, "batches": 4, "size": 150},
                               kill_after=rng.uniform(0.05, 1.5))
                killed += r["killed"]
                integrity_failures += integrity(ipath) != "ok"
            v2 = verify_imports(ipath, read_log(ilog))
            problems += v2["problems"]
            out["import"] = {"trials": args.imports, "killed": killed,
                             "integrity_failures": integrity_failures,
                             **{k: v2[k] for k in ("acknowledged", "lost", "half_applied",
                                                   "in_flight_committed")}}
    finally:
        zygote.close()
    out["problems"] = problems[:20]
    out["seconds"] = round(time.monotonic() - started, 1)
    emit(out, args.out)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
