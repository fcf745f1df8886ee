"""Concurrency: labelling (one GUI-like writer thread) while a training snapshot is read and
pre-annotation writes suggestions in chunks from another thread and another process.

Checks: no "database is locked" (or any) error, nothing lost, and every snapshot equals the
state at some transaction boundary (the labelling plan is applied in a fixed order, so a
consistent snapshot holds exactly a prefix of it).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select

from core.project import Project
from core.store import repo
from core.store.models import Document, DocumentScore, EntityAnnotation, ModelVersion, Suggestion
from core.tasks import labelled_records
from core.types import DocumentRecord, TaskKind

from .reliability_lib import REPO, WORKER, cli_env, integrity, scaled, summary

N_DOCS = 60
PER_DOC = 4
TEXT = "Pt with flu and cough, given aspirin and rest; fever gone, rash noted, BP fine today."


def _plan() -> list[tuple[int, int, int, str]]:
    """The GUI's labelling actions, in order: (doc index, start, end, label)."""
    words = [("flu", "Disease"), ("cough", "Symptom"), ("aspirin", "Drug"), ("rash", "Symptom")]
    plan = []
    for i in range(N_DOCS):
        for word, label in words[:PER_DOC]:
            start = TEXT.index(word)
            plan.append((i, start, start + len(word), label))
    return plan


def _make_project(path: Path) -> Project:
    project = Project.create(path, tasks={"ner": ["Disease", "Drug", "Symptom"]})
    with project.write() as s:
        repo.add_documents(s, [DocumentRecord(f"{TEXT} #{i}", external_id=str(i)) for i in range(N_DOCS)])
    return project


class FakePredictor:
    """Stands in for core.engine.predict.Predictor: instant, deterministic predictions."""

    def __init__(self) -> None:
        from core.engine.settings import TaskSpec

        self.spec = TaskSpec(task=TaskKind.NER, labels=("Disease", "Drug", "Symptom"))
        self.calls = 0

    def predict(self, records: list[DocumentRecord], batch_size: int = 32) -> list[Any]:
        from core.engine.results import EntityPrediction, PredictedSpan

        self.calls += 1
        time.sleep(0.03)  # the model "thinks" with no session open
        out = []
        for r in records:
            start = r.text.index("fever")
            n_words = 4
            probs = np.full((n_words, 7), 0.1, dtype=np.float32)
            probs[:, 0] = 0.4
            out.append(
                EntityPrediction(
                    spans=(PredictedSpan(start, start + 5, "Symptom", 0.8, 0.7, "fever"),),
                    word_offsets=np.array([[i, i + 1] for i in range(n_words)]),
                    word_probs=probs,
                    word_tags=("O",) * n_words,
                    tag_names=("O", "B-Disease", "I-Disease", "B-Drug", "I-Drug", "B-Symptom", "I-Symptom"),
                )
            )
        return out


def test_labelling_training_snapshot_and_preannotation_together(tmp_path: Path) -> None:
    from core.active import preannotate as preannotate_mod

    path = tmp_path / "busy.db"
    project = _make_project(path)
    with project.write() as s:
        doc_ids = list(s.scalars(select(Document.id).order_by(Document.id)))
        task_id = repo.require_task(s, "ner").id
        mv = ModelVersion(task_id=task_id, version=1, base_model="fake", path=str(tmp_path / "m"),
                          labels=["Disease", "Drug", "Symptom"])
        s.add(mv)
        s.flush()
        mv_id = mv.id
    plan = [(doc_ids[i], a, b, label) for i, a, b, label in _plan()]
    errors: list[str] = []
    latencies: list[float] = []
    snapshots: list[int] = []
    gui_done = threading.Event()
    chunk = 8

    def guarded(fn):  # type: ignore[no-untyped-def]
        def wrapper() -> None:
            try:
                fn()
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(f"{fn.__name__}: {type(exc).__name__}: {exc}")
        return wrapper

    @guarded
    def gui() -> None:
        """Called on the 'GUI' thread: one transaction per labelling action."""
        try:
            for doc, a, b, label in plan:
                t0 = time.perf_counter()
                with project.write() as s:
                    repo.add_entity(s, doc, a, b, label)
                    repo.set_review_status(s, doc, "reviewed")
                latencies.append(time.perf_counter() - t0)
        finally:
            gui_done.set()

    @guarded
    def trainer_snapshots() -> None:
        """Called on a worker thread: what training reads, checked for consistency."""
        while (not gui_done.is_set() or len(snapshots) < 3) and len(snapshots) < 100000:
            with project.read() as s:
                records = labelled_records(s, TaskKind.NER)
                time.sleep(0.005)  # writers commit meanwhile
                again = s.scalar(select(func.count(EntityAnnotation.id)))
                suggestion_docs = s.scalar(
                    select(func.count(func.distinct(DocumentScore.document_id)))
                )
            seen = sorted(
                (r.doc_id, sp.start, sp.end, sp.label) for r in records for sp in r.spans
            )
            k = len(seen)
            if seen != sorted(plan[:k]):
                errors.append(f"snapshot is not a transaction boundary: {k} entities")
            if again != k:
                errors.append(f"snapshot changed inside one read: {k} then {again}")
            labelled = {r.doc_id for r in records}
            with_spans = {r.doc_id for r in records if r.spans}
            if labelled != with_spans:
                errors.append("reviewed and labelled documents disagree inside a snapshot")
            del suggestion_docs
            snapshots.append(k)

    result: dict[str, Any] = {}

    @guarded
    def preannotation() -> None:
        """Called on a worker thread: the real pre-annotation loop, fake model."""
        result["r"] = preannotate_mod.preannotate(
            project, "ner", model_version_id=mv_id, predictor=FakePredictor(), chunk_size=chunk
        )

    # Another process writes suggestion chunks meanwhile (a second app instance / CLI run).
    other = subprocess.Popen(
        [sys.executable, str(WORKER), "job", json.dumps({
            "mode": "suggest_chunks", "db": str(path), "log": str(tmp_path / "other.log"),
            "chunks": 40, "size": 10, "task_id": task_id,
        })],
        cwd=REPO, env=cli_env(), stderr=subprocess.PIPE, text=True,
    )
    threads = [threading.Thread(target=f) for f in (gui, trainer_snapshots, preannotation)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    hung = [name for name, t in zip(("gui", "trainer_snapshots", "preannotation"), threads)
            if t.is_alive()]
    assert not hung, f"threads still running after 240 s (deadlock?): {hung}"
    _, other_err = other.communicate(timeout=240)
    assert other.returncode == 0, other_err
    assert not errors, errors[:10]
    assert all("locked" not in e for e in errors)

    with project.read() as s:
        final = sorted(
            s.execute(select(EntityAnnotation.document_id, EntityAnnotation.start,
                             EntityAnnotation.end)).all()
        )
        other_rows = s.scalar(
            select(func.count(Suggestion.id)).where(Suggestion.kind == "class")
        )
        pre_rows = s.scalar(select(func.count(Suggestion.id)).where(Suggestion.kind == "entity"))
    project.close()
    assert final == sorted((d, a, b) for d, a, b, _ in plan), "a labelling action was lost"
    assert other_rows == 40 * 10, "suggestion chunks from the other process were lost"
    r = result["r"]
    assert pre_rows == r.suggestions
    assert integrity(path) == "ok"
    lat = sorted(latencies)
    summary(
        f"concurrency: {len(plan)} labelling transactions + {r.documents} pre-annotated documents "
        f"({r.suggestions} suggestions, {r.skipped_conflicts} skipped as conflicting, chunk {chunk}) "
        f"+ 400 suggestions from another process; {len(snapshots)} training snapshots, all at a "
        f"transaction boundary; 0 'database is locked'; labelling latency p50 "
        f"{statistics.median(lat) * 1000:.1f} ms, max {lat[-1] * 1000:.1f} ms"
    )


def test_many_writer_processes_and_threads_lose_nothing(tmp_path: Path) -> None:
    """Three processes and two threads append chunks at once; every chunk is there."""
    path = tmp_path / "writers.db"
    project = _make_project(path)
    with project.read() as s:
        task_id = repo.require_task(s, "ner").id
    n_proc, chunks, size = 3, scaled(15), 20
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), "job", json.dumps({
                "mode": "suggest_chunks", "db": str(path), "log": str(tmp_path / f"p{i}.log"),
                "chunks": chunks, "size": size, "task_id": task_id,
            })],
            cwd=REPO, env=cli_env(), stderr=subprocess.PIPE, text=True,
        )
        for i in range(n_proc)
    ]
    errors: list[str] = []

    def thread_writer(k: int) -> None:
        try:
            for c in range(chunks):
                with project.write() as s:
                    doc_ids = list(s.scalars(select(Document.id).limit(size)))
                    for d in doc_ids:
                        s.add(Suggestion(document_id=d, task_id=task_id, kind="class",
                                         payload={"label": f"t{k}-{c}"}, confidence=0.5))
        except BaseException as exc:  # noqa: BLE001
            errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=thread_writer, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for p in procs:
        _, err = p.communicate(timeout=240)
        assert p.returncode == 0, err
    with project.read() as s:
        total = s.scalar(select(func.count(Suggestion.id)))
    project.close()
    expected = (n_proc + 2) * chunks * size
    assert not errors, errors
    assert total == expected
    summary(
        f"concurrency/writers: {n_proc} processes + 2 threads, {(n_proc + 2) * chunks} chunk "
        f"transactions, {total}/{expected} rows present, 0 errors"
    )


pytestmark = pytest.mark.timeout(300)
