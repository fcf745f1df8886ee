"""How long a document takes to label: the cost side of the cost-aware queue.

A document's predicted time is ``intercept + per_char * characters``. Until a project has
:data:`MIN_TIMED_DOCUMENTS` documents with recorded annotation times for the kind, the
model is a length-based prior (:data:`PRIOR`: a few seconds to take a document in, then
reading at about 20 characters a second, which is 250 words a minute); from then on it is
fitted on the project's own times (``project.timings``, recorded by the app).

The fit is Theil-Sen (``scipy.stats.theilslopes``): the median of the pairwise slopes, so
one document left open over a coffee break does not tilt the line the way it tilts least
squares. The slope is kept at or above zero (a longer document never takes less time) and
the intercept at or above :data:`MIN_SECONDS`.

Pure numpy/scipy apart from :func:`fit_from_session`, which reads the timings table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.store.models import Document, Timing
from core.types import TaskKind

MIN_TIMED_DOCUMENTS = 10
MIN_SECONDS = 1.0
# A document's recorded total above this is taken as time away from the desk, not labelling.
MAX_SECONDS_PER_DOCUMENT = 30 * 60


@dataclass(frozen=True)
class TimeModel:
    """Predicted seconds to label a document of ``n`` characters: ``intercept + per_char * n``.
    ``source`` is ``"prior"`` or ``"fitted"``; ``documents`` the timed documents fitted on."""

    intercept: float
    per_char: float
    source: str = "prior"
    documents: int = 0

    def seconds(self, characters: Sequence[int] | np.ndarray) -> np.ndarray:
        n = np.asarray(characters, dtype=np.float64)
        return np.maximum(self.intercept + self.per_char * n, MIN_SECONDS)

    def to_dict(self) -> dict[str, object]:
        return {"intercept_seconds": round(self.intercept, 3),
                "seconds_per_1000_characters": round(self.per_char * 1000, 3),
                "source": self.source, "documents": self.documents}


PRIOR = TimeModel(intercept=5.0, per_char=0.05)


def fit(characters: Sequence[int], seconds: Sequence[float], *,
        min_documents: int = MIN_TIMED_DOCUMENTS, prior: TimeModel = PRIOR) -> TimeModel:
    """The time model of documents of the given lengths that took the given seconds; the
    prior when fewer than ``min_documents`` usable pairs (positive, at most
    :data:`MAX_SECONDS_PER_DOCUMENT`) are given."""
    x = np.asarray(characters, dtype=np.float64)
    y = np.asarray(seconds, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"{x.size} lengths for {y.size} times")
    keep = np.isfinite(y) & (y > 0) & (y <= MAX_SECONDS_PER_DOCUMENT) & (x >= 0)
    x, y = x[keep], y[keep]
    if x.size < min_documents:
        return prior
    if np.ptp(x) == 0:  # all the same length: no slope to see, keep the prior's
        slope = prior.per_char
        intercept = float(np.median(y - slope * x))
    else:
        from scipy.stats import theilslopes

        slope, intercept, _lo, _hi = theilslopes(y, x)
        slope = max(float(slope), 0.0)
        intercept = float(np.median(y - slope * x))
    return TimeModel(intercept=max(intercept, MIN_SECONDS), per_char=slope, source="fitted",
                     documents=int(x.size))


def fit_from_session(session: Session, kind: TaskKind | str) -> TimeModel:
    """The time model of ``kind`` fitted on the project's recorded timings (all annotators;
    a document's time is the sum of its timed actions of the kind)."""
    kind = TaskKind(kind).value
    rows = session.execute(
        select(func.length(Document.text), func.sum(Timing.seconds))
        .join(Document, Document.id == Timing.document_id)
        .where(Timing.kind == kind)
        .group_by(Timing.document_id, Document.text)
    ).all()
    return fit([int(n or 0) for n, _ in rows], [float(s or 0.0) for _, s in rows])


def information_per_second(
    uncertainty: Mapping[int, float], characters: Mapping[int, int], model: TimeModel
) -> dict[int, float]:
    """``{doc_id: uncertainty / predicted seconds}`` for the documents in ``uncertainty``."""
    ids = list(uncertainty)
    if not ids:
        return {}
    secs = model.seconds([characters.get(d, 0) for d in ids])
    return {d: float(uncertainty[d]) / float(s) for d, s in zip(ids, secs, strict=True)}
