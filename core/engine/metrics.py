"""Pure evaluation metrics: entity-level (seqeval strict IOB2; exact-match span sets for
entities that may overlap), classes, SQuAD EM/F1.

Every function returns plain dicts of floats, with ``per_label`` scores.
"""

from __future__ import annotations

import collections
import re
import string
from collections.abc import Iterable, Sequence
from typing import Any


def entity_metrics(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict[str, Any]:
    """Entity-level precision/recall/F1 (seqeval, strict mode, IOB2) and word accuracy.

    ``gold`` and ``pred`` are per-document word tag sequences of equal lengths.
    """
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2

    if len(gold) != len(pred) or any(len(g) != len(p) for g, p in zip(gold, pred)):
        raise ValueError("gold and predicted tag sequences differ in length")
    total = sum(len(g) for g in gold)
    correct = sum(a == b for g, p in zip(gold, pred) for a, b in zip(g, p))
    gold_l = [list(g) for g in gold]
    pred_l = [list(p) for p in pred]
    n_gold = sum(t.startswith("B-") for g in gold_l for t in g)
    n_pred = sum(t.startswith("B-") for p in pred_l for t in p)
    result: dict[str, Any] = {
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "accuracy": correct / total if total else 0.0,
        "per_label": {},
        "support": n_gold,
        "predicted": n_pred,
    }
    if not gold_l or (n_gold == 0 and n_pred == 0):
        return result
    report = classification_report(
        gold_l, pred_l, mode="strict", scheme=IOB2, output_dict=True, zero_division=0
    )
    micro = report.get("micro avg", {})
    result["precision"] = float(micro.get("precision", 0.0))
    result["recall"] = float(micro.get("recall", 0.0))
    result["f1"] = float(micro.get("f1-score", 0.0))
    for label, row in report.items():
        if label.endswith(" avg"):
            continue
        result["per_label"][label] = {
            "precision": float(row["precision"]),
            "recall": float(row["recall"]),
            "f1": float(row["f1-score"]),
            "support": int(row["support"]),
        }
    return result


def span_set_metrics(
    gold: Sequence[Iterable[tuple[int, int, str]]],
    pred: Sequence[Iterable[tuple[int, int, str]]],
) -> dict[str, Any]:
    """Exact-match precision/recall/F1 over per-document sets of ``(start, end, label)``
    spans, micro and ``per_label``: for entities that may overlap or nest, which BIO tags
    (and so seqeval) cannot hold. A span is right when the prediction holds the same
    extent with the same label. The shape of :func:`entity_metrics` (``accuracy`` here is
    the share of gold and predicted spans that are matched, there being no one tag per
    word)."""
    if len(gold) != len(pred):
        raise ValueError("gold and predictions differ in length")
    tp: collections.Counter[str] = collections.Counter()
    n_gold: collections.Counter[str] = collections.Counter()
    n_pred: collections.Counter[str] = collections.Counter()
    for g, p in zip(gold, pred):
        gs, ps = set(g), set(p)
        for _, _, label in gs:
            n_gold[label] += 1
        for _, _, label in ps:
            n_pred[label] += 1
        for _, _, label in gs & ps:
            tp[label] += 1

    def prf(t: int, ng: int, np_: int) -> tuple[float, float, float]:
        precision = t / np_ if np_ else 0.0
        recall = t / ng if ng else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return precision, recall, f1

    total_tp, total_gold, total_pred = sum(tp.values()), sum(n_gold.values()), sum(
        n_pred.values())
    precision, recall, f1 = prf(total_tp, total_gold, total_pred)
    per_label: dict[str, dict[str, Any]] = {}
    for label in sorted(set(n_gold) | set(n_pred)):
        p_, r_, f_ = prf(tp[label], n_gold[label], n_pred[label])
        per_label[label] = {"precision": p_, "recall": r_, "f1": f_, "support": n_gold[label]}
    union = total_gold + total_pred - total_tp
    return {
        "precision": precision, "recall": recall, "f1": f1,
        "accuracy": total_tp / union if union else 0.0,
        "per_label": per_label, "support": total_gold, "predicted": total_pred,
    }


def classification_metrics(
    gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], labels: Sequence[str]
) -> dict[str, Any]:
    """Accuracy (exact set match) and macro-F1 over ``labels``, with per-label P/R/F1.

    Each item is the set of labels of one document (one label for single-label tasks).
    Macro-F1 averages over the labels that occur in gold or predictions.
    """
    if len(gold) != len(pred):
        raise ValueError("gold and predictions differ in length")
    n = len(gold)
    exact = sum(set(g) == set(p) for g, p in zip(gold, pred))
    per_label: dict[str, dict[str, float]] = {}
    f1s: list[float] = []
    for label in labels:
        tp = sum(label in g and label in p for g, p in zip(gold, pred))
        fp = sum(label not in g and label in p for g, p in zip(gold, pred))
        fn = sum(label in g and label not in p for g, p in zip(gold, pred))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = {
            "precision": precision, "recall": recall, "f1": f1, "support": tp + fn,
        }
        if tp + fp + fn:
            f1s.append(f1)
    return {
        "accuracy": exact / n if n else 0.0,
        "macro_f1": sum(f1s) / len(f1s) if f1s else 0.0,
        "per_label": per_label,
        "support": n,
    }


def normalize_answer(text: str) -> str:
    """SQuAD's official normalisation: lower case, drop punctuation, articles, extra space."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def answer_exact_match(prediction: str, truth: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(truth))


def answer_f1(prediction: str, truth: str) -> float:
    """SQuAD token F1 (an empty answer scores 1 only against an empty answer)."""
    pred_tokens = normalize_answer(prediction).split()
    truth_tokens = normalize_answer(truth).split()
    if not pred_tokens or not truth_tokens:
        return float(pred_tokens == truth_tokens)
    common = collections.Counter(pred_tokens) & collections.Counter(truth_tokens)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(pred_tokens)
    recall = same / len(truth_tokens)
    return 2 * precision * recall / (precision + recall)


def qa_metrics(
    gold: Sequence[Sequence[str]],
    pred: Sequence[str],
    categories: Sequence[str] | None = None,
) -> dict[str, Any]:
    """SQuAD exact match and F1 in percent, max over each question's gold answers.

    ``gold[i]`` lists the answers of question i (empty = unanswerable, where only an empty
    prediction scores). ``categories`` (optional, e.g. "has_answer"/"no_answer") gives the
    ``per_label`` breakdown; by default questions are grouped by whether they have an answer.
    """
    if len(gold) != len(pred):
        raise ValueError("gold and predictions differ in length")
    if categories is None:
        categories = ["has_answer" if g else "no_answer" for g in gold]
    em_sum = f1_sum = 0.0
    groups: dict[str, list[tuple[float, float]]] = collections.defaultdict(list)
    for answers, prediction, category in zip(gold, pred, categories):
        truths = list(answers) or [""]
        em = max(answer_exact_match(prediction, t) for t in truths)
        f1 = max(answer_f1(prediction, t) for t in truths)
        em_sum += em
        f1_sum += f1
        groups[category].append((em, f1))
    n = len(gold)
    return {
        "exact_match": 100.0 * em_sum / n if n else 0.0,
        "f1": 100.0 * f1_sum / n if n else 0.0,
        "per_label": {
            name: {
                "exact_match": 100.0 * sum(e for e, _ in rows) / len(rows),
                "f1": 100.0 * sum(f for _, f in rows) / len(rows),
                "support": len(rows),
            }
            for name, rows in sorted(groups.items())
        },
        "support": n,
    }


def primary_metric(task: str, metrics: dict[str, Any]) -> float:
    """The number used to pick the best epoch: F1 (entities, answers) or macro-F1 (classes
    of documents or of sentences)."""
    if task in ("classify", "sentence"):
        return float(metrics.get("macro_f1", 0.0))
    return float(metrics.get("f1", 0.0))
