from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from core.active import strategies as S

UNCERTAIN = S.UNCERTAINTY_STRATEGIES


def _dist(rows: list[list[float]]) -> np.ndarray:
    return np.array(rows, dtype=np.float64)


def _softmax_rows(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("strategy", UNCERTAIN)
def test_uniform_distribution_ranks_first(strategy: str) -> None:
    docs = [
        _dist([[0.98, 0.01, 0.01]]),
        _dist([[1 / 3, 1 / 3, 1 / 3]]),
        _dist([[0.6, 0.3, 0.1]]),
    ]
    ranked = S.rank(["sure", "uniform", "middle"], docs, strategy=strategy)
    assert [r.doc_id for r in ranked] == ["uniform", "middle", "sure"]
    assert ranked[0].score == pytest.approx(
        {"least_confidence": 2 / 3, "margin": 1.0, "entropy": 1.0}[strategy]
    )


def test_unit_score_values() -> None:
    p = _dist([[0.5, 0.3, 0.2], [1.0, 0.0, 0.0]])
    assert S.least_confidence(p) == pytest.approx([0.5, 0.0])
    assert S.margin(p) == pytest.approx([0.8, 0.0])
    h = -(0.5 * np.log(0.5) + 0.3 * np.log(0.3) + 0.2 * np.log(0.2)) / np.log(3)
    assert S.entropy(p) == pytest.approx([h, 0.0])


def test_margin_differs_from_least_confidence() -> None:
    # Same top probability, but b's runner-up is close: margin prefers b, LC ties.
    a = _dist([[0.5, 0.25, 0.25]])
    b = _dist([[0.5, 0.45, 0.05]])
    assert S.document_scores([a, b], "least_confidence")[0] == pytest.approx(
        S.document_scores([a, b], "least_confidence")[1]
    )
    assert [r.doc_id for r in S.rank(["a", "b"], [a, b], strategy="margin")] == ["b", "a"]


@pytest.mark.parametrize("strategy", UNCERTAIN)
def test_long_confident_document_does_not_outrank_short_uncertain_one(strategy: str) -> None:
    rng = np.random.default_rng(0)
    # 300 words, all fairly sure (max p in [0.85, 0.95]) over 3 tags.
    top = rng.uniform(0.85, 0.95, size=300)
    long_sure = np.stack([top, (1 - top) * 0.6, (1 - top) * 0.4], axis=1)
    # 5 words, two of them very unsure.
    short_unsure = _dist([[0.99, 0.005, 0.005]] * 3 + [[0.4, 0.35, 0.25]] * 2)
    ranked = S.rank(["long", "short"], [long_sure, short_unsure], strategy=strategy)
    assert ranked[0].doc_id == "short"


def test_one_hard_entity_in_a_long_sentence_still_counts() -> None:
    # A plain mean over words would rank the long document below the mild one.
    long_one_hard = _dist([[0.999, 0.0005, 0.0005]] * 60 + [[0.34, 0.33, 0.33]] * 3)
    short_mild = _dist([[0.8, 0.1, 0.1]] * 4)
    ranked = S.rank(["long", "mild"], [long_one_hard, short_mild], strategy="entropy")
    assert ranked[0].doc_id == "long"
    # ...and a length-scaled sum is not what we compute: duplicating the confident part
    # does not change the score.
    doubled = np.concatenate([long_one_hard[:60], long_one_hard])
    assert S.document_scores([doubled], "entropy")[0] == pytest.approx(
        S.document_scores([long_one_hard], "entropy")[0]
    )


def test_aggregate_top_k() -> None:
    assert S.aggregate(np.array([0.1, 0.9, 0.5, 0.7]), top_k=2) == pytest.approx(0.8)
    assert S.aggregate(np.array([0.2, 0.4]), top_k=5) == pytest.approx(0.3)
    assert S.aggregate(np.array([0.2, 0.4]), top_k=None) == pytest.approx(0.3)
    assert S.aggregate(np.zeros(0)) == 0.0


def test_empty_document_scores_zero() -> None:
    scores = S.document_scores([np.zeros((0, 3)), _dist([[0.5, 0.5, 0.0]])], "entropy")
    assert scores[0] == 0.0 and scores[1] > 0


@settings(max_examples=60, deadline=None)
@given(
    logits=arrays(np.float64, st.tuples(st.integers(1, 12), st.integers(2, 6)),
                  elements=st.floats(-8, 8)),
    strategy=st.sampled_from(UNCERTAIN),
)
def test_scores_are_in_unit_interval_and_invariant_to_row_order(
    logits: np.ndarray, strategy: str
) -> None:
    p = _softmax_rows(logits)
    scores = S.unit_scores(p, strategy)
    assert scores.shape == (p.shape[0],)
    assert np.all(scores >= -1e-9) and np.all(scores <= 1 + 1e-9)
    doc = S.document_scores([p], strategy)[0]
    shuffled = S.document_scores([p[::-1]], strategy)[0]
    assert doc == pytest.approx(shuffled)


@settings(max_examples=40, deadline=None)
@given(
    logits=arrays(np.float64, st.tuples(st.integers(1, 8), st.integers(2, 5)),
                  elements=st.floats(-5, 5)),
    strategy=st.sampled_from(UNCERTAIN),
)
def test_sharpening_never_raises_uncertainty(logits: np.ndarray, strategy: str) -> None:
    # Scaling logits up (lower temperature) makes every distribution at least as sure.
    soft, sharp = _softmax_rows(logits), _softmax_rows(logits * 3)
    assert np.all(S.unit_scores(sharp, strategy) <= S.unit_scores(soft, strategy) + 1e-9)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(0, 30), seed=st.integers(0, 1000))
def test_rank_returns_a_permutation(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    probs = [_softmax_rows(rng.normal(size=(int(rng.integers(0, 6)), 4))) for _ in range(n)]
    emb = rng.normal(size=(n, 8))
    costs = rng.uniform(1, 600, size=n)
    ids = list(range(n))
    for strategy in S.STRATEGIES:
        ranked = S.rank(ids, probs, strategy=strategy, embeddings=emb, batch_size=5, seed=seed,
                        costs=costs)
        assert sorted(r.doc_id for r in ranked) == ids


def test_random_is_seeded() -> None:
    ids = list(range(50))
    a = [r.doc_id for r in S.rank(ids, None, strategy="random", seed=1)]
    b = [r.doc_id for r in S.rank(ids, None, strategy="random", seed=1)]
    c = [r.doc_id for r in S.rank(ids, None, strategy="random", seed=2)]
    assert a == b and a != c and a != ids


def test_diverse_picks_from_different_clusters() -> None:
    rng = np.random.default_rng(0)
    centres = np.eye(4) * 10
    # Cluster 0 holds the 10 most uncertain documents; plain entropy takes only those.
    cluster = np.repeat(np.arange(4), 10)
    emb = centres[cluster] + rng.normal(scale=0.1, size=(40, 4))
    unc = np.where(cluster == 0, 0.9, 0.6) + rng.uniform(0, 0.05, size=40)
    probs = [_dist([[1 - u / 2, u / 2]]) for u in unc]
    plain = S.rank(list(range(40)), probs, strategy="entropy")[:4]
    assert {int(cluster[r.doc_id]) for r in plain} == {0}
    diverse = S.rank(list(range(40)), probs, strategy="diverse", embeddings=emb, batch_size=4)
    assert {int(cluster[r.doc_id]) for r in diverse[:4]} == {0, 1, 2, 3}
    # The first pick is still the most uncertain document.
    assert diverse[0].doc_id == plain[0].doc_id


def test_diverse_avoids_documents_like_the_labelled_ones() -> None:
    emb = np.array([[1.0, 0.0], [0.99, 0.05], [0.0, 1.0]])
    scores = np.array([0.9, 0.85, 0.5])
    order = S.diverse_order(scores, emb, batch_size=1, labelled_embeddings=np.array([[1.0, 0.0]]))
    assert order[0] == 2


def test_diverse_needs_embeddings_and_strategies_need_probs() -> None:
    with pytest.raises(ValueError, match="embeddings"):
        S.rank([1], [_dist([[0.5, 0.5]])], strategy="diverse")
    with pytest.raises(ValueError, match="probability"):
        S.rank([1], None, strategy="entropy")


def test_strategy_names() -> None:
    assert S.canonical_strategy("LC") == "least_confidence"
    assert S.canonical_strategy("least-confidence") == "least_confidence"
    with pytest.raises(ValueError, match="choose one of"):
        S.canonical_strategy("bald")
