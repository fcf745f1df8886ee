"""JSON Lines from doccano and Prodigy, and Label Studio's JSON export of text tasks."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

from core.errors import InputError
from core.formats._common import (
    DECODER,
    ExportError,
    LineCounter,
    TextSink,
    check_label,
    check_offsets,
    check_text,
    export_id,
    iter_lines,
    json_error,
    kind,
    loads_json,
    parse_split,
    read_text,
    utf16_to_code_points,
)
from core.types import DocumentRecord, EntitySpan, Relation, SentenceLabel, TaskKind

FLAVORS = ("doccano", "prodigy")


class Records(list[DocumentRecord]):
    """The documents a file holds, and how many suggestions it held that are not labels
    (``suggestions_left_out``: JSONL's, see :func:`suggestions_in`), counted in the same
    read, so an import can say why they are not there."""

    suggestions_left_out: int = 0


def parse_jsonl(text: str, path: Path) -> Records:
    """Parse JSON Lines (one object a line) or a JSON list of objects (Label Studio export).

    Each object is a doccano record (``text``; ``label``/``labels`` as ``[start, end, label]``
    spans, class names or one class; ``entities`` with ``start_offset``/``end_offset``), a
    Prodigy record (``text``; ``spans``; ``accept`` for choices; ``answer``: "ignore" records
    are skipped, "reject" ones kept with ``meta["answer"]``) or a Label Studio task
    (``data.text``; the first annotation not cancelled: ``labels`` and ``choices`` results).
    The first two may carry the document's sentences (see :func:`parse_sentences`), and an
    object span its attribute values (``"attributes": {"negation": "Negated"}``; the project
    checks them against its declaration when importing), and the relations between its
    spans (see :func:`parse_relations`).
    Suggestions are never read as labels: a record's ``"suggestions"`` list (what
    ``write_jsonl(..., suggestions=)`` writes) is ignored, and so is any span marked
    ``"suggested": true``.
    """
    records = Records()
    for line, obj in _objects(text, path):
        records.suggestions_left_out += _suggestions_of(obj)
        record = _record(obj, path, line)
        if record is not None:
            records.append(record)
    return records


def suggestions_in(path: str | Path, encoding: str | None = None) -> int:
    """How many suggestions a JSONL file holds that :func:`parse_jsonl` leaves out: the spans
    marked ``"suggested": true`` and the items of the records' ``"suggestions"`` lists (so
    an import can say why they are not there). Reading the file to import it counts them
    too (``Records.suggestions_left_out``)."""
    path = Path(path)
    return sum(_suggestions_of(obj) for _, obj in _objects(read_text(path, encoding), path))


def _suggestions_of(obj: Any) -> int:
    if not isinstance(obj, dict):
        return 0
    count = 0
    for key in ("spans", "entities", "label", "labels"):
        value = obj.get(key)
        if isinstance(value, list):
            count += sum(1 for item in value if _suggested(item))
    listed = obj.get("suggestions")
    if isinstance(listed, list):
        count += len(listed)
    return count


def _objects(text: str, path: Path) -> Iterator[tuple[int, Any]]:
    stripped = text.lstrip()
    if stripped.startswith("["):
        yield from _array_items(text, path)
        return
    first = True
    for number, _, line in iter_lines(text):
        if not line.strip():
            continue
        try:
            value = loads_json(line, path, number)
        except InputError:
            # A single pretty-printed object spread over several lines.
            if first:
                whole = _try_whole(text)
                if isinstance(whole, dict):
                    yield number, whole
                    return
            raise
        first = False
        yield number, value


def _try_whole(text: str) -> Any:
    try:
        return DECODER.decode(text)
    except (ValueError, RecursionError):
        return None


def _array_items(text: str, path: Path) -> Iterator[tuple[int, Any]]:
    """Yield the items of a top-level JSON list with the line each starts on."""
    lines = LineCounter(text)
    pos = _skip_ws(text, 0) + 1  # past "["
    pos = _skip_ws(text, pos)
    if text.startswith("]", pos):
        _expect_end(text, pos + 1, path, lines)
        return
    while True:
        try:
            value, end = DECODER.raw_decode(text, pos)
        except (ValueError, RecursionError) as exc:
            raise json_error(path, exc) from None
        yield lines.line_at(pos), value
        pos = _skip_ws(text, end)
        if text.startswith(",", pos):
            pos = _skip_ws(text, pos + 1)
        elif text.startswith("]", pos):
            _expect_end(text, pos + 1, path, lines)
            return
        else:
            at_end = pos >= len(text)
            what = "the file ends" if at_end else "found something else"
            raise InputError(
                path,
                lines.line_at(len(text.rstrip()) if at_end else pos),
                f"broken JSON: expected ',' or ']' after a list item but {what}; "
                "the file may be truncated",
            )


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _expect_end(text: str, pos: int, path: Path, lines: LineCounter) -> None:
    pos = _skip_ws(text, pos)
    if pos < len(text):
        raise InputError(path, lines.line_at(pos), "broken JSON: extra data after the closing ']'")


def _record(obj: Any, path: Path, line: int) -> DocumentRecord | None:
    if not isinstance(obj, dict):
        raise InputError(path, line, f"expected a JSON object ({{...}}) here, found {kind(obj)}")
    if isinstance(obj.get("data"), dict) and "text" not in obj:
        return _label_studio(obj, path, line)
    return _doccano_or_prodigy(obj, path, line)


def _doccano_or_prodigy(obj: dict[str, Any], path: Path, line: int) -> DocumentRecord | None:
    answer = obj.get("answer")
    if answer == "ignore":
        return None
    if "text" not in obj:
        raise InputError(path, line, 'this record has no "text" field')
    text = check_text(obj["text"], path, line, 'the "text" field')
    spans: list[EntitySpan] = []
    classes: list[str] = []
    meta: dict[str, Any] = {}
    if isinstance(obj.get("meta"), dict):
        meta.update(obj["meta"])
    if answer is not None and answer != "accept":
        meta["answer"] = answer
    for key in ("label", "labels"):
        value = obj.get(key)
        if value is None:
            continue
        if isinstance(value, str):
            # Prodigy's binary classification: a rejected label is not a class.
            if answer == "reject":
                meta["rejected_label"] = value
            else:
                classes.append(check_label(value, path, line, f'"{key}"'))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                where = f'"{key}" item {i + 1}'
                if isinstance(item, str):
                    classes.append(check_label(item, path, line, where))
                elif isinstance(item, list):
                    if len(item) != 3:
                        raise InputError(
                            path,
                            line,
                            f"{where}: a span should be [start, end, label], got {item!r}",
                        )
                    spans.append(_span(text, item[0], item[1], item[2], path, line, where))
                elif isinstance(item, dict):
                    if not _suggested(item):
                        spans.append(_dict_span(text, item, path, line, where))
                else:
                    raise InputError(
                        path, line, f"{where}: expected a span or a class name, found {kind(item)}"
                    )
        else:
            raise InputError(
                path, line, f'"{key}" should be a list or a class name, found {kind(value)}'
            )
    # A record with an "entities" or "spans" list is labelled for entities even when the
    # list is empty (a sentence checked and found to hold none); so is one whose "label"
    # list holds spans. An empty "label" list says nothing: it may be a class list.
    entities_given = bool(spans)
    # Where each item of a "spans" / "entities" list went in ``spans`` (None: a suggestion),
    # for relations naming the items by their place in the list.
    positions: dict[str, list[int | None]] = {}
    for key in ("entities", "spans"):
        value = obj.get(key)
        if value is None:
            continue
        if not isinstance(value, list):
            raise InputError(path, line, f'"{key}" should be a list, found {kind(value)}')
        human = [item for item in value if not _suggested(item)]
        # A list of nothing but suggestions says nothing about human labels.
        entities_given = entities_given or bool(human) or not value
        placed: list[int | None] = positions.setdefault(key, [])
        for i, item in enumerate(value):
            where = f'"{key}" item {i + 1}'
            if not isinstance(item, dict):
                raise InputError(path, line, f"{where}: expected an object, found {kind(item)}")
            if _suggested(item):
                placed.append(None)
            else:
                placed.append(len(spans))
                spans.append(_dict_span(text, item, path, line, where))
    relations = parse_relations(obj.get("relations"), spans, positions, path, line)
    accept = obj.get("accept")
    if accept is not None:
        if not isinstance(accept, list):
            raise InputError(path, line, f'"accept" should be a list, found {kind(accept)}')
        for i, option in enumerate(accept):
            if isinstance(option, int) and not isinstance(option, bool):
                option = str(option)
            classes.append(check_label(option, path, line, f'"accept" item {i + 1}'))
    cats = obj.get("cats")
    if isinstance(cats, dict):
        classes.extend(name for name, score in cats.items() if _truthy_score(score))
    sentences = parse_sentences(text, obj.get("sentences"), path, line)
    return DocumentRecord(
        text=text,
        external_id=_id(obj.get("id", meta.get("id"))),
        spans=tuple(spans),
        classes=tuple(dict.fromkeys(classes)),
        sentences=sentences,
        split=parse_split(obj.get("split"), path, line),
        meta=meta,
        source=str(path),
        line=line,
        labelled_for=_labelled_for(entities_given or bool(spans), bool(classes),
                                   any(s.labels for s in sentences),
                                   isinstance(obj.get("relations"), list)),
        relations=relations,
    )


def _suggested(item: Any) -> bool:
    """A span marked ``"suggested": true`` (as ``export --suggestions`` writes them) is a
    proposal, never a human label: it is skipped on import."""
    return isinstance(item, dict) and item.get("suggested") is True


def _labelled_for(entities: bool, classes: bool, sentences: bool = False,
                  relations: bool = False) -> frozenset[TaskKind]:
    kinds = set()
    if relations:
        kinds.add(TaskKind.RELATION)
    if entities:
        kinds.add(TaskKind.NER)
    if classes:
        kinds.add(TaskKind.CLASSIFY)
    if sentences:
        kinds.add(TaskKind.SENTENCE)
    return frozenset(kinds)


def parse_relations(
    value: Any, spans: Sequence[EntitySpan], positions: Mapping[str, Sequence[int | None]],
    path: Path, line: int,
) -> tuple[Relation, ...]:
    """A record's ``"relations"``: ``[{"head": 0, "tail": 1, "label": "dosage_of"}, ...]``,
    ``head`` and ``tail`` the places (from 0) of the two entities in the record's
    ``"spans"`` list (else its ``"entities"`` list); or Prodigy's form, the ends given by
    their offsets, ``{"head_span": {"start": 0, "end": 5, "label": "Dosage"}, "child_span":
    {...}, "label": "dosage_of"}`` (Prodigy's own ``head`` / ``child``, token indices,
    are then not read). Missing or null: none; ``[]``: checked, none found. A repeated
    relation is kept once."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InputError(path, line, '"relations" should be a list of {"head", "tail", '
                         f'"label"}} objects, found {kind(value)}')
    out: list[Relation] = []
    for i, item in enumerate(value):
        where = f'"relations" item {i + 1}'
        if not isinstance(item, dict):
            raise InputError(path, line, f"{where}: expected an object with head, tail and "
                             f"label, found {kind(item)}")
        if "label" not in item:
            raise InputError(path, line, f"{where}: the relation has no label")
        label = check_label(item["label"], path, line, where)
        if "head_span" in item or "child_span" in item:
            head = _span_end(item, "head_span", spans, path, line, where)
            tail = _span_end(item, "child_span", spans, path, line, where)
        elif "tail" in item:
            head = _indexed_end(item, "head", spans, positions, path, line, where)
            tail = _indexed_end(item, "tail", spans, positions, path, line, where)
        else:
            raise InputError(path, line, f'{where}: give the ends as "head" and "tail" (places '
                             'in the "spans" list) or as Prodigy\'s "head_span" and '
                             '"child_span" (Prodigy\'s "head" and "child" alone are token '
                             "indices, which are not read)")
        if head == tail:
            raise InputError(path, line, f"{where}: the relation links an entity to itself")
        out.append(Relation(head, tail, label))
    return tuple(dict.fromkeys(out))


def _indexed_end(item: Mapping[str, Any], key: str, spans: Sequence[EntitySpan],
                 positions: Mapping[str, Sequence[int | None]], path: Path, line: int,
                 where: str) -> int:
    index = item.get(key)
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise InputError(path, line, f'{where}: "{key}" should be the place (0, 1, ...) of an '
                         f"entity in the \"spans\" list, found {json.dumps(index)}")
    listed = "spans" if "spans" in positions else "entities" if "entities" in positions else None
    if listed is None:
        raise InputError(path, line, f'{where}: "{key}" names a place in the record\'s '
                         '"spans" list, which it does not have')
    placed = positions[listed]
    if index >= len(placed):
        raise InputError(path, line, f'{where}: "{key}" is {index}, but "{listed}" has '
                         f"{len(placed)} item(s)")
    found = placed[index]
    if found is None:
        raise InputError(path, line, f'{where}: "{key}" names a suggested span (never a '
                         "label): a relation links two labelled entities")
    return found


def _span_end(item: Mapping[str, Any], key: str, spans: Sequence[EntitySpan], path: Path,
              line: int, where: str) -> int:
    end = item.get(key)
    if not isinstance(end, dict) or "start" not in end or "end" not in end:
        raise InputError(path, line, f'{where}: "{key}" should be an object with the span\'s '
                         '"start" and "end"')
    start, stop = end["start"], end["end"]
    match = next((k for k, s in enumerate(spans) if (s.start, s.end) == (start, stop)), None)
    if match is None:
        raise InputError(path, line, f'{where}: its {key} [{start}, {stop}) is not one of the '
                         "record's spans")
    label = end.get("label")
    if label is not None and label != spans[match].label:
        raise InputError(path, line, f"{where}: its {key} [{start}, {stop}) is labelled "
                         f"{label!r} here and {spans[match].label!r} in the spans")
    return match


def parse_sentences(
    text: str, value: Any, path: Path, line: int
) -> tuple[SentenceLabel, ...]:
    """A record's ``"sentences"``: ``[{"start": 0, "end": 42, "label": "X"}, ...]`` (``"label":
    null`` or none: a sentence without a class; multi-label: ``"labels": ["X", "Y"]``).

    They are the document's segmentation: character offsets into the text, not overlapping
    (put in order when they are not). Missing, null or ``[]``: none given (the project then
    segments the text itself)."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InputError(path, line, '"sentences" should be a list of {"start", "end", '
                         f'"label"}} objects, found {kind(value)}')
    found: list[tuple[int, int, int, tuple[str, ...]]] = []
    for i, item in enumerate(value):
        where = f'"sentences" item {i + 1}'
        if not isinstance(item, dict):
            raise InputError(path, line, f"{where}: expected an object with start, end and "
                             f"label, found {kind(item)}")
        if "start" not in item or "end" not in item:
            raise InputError(path, line, f"{where}: the sentence has no start or end offset")
        start, end = check_offsets(text, item["start"], item["end"], path, line, where)
        found.append((start, end, i, _sentence_labels(item, path, line, where)))
    found.sort()
    for (s0, e0, i0, _), (s1, e1, i1, _) in pairwise(found):
        if s1 < e0:
            raise InputError(path, line, f'"sentences" items {i0 + 1} [{s0}, {e0}) and '
                             f"{i1 + 1} [{s1}, {e1}) overlap: a character belongs to one "
                             "sentence only")
    return tuple(SentenceLabel(s, e, labels) for s, e, _, labels in found)


def _sentence_labels(item: dict[str, Any], path: Path, line: int, where: str) -> tuple[str, ...]:
    label, labels = item.get("label"), item.get("labels")
    if label is not None and labels is not None:
        raise InputError(path, line, f'{where}: give "label" (one class) or "labels" (a list '
                         "of classes), not both")
    if label is not None:
        return (check_label(label, path, line, f'{where} "label"'),)
    if labels is None:
        return ()
    if not isinstance(labels, list):
        raise InputError(path, line, f'{where}: "labels" should be a list of class names, '
                         f"found {kind(labels)}")
    return tuple(dict.fromkeys(
        check_label(name, path, line, f'{where} "labels" item {j + 1}')
        for j, name in enumerate(labels)
    ))


def _truthy_score(score: Any) -> bool:
    return isinstance(score, (int, float)) and score >= 0.5


def _id(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (str, int)):
        return str(value) or None
    return None


def _dict_span(text: str, item: dict[str, Any], path: Path, line: int, where: str) -> EntitySpan:
    start = item.get("start", item.get("start_offset"))
    end = item.get("end", item.get("end_offset"))
    if start is None or end is None:
        raise InputError(path, line, f"{where}: the span has no start or end offset")
    if "label" not in item:
        raise InputError(path, line, f"{where}: the span has no label")
    span = _span(text, start, end, item["label"], path, line, where)
    attributes = item.get("attributes")
    if attributes is None:
        return span
    if not isinstance(attributes, dict) or not all(
        isinstance(k, str) and k.strip() and isinstance(v, str) and v.strip()
        for k, v in attributes.items()
    ):
        raise InputError(path, line, f'{where}: "attributes" should be an object of '
                         f'attribute names to values (strings), e.g. {{"negation": '
                         f'"Negated"}}; found {json.dumps(attributes, ensure_ascii=False)}')
    return EntitySpan(span.start, span.end, span.label,
                      {k.strip(): v.strip() for k, v in attributes.items()})


def _span(
    text: str, start: Any, end: Any, label: Any, path: Path, line: int, where: str
) -> EntitySpan:
    start, end = check_offsets(text, start, end, path, line, where)
    return EntitySpan(start, end, check_label(label, path, line, where))


def _label_studio(obj: dict[str, Any], path: Path, line: int) -> DocumentRecord:
    data = obj["data"]
    if "text" in data:
        raw_text = data["text"]
    else:
        strings = [value for value in data.values() if isinstance(value, str)]
        if len(strings) != 1:
            raise InputError(path, line, 'this Label Studio task has no "data.text" field')
        raw_text = strings[0]
    text = check_text(raw_text, path, line, "the task text")
    annotations = obj.get("annotations", obj.get("completions", []))
    if not isinstance(annotations, list):
        raise InputError(path, line, f'"annotations" should be a list, found {kind(annotations)}')
    kept = [a for a in annotations if isinstance(a, dict) and not a.get("was_cancelled")]
    spans: list[EntitySpan] = []
    classes: list[str] = []
    ignored: set[str] = set()
    results = kept[0].get("result", []) if kept else []
    if not isinstance(results, list):
        raise InputError(path, line, f'"result" should be a list, found {kind(results)}')
    for i, item in enumerate(results):
        where = f"result {i + 1}"
        if not isinstance(item, dict):
            raise InputError(path, line, f"{where}: expected an object, found {kind(item)}")
        value = item.get("value")
        kind_name = item.get("type")
        if not isinstance(value, dict):
            raise InputError(path, line, f'{where}: "value" should be an object')
        if kind_name == "labels":
            start, end = _studio_offsets(text, value, path, line, where)
            labels = value.get("labels")
            if not isinstance(labels, list) or not labels:
                raise InputError(path, line, f'{where}: "value.labels" should be a list of names')
            for label in labels:
                spans.append(EntitySpan(start, end, check_label(label, path, line, where)))
        elif kind_name == "choices":
            choices = value.get("choices")
            if not isinstance(choices, list):
                raise InputError(path, line, f'{where}: "value.choices" should be a list of names')
            classes.extend(check_label(choice, path, line, where) for choice in choices)
        else:
            ignored.add(str(kind_name))
    meta: dict[str, Any] = {}
    if len(kept) > 1:
        meta["annotations"] = len(kept)
    if ignored:
        meta["ignored_results"] = sorted(ignored)
    return DocumentRecord(
        text=text,
        external_id=_id(obj.get("id")),
        spans=tuple(spans),
        classes=tuple(dict.fromkeys(classes)),
        meta=meta,
        source=str(path),
        line=line,
        labelled_for=_labelled_for(bool(spans), bool(classes)),
    )


def _studio_offsets(
    text: str, value: dict[str, Any], path: Path, line: int, where: str
) -> tuple[int, int]:
    """Offsets of a Label Studio span; those counted in UTF-16 units (as a browser does) are
    converted when ``value.text`` shows it unambiguously."""
    start, end = value.get("start"), value.get("end")
    quoted = value.get("text")
    if (
        isinstance(start, int)
        and isinstance(end, int)
        and not isinstance(start, bool)
        and not isinstance(end, bool)
        and isinstance(quoted, str)
        and text[start:end] != quoted
        and 0 <= start < end
    ):
        cp_start, cp_end = utf16_to_code_points(text, start), utf16_to_code_points(text, end)
        if cp_start is None or cp_end is None:
            raise InputError(
                path,
                line,
                f"{where}: the span [{start}, {end}) cuts a character (an emoji or other "
                "character outside the Basic Multilingual Plane) in half",
            )
        if text[cp_start:cp_end] != quoted:
            raise InputError(
                path,
                line,
                f"{where}: the span [{start}, {end}) covers {text[start:end]!r} but the "
                f"annotation says {quoted!r}; the text was changed after labelling",
            )
        start, end = cp_start, cp_end
    return check_offsets(text, start, end, path, line, where)


def write_jsonl(
    records: Iterable[DocumentRecord],
    out: TextSink,
    *,
    include_text: bool = True,
    flavor: str | None = None,
    sentence_multi_label: bool = False,
    suggestions: Mapping[int, Sequence[Any]] | None = None,
) -> int:
    """Write one JSON object a line.

    "doccano" (default): ``{"id", "text", "label": [[start, end, label], ..., class, ...]}``
    (spans and classes share the ``label`` list; a record with relations has its spans in
    ``spans`` instead and ``"relations": [{"head", "tail", "label"}]``, the places of the
    ends in ``spans``). "prodigy": ``{"id", "text", "spans":
    [{"start", "end", "label"}], "accept": [classes], "answer": "accept"}``, relations as
    ``{"head_span", "child_span", "label"}`` (the ends' spans). A record labelled for
    relations without one gets ``"relations": []``. ``split`` is
    added when set; questions are not written. Without text, ids and offsets are kept.

    A record with sentences gets ``"sentences"``: every one, in order, as ``{"start", "end",
    "label"}`` (``null`` without a class) or, when ``sentence_multi_label``, ``{"start",
    "end", "labels": [...]}``; doccano's ``label`` list is then left out when empty, and
    Prodigy's ``spans`` unless the record was labelled for entities.

    ``suggestions`` (pending suggestions by the records' ``doc_id``, plain objects such as
    ``project.review.pending()`` gives) adds ``"suggestions"`` to the records that have
    some: each with ``"suggested": true``, its ``kind``, ``source`` and ``confidence``
    (see :func:`suggestion_json`). The reader skips them.
    """
    flavor = flavor or "doccano"
    if flavor not in FLAVORS:
        raise ExportError(f"unknown jsonl flavor {flavor!r}: use {' or '.join(FLAVORS)}")
    count = 0
    for record in records:
        obj: dict[str, Any] = {}
        external_id = export_id(record)
        if external_id is not None:
            obj["id"] = external_id
        if include_text:
            obj["text"] = record.text
        if flavor == "doccano" and record.relations:
            # Relations name their ends by their place in "spans": the spans go there.
            obj["spans"] = [_span_json(s) for s in record.spans]
            if record.classes or not record.sentences:
                obj["label"] = list(record.classes)
        elif flavor == "doccano":
            # A span with attributes is written as an object (the reader takes both).
            label = [_span_json(s) if s.attributes else [s.start, s.end, s.label]
                     for s in record.spans] + list(record.classes)
            if label or not record.sentences:
                obj["label"] = label
        else:
            # An empty list says "checked for entities, none found": not for sentences alone.
            if record.spans or not record.sentences or TaskKind.NER in record.labelled_for:
                obj["spans"] = [_span_json(s) for s in record.spans]
            if record.classes:
                obj["accept"] = list(record.classes)
            obj["answer"] = "accept"
        if record.relations or TaskKind.RELATION in record.labelled_for:
            obj["relations"] = [_relation_json(record, r, flavor) for r in record.relations]
        if record.sentences:
            obj["sentences"] = [_sentence_json(x, sentence_multi_label) for x in record.sentences]
        if record.split is not None:
            obj["split"] = record.split.value
        pending = suggestions.get(record.doc_id, ()) if suggestions and record.doc_id else ()
        if pending:
            obj["suggestions"] = [suggestion_json(p) for p in pending]
        out.write(json.dumps(obj, ensure_ascii=False))
        out.write("\n")
        count += 1
    return count


def _span_json(span: EntitySpan) -> dict[str, Any]:
    obj: dict[str, Any] = {"start": span.start, "end": span.end, "label": span.label}
    if span.attributes:
        obj["attributes"] = dict(span.attributes)
    return obj


def _relation_json(record: DocumentRecord, relation: Relation, flavor: str) -> dict[str, Any]:
    """doccano (this tool's form): the ends' places in "spans"; Prodigy: the ends' spans
    (``head_span`` / ``child_span``; Prodigy's token indices are not written)."""
    if flavor != "prodigy":
        return {"head": relation.head, "tail": relation.tail, "label": relation.label}
    head, tail = record.spans[relation.head], record.spans[relation.tail]
    return {"head_span": {"start": head.start, "end": head.end, "label": head.label},
            "child_span": {"start": tail.start, "end": tail.end, "label": tail.label},
            "label": relation.label}


def _sentence_json(sentence: SentenceLabel, multi_label: bool) -> dict[str, Any]:
    obj: dict[str, Any] = {"start": sentence.start, "end": sentence.end}
    if multi_label or len(sentence.labels) > 1:  # never drop a class
        obj["labels"] = list(sentence.labels)
    else:
        obj["label"] = sentence.labels[0] if sentence.labels else None
    return obj


def _end_json(end: Any) -> dict[str, Any]:
    start, stop, label = end
    return {"start": start, "end": stop, "label": label}


def suggestion_json(s: Any) -> dict[str, Any]:
    """A pending suggestion as written to JSONL: ``{"suggested": true, "kind", "source",
    "confidence"}`` and, by kind, entities ``start``/``end``/``label``, classes ``label``
    and ``labels`` (with ``probabilities``), sentences ``start``/``end``/``labels``,
    relations ``label`` with ``head`` and ``tail`` (each ``start``/``end``/``label``),
    answers ``question`` with ``start``/``end`` or ``no_answer``. ``s`` is any object
    with a pending suggestion's fields (``core.review.PendingSuggestion``)."""
    obj: dict[str, Any] = {"suggested": True, "kind": s.kind, "source": s.source,
                           "confidence": round(float(s.confidence), 4)}
    if s.kind == "entity":
        obj.update(start=s.start, end=s.end, label=s.label)
    elif s.kind == "class":
        obj.update(label=s.label, labels=list(s.labels) or [s.label])
        if s.probabilities:
            obj["probabilities"] = {k: round(float(v), 4) for k, v in s.probabilities.items()}
    elif s.kind == "attribute":
        obj.update(start=s.start, end=s.end, label=s.label, attribute=s.attribute,
                   value=s.value)
    elif s.kind == "relation":
        obj.update(label=s.label, head=_end_json(s.head), tail=_end_json(s.tail))
    elif s.kind == "sentence":
        obj.update(start=s.start, end=s.end, labels=list(s.labels) or
                   ([s.label] if s.label else []))
    elif s.kind == "answer":
        obj["question"] = s.question
        if s.no_answer:
            obj["no_answer"] = True
        else:
            obj.update(start=s.start, end=s.end)
    if s.model_version_id is not None:
        obj["model_version_id"] = s.model_version_id
    return obj
