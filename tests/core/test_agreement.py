"""Agreement: exact and overlap span F1, Cohen's kappa, Krippendorff's alpha, answer EM and
token F1, checked against values worked out by hand or published."""

from __future__ import annotations

import math

import pytest

from core import agreement as A


def test_exact_and_overlap_span_f1_in_all_and_per_label() -> None:
    a = {"d1": [(0, 5, "D"), (10, 15, "D"), (20, 25, "C")]}
    b = {"d1": [(0, 5, "D"), (11, 15, "D"), (30, 35, "C")], "d2": [(0, 3, "D")]}
    got = A.entity_pair(a, b)
    assert got["documents"] == 1  # d2 is not shared
    assert got["f1"] == pytest.approx(2 * 1 / 6, abs=1e-4)
    assert got["overlap_f1"] == pytest.approx(2 / 3, abs=1e-4)  # 2 of 3 matched both ways
    assert got["per_label"]["D"]["f1"] == 0.5 and got["per_label"]["D"]["overlap_f1"] == 1.0
    assert got["per_label"]["C"]["f1"] == 0.0 and got["per_label"]["C"]["overlap_f1"] == 0.0
    # An overlap of another label does not count.
    assert A.entity_pair({"x": [(0, 5, "D")]}, {"x": [(0, 5, "C")]})["overlap_f1"] == 0.0
    # Symmetric, and two empty layers agree.
    assert A.entity_pair(b, a)["f1"] == got["f1"]
    assert A.entity_pair({"x": []}, {"x": []})["f1"] == 1.0


def test_cohen_kappa_worked_example() -> None:
    a = ["yes", "yes", "no", "no", "yes"]
    b = ["yes", "no", "no", "no", "yes"]
    # po = 0.8; pe = 0.6 * 0.4 + 0.4 * 0.6 = 0.48; kappa = 0.32 / 0.52
    assert A.cohen_kappa(a, b) == pytest.approx(0.32 / 0.52)
    assert A.cohen_kappa(["x"] * 3, ["x"] * 3) == 1.0
    assert A.cohen_kappa([], []) is None
    with pytest.raises(ValueError, match="2 labels against 1"):
        A.cohen_kappa(["a", "b"], ["a"])


def test_krippendorff_alpha_published_example() -> None:
    """Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 coders, 12
    units, missing values, nominal alpha = 0.743."""
    rows = {
        "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
        "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
        "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
        "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
    }
    layers = {c: {u: v for u, v in enumerate(vals) if v is not None} for c, vals in rows.items()}
    assert A.krippendorff_alpha(layers) == pytest.approx(0.743, abs=5e-4)
    assert A.krippendorff_alpha({"A": layers["A"]}) is None


def test_class_pair_single_and_multi_label() -> None:
    a = {1: ["yes"], 2: ["yes"], 3: ["no"], 4: ["no"], 5: ["yes"]}
    b = {1: ["yes"], 2: ["no"], 3: ["no"], 4: ["no"], 5: ["yes"], 6: ["no"]}
    got = A.class_pair(a, b)
    assert got["documents"] == 5 and got["kappa"] == pytest.approx(0.32 / 0.52, abs=1e-4)
    assert got["observed"] == 0.8
    multi = A.class_pair({1: ["x", "y"], 2: ["x"]}, {1: ["x"], 2: ["x"]}, multi_label=True)
    assert multi["per_label"]["x"]["kappa"] == 1.0  # both gave x to both
    assert multi["per_label"]["y"]["kappa"] == 0.0  # y: one said yes once, the other never
    assert multi["kappa"] == 0.5 and multi["observed"] == 0.5
    report = A.class_report({"ann": a, "bob": b})
    assert [p["a"] + "/" + p["b"] for p in report["pairs"]] == ["ann/bob"]
    assert report["alpha"] is not None and report["alpha"] < report["pairs"][0]["kappa"] + 0.1


def test_answers_exact_match_and_token_f1_as_squad() -> None:
    assert A.normalize_answer("The  Cat, sat.") == "cat sat"
    assert A.token_f1("a big dog", "dog") == pytest.approx(2 / 3)
    got = A.answer_pair({"q1": "the cat sat", "q2": "a big dog", "q3": None, "q4": None},
                        {"q1": "Cat sat.", "q2": "dog", "q3": None, "q4": "here"})
    assert got["questions"] == 4
    assert got["exact_match"] == pytest.approx(2 / 4)  # q1, q3
    assert got["token_f1"] == pytest.approx((1 + 2 / 3 + 1 + 0) / 4, abs=1e-4)
    assert math.isclose(A.answer_pair({}, {})["questions"], 0)
