"""The cost-aware queue: a time model per document (length prior, then fitted on the
project's recorded times) and entropy per predicted second."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.active import strategies as S
from core.active import time_model as T
from core.project import Project
from core.store import repo
from core.store.models import DocumentScore
from core.types import DocumentRecord


def test_prior_until_enough_documents_then_a_robust_fit() -> None:
    assert T.fit([100] * 5, [30.0] * 5) is T.PRIOR  # too few timed documents
    rng = np.random.default_rng(0)
    chars = rng.integers(50, 2000, size=40)
    secs = 8.0 + 0.03 * chars + rng.normal(0, 1.0, size=40)
    secs[:3] = 1500.0  # three documents left open over a break
    model = T.fit(chars, secs)
    assert model.source == "fitted" and model.documents == 40
    assert model.per_char == pytest.approx(0.03, abs=0.005)
    assert model.intercept == pytest.approx(8.0, abs=3.0)
    # Least squares on the same data is pulled far off by the three outliers.
    ls_slope = np.polyfit(chars, secs, 1)[0]
    assert abs(ls_slope - 0.03) > 5 * abs(model.per_char - 0.03)


def test_a_fit_never_predicts_less_time_for_a_longer_document() -> None:
    chars = np.arange(10, 30)
    model = T.fit(chars, 100.0 - chars)  # odd data: longer went faster
    assert model.per_char == 0.0
    assert np.all(np.diff(model.seconds([10, 100, 1000])) >= 0)
    assert T.fit([10] * 12, [20.0] * 12).per_char == T.PRIOR.per_char  # one length only


def test_times_over_the_cap_and_non_positive_ones_are_not_fitted() -> None:
    model = T.fit([100] * 12 + [200], [10.0] * 12 + [T.MAX_SECONDS_PER_DOCUMENT + 1])
    assert model.documents == 12
    with pytest.raises(ValueError, match="2 lengths for 3 times"):
        T.fit([1, 2], [1.0, 2.0, 3.0])


def test_rank_cost_aware_prefers_information_per_second() -> None:
    sure = np.array([[0.98, 0.01, 0.01]])
    unsure = np.array([[0.34, 0.33, 0.33]])
    probs = [unsure, unsure, sure]
    ranked = S.rank(["long", "short", "sure"], probs, strategy="cost_aware",
                    costs=[600.0, 10.0, 10.0])
    assert [r.doc_id for r in ranked] == ["short", "sure", "long"]
    assert [r.doc_id for r in S.rank(["long", "short", "sure"], probs, strategy="entropy")][:2] \
        == ["long", "short"]
    with pytest.raises(ValueError, match="predicted seconds"):
        S.rank(["a"], [unsure], strategy="cost_aware")
    assert S.canonical_strategy("cost-aware") == "cost_aware"


def _project_with_scores(tmp_path: Path) -> tuple[Project, dict[str, int]]:
    project = Project.create(tmp_path / "p.db", tasks={"ner": ["Disease"]})
    texts = {"long": "word " * 400, "short": "short note", "mid": "a middling note " * 10}
    with project.write() as s:
        repo.add_documents(s, [DocumentRecord(text=t, external_id=k) for k, t in texts.items()])
    with project.read() as s:
        ids = {r.external_id: r.doc_id for r in repo.iter_records(s)}
    with project.write() as s:
        task_id = repo.require_task(s, "ner").id
        for key, score in (("long", 0.9), ("short", 0.5), ("mid", 0.6)):
            s.add(DocumentScore(document_id=ids[key], task_id=task_id, strategy="entropy",
                                score=score))
    return project, ids


def test_queue_cost_aware_uses_the_prior_then_the_recorded_times(tmp_path: Path) -> None:
    project, ids = _project_with_scores(tmp_path)
    with project:
        by_entropy = [e.doc_id for e in project.review.queue("ner", strategy="entropy")]
        assert by_entropy == [ids["long"], ids["mid"], ids["short"]]
        prior = project.review.queue("ner", strategy="cost_aware")
        assert [e.doc_id for e in prior] == [ids["short"], ids["mid"], ids["long"]]
        assert prior[0].score == pytest.approx(0.5 / float(T.PRIOR.seconds([10])[0]))

        # Recorded times say this annotator is slow on short notes and fast on long ones
        # (odd, but the fit must follow the project's own times, not the prior).
        extra = [DocumentRecord(text="x" * n, external_id=f"t{n}") for n in range(20, 260, 20)]
        with project.write() as s:
            repo.add_documents(s, extra)
        with project.read() as s:
            timed = {r.doc_id: len(r.text) for r in repo.iter_records(s)
                     if r.external_id.startswith("t")}
        for doc_id, n in timed.items():
            project.timings.record(doc_id, "ner", "label", 120.0 - 0.1 * n)
        with project.read() as s:
            model = T.fit_from_session(s, "ner")
        assert model.source == "fitted" and model.documents == len(timed)
        assert model.per_char == 0.0  # longer went faster here: never a negative slope
        fitted = project.review.queue("ner", strategy="cost_aware")
        # Same predicted time for all: the order is entropy's again.
        assert [e.doc_id for e in fitted][:3] == by_entropy
