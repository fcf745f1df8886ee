from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest
from al_helpers import TinyModels, class_docs, ner_docs, qa_docs
from sqlalchemy import func, select

from core import review
from core.active import queue as Q
from core.active.preannotate import (
    NOT_LOADED,
    NoModelError,
    PreannotateProgress,
    documents_to_predict,
    preannotate,
)
from core.project import Project
from core.store import repo
from core.store.models import Document, DocumentScore, ModelVersion, QuestionRow, Suggestion
from core.types import DocumentRecord, Split, TaskKind


def _unlabelled(docs: list[DocumentRecord]) -> list[DocumentRecord]:
    return [replace(d, spans=(), classes=()) for d in docs]


def _add_version(project: Project, task: str, path: Path, version: int) -> int:
    with project.write() as s:
        row = ModelVersion(
            task_id=repo.require_task(s, task).id, version=version, base_model="tiny",
            path=str(path), is_active=True,
        )
        for other in s.scalars(select(ModelVersion)):
            other.is_active = False
        s.add(row)
        s.flush()
        return row.id


@pytest.fixture
def ner_project(tmp_path: Path, tiny_models: TinyModels) -> Iterator[Project]:
    p = Project.create(tmp_path / "ner.db", tasks={"ner": ["DRUG"]})
    docs = _unlabelled(ner_docs(40, seed=7))
    with p.write() as s:
        repo.add_documents(s, docs[:24], split=Split.TRAIN)
        repo.add_documents(s, docs[24:30])  # unassigned
        repo.add_documents(s, docs[30:35], split=Split.DEV)
        repo.add_documents(s, docs[35:], split=Split.TEST)
    _add_version(p, "ner", tiny_models["ner"], 1)
    yield p
    p.close()


def _splits(project: Project) -> dict[int, str]:
    with project.read() as s:
        return dict(s.execute(select(Document.id, Document.split)).all())


@dataclass(frozen=True)
class Row:
    id: int
    document_id: int
    question_id: int | None
    model_version_id: int | None
    kind: str
    payload: dict
    confidence: float
    state: str


def _suggestions(project: Project) -> list[Row]:
    with project.read() as s:
        return [
            Row(r.id, r.document_id, r.question_id, r.model_version_id, r.kind, dict(r.payload),
                r.confidence, r.state)
            for r in s.scalars(select(Suggestion).order_by(Suggestion.id))
        ]


def test_ner_suggestions_scores_incremental_and_queue(ner_project: Project) -> None:
    events: list[PreannotateProgress] = []
    result = preannotate(ner_project, "ner", chunk_size=8, on_progress=events.append)
    splits = _splits(ner_project)
    assert result.documents == 35  # every document but the 5 test ones
    assert result.suggestions > 0 and not result.cancelled
    assert [e.done for e in events] == [8, 16, 24, 32, 35] and events[-1].total == 35
    rows = _suggestions(ner_project)
    assert {splits[r.document_id] for r in rows} <= {"train", "unassigned", "dev"}
    for r in rows:
        assert r.kind == "entity" and r.state == "pending" and 0 <= r.confidence <= 1
        assert set(r.payload) >= {"start", "end", "label"}
    with ner_project.read() as s:
        scored = s.execute(
            select(DocumentScore.document_id, func.count()).group_by(DocumentScore.document_id)
        ).all()
        assert len(scored) == 35 and all(n == 3 for _, n in scored)
        queue = Q.review_queue(s, "ner", strategy="entropy")
        lc = Q.review_queue(s, "ner", strategy="least_confidence", limit=5)
    # Only train and unassigned documents are queued, most uncertain first.
    assert {splits[e.doc_id] for e in queue} == {"train", "unassigned"}
    assert len(queue) == 30
    scores = [e.score for e in queue]
    assert scores == sorted(scores, reverse=True)
    assert len(lc) == 5

    again = preannotate(ner_project, "ner")
    assert again.documents == 0 and again.suggestions == 0
    assert len(_suggestions(ner_project)) == len(rows)


def test_no_model_is_loaded_when_no_document_is_left_to_predict(
    ner_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loading a model takes seconds (torch); a run with nothing to do loads none."""
    from core.engine import predict

    first = preannotate(ner_project, "ner")
    assert first.documents == 35 and first.backend != NOT_LOADED

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a model was loaded with no document to predict")

    monkeypatch.setattr(predict, "cached_predictor", refuse)
    monkeypatch.setattr(predict, "Predictor", refuse)
    again = preannotate(ner_project, "ner")
    assert (again.documents, again.backend, again.precision) == (0, NOT_LOADED, NOT_LOADED)
    assert again.model_version_id == first.model_version_id
    # A new document is predicted again: the model is loaded for it.
    with ner_project.write() as s:
        repo.add_documents(s, [replace(ner_docs(1, seed=99)[0], spans=())],
                           split=Split.TRAIN)
    with pytest.raises(AssertionError, match="a model was loaded"):
        preannotate(ner_project, "ner")


def test_new_version_replaces_pending_keeps_history_and_human_labels(
    ner_project: Project, tiny_models: TinyModels
) -> None:
    preannotate(ner_project, "ner")
    first = _suggestions(ner_project)
    assert len(first) >= 3
    accepted, rejected, clash = first[0], first[1], first[2]
    with ner_project.write() as s:
        review.accept_suggestion(s, accepted.id)
        review.reject_suggestion(s, rejected.id)
        # A person labels the span of a pending suggestion (differently).
        repo.add_entity(s, clash.document_id, clash.payload["start"], clash.payload["end"],
                        "DRUG", origin="human")
    with ner_project.read() as s:
        humans_before = repo.stats(s)["entities"]

    v2 = _add_version(ner_project, "ner", tiny_models["ner"], 2)
    result = preannotate(ner_project, "ner")
    assert result.model_version == 2 and result.documents == 35
    assert result.replaced == len(first) - 2
    assert result.skipped_conflicts >= 1
    rows = _suggestions(ner_project)
    old = [r for r in rows if r.model_version_id != v2]
    assert sorted((r.id, r.state) for r in old) == sorted(
        [(accepted.id, "accepted"), (rejected.id, "rejected")]
    )
    new_pending = [r for r in rows if r.model_version_id == v2]
    assert all(r.state == "pending" for r in new_pending)
    with ner_project.read() as s:
        assert repo.stats(s)["entities"] == humans_before
        spans = {
            d: [(a.start, a.end) for a in s.get(Document, d).entities]
            for d in {r.document_id for r in new_pending}
        }
    for r in new_pending:  # no pending suggestion overlaps a human span
        a, b = r.payload["start"], r.payload["end"]
        assert not any(x < b and a < y for x, y in spans[r.document_id])
    with ner_project.read() as s:
        assert s.scalar(
            select(func.count()).select_from(DocumentScore).where(
                DocumentScore.model_version_id != v2)
        ) == 0


def test_reviewed_documents_are_not_predicted(ner_project: Project) -> None:
    with ner_project.write() as s:
        repo.set_review_status(s, 1, "reviewed")
        mv = s.scalars(select(ModelVersion.id)).one()
        todo = documents_to_predict(s, "ner", mv)
    assert 1 not in todo and len(todo) == 34
    with ner_project.read() as s:
        assert 1 not in [e.doc_id for e in Q.review_queue(s, "ner")]


def test_cancel_stops_between_chunks(ner_project: Project) -> None:
    stop = threading.Event()

    def on_progress(event: PreannotateProgress) -> None:
        stop.set()

    result = preannotate(ner_project, "ner", chunk_size=10, on_progress=on_progress, cancel=stop)
    # The chunks predicted before the cancel was seen are stored whole (the writer runs a
    # chunk behind the model), none after it.
    assert result.cancelled and result.documents in (10, 20, 30)
    with ner_project.read() as s:
        scored = set(s.scalars(select(DocumentScore.document_id).distinct()))
    assert scored == set(result.document_ids) and len(scored) == result.documents
    # Resuming predicts only the rest.
    assert preannotate(ner_project, "ner").documents == 35 - result.documents


def test_no_model_version_is_a_clear_error(tmp_path: Path) -> None:
    with Project.create(tmp_path / "x.db", tasks={"ner": ["DRUG"]}) as p:
        with pytest.raises(NoModelError, match="train one first"):
            preannotate(p, "ner")


def test_class_suggestions_skip_classified_documents(
    tmp_path: Path, tiny_models: TinyModels
) -> None:
    with Project.create(tmp_path / "c.db", tasks={"classify": ["pos", "neg"]}) as p:
        docs = class_docs(12, seed=3)
        with p.write() as s:
            repo.add_documents(s, docs[:2], split=Split.TRAIN)  # classified (imported)
            repo.add_documents(s, _unlabelled(docs[2:]), split=Split.TRAIN)
        _add_version(p, "classify", tiny_models["classify"], 1)
        result = preannotate(p, "classify")
        assert result.documents == 10 and result.suggestions == 10
        rows = _suggestions(p)
        assert {r.document_id for r in rows} == set(range(3, 13))
        for r in rows:
            assert r.kind == "class"
            assert set(r.payload["probabilities"]) == {"pos", "neg"}
            assert r.payload["label"] in ("pos", "neg")
            assert r.confidence == pytest.approx(max(r.payload["probabilities"].values()), abs=1e-5)
        with p.write() as s:
            review.accept_suggestion(s, rows[0].id)
            (c,) = s.get(Document, rows[0].document_id).classes
            assert c.origin == "accepted" and c.suggestion_id == rows[0].id
        with p.read() as s:
            queue = Q.review_queue(s, "classify", strategy="margin")
        assert rows[0].document_id not in [e.doc_id for e in queue] and len(queue) == 9


def test_answer_suggestions_only_for_open_questions(
    tmp_path: Path, tiny_models: TinyModels
) -> None:
    with Project.create(tmp_path / "q.db", tasks={"qa": []}) as p:
        docs = qa_docs(6, seed=5)
        open_docs = [replace(d, questions=tuple(replace(q, answers=()) for q in d.questions))
                     for d in docs]
        with p.write() as s:
            repo.add_documents(s, docs[:2], split=Split.TRAIN)  # answered
            repo.add_documents(s, open_docs[2:], split=Split.TRAIN)
        _add_version(p, "qa", tiny_models["qa"], 1)
        result = preannotate(p, "qa")
        assert result.documents == 4 and result.suggestions == 4
        with p.read() as s:
            qids = {q.document_id: q.id for q in s.scalars(select(QuestionRow))}
        for r in _suggestions(p):
            assert r.kind == "answer" and r.question_id == qids[r.document_id]
            assert r.payload.get("no_answer") or {"start", "end", "text"} <= set(r.payload)
        with p.read() as s:
            assert len(Q.review_queue(s, "qa")) == 4


def test_diverse_queue_with_predictor(ner_project: Project, tiny_models: TinyModels) -> None:
    from core.engine.predict import Predictor

    preannotate(ner_project, "ner")
    predictor = Predictor(tiny_models["ner"], device="cpu")
    queue = Q.build_queue(ner_project, "ner", strategy="diverse", predictor=predictor,
                          batch_size=5, limit=10)
    assert len(queue) == 10 and len({e.doc_id for e in queue}) == 10
    with ner_project.read() as s:
        plain = Q.review_queue(s, "ner", strategy="entropy")
    assert queue[0].doc_id == plain[0].doc_id
    randomly = Q.build_queue(ner_project, "ner", strategy="random", seed=3)
    assert sorted(e.doc_id for e in randomly) == sorted(e.doc_id for e in plain)


@pytest.mark.filterwarnings("ignore:.*quantize:UserWarning")
def test_quantized_prediction_agrees_with_fp32(ner_project: Project,
                                              tiny_models: TinyModels) -> None:
    import torch

    from core.active.preannotate import quantize_predictor
    from core.engine.predict import Predictor

    with ner_project.read() as s:
        docs = [DocumentRecord(text=t) for t in s.scalars(
            select(Document.text).where(Document.id.in_([1, 2, 3])).order_by(Document.id))]
    fp32 = Predictor(tiny_models["ner"], device="cpu").predict(docs)
    int8 = Predictor(tiny_models["ner"], device="cpu")
    quantize_predictor(int8)
    assert any(isinstance(m, torch.ao.nn.quantized.dynamic.Linear)
               for m in int8.loaded.model.modules())  # really int8
    q = int8.predict(docs)
    for a, b in zip(fp32, q):
        assert [(sp.start, sp.end, sp.label) for sp in a.spans] == [
            (sp.start, sp.end, sp.label) for sp in b.spans]
        assert np.abs(a.word_probs - b.word_probs).max() < 0.05
    result = preannotate(ner_project, "ner", quantize=True, doc_ids=[1, 2, 3])
    assert result.quantized and result.documents == 3
    assert np.isfinite(result.documents_per_second)
    # What was stored is what the int8 model predicted.
    stored = sorted((r.document_id, r.payload["start"], r.payload["end"], r.payload["label"])
                    for r in _suggestions(ner_project))
    assert stored == sorted((i + 1, sp.start, sp.end, sp.label)
                            for i, p in enumerate(q) for sp in p.spans)


def test_dev_documents_get_suggestions_but_never_enter_the_queue(ner_project: Project) -> None:
    preannotate(ner_project, "ner")
    splits = _splits(ner_project)
    dev_ids = {d for d, sp in splits.items() if sp == "dev"}
    with ner_project.read() as s:
        for strategy in ("random", "entropy", "margin", "least_confidence"):
            ids = {e.doc_id for e in Q.review_queue(s, "ner", strategy=strategy)}
            assert not ids & dev_ids
            assert not ids & {d for d, sp in splits.items() if sp == "test"}
    assert TaskKind.NER.value == "ner"


def test_reading_and_writing_run_beside_the_model(ner_project: Project,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The next chunk is read and the last one written on helper threads; progress and
    the counts come back to the calling thread, in chunk order."""
    from core.active import preannotate as P

    threads: dict[str, set[str]] = {"read": set(), "write": set(), "progress": set()}
    snapshot, write_chunk = P._snapshot, P._write_chunk

    def reading(*args: object, **kw: object) -> object:
        threads["read"].add(threading.current_thread().name)
        return snapshot(*args, **kw)  # type: ignore[arg-type]

    def writing(*args: object, **kw: object) -> object:
        threads["write"].add(threading.current_thread().name)
        return write_chunk(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(P, "_snapshot", reading)
    monkeypatch.setattr(P, "_write_chunk", writing)
    done: list[int] = []

    def progress(event: PreannotateProgress) -> None:
        threads["progress"].add(threading.current_thread().name)
        done.append(event.done)

    result = preannotate(ner_project, "ner", chunk_size=4, on_progress=progress)
    assert result.documents == 35 and done == [4, 8, 12, 16, 20, 24, 28, 32, 35]
    assert all(n.startswith("preannotate-read") for n in threads["read"])
    assert all(n.startswith("preannotate-write") for n in threads["write"])
    assert threads["progress"] == {threading.current_thread().name}
    with ner_project.read() as s:  # shortest first: chunks of about one length
        lengths = dict(s.execute(select(Document.id, func.length(Document.text))).tuples().all())
    chunks = [[lengths[i] for i in result.document_ids[c:c + 4]] for c in range(0, 35, 4)]
    assert all(max(a) <= min(b) for a, b in itertools.pairwise(chunks))


def test_a_failed_write_ends_the_run_with_its_error(ner_project: Project,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from core.active import preannotate as P

    write_chunk, calls = P._write_chunk, []

    def failing(*args: object, **kw: object) -> object:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        return write_chunk(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(P, "_write_chunk", failing)
    with ner_project.read() as s:
        mv = s.scalars(select(ModelVersion.id)).one()
        order = P._shortest_first(s, documents_to_predict(s, "ner", mv))
    with pytest.raises(RuntimeError, match="disk on fire"):
        preannotate(ner_project, "ner", chunk_size=10)
    with ner_project.read() as s:  # the first chunk was stored whole, the failed one not
        stored = set(s.scalars(select(DocumentScore.document_id)))
    assert set(order[:10]) <= stored and not stored & set(order[10:20])


def test_the_model_is_loaded_once_and_kept(ner_project: Project,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from core.engine import predict as E

    E.clear_predictor_cache()
    loads: list[str] = []
    real = E.Predictor.__init__

    def counting(self: object, model_dir: object, **kw: object) -> None:
        loads.append(str(model_dir))
        real(self, model_dir, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(E.Predictor, "__init__", counting)
    preannotate(ner_project, "ner", doc_ids=[1, 2])
    preannotate(ner_project, "ner", doc_ids=[3, 4])
    assert len(loads) == 1
    preannotate(ner_project, "ner", doc_ids=[5], precision="fp32")  # other options: another
    assert len(loads) == 2
    E.clear_predictor_cache()


def test_bf16_suggestions_match_fp32(ner_project: Project) -> None:
    result = preannotate(ner_project, "ner", precision="bf16", doc_ids=[1, 2, 3, 4, 5, 6])
    assert result.precision == "bf16" and result.documents == 6
    bf16 = sorted((r.document_id, r.payload["start"], r.payload["end"])
                  for r in _suggestions(ner_project))
    with ner_project.write() as s:
        s.execute(Suggestion.__table__.delete())
        s.execute(DocumentScore.__table__.delete())
    fp32 = preannotate(ner_project, "ner", precision="fp32", doc_ids=[1, 2, 3, 4, 5, 6])
    assert fp32.precision == "fp32"
    assert sorted((r.document_id, r.payload["start"], r.payload["end"])
                  for r in _suggestions(ner_project)) == bf16


def _statements_of_a_run(tmp_path: Path, tiny_models: TinyModels, n_docs: int) -> int:
    from sqlalchemy import Engine, event

    from core.types import AttributeSpec

    p = Project.create(tmp_path / f"count-{n_docs}.db", tasks={"ner": ["DRUG"]})
    try:
        p.annotations.add_task("ner", attributes=[AttributeSpec.parse("negation=Affirmed,Negated")])
        with p.write() as s:
            repo.add_documents(s, _unlabelled(ner_docs(n_docs, seed=3)))
        _add_version(p, "ner", tiny_models["ner"], 1)
        statements: list[str] = []

        def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
            statements.append(statement)

        event.listen(Engine, "before_cursor_execute", count)
        try:
            result = preannotate(p, "ner", chunk_size=1000)
        finally:
            event.remove(Engine, "before_cursor_execute", count)
        assert result.documents == n_docs and result.suggestions > 0
        return len(statements)
    finally:
        p.close()


def test_a_run_reads_and_writes_a_chunk_in_the_same_statements_however_many_documents(
        tmp_path: Path, tiny_models: TinyModels) -> None:
    # The snapshot reads the task's declarations once and every document's labels in a few
    # queries, and the suggestions and scores go in one INSERT each: nothing per document.
    assert _statements_of_a_run(tmp_path, tiny_models, 30) == _statements_of_a_run(
        tmp_path, tiny_models, 6)


def test_a_document_of_no_word_scores_zero_instead_of_failing_the_run() -> None:
    """An empty text predicts no word: a (0, tags) matrix, not a reshape error that stopped
    the whole pre-annotation (every strategy scores it 0)."""
    from core.active.preannotate import document_scores
    from core.active.uncertainty import probability_matrix
    from core.engine.results import EntityPrediction

    empty = EntityPrediction(spans=(), word_offsets=np.zeros((0, 2), dtype=np.int64),
                             word_probs=np.zeros((0, 3), dtype=np.float32), word_tags=(),
                             tag_names=("O", "B-DRUG", "I-DRUG"))
    assert probability_matrix(empty).shape == (0, 3)
    scores = document_scores(empty)
    assert scores and set(scores.values()) == {0.0}
