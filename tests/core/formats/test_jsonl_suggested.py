"""JSONL import never takes a suggestion for a human label."""

from __future__ import annotations

from pathlib import Path

from core.formats.jsonl import parse_jsonl
from core.types import EntitySpan, TaskKind


def test_suggested_spans_and_suggestion_lists_are_skipped() -> None:
    text = (
        '{"text": "asthma and cancer", "spans": [{"start": 0, "end": 6, "label": "D"}, '
        '{"start": 11, "end": 17, "label": "D", "suggested": true}]}\n'
        '{"text": "asthma", "spans": [{"start": 0, "end": 6, "label": "D", "suggested": true}]}\n'
        '{"text": "cancer", "label": [], "suggestions": [{"suggested": true, "kind": "entity", '
        '"start": 0, "end": 6, "label": "D", "source": "model", "confidence": 0.9}]}\n'
        '{"text": "flu", "label": [{"start": 0, "end": 3, "label": "D", "suggested": true}]}\n'
    )
    a, b, c, d = parse_jsonl(text, Path("x.jsonl"))
    assert a.spans == (EntitySpan(0, 6, "D"),) and TaskKind.NER in a.labelled_for
    # Only suggestions: nothing says a person checked the record for entities.
    assert b.spans == () and TaskKind.NER not in b.labelled_for
    assert c.spans == () and c.labelled_for == frozenset()
    assert d.spans == () and TaskKind.NER not in d.labelled_for
