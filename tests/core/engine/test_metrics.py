"""Metrics: seqeval strict IOB2, macro-F1, SQuAD normalisation and EM/F1."""

from __future__ import annotations

import pytest

from core.engine.metrics import (
    answer_f1,
    classification_metrics,
    entity_metrics,
    normalize_answer,
    qa_metrics,
)


def test_entity_metrics_are_strict() -> None:
    gold = [["B-X", "I-X", "O", "B-Y"]]
    # An entity that starts with I- is not an entity in strict IOB2.
    pred = [["B-X", "I-X", "O", "I-Y"]]
    m = entity_metrics(gold, pred)
    assert m["precision"] == 1.0 and m["recall"] == 0.5
    assert m["f1"] == pytest.approx(2 / 3)
    assert m["accuracy"] == 0.75
    assert m["per_label"]["X"]["f1"] == 1.0 and m["per_label"]["Y"]["f1"] == 0.0


def test_entity_metrics_with_no_entities_anywhere() -> None:
    m = entity_metrics([["O", "O"]], [["O", "O"]])
    assert m["f1"] == 0.0 and m["accuracy"] == 1.0


def test_classification_metrics_macro_f1() -> None:
    gold = [("a",), ("a",), ("b",), ("c",)]
    pred = [("a",), ("b",), ("b",), ("a",)]
    m = classification_metrics(gold, pred, ["a", "b", "c"])
    assert m["accuracy"] == 0.5
    # a: P 1/2 R 1/2 F 1/2; b: P 1/2 R 1 F 2/3; c: 0
    assert m["macro_f1"] == pytest.approx((0.5 + 2 / 3 + 0) / 3)


def test_squad_normalisation_and_scores() -> None:
    assert normalize_answer("The  Denver Broncos!") == "denver broncos"
    assert answer_f1("the Denver Broncos", "Denver") == pytest.approx(2 / 3)
    m = qa_metrics([["Denver Broncos", "Broncos"], []], ["broncos.", ""])
    assert m["exact_match"] == 100.0 and m["f1"] == 100.0
    assert m["per_label"]["no_answer"]["support"] == 1
    m = qa_metrics([[]], ["something"])
    assert m["exact_match"] == 0.0 and m["f1"] == 0.0
