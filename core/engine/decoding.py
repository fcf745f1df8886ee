"""Pure decoding of model scores: BIO-constrained Viterbi, greedy tags, best answer span.

Works on numpy arrays; no torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from core.engine.alignment import OUTSIDE

if TYPE_CHECKING:
    from core.engine.features import Feature


def allowed_transitions(tags: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(transition mask ``[from, to]``, start mask) of valid IOB2 sequences.

    ``I-x`` may only follow ``B-x`` or ``I-x``, and may not start a sequence.
    """
    n = len(tags)
    trans = np.ones((n, n), dtype=bool)
    start = np.ones(n, dtype=bool)
    for j, to in enumerate(tags):
        if not to.startswith("I-"):
            continue
        label = to[2:]
        start[j] = False
        for i, frm in enumerate(tags):
            trans[i, j] = frm in (f"B-{label}", f"I-{label}")
    return trans, start


def viterbi_decode(
    log_probs: np.ndarray, transitions: np.ndarray, start: np.ndarray
) -> list[int]:
    """The most probable tag sequence under hard constraints.

    ``log_probs``: ``(n_words, n_tags)`` per-word log-probabilities; ``transitions`` and
    ``start``: boolean masks from :func:`allowed_transitions`. Returns tag indices.
    """
    n_words, n_tags = log_probs.shape
    if n_words == 0:
        return []
    forbidden = np.where(transitions, 0.0, -np.inf)
    score = np.where(start, log_probs[0], -np.inf)
    back = np.zeros((n_words, n_tags), dtype=np.int64)
    for t in range(1, n_words):
        candidates = score[:, None] + forbidden  # [from, to]
        back[t] = np.argmax(candidates, axis=0)
        score = candidates[back[t], np.arange(n_tags)] + log_probs[t]
    best = [int(np.argmax(score))]
    for t in range(n_words - 1, 0, -1):
        best.append(int(back[t, best[-1]]))
    best.reverse()
    return best


def greedy_decode(log_probs: np.ndarray) -> list[int]:
    """The most probable tag of each word, ignoring BIO constraints."""
    return [int(i) for i in np.argmax(log_probs, axis=-1)] if len(log_probs) else []


def fill_untokenized(tags: list[str | None]) -> list[str]:
    """Tags for words the tokenizer produced no sub-word for (``None``).

    Such a word continues an entity when the words around it are inside the same entity
    (the next one is ``I-x`` after an ``x``); otherwise it is ``O``.
    """
    out: list[str] = []
    for i, tag in enumerate(tags):
        if tag is not None:
            out.append(tag)
            continue
        prev = out[-1] if out else OUTSIDE
        nxt = next((t for t in tags[i + 1:] if t is not None), OUTSIDE)
        label = prev[2:] if prev != OUTSIDE else None
        out.append(f"I-{label}" if label and nxt == f"I-{label}" else OUTSIDE)
    return out


@dataclass(frozen=True)
class SpanChoice:
    """The best answer span in one window: token positions (inclusive) and scores."""

    start: int
    end: int
    score: float


def best_answer_span(
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    allowed: np.ndarray,
    max_answer_length: int = 30,
    n_best: int = 20,
) -> SpanChoice | None:
    """The span ``start <= end`` with the highest ``start_logit + end_logit``.

    ``allowed`` marks the positions an answer may use (the passage tokens of the window);
    spans longer than ``max_answer_length`` tokens are excluded. Candidates are the
    ``n_best`` best starts and ends, as in transformers' run_qa. None when no span fits.
    """
    idx = np.flatnonzero(allowed)
    if idx.size == 0:
        return None
    k = min(n_best, idx.size)
    starts = idx[np.argsort(-start_logits[idx], kind="stable")[:k]]
    ends = idx[np.argsort(-end_logits[idx], kind="stable")[:k]]
    best: SpanChoice | None = None
    for s in starts:
        for e in ends:
            if e < s or e - s + 1 > max_answer_length:
                continue
            score = float(start_logits[s] + end_logits[e])
            if best is None or score > best.score:
                best = SpanChoice(int(s), int(e), score)
    if best is None:
        # The n-best lists did not pair up: fall back to the best single-token answer.
        s = int(idx[np.argmax(start_logits[idx] + end_logits[idx])])
        best = SpanChoice(s, s, float(start_logits[s] + end_logits[s]))
    return best


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    x = x - np.max(x, axis=axis, keepdims=True)
    return x - np.log(np.sum(np.exp(x), axis=axis, keepdims=True))


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.exp(log_softmax(x, axis=axis))


def group_by_example(features: Sequence[Feature], n_examples: int) -> list[list[int]]:
    """Feature indices of each example, in window order."""
    groups: list[list[int]] = [[] for _ in range(n_examples)]
    for i, f in enumerate(features):
        groups[f.example].append(i)
    return groups
