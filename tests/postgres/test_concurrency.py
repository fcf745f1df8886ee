"""Several processes (and threads) label the same PostgreSQL project at once: nothing is
lost, nobody sees "locked" or a serialization failure, a span two writers race for is
stored once (the write lock makes the overlap check and the insert one step), and a reader's
snapshot never changes inside its transaction. tests/reliability/test_concurrency.py is the
same for a project file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.project import DocFilter, Project
from core.store.models import EntityAnnotation
from core.types import DocumentRecord

REPO = Path(__file__).resolve().parents[2]
TEXT = "Pt with flu and cough, given aspirin and rest; fever gone, rash noted, BP fine today."
WORDS = ("flu", "cough", "aspirin", "rash")
N_DOCS = 30

# One labelling process: its own word on every document, then the contested word "fever"
# on every document (every process tries it; the first one wins, the others are refused).
WORKER = r"""
import json, sys, time
from core.errors import AnnotatorError
from core.project import DocFilter, Project
url, word, text = sys.argv[1], sys.argv[2], sys.argv[3]
out = {"added": 0, "refused": 0, "errors": [], "seconds": 0.0}
with Project.open(url) as project:
    ids = project.documents.filter(DocFilter())
    t0 = time.perf_counter()
    for target in (word, "fever"):
        start = text.index(target)
        for doc in ids:
            try:
                project.annotations.add_entity(doc, start, start + len(target), "Finding")
                project.annotations.set_review_status(doc, "reviewed")
                out["added"] += 1
            except AnnotatorError as exc:
                if "overlap" in str(exc):
                    out["refused"] += 1
                else:
                    out["errors"].append(f"{type(exc).__name__}: {exc}")
            except Exception as exc:
                out["errors"].append(f"{type(exc).__name__}: {exc}")
    out["seconds"] = time.perf_counter() - t0
print(json.dumps(out))
"""


def test_processes_labelling_one_database_lose_nothing(pg_url: str) -> None:
    with Project.create(pg_url, tasks={"ner": ["Finding"]}) as project:
        project.documents.add([DocumentRecord(f"{TEXT} #{i}") for i in range(N_DOCS)])
        ids = project.documents.filter(DocFilter())
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, pg_url, word, TEXT], cwd=REPO, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for word in WORDS
    ]
    snapshots: list[str] = []
    stop = threading.Event()

    def reader() -> None:
        """A reader beside the writers: one snapshot per transaction."""
        with Project.open(pg_url, readonly=True) as r:
            while not stop.is_set():
                with r.read() as s:
                    first = s.scalar(select(func.count(EntityAnnotation.id)))
                    time.sleep(0.01)
                    again = s.scalar(select(func.count(EntityAnnotation.id)))
                if first != again:
                    snapshots.append(f"snapshot changed inside one read: {first} then {again}")
                snapshots.append("ok")

    thread = threading.Thread(target=reader)
    thread.start()
    results = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=240)
            assert p.returncode == 0, err[-2000:]
            assert "locked" not in err.lower() and "serializ" not in err.lower(), err[-2000:]
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        stop.set()
        thread.join(timeout=60)
    assert [e for r in results for e in r["errors"]] == []
    assert [s for s in snapshots if s != "ok"] == []
    assert sum(r["added"] for r in results) == N_DOCS * (len(WORDS) + 1)
    assert sum(r["refused"] for r in results) == N_DOCS * (len(WORDS) - 1)
    with Project.open(pg_url) as project:
        with project.read() as s:
            rows = sorted(s.execute(select(EntityAnnotation.document_id, EntityAnnotation.start,
                                           EntityAnnotation.end)).all())
        counts = project.documents.counts(None)
    expected = sorted((d, TEXT.index(w), TEXT.index(w) + len(w))
                      for d in ids for w in (*WORDS, "fever"))
    assert [tuple(r) for r in rows] == expected, "a label was lost or stored twice"
    assert counts.stats["review_status"].get("reviewed") == N_DOCS
    actions = sum(r["added"] + r["refused"] for r in results)
    slowest = max(r["seconds"] for r in results)
    print(f"postgres concurrency: {len(procs)} processes, {actions} labelling actions in "
          f"{slowest:.1f} s ({actions / slowest:.0f}/s), 0 lost, {len(snapshots)} reader snapshots")


def test_threads_writing_one_database_lose_nothing(pg_url: str) -> None:
    from core.store import repo

    errors: list[str] = []
    with Project.create(pg_url, tasks={"classify": ["pos", "neg"]}) as project:
        def writer(i: int) -> None:
            try:
                for k in range(20):
                    with project.write() as s:
                        repo.add_documents(s, [DocumentRecord(f"note {i}-{k}", classes=("pos",))])
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert project.documents.stats()["documents"] == 120


pytestmark = pytest.mark.timeout(300)
