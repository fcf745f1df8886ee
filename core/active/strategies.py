"""Active-learning strategies: which unlabelled documents to label next.

Pure numpy. Every task is reduced to the same shape: per document, a matrix of
probability distributions, one row per *unit* (``(n_units, n_options)``):

- entities: one row per word, over the BIO tags;
- classes (single-label): one row over the labels; multi-label: one row ``[p, 1 - p]``
  per label;
- answers: one row per open question, ``[p_span, p_null, rest]`` where ``p_span`` is
  start x end probability of the best span, ``p_null`` that of "no answer" and ``rest``
  the mass left to all other spans (see :mod:`core.active.uncertainty`).

A unit's uncertainty (higher = more useful to label):

- ``least_confidence``: ``1 - max p``;
- ``margin``: ``1 - (p1 - p2)`` (the two most likely options);
- ``entropy``: ``H(p) / log(n_options)``, in [0, 1].

A document's score is the **mean of its k most uncertain units** (k = ``top_k``, default
:data:`DEFAULT_TOP_K`; all units when it has fewer). Why: a sum favours long documents
(more words, more uncertainty), a plain mean over words drowns one uncertain entity in a
long sentence of confident "O" tags, and the max is noisy. The top-k mean keeps a short,
uncertain sentence ahead of a long, confident one while still seeing a single hard entity.

``random`` scores documents with a seeded generator. ``diverse`` takes the most uncertain
candidates (``prefilter`` x batch) and picks the batch greedily by *uncertainty x distance*
to what is already picked (uncertainty-weighted k-center greedy on the Predictor's
document embeddings, cosine distance), so a batch is not ten copies of one sentence; the
documents after the batch follow by uncertainty.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

UNCERTAINTY_STRATEGIES = ("least_confidence", "margin", "entropy")
STRATEGIES = ("random", *UNCERTAINTY_STRATEGIES, "diverse", "cost_aware")
# The stored uncertainty a cost-aware score divides by the predicted seconds.
COST_AWARE_BASE = "entropy"
DEFAULT_TOP_K = 3
DEFAULT_BATCH = 50
DEFAULT_PREFILTER = 5

_ALIASES = {
    "lc": "least_confidence",
    "least-confidence": "least_confidence",
    "leastconfidence": "least_confidence",
    "uncertainty": "least_confidence",
    "diversity": "diverse",
    "cost": "cost_aware",
    "cost-aware": "cost_aware",
    "costaware": "cost_aware",
    "per_second": "cost_aware",
}


@dataclass(frozen=True)
class RankedDocument:
    """A document's place in the queue: ``score`` is its uncertainty (random: the draw)."""

    doc_id: Hashable
    score: float


def canonical_strategy(name: str) -> str:
    """The canonical name of a strategy (``lc`` -> ``least_confidence``); raises
    ``ValueError`` listing the choices for an unknown one."""
    key = name.strip().lower().replace(" ", "_")
    key = _ALIASES.get(key, key)
    if key not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    return key


# --- unit scores ---------------------------------------------------------------------


def _as_matrix(probs: np.ndarray) -> np.ndarray:
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim == 1:
        p = p[None, :]
    if p.ndim != 2:
        raise ValueError(f"expected a (units, options) matrix, got shape {p.shape}")
    return np.clip(p, 0.0, 1.0)


def least_confidence(probs: np.ndarray) -> np.ndarray:
    """Per row: ``1 - max p``."""
    p = _as_matrix(probs)
    if p.shape[0] == 0:
        return np.zeros(0)
    return 1.0 - p.max(axis=1)


def margin(probs: np.ndarray) -> np.ndarray:
    """Per row: ``1 - (p1 - p2)``; a one-option row has margin ``p1`` (score ``1 - p1``)."""
    p = _as_matrix(probs)
    if p.shape[0] == 0:
        return np.zeros(0)
    if p.shape[1] < 2:
        return 1.0 - p[:, 0]
    top2 = -np.partition(-p, 1, axis=1)[:, :2]
    return 1.0 - (top2[:, 0] - top2[:, 1])


def entropy(probs: np.ndarray) -> np.ndarray:
    """Per row: Shannon entropy normalised by ``log(n_options)``, in [0, 1]."""
    p = _as_matrix(probs)
    if p.shape[0] == 0:
        return np.zeros(0)
    if p.shape[1] < 2:
        return np.zeros(p.shape[0])
    q = np.clip(p, 1e-12, 1.0)
    h = -(p * np.log(q)).sum(axis=1)
    return np.clip(h / np.log(p.shape[1]), 0.0, 1.0)


_UNIT = {"least_confidence": least_confidence, "margin": margin, "entropy": entropy}


def unit_scores(probs: np.ndarray, strategy: str) -> np.ndarray:
    """Per unit (row) uncertainty under an uncertainty strategy."""
    name = canonical_strategy(strategy)
    if name not in _UNIT:
        raise ValueError(f"{name!r} is not an uncertainty strategy")
    return _UNIT[name](probs)


def aggregate(scores: np.ndarray, top_k: int | None = DEFAULT_TOP_K) -> float:
    """A document's score from its units': the mean of the ``top_k`` largest (all if
    ``top_k`` is None or the document has fewer units); 0 for a document with none."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    if s.size == 0:
        return 0.0
    if top_k is not None and top_k < s.size:
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1 (got {top_k})")
        s = np.partition(s, s.size - top_k)[s.size - top_k:]
    return float(s.mean())


def document_scores(
    probs: Sequence[np.ndarray], strategy: str, *, top_k: int | None = DEFAULT_TOP_K
) -> np.ndarray:
    """One uncertainty score per document (``probs[i]``: its ``(units, options)`` matrix)."""
    return np.array([aggregate(unit_scores(p, strategy), top_k) for p in probs], dtype=np.float64)


# --- diversity -------------------------------------------------------------------------


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def diverse_order(
    scores: np.ndarray,
    embeddings: np.ndarray,
    *,
    batch_size: int = DEFAULT_BATCH,
    prefilter: int = DEFAULT_PREFILTER,
    labelled_embeddings: np.ndarray | None = None,
) -> np.ndarray:
    """Indices, most useful first: a diverse batch of ``batch_size``, then the rest by score.

    The batch is chosen among the ``prefilter * batch_size`` most uncertain candidates,
    greedily maximising ``score * d`` where ``d`` is the cosine distance to the nearest
    document already picked (or already labelled, when ``labelled_embeddings`` is given).
    """
    scores = np.asarray(scores, dtype=np.float64)
    n = scores.size
    if embeddings.shape[0] != n:
        raise ValueError(f"{embeddings.shape[0]} embeddings for {n} documents")
    by_score = np.argsort(-scores, kind="stable")
    if n == 0 or batch_size <= 0:
        return by_score
    pool = by_score[: max(batch_size, prefilter * batch_size)]
    x = _normalise(embeddings[pool])
    # Small positive floor: with all-zero uncertainties the choice is purely by distance.
    weight = scores[pool] + 1e-6
    if labelled_embeddings is not None and len(labelled_embeddings):
        known = _normalise(labelled_embeddings)
        dist = np.clip(1.0 - (x @ known.T).max(axis=1), 0.0, 2.0)
    else:
        dist = np.ones(len(pool))
    chosen: list[int] = []
    available = np.ones(len(pool), dtype=bool)
    for _ in range(min(batch_size, len(pool))):
        gain = np.where(available, weight * (dist + 1e-9), -np.inf)
        j = int(np.argmax(gain))
        chosen.append(j)
        available[j] = False
        dist = np.minimum(dist, np.clip(1.0 - x @ x[j], 0.0, 2.0))
    picked = pool[chosen]
    rest = np.setdiff1d(by_score, picked, assume_unique=True)
    rest = rest[np.argsort(-scores[rest], kind="stable")]
    return np.concatenate([picked, rest])


# --- ranking -----------------------------------------------------------------------------


def rank(
    doc_ids: Sequence[Hashable],
    probs: Sequence[np.ndarray] | None,
    *,
    strategy: str,
    embeddings: np.ndarray | None = None,
    batch_size: int = DEFAULT_BATCH,
    top_k: int | None = DEFAULT_TOP_K,
    seed: int = 0,
    base: str = "entropy",
    prefilter: int = DEFAULT_PREFILTER,
    labelled_embeddings: np.ndarray | None = None,
    costs: np.ndarray | Sequence[float] | None = None,
) -> list[RankedDocument]:
    """The documents, most useful to label first, with their scores.

    ``probs[i]`` is document i's ``(units, options)`` matrix (not needed for ``random``);
    ``embeddings`` (``(n, dim)``) is needed for ``diverse``, which weighs distance by the
    ``base`` uncertainty strategy; ``costs`` (predicted seconds per document) for
    ``cost_aware``, whose score is entropy per second. Ties keep input order (random: none,
    scores are draws).
    """
    name = canonical_strategy(strategy)
    n = len(doc_ids)
    if name == "random":
        draws = np.random.default_rng(seed).random(n)
        order = np.argsort(-draws, kind="stable")
        return [RankedDocument(doc_ids[i], float(draws[i])) for i in order]
    if probs is None or len(probs) != n:
        raise ValueError(f"strategy {name!r} needs one probability matrix per document")
    if name == "diverse":
        if embeddings is None:
            raise ValueError("strategy 'diverse' needs document embeddings")
        scores = document_scores(probs, base, top_k=top_k)
        order = diverse_order(
            scores, np.asarray(embeddings), batch_size=batch_size, prefilter=prefilter,
            labelled_embeddings=labelled_embeddings,
        )
    elif name == "cost_aware":
        if costs is None or len(costs) != n:
            raise ValueError("strategy 'cost_aware' needs the predicted seconds of each document")
        seconds = np.asarray(costs, dtype=np.float64)
        if np.any(~np.isfinite(seconds)) or np.any(seconds <= 0):
            raise ValueError("predicted seconds must be positive numbers")
        scores = document_scores(probs, COST_AWARE_BASE, top_k=top_k) / seconds
        order = np.argsort(-scores, kind="stable")
    else:
        scores = document_scores(probs, name, top_k=top_k)
        order = np.argsort(-scores, kind="stable")
    return [RankedDocument(doc_ids[i], float(scores[i])) for i in order]
