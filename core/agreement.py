"""Inter-annotator agreement: how far two (or more) annotators' labels of the same
documents agree. Pure functions over plain values; Qt-free and store-free.

* **Entities**, per pair of annotators on their shared documents: exact-span F1 (a span
  agrees when both gave the same start, end and label; ``2 |A n B| / (|A| + |B|)``, which
  is the F1 of either against the other) and overlap F1 (a span agrees when the other
  annotator has a span of the same label overlapping it; the harmonic mean of the share of
  A's spans matched and of B's), in all and per label.
* **Classes**, per pair: Cohen's kappa on the shared documents (single-label: one label
  each; multi-label: per label, "has it or not"), from scikit-learn; over all annotators,
  Krippendorff's alpha (nominal), from the ``krippendorff`` package, which allows documents
  that not every annotator labelled.
* **Relations**, per pair on their shared documents: the F1 of the (head span, tail span,
  type) triples both gave (``2 |A n B| / (|A| + |B|)``), in all and per type; an end is a
  span with its label, so a relation between entities labelled otherwise does not agree.
* **Answers**, per pair of annotators on shared questions: exact match and token F1 as
  SQuAD's evaluation defines them (lower case, no punctuation or articles, white space
  collapsed), "no answer" agreeing only with "no answer".

A "document" is any hashable key (an external id, a text hash) the caller matches the
annotators' layers by.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

Span = tuple[int, int, str]  # start, end, label
Triple = tuple[Span, Span, str]  # head entity, tail entity, relation type


@dataclass(frozen=True)
class SpanCounts:
    """Counts behind the F1s of one pair: ``exact`` spans both gave; ``a_matched`` /
    ``b_matched`` spans of each that overlap a same-label span of the other."""

    a: int = 0
    b: int = 0
    exact: int = 0
    a_matched: int = 0
    b_matched: int = 0

    def __add__(self, other: SpanCounts) -> SpanCounts:
        return SpanCounts(self.a + other.a, self.b + other.b, self.exact + other.exact,
                          self.a_matched + other.a_matched, self.b_matched + other.b_matched)

    @property
    def exact_f1(self) -> float:
        return 1.0 if self.a + self.b == 0 else 2 * self.exact / (self.a + self.b)

    @property
    def overlap_f1(self) -> float:
        if self.a + self.b == 0:
            return 1.0
        p = self.a_matched / self.a if self.a else 0.0
        r = self.b_matched / self.b if self.b else 0.0
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)

    def to_dict(self) -> dict[str, Any]:
        return {"f1": round(self.exact_f1, 4), "overlap_f1": round(self.overlap_f1, 4),
                "a_spans": self.a, "b_spans": self.b, "both": self.exact}


def _overlapping(span: Span, others: Sequence[Span]) -> bool:
    start, end, label = span
    return any(o[2] == label and o[0] < end and start < o[1] for o in others)


def span_counts(a: Iterable[Span], b: Iterable[Span]) -> dict[str | None, SpanCounts]:
    """Counts of one document's spans by two annotators: key ``None`` for all labels, and
    one per label either used."""
    sa, sb = set(a), set(b)
    labels = sorted({s[2] for s in sa | sb})
    out: dict[str | None, SpanCounts] = {}
    for label in [None, *labels]:
        la = [s for s in sa if label is None or s[2] == label]
        lb = [s for s in sb if label is None or s[2] == label]
        out[label] = SpanCounts(
            a=len(la), b=len(lb), exact=len(set(la) & set(lb)),
            a_matched=sum(_overlapping(s, lb) for s in la),
            b_matched=sum(_overlapping(s, la) for s in lb),
        )
    return out


def entity_pair(a: Mapping[Hashable, Iterable[Span]],
                b: Mapping[Hashable, Iterable[Span]]) -> dict[str, Any]:
    """Entity agreement of two annotators on the documents both labelled."""
    shared = [d for d in a if d in b]
    total: dict[str | None, SpanCounts] = {}
    for doc in shared:
        for label, counts in span_counts(a[doc], b[doc]).items():
            total[label] = total.get(label, SpanCounts()) + counts
    overall = total.pop(None, SpanCounts())
    return {"documents": len(shared), **overall.to_dict(),
            "per_label": {label: c.to_dict() for label, c in sorted(total.items())}}


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float | None:
    """Cohen's kappa of two equally long label sequences (scikit-learn); 1.0 when both
    gave the same single label everywhere (no disagreement to correct for chance); None for
    no items."""
    if len(a) != len(b):
        raise ValueError(f"{len(a)} labels against {len(b)}")
    if not a:
        return None
    if len(set(a) | set(b)) == 1:
        return 1.0
    from sklearn.metrics import cohen_kappa_score

    return float(cohen_kappa_score([str(x) for x in a], [str(x) for x in b]))


def krippendorff_alpha(layers: Mapping[str, Mapping[Hashable, Hashable]]) -> float | None:
    """Krippendorff's alpha (nominal) of several annotators' labels by document (a document
    an annotator did not label is missing data); None with fewer than two annotators or no
    document labelled by two."""
    if len(layers) < 2:
        return None
    docs = sorted({d for labels in layers.values() for d in labels}, key=repr)
    values = sorted({str(v) for labels in layers.values() for v in labels.values()})
    if not docs or not values:
        return None
    index = {v: i for i, v in enumerate(values)}
    data = np.full((len(layers), len(docs)), np.nan)
    for row, labels in enumerate(layers.values()):
        for col, doc in enumerate(docs):
            if doc in labels:
                data[row, col] = index[str(labels[doc])]
    pairable = np.sum(~np.isnan(data), axis=0) >= 2
    if not pairable.any():
        return None
    if len(values) == 1:
        return 1.0
    import krippendorff

    return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))


def class_pair(a: Mapping[Hashable, Sequence[str]], b: Mapping[Hashable, Sequence[str]], *,
               multi_label: bool = False) -> dict[str, Any]:
    """Class agreement of two annotators on the documents both classified: ``kappa`` (a
    single-label task: over the one label of each document; multi-label: the mean of the
    per-label kappas), the share of documents with the same labels, and per label the
    kappa of "has it or not"."""
    shared = [d for d in a if d in b]
    labels = sorted({x for d in shared for x in (*a[d], *b[d])})
    per_label = {}
    for label in labels:
        ya = [label in a[d] for d in shared]
        yb = [label in b[d] for d in shared]
        per_label[label] = {"kappa": _round(cohen_kappa(ya, yb)),
                            "a": sum(ya), "b": sum(yb), "both": sum(x and y for x, y in zip(ya, yb))}
    if multi_label:
        kappas = [v["kappa"] for v in per_label.values() if v["kappa"] is not None]
        kappa = float(np.mean(kappas)) if kappas else None
    else:
        kappa = cohen_kappa([_single(a[d]) for d in shared], [_single(b[d]) for d in shared])
    same = sum(set(a[d]) == set(b[d]) for d in shared)
    return {"documents": len(shared), "kappa": _round(kappa),
            "observed": _round(same / len(shared)) if shared else None, "per_label": per_label}


def _single(labels: Sequence[str]) -> str:
    return labels[0] if labels else ""


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 4)


# --- answers (SQuAD's normalisation) -----------------------------------------------------

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation)


def normalize_answer(text: str) -> str:
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def token_f1(a: str, b: str) -> float:
    ta, tb = normalize_answer(a).split(), normalize_answer(b).split()
    if not ta or not tb:
        return float(ta == tb)
    common = sum((Counter(ta) & Counter(tb)).values())
    if common == 0:
        return 0.0
    p, r = common / len(tb), common / len(ta)
    return 2 * p * r / (p + r)


def answer_pair(a: Mapping[Hashable, str | None], b: Mapping[Hashable, str | None]) -> dict[str, Any]:
    """Answer agreement of two annotators on the questions both answered (an answer's
    text, or None for "no answer"): exact match and token F1, averaged over questions."""
    shared = [q for q in a if q in b]
    em = f1 = 0.0
    for q in shared:
        x, y = a[q], b[q]
        if x is None or y is None:
            same = float(x is None and y is None)
            em, f1 = em + same, f1 + same
        else:
            em += float(normalize_answer(x) == normalize_answer(y))
            f1 += token_f1(x, y)
    n = len(shared)
    return {"questions": n, "exact_match": _round(em / n) if n else None,
            "token_f1": _round(f1 / n) if n else None}


# --- several annotators -------------------------------------------------------------------


def pairs(layers: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every pair of annotators, in name order."""
    return list(combinations(sorted(layers), 2))


def entity_report(layers: Mapping[str, Mapping[Hashable, Iterable[Span]]]) -> dict[str, Any]:
    return {"pairs": [{"a": x, "b": y, **entity_pair(layers[x], layers[y])}
                      for x, y in pairs(layers)]}


def class_report(layers: Mapping[str, Mapping[Hashable, Sequence[str]]], *,
                 multi_label: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"pairs": [{"a": x, "b": y, **class_pair(layers[x], layers[y],
                                                                   multi_label=multi_label)}
                                     for x, y in pairs(layers)]}
    if not multi_label:
        out["alpha"] = _round(krippendorff_alpha(
            {name: {d: _single(v) for d, v in docs.items()} for name, docs in layers.items()}))
    else:
        labels = sorted({x for docs in layers.values() for v in docs.values() for x in v})
        out["alpha_per_label"] = {label: _round(krippendorff_alpha(
            {name: {d: label in v for d, v in docs.items()} for name, docs in layers.items()}))
            for label in labels}
    return out


def attribute_pair(a: Mapping[Hashable, Mapping[Hashable, Mapping[str, str]]],
                   b: Mapping[Hashable, Mapping[Hashable, Mapping[str, str]]]) -> dict[str, Any]:
    """Attribute agreement of two annotators on the entities both gave (same document,
    start, end and label): per attribute, the share of such entities with the same value
    and Cohen's kappa over the values."""
    per: dict[str, tuple[list[str], list[str]]] = {}
    both = 0
    for doc in (d for d in a if d in b):
        for span in (s for s in a[doc] if s in b[doc]):
            both += 1
            for name in sorted({*a[doc][span], *b[doc][span]}):
                xs, ys = per.setdefault(name, ([], []))
                xs.append(a[doc][span].get(name, ""))
                ys.append(b[doc][span].get(name, ""))
    return {"entities": both, "per_attribute": {
        name: {"agreement": _round(sum(x == y for x, y in zip(xs, ys)) / len(xs)),
               "kappa": _round(cohen_kappa(xs, ys)), "entities": len(xs)}
        for name, (xs, ys) in per.items()}}


def attribute_report(layers: Mapping[str, Mapping[Hashable, Mapping[Hashable, Mapping[str, str]]]]
                     ) -> dict[str, Any]:
    return {"pairs": [{"a": x, "b": y, **attribute_pair(layers[x], layers[y])}
                      for x, y in pairs(layers)]}


def relation_pair(a: Mapping[Hashable, Iterable[Triple]],
                  b: Mapping[Hashable, Iterable[Triple]]) -> dict[str, Any]:
    """Relation agreement of two annotators on the documents both labelled: the F1 of the
    triples (head, tail, type) both gave, ``2 |A n B| / (|A| + |B|)`` (1.0 when neither gave
    one), in all and per type."""
    shared = [d for d in a if d in b]
    counts: dict[str | None, list[int]] = {None: [0, 0, 0]}
    for doc in shared:
        ta, tb = set(a[doc]), set(b[doc])
        for label in [None, *sorted({t[2] for t in ta | tb})]:
            xa = {t for t in ta if label is None or t[2] == label}
            xb = {t for t in tb if label is None or t[2] == label}
            row = counts.setdefault(label, [0, 0, 0])
            row[0] += len(xa)
            row[1] += len(xb)
            row[2] += len(xa & xb)

    def scores(row: list[int]) -> dict[str, Any]:
        n_a, n_b, both = row
        f1 = 1.0 if n_a + n_b == 0 else 2 * both / (n_a + n_b)
        return {"f1": round(f1, 4), "a_relations": n_a, "b_relations": n_b, "both": both}

    overall = counts.pop(None)
    return {"documents": len(shared), **scores(overall),
            "per_label": {label: scores(row) for label, row in sorted(counts.items())}}


def relation_report(layers: Mapping[str, Mapping[Hashable, Iterable[Triple]]]) -> dict[str, Any]:
    return {"pairs": [{"a": x, "b": y, **relation_pair(layers[x], layers[y])}
                      for x, y in pairs(layers)]}


def answer_report(layers: Mapping[str, Mapping[Hashable, str | None]]) -> dict[str, Any]:
    return {"pairs": [{"a": x, "b": y, **answer_pair(layers[x], layers[y])}
                      for x, y in pairs(layers)]}
