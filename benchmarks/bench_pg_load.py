"""A shared PostgreSQL project under load, beside the same work on a project file.

For each back end and each N in ``--processes`` (default 4 and 16): a new project of
``--docs-per-process x N`` notes; N processes start at once, each labelling its own notes
(one entity, then the review status: two user actions, each committed on its own, as the
app commits them), all beginning at the same moment once every one has opened the project.
Reported: actions per second from that moment to the last process's end,
errors (a "locked" would be one), and labels lost (entities the processes were told were
stored, counted against the database afterwards).

Then the document list of ``--list-docs`` notes (default 100,000) on each back end: the
time to get the ids the list shows (``project.documents.filter``, what opening the list
costs) and to fetch pages of 50 rows at the top, the middle and the end (what a scroll
costs).

The PostgreSQL server is a throw-away cluster started for the run (tests/pg_server.py:
the system's ``initdb``, a Unix socket in a temporary folder). Prints one JSON object
(``--out FILE`` writes it there too).

    python benchmarks/bench_pg_load.py --out benchmarks/results/pg_load.json
    python benchmarks/bench_pg_load.py --tiny
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_cli import add_common_args, emit, tiny

TEXT = "Pt with flu and cough, given aspirin and rest; fever gone, rash noted, BP fine."

# One labelling process: its share of the notes (every N-th, from its index), one entity
# and then the review status on each; prints what it was told was stored.
WORKER = r"""
import json, sys, time
from core.project import DocFilter, Project
url, index, n, start_at = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[5])
out = {"added": 0, "actions": 0, "errors": []}
with Project.open(url) as project:
    ids = project.documents.filter(DocFilter())[index::n]
    start = sys.argv[4].index("aspirin")
    out["late"] = time.time() > start_at  # started after the others began: less contention
    time.sleep(max(0.0, start_at - time.time()))  # all begin together
    t0 = time.perf_counter()
    for doc in ids:
        try:
            project.annotations.add_entity(doc, start, start + 7, "Drug")
            out["added"] += 1
            out["actions"] += 1
            project.annotations.set_review_status(doc, "reviewed")
            out["actions"] += 1
        except Exception as exc:
            out["errors"].append(f"{type(exc).__name__}: {exc}")
    out["seconds"] = time.perf_counter() - t0
    out["ended"] = time.time()
print(json.dumps(out))
"""


def make_project(location: str, docs: int) -> None:
    from core.project import Project
    from core.types import DocumentRecord

    with Project.create(location, tasks={"ner": ["Drug"]}) as project:
        project.documents.add([DocumentRecord(text=f"{TEXT} Note {i}.", external_id=f"n{i}")
                               for i in range(docs)])


def stored_entities(location: str) -> int:
    from sqlalchemy import func, select

    from core.project import Project
    from core.store.models import EntityAnnotation

    with Project.open(location) as project, project.read() as session:
        return int(session.scalar(select(func.count()).select_from(EntityAnnotation)) or 0)


def load_run(location: str, processes: int) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    # Every process opens the project first and begins labelling at the same moment.
    start_at = time.time() + 10 + 1.5 * processes
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, location, str(i), str(processes),
                               TEXT, str(start_at)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(processes)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=3600)
        if p.returncode != 0:
            raise SystemExit(f"a labelling process failed ({p.returncode}):\n{err[-2000:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    wall = max(r["ended"] for r in results) - start_at
    actions = sum(r["actions"] for r in results)
    added = sum(r["added"] for r in results)
    errors = [e for r in results for e in r["errors"]]
    stored = stored_entities(location)
    return {"processes": processes, "actions": actions, "wall_seconds": round(wall, 2),
            "started_late": sum(bool(r["late"]) for r in results),
            "actions_per_second": round(actions / wall, 1), "errors": len(errors),
            "error_examples": errors[:3], "told_stored": added, "stored": stored,
            "lost": added - stored,
            "locked_errors": sum("locked" in e for e in errors)}


def list_run(location: str) -> dict[str, Any]:
    from core.project import DocFilter, Project

    with Project.open(location) as project:
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            ids = project.documents.filter(DocFilter())
            times.append(time.perf_counter() - t0)
        pages = {}
        for name, at in (("top", 0), ("middle", len(ids) // 2), ("end", max(len(ids) - 50, 0))):
            t0 = time.perf_counter()
            rows = project.documents.page(ids[at:at + 50])
            pages[name] = round((time.perf_counter() - t0) * 1000, 1)
            assert len(rows) == min(50, len(ids) - at)
    return {"documents": len(ids), "open_list_ms": round(statistics.median(times) * 1000, 1),
            "page_of_50_ms": pages}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--processes", default="4,16")
    ap.add_argument("--docs-per-process", type=int, default=40)
    ap.add_argument("--list-docs", type=int, default=100_000)
    add_common_args(ap)
    args = ap.parse_args(argv)
    tiny(args, processes="2", docs_per_process=5, list_docs=500)
    counts = [int(x) for x in args.processes.split(",") if x]
    from tests.pg_server import start_server

    server = start_server()
    out: dict[str, Any] = {"load_average_start": [round(x, 2) for x in os.getloadavg()],
                           "cpu_count": os.cpu_count(), "load": {}, "list": {}}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-pg-") as tmp:
            for backend in ("postgresql", "sqlite"):
                runs = []
                for n in counts:
                    location = (server.url(server.new_database()) if backend == "postgresql"
                                else str(Path(tmp) / f"load-{n}.db"))
                    make_project(location, n * args.docs_per_process)
                    runs.append(load_run(location, n))
                out["load"][backend] = runs
                location = (server.url(server.new_database()) if backend == "postgresql"
                            else str(Path(tmp) / "list.db"))
                make_project(location, args.list_docs)
                out["list"][backend] = list_run(location)
    finally:
        server.stop()
    out["lost"] = sum(r["lost"] for runs in out["load"].values() for r in runs)
    out["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    emit(out, args.out, indent=1)
    return 0 if out["lost"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
