"""Typed suggestion payloads: what is stored reads back the same, bad shapes are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import review
from core.project import Project
from core.store import repo
from core.store.models import Suggestion
from core.tasks import kind_of, kind_of_suggestion
from core.tasks.attributes import AttributePayload
from core.tasks.base import PayloadError
from core.tasks.classify import ClassPayload
from core.tasks.ner import EntityPayload
from core.tasks.qa import AnswerPayload
from core.tasks.relations import RelationPayload
from core.types import DocumentRecord, TaskKind


@pytest.mark.parametrize("payload", [
    EntityPayload(3, 7, "Disease"),
    ClassPayload(("pos", "neg"), {"pos": 0.75, "neg": 0.6}),
    AnswerPayload(0, 4, "Mild"),
    AnswerPayload(),
    AttributePayload(3, 7, "Condition", "negation", "Negated",
                     {"Affirmed": 0.25, "Negated": 0.75}),
    RelationPayload(0, 5, "Dosage", 9, 16, "Medication", "dosage_of",
                    {"no_relation": 0.2, "dosage_of": 0.8}),
])
def test_payload_round_trips_through_json(payload) -> None:  # type: ignore[no-untyped-def]
    back = type(payload).from_json(payload.to_json())
    assert back == payload
    assert back.to_json() == payload.to_json()


def test_older_class_payload_without_labels_list_still_reads() -> None:
    assert ClassPayload.from_json({"label": "pos"}).labels == ("pos",)


@pytest.mark.parametrize(("kind", "data", "problem"), [
    ("entity", {"start": 3, "label": "X"}, "no 'end'"),
    ("entity", {"start": "3", "end": 5, "label": "X"}, "'start' should be int"),
    ("entity", {"start": 5, "end": 3, "label": "X"}, "bad offsets"),
    ("entity", {"start": True, "end": 3, "label": "X"}, "'start' should be int"),
    ("class", {"labels": []}, "without a class"),
    ("class", {"labels": "pos"}, "list of names"),
    ("answer", {"start": 1}, "no 'end'"),
    ("attribute", {"start": 1, "end": 4, "label": "X", "attribute": "negation"}, "no 'value'"),
    ("attribute", {"start": 1, "end": 4, "label": "X", "attribute": "negation", "value": 1},
     "'value' should be str"),
    ("attribute", {"start": 4, "end": 4, "label": "X", "attribute": "n", "value": "v"},
     "bad offsets"),
    ("attribute", {"start": 1, "end": 4, "label": "X", "attribute": "n", "value": "v",
                   "probabilities": {"v": "high"}}, "probabilities"),
    ("relation", {"head": {"start": 0, "end": 5, "label": "A"}, "label": "r"}, "no 'tail'"),
    ("relation", {"head": {"start": 0, "end": 5, "label": "A"},
                  "tail": {"start": 6, "end": 9}, "label": "r"}, "no 'label'"),
    ("relation", {"head": {"start": 0, "end": 5, "label": "A"},
                  "tail": {"start": 0, "end": 5, "label": "A"}, "label": "r"}, "itself"),
    ("relation", {"head": {"start": 5, "end": 5, "label": "A"},
                  "tail": {"start": 6, "end": 9, "label": "B"}, "label": "r"}, "bad head"),
    ("relation", {"head": [0, 5], "tail": {"start": 6, "end": 9, "label": "B"},
                  "label": "r"}, "'head' should be dict"),
])
def test_bad_payloads_are_refused_when_read(kind: str, data: dict, problem: str) -> None:
    with pytest.raises(PayloadError, match=problem):
        kind_of_suggestion(kind).payload_from_json(data)


def test_a_damaged_stored_payload_names_its_suggestion(tmp_path: Path) -> None:
    with Project.create(tmp_path / "p.db", tasks={"ner": ["Disease"]}) as project:
        with project.write() as s:
            repo.add_documents(s, [DocumentRecord("flu again")])
            task = repo.require_task(s, "ner")
            row = Suggestion(document_id=1, task_id=task.id, kind="entity",
                             payload={"start": 0, "label": "Disease"}, confidence=0.9)
            s.add(row)
            s.flush()
            sid = row.id
        with project.write() as s, pytest.raises(PayloadError, match=f"suggestion {sid}"):
            review.accept_suggestion(s, sid)


def test_each_kind_has_its_own_suggestion_kind() -> None:
    names = {kind_of(k).suggestion_kind for k in TaskKind}
    assert names == {"entity", "class", "answer", "sentence", "attribute", "relation"}
    for k in TaskKind:
        assert kind_of_suggestion(kind_of(k).suggestion_kind).kind is k
