"""``project.timings``: how long annotation and review took, per annotator and kind.

The app measures each decision from the document being shown (or from the previous timed
action on it, so that the seconds add up to the time spent) and records it here; nothing
else writes timings, and undo does not remove them (the time was spent all the same).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from core.errors import AnnotatorError
from core.store.models import Document, Timing
from core.types import TaskKind

if TYPE_CHECKING:
    from core.project.base import Project


class Timings:
    def __init__(self, project: Project) -> None:
        self._project = project

    def record(
        self, doc_id: int, kind: TaskKind | str, action: str, seconds: float,
        *, annotator: str | None = None,
    ) -> None:
        """Record that ``action`` on document ``doc_id`` (a decision of ``kind``) took
        ``seconds``."""
        kind = TaskKind(kind)
        if not math.isfinite(seconds) or seconds < 0:
            raise AnnotatorError(f"a timing must be a number of seconds >= 0, not {seconds!r}")
        with self._project.write() as session:
            if session.get(Document, doc_id) is None:
                raise AnnotatorError(f"document {doc_id} does not exist (deleted?)")
            session.add(Timing(
                document_id=doc_id, kind=kind.value, action=action[:64],
                annotator=annotator, seconds=float(seconds),
            ))

    def summary(self) -> dict[str, dict[str, dict[str, float | int]]]:
        """``{annotator: {kind: {"seconds": total, "actions": n, "documents": n}}}``."""
        with self._project.read() as session:
            rows = session.execute(
                select(
                    Timing.annotator, Timing.kind, func.sum(Timing.seconds),
                    func.count(Timing.id), func.count(func.distinct(Timing.document_id)),
                ).group_by(Timing.annotator, Timing.kind).order_by(Timing.annotator, Timing.kind)
            ).all()
        out: dict[str, dict[str, dict[str, float | int]]] = {}
        for annotator, kind, seconds, actions, documents in rows:
            out.setdefault(annotator, {})[kind] = {
                "seconds": round(float(seconds or 0.0), 3), "actions": int(actions),
                "documents": int(documents),
            }
        return out


def format_duration(seconds: float) -> str:
    """``3725`` -> ``"1 h 2 min"``; ``75`` -> ``"1 min 15 s"``; ``9.4`` -> ``"9 s"``."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"
