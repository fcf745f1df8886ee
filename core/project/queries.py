"""The document list's SQL: ordered ids for a filter, then one page of rows at a time.

A 100,000-document project yields its id list in tens of milliseconds; the
columns (preview, status, labels, score) are only computed for the page being shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.tasks import all_kinds, any_labelled_sql, kind_of
from core.types import TaskKind

STATUSES = ("unlabelled", "labelled", "suggested", "reviewed", "skipped")


def _has_pending(kind: TaskKind | None) -> str:
    of_kind = "" if kind is None else f" AND s.kind = '{kind_of(kind).suggestion_kind}'"
    return (
        "EXISTS (SELECT 1 FROM suggestions s WHERE s.document_id = d.id"
        f" AND s.state = 'pending'{of_kind})"
    )


def _has_labels(kind: TaskKind | None) -> str:
    """Document ``d`` is labelled for ``kind`` (for any kind when ``None``): the labelled
    rule of each kind, defined once in :mod:`core.tasks`."""
    return any_labelled_sql("d") if kind is None else f"({kind_of(kind).labelled_sql('d')})"


def status_sql(kind: TaskKind | None = None) -> dict[str, str]:
    """The derived status of document ``d`` as seen by the view of ``kind``.

    Most significant first: reviewed/skipped from review_status; then labelled for that
    kind; then suggested (pending suggestions of that kind); else unlabelled. Labelled wins
    over suggested on purpose: pre-annotation also predicts partly labelled documents (NER:
    entities the user has not marked; QA: open questions), and a note the user labelled must
    not turn "suggested" after a training run. Its pending suggestions still show in the
    editor; "suggested" means "the model proposes labels for a note nobody labelled yet".
    """
    pending, labels = _has_pending(kind), _has_labels(kind)
    return {
        "reviewed": "d.review_status = 'reviewed'",
        "skipped": "d.review_status = 'skipped'",
        "suggested": f"d.review_status = 'unreviewed' AND NOT {labels} AND {pending}",
        "labelled": f"d.review_status = 'unreviewed' AND {labels}",
        "unlabelled": f"d.review_status = 'unreviewed' AND NOT {labels} AND NOT {pending}",
    }


# The strategy whose score the list shows and sorts by: the review queue's default.
SCORE_STRATEGY = "entropy"


def _score_filter(kind: TaskKind | None, prefix: str = "") -> str:
    """The ``document_scores`` rows shown for ``kind``: its task's, under
    :data:`SCORE_STRATEGY` (``None``: every task and strategy, the highest shown)."""
    if kind is None:
        return "1 = 1"  # a boolean on both back ends (PostgreSQL refuses WHERE 1)
    return (
        f"{prefix}strategy = '{SCORE_STRATEGY}' AND {prefix}task_id IN"
        f" (SELECT id FROM tasks WHERE kind = '{TaskKind(kind).value}')"
    )


def _scores_sql(kind: TaskKind | None) -> str:
    """``(document_id, score)`` rows: the model's uncertainty for each scored document."""
    return (
        "SELECT document_id, MAX(score) AS score FROM document_scores"
        f" WHERE {_score_filter(kind)} GROUP BY document_id"
    )


def _wants_labels(kind: TaskKind | None) -> str:
    """Document ``d`` still wants labels from the user for ``kind`` (any kind: has none)."""
    wants = f"NOT {any_labelled_sql('d')}" if kind is None else kind_of(kind).wants_labels_sql("d")
    return f"(d.review_status = 'unreviewed' AND ({wants}))"


@dataclass(frozen=True)
class DocFilter:
    """What the list shows. Empty fields mean "any"."""

    status: str | None = None
    split: str | None = None
    label: str | None = None
    search: str = ""
    sort_by_score: bool = False
    # With sort_by_score: rank by uncertainty per predicted second of labelling (the
    # cost-aware order, core.active.time_model) instead of uncertainty alone.
    per_second: bool = False
    kind: TaskKind | None = None  # the view's task: its status, labels and suggestions
    # Who is looking: where they have a layer of a double-annotated document, the list
    # shows it in the document's place (everyone else sees the document: its gold labels).
    annotator: str | None = None


def visible_sql(annotator: str | None) -> str:
    """Documents ``d`` a list shows: the documents themselves, except that where
    ``annotator`` has a layer of a double-annotated document, that layer instead."""
    if not annotator:
        return "d.layer_of IS NULL"
    return (
        "((d.layer_of IS NULL AND NOT EXISTS (SELECT 1 FROM documents c"
        " WHERE c.layer_of = d.id AND c.layer = :annotator)) OR d.layer = :annotator)"
    )


@dataclass(frozen=True)
class DocRow:
    id: int
    external_id: str | None
    preview: str
    split: str
    status: str
    labels: str
    score: float | None
    layer: str | None = None  # an annotator's layer of a double-annotated document: whose


def _label_tables(kind: TaskKind | None) -> dict[TaskKind, str]:
    """The tables of human labels (``document_id``, ``label_id``) of ``kind``, or of every
    kind with a label set when ``None`` (:attr:`AnnotationKind.label_table`)."""
    return {k.kind: k.label_table for k in all_kinds()
            if k.label_table and kind in (None, k.kind)}


def _label_named(table: str) -> str:
    return (f"EXISTS (SELECT 1 FROM {table} x JOIN labels l ON l.id = x.label_id"
            " WHERE x.document_id = d.id AND l.name = :label)")


def _like_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def filtered_ids(session: Session, flt: DocFilter) -> list[int]:
    """The ids of the documents matching ``flt``, in display order."""
    where: list[str] = [visible_sql(flt.annotator)]
    params: dict[str, object] = {}
    if flt.annotator:
        params["annotator"] = flt.annotator
    if flt.status:
        if flt.status not in STATUSES:
            raise ValueError(f"unknown status {flt.status!r} (known: {', '.join(STATUSES)})")
        where.append(status_sql(flt.kind)[flt.status])
    if flt.split:
        where.append("d.split = :split")
        params["split"] = flt.split
    if flt.label:
        named = [_label_named(table) for table in _label_tables(flt.kind).values()]
        where.append("(" + " OR ".join(named) + ")" if named else "1 = 0")
        params["label"] = flt.label
    if flt.search.strip():
        # Case-insensitive on both back ends (SQLite's LIKE folds ASCII case).
        like = "LIKE" if session.get_bind().dialect.name == "sqlite" else "ILIKE"
        where.append(f"d.text {like} :search ESCAPE '\\'")
        params["search"] = f"%{_like_escape(flt.search.strip())}%"
    sql = "SELECT d.id FROM documents d"
    if flt.sort_by_score:
        # A layer ranks by its document's score (layers are not predicted).
        sql += (f" LEFT JOIN ({_scores_sql(flt.kind)}) ds"
                " ON ds.document_id = COALESCE(d.layer_of, d.id)")
    if where:
        sql += " WHERE " + " AND ".join(where)
    # Most uncertain first, but only among the notes that still want labels: a note the user
    # labelled (or reviewed) for the view's kind comes after them, whatever its score.
    score = "ds.score"
    if flt.sort_by_score and flt.per_second:
        from core.active import time_model

        model = (time_model.fit_from_session(session, flt.kind) if flt.kind is not None
                 else time_model.PRIOR)
        # intercept >= 1 s and per_char >= 0 (time_model.fit): never a division by zero.
        score = "ds.score / (:t_intercept + :t_per_char * length(d.text))"
        params.update(t_intercept=model.intercept, t_per_char=model.per_char)
    sql += " ORDER BY " + (
        f"CASE WHEN {_wants_labels(flt.kind)} THEN 0 ELSE 1 END,"
        f" ds.score IS NULL, {score} DESC, COALESCE(d.layer_of, d.id)" if flt.sort_by_score
        else "COALESCE(d.layer_of, d.id)"
    )
    if session.get_bind().dialect.name != "sqlite":
        # psycopg's cursor takes %(name)s parameters; through SQLAlchemy, which converts.
        return list(session.execute(text(sql), params).scalars())
    # 100,000 ids: the driver's cursor directly is ~5x faster than a SQLAlchemy Result,
    # which builds a Row per id. Same connection, so the same transaction snapshot.
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, params)
        return [r[0] for r in cursor.fetchall()]
    finally:
        cursor.close()


def page_rows(
    session: Session, ids: Sequence[int], preview_chars: int = 80, kind: TaskKind | None = None
) -> list[DocRow]:
    """The rows of the given documents, in the given order, as the view of ``kind`` shows
    them (status and labels of that kind; every kind when ``None``)."""
    if not ids:
        return []
    id_list = ",".join(str(int(i)) for i in ids)
    rows = session.execute(
        text(
            f"SELECT d.id, d.external_id, substr(d.text, 1, {preview_chars + 40}), d.split,"
            f" d.review_status, {_has_pending(kind)}, {_has_labels(kind)}, d.layer,"
            " (SELECT MAX(ds.score) FROM document_scores ds WHERE ds.document_id = d.id"
            f" AND {_score_filter(kind, 'ds.')})"
            f" FROM documents d WHERE d.id IN ({id_list})"
        )
    ).all()
    labels: dict[int, list[str]] = {}
    parts = [
        f"SELECT x.document_id, l.name, l.position FROM {table} x"
        f" JOIN labels l ON l.id = x.label_id WHERE x.document_id IN ({id_list})"
        for table in _label_tables(kind).values()
    ]
    label_rows = session.execute(
        text(
            "SELECT document_id, name FROM (" + " UNION ".join(parts) + ") AS labelled"
            " ORDER BY document_id, position"
        )
    ) if parts else []
    for doc_id, name in label_rows:
        if name not in labels.setdefault(doc_id, []):
            labels[doc_id].append(name)
    by_id: dict[int, DocRow] = {}
    for doc_id, ext, head, split, review, pending, labelled, layer, score in rows:
        if review in ("reviewed", "skipped"):
            status = review
        elif labelled:  # before pending: the rule of status_sql
            status = "labelled"
        elif pending:
            status = "suggested"
        else:
            status = "unlabelled"
        preview = " ".join((head or "").split())
        if len(preview) > preview_chars:
            preview = preview[: preview_chars - 1] + "…"
        by_id[doc_id] = DocRow(
            doc_id, ext, preview, split, status, ", ".join(labels.get(doc_id, [])),
            None if score is None else float(score), layer,
        )
    return [by_id[i] for i in ids if i in by_id]


def status_counts(session: Session, kind: TaskKind | None = None,
                  annotator: str | None = None) -> dict[str, int]:
    """How many documents have each derived status (as the view of ``kind`` shows it, to
    ``annotator``: see :func:`visible_sql`)."""
    statuses = status_sql(kind)
    row = session.execute(
        text(
            "SELECT"
            + ",".join(f" SUM(CASE WHEN {sql} THEN 1 ELSE 0 END)" for sql in statuses.values())
            + f" FROM documents d WHERE {visible_sql(annotator)}"
        ),
        {"annotator": annotator} if annotator else {},
    ).one()
    return {name: int(v or 0) for name, v in zip(statuses, row)}
