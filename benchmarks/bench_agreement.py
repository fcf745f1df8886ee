"""Agreement as the tool computes it (core/agreement.py) against an independent computation
of the same numbers, on two or three annotators built from real corpora, the second and
third perturbed in known ways.

* Entities, NCBI-disease devel (CoNLL): annotator ``a`` is the gold file; ``b`` drops 10 %
  of the spans, moves one edge of another 10 % by a token (the span still overlaps its
  original) and adds spurious one-token spans (5 % of the span count) on tokens outside
  every span and not next to one. Independent: seqeval's F1 of ``b``'s BIO tags against
  ``a``'s (exact spans), and the F1s that follow from the counts of each perturbation
  (exact and overlap).
* Classes, TREC test (500 questions, 6 classes): ``a`` is the gold; ``b`` and ``c`` give
  another class (drawn at random) to 15 % and 25 % of the questions, ``c`` skipping 10 %
  of the questions. Independent: Cohen's kappa from its formula (observed and chance
  agreement counted here) and Krippendorff's alpha from the coincidence matrix written out
  here, not from scikit-learn or the ``krippendorff`` package the tool uses.
* Answers, XQuAD-en: ``a`` is the first gold answer; ``b`` drops the last word of 20 % of
  the answers of two words or more. Independent: exact match from the counts.

Prints one JSON object (``--out FILE`` writes it there too); every check has the tool's
value, the independent value and whether they are equal (both rounded to 4 decimals, as
the tool reports them).

    python benchmarks/bench_agreement.py --out benchmarks/results/agreement.json
    python benchmarks/bench_agreement.py --tiny
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_cli import add_common_args, emit, tiny

from core import agreement as A

DATA = Path(os.environ.get("ANNOTATOR_DATA", ROOT.parent / "shared" / "data"))
EPS = 1e-9


def check(tool: float | None, independent: float | None) -> dict[str, Any]:
    same = (tool is None and independent is None) or (
        tool is not None and independent is not None and abs(tool - independent) < EPS)
    return {"tool": tool, "independent": independent, "equal": bool(same)}


# --- entities -----------------------------------------------------------------------------


def conll_sentences(path: Path, limit: int | None) -> list[tuple[list[str], list[str]]]:
    sents: list[tuple[list[str], list[str]]] = [([], [])]
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            word, tag = line.split("\t")[:2]
            sents[-1][0].append(word)
            sents[-1][1].append(tag)
        elif sents[-1][0]:
            sents.append(([], []))
    sents = [s for s in sents if s[0]]
    return sents[:limit] if limit else sents


def tag_spans(tags: list[str]) -> list[tuple[int, int, str]]:
    """Token spans ``(first, last + 1, label)`` of a BIO sequence."""
    spans, start, label = [], None, None
    for i, t in enumerate([*tags, "O"]):
        if start is not None and (t == "O" or t.startswith("B-") or t[2:] != label):
            spans.append((start, i, label))
            start = None
        if t != "O" and (start is None):
            start, label = i, t[2:]
    return spans


def spans_tags(n: int, spans: list[tuple[int, int, str]]) -> list[str]:
    tags = ["O"] * n
    for s, e, label in spans:
        tags[s] = f"B-{label}"
        for i in range(s + 1, e):
            tags[i] = f"I-{label}"
    return tags


def entities(limit: int | None, seed: int) -> dict[str, Any]:
    from seqeval.metrics import f1_score

    rng = random.Random(seed)
    sents = conll_sentences(DATA / "ner" / "ncbi-disease" / "devel.tsv", limit)
    layer_a: dict[int, list[tuple[int, int, str]]] = {}
    layer_b: dict[int, list[tuple[int, int, str]]] = {}
    tags_a, tags_b = [], []
    counts = Counter()
    for i, (words, tags) in enumerate(sents):
        gold = tag_spans(tags)
        out: list[tuple[int, int, str]] = []
        for s, e, label in gold:
            r = rng.random()
            if r < 0.10:
                counts["dropped"] += 1
                continue
            if r < 0.20:
                # Move one edge by a token, keeping the span non-empty and clear of others.
                taken = {j for s2, e2, _ in gold if (s2, e2) != (s, e) for j in range(s2, e2)}
                options = []
                if e - s > 1:
                    options += [(s + 1, e), (s, e - 1)]
                if e < len(words) and e not in taken and e + 1 not in taken:
                    options.append((s, e + 1))
                if s > 0 and s - 1 not in taken and s - 2 not in taken:
                    options.append((s - 1, e))
                if options:
                    s, e = rng.choice(options)
                    counts["moved"] += 1
                    out.append((s, e, label))
                    continue
            counts["kept"] += 1
            out.append((s, e, label))
        covered = {j for s, e, _ in gold + out for j in range(max(s - 1, 0), e + 1)}
        free = [j for j in range(len(words)) if j not in covered]
        if free and rng.random() < 0.05 * max(len(gold), 1):
            j = rng.choice(free)
            out.append((j, j + 1, "Disease"))
            counts["spurious"] += 1
        out.sort()
        layer_a[i], layer_b[i] = gold, out
        tags_a.append(tags)
        tags_b.append(spans_tags(len(words), out))
    tool = A.entity_pair(layer_a, layer_b)
    n_a = sum(map(len, layer_a.values()))
    n_b = sum(map(len, layer_b.values()))
    exact = 2 * counts["kept"] / (n_a + n_b)
    p_overlap = (counts["kept"] + counts["moved"]) / n_a  # a's spans with an overlapping b
    r_overlap = (counts["kept"] + counts["moved"]) / n_b  # b's spans with an overlapping a
    overlap = 2 * p_overlap * r_overlap / (p_overlap + r_overlap)
    return {
        "sentences": len(sents), "a_spans": n_a, "b_spans": n_b, "perturbed": dict(counts),
        "exact_f1_vs_seqeval": check(tool["f1"], round(float(f1_score(tags_a, tags_b)), 4)),
        "exact_f1_vs_counts": check(tool["f1"], round(exact, 4)),
        "overlap_f1_vs_counts": check(tool["overlap_f1"], round(overlap, 4)),
    }


# --- classes ------------------------------------------------------------------------------


def kappa_by_formula(a: list[str], b: list[str]) -> float:
    n = len(a)
    po = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    pe = sum(ca[k] * cb[k] for k in set(ca) | set(cb)) / (n * n)
    return (po - pe) / (1 - pe)


def alpha_by_coincidences(units: list[list[str]]) -> float:
    """Nominal alpha from the coincidence matrix (Krippendorff 2011, section C): only units
    with two values or more count; o_ck sums 1 / (m_u - 1) over ordered pairs of values."""
    values = sorted({v for u in units for v in u})
    index = {v: i for i, v in enumerate(values)}
    o = np.zeros((len(values), len(values)))
    for u in units:
        m = len(u)
        if m < 2:
            continue
        for i, x in enumerate(u):
            for j, y in enumerate(u):
                if i != j:
                    o[index[x], index[y]] += 1 / (m - 1)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    d_o = (n - np.trace(o)) / n
    d_e = (n * n - (n_c ** 2).sum()) / (n * (n - 1))
    return float(1 - d_o / d_e)


def classes(limit: int | None, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    lines = (DATA / "classify" / "trec" / "test.txt").read_text(encoding="latin-1").splitlines()
    gold = [line.split(" ", 1)[0] for line in lines if line.strip()][: limit or None]
    labels = sorted(set(gold))

    def flip(share: float, skip: float = 0.0) -> dict[int, str]:
        out = {}
        for i, g in enumerate(gold):
            if rng.random() < skip:
                continue
            out[i] = rng.choice([x for x in labels if x != g]) if rng.random() < share else g
        return out

    a = dict(enumerate(gold))
    b, c = flip(0.15), flip(0.25, skip=0.10)
    layers = {"a": {d: [v] for d, v in a.items()}, "b": {d: [v] for d, v in b.items()},
              "c": {d: [v] for d, v in c.items()}}
    report = A.class_report(layers)
    by_pair = {(p["a"], p["b"]): p["kappa"] for p in report["pairs"]}
    out: dict[str, Any] = {"questions": len(gold), "labels": labels}
    for x, y, lx, ly in (("a", "b", a, b), ("a", "c", a, c), ("b", "c", b, c)):
        shared = [d for d in lx if d in ly]
        out[f"kappa_{x}_{y}"] = check(by_pair[(x, y)], round(kappa_by_formula(
            [lx[d] for d in shared], [ly[d] for d in shared]), 4))
    units = [[lab[d] for lab in (a, b, c) if d in lab] for d in range(len(gold))]
    out["alpha_abc"] = check(report["alpha"], round(alpha_by_coincidences(units), 4))
    return out


# --- answers ------------------------------------------------------------------------------


def answers(limit: int | None, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    data = json.loads((DATA / "qa" / "xquad-en.json").read_text(encoding="utf-8"))
    gold: dict[str, str] = {}
    for article in data["data"]:
        for para in article["paragraphs"]:
            for qa in para["qas"]:
                if qa.get("answers"):
                    gold[qa["id"]] = qa["answers"][0]["text"]
    keys = sorted(gold)[: limit or None]
    a = {k: gold[k] for k in keys}
    b, cut = {}, 0
    for k in keys:
        words = a[k].split()
        if len(words) >= 2 and rng.random() < 0.2 and A.normalize_answer(
                " ".join(words[:-1])) != A.normalize_answer(a[k]):
            b[k] = " ".join(words[:-1])
            cut += 1
        else:
            b[k] = a[k]
    tool = A.answer_pair(a, b)
    return {"questions": len(keys), "cut": cut,
            "exact_match_vs_counts": check(tool["exact_match"],
                                           round((len(keys) - cut) / len(keys), 4)),
            "token_f1": tool["token_f1"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None, help="first N sentences / questions")
    ap.add_argument("--seed", type=int, default=13)
    add_common_args(ap)
    args = ap.parse_args(argv)
    tiny(args, limit=60)
    out = {"seed": args.seed, "entities": entities(args.limit, args.seed),
           "classes": classes(args.limit, args.seed), "answers": answers(args.limit, args.seed)}
    checks = [v for part in ("entities", "classes", "answers") for v in out[part].values()
              if isinstance(v, dict) and "equal" in v]
    out["all_equal"] = all(c["equal"] for c in checks)
    out["checks"] = len(checks)
    emit(out, args.out, indent=1)
    return 0 if out["all_equal"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
