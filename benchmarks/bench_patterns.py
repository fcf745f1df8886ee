"""Patterns and term lists (core.patterns): speed of many terms over many sentences, and the
quality of a term list made from NCBI train's Disease mentions on NCBI devel.

(a) speed: ``--terms`` phrase patterns (default 10,000) over ``--sentences`` sentences
    (default 100,000), through ``PatternMatcher`` (one Aho-Corasick automaton, word-boundary
    checks, longest match among overlapping ones) as ``annotator patterns`` runs it, without
    the database. The terms: NCBI train's distinct Disease mentions, then the same mentions
    with a modifier before or after them ("familial X", "X syndrome", ...), then runs of 1-3
    consecutive words of train sentences, until there are ``--terms`` distinct ones. The
    sentences: NCBI train's 5,424 sentences in turn; every copy after the first has one
    seeded random word replaced by a random word of the corpus, so the copies differ.
(b) quality: the term list that ``annotator patterns --from-labels`` makes
    (``core.patterns.terms_from_spans``: each distinct mention of train once, ignoring case)
    matched in devel, scored against devel's gold Disease spans (exact start, end and
    label). The baseline: every distinct mention text of train as written, each found with
    ``str.find`` everywhere in the text (case-sensitive, no word boundaries), overlapping
    finds resolved as ours are (longest first), so the two differ only in case and word
    boundaries.

    python benchmarks/bench_patterns.py --out benchmarks/results/patterns.json
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_cli import add_common_args, emit, tiny  # noqa: E402

from core.formats import read_file  # noqa: E402
from core.patterns import PatternMatcher, PhrasePattern, terms_from_spans  # noqa: E402
from core.types import DocumentRecord  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "ner" / "ncbi-disease"
MODIFIERS_BEFORE = ["familial", "hereditary", "early-onset", "severe", "congenital", "acute"]
MODIFIERS_AFTER = ["syndrome", "type 1", "type 2", "carriers", "patients", "phenotype"]


def _load(name: str, limit: int | None) -> list[DocumentRecord]:
    docs = read_file(DATA / name, "conll")
    return docs[:limit] if limit else docs


def build_terms(train: list[DocumentRecord], n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    seen: dict[str, str] = {}

    def add(term: str) -> None:
        key = term.lower()
        if key not in seen and len(seen) < n:
            seen[key] = term

    mentions = [d.text[s.start:s.end] for d in train for s in d.spans]
    for m in mentions:
        add(m)
    for m in mentions:
        add(f"{rng.choice(MODIFIERS_BEFORE)} {m}")
        add(f"{m} {rng.choice(MODIFIERS_AFTER)}")
    words = [d.text.split(" ") for d in train]
    while len(seen) < n:
        ws = rng.choice(words)
        k = rng.randint(1, 3)
        if len(ws) >= k:
            i = rng.randrange(len(ws) - k + 1)
            term = " ".join(ws[i:i + k])
            if any(ch.isalpha() for ch in term):
                add(term)
    return list(seen.values())


def build_sentences(train: list[DocumentRecord], n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    vocab = [w for d in train for w in d.text.split(" ")]
    out = []
    for i in range(n):
        words = train[i % len(train)].text.split(" ")
        if i >= len(train):
            words[rng.randrange(len(words))] = rng.choice(vocab)
        out.append(" ".join(words))
    return out


def speed(train: list[DocumentRecord], n_terms: int, n_sentences: int, seed: int) -> dict[str, Any]:
    terms = build_terms(train, n_terms, seed)
    sentences = build_sentences(train, n_sentences, seed)
    started = time.perf_counter()
    matcher = PatternMatcher([PhrasePattern("Disease", t) for t in terms])
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    matches = sum(len(matcher.find(s)) for s in sentences)
    match_s = time.perf_counter() - started
    return {
        "terms": len(terms), "sentences": len(sentences),
        "characters": sum(len(s) for s in sentences), "matches": matches,
        "build_seconds": round(build_s, 3), "match_seconds": round(match_s, 3),
        "total_seconds": round(build_s + match_s, 3),
        "sentences_per_second": round(len(sentences) / match_s) if match_s else None,
    }


def _score(pred: list[set[tuple[int, int, str]]], gold: list[set[tuple[int, int, str]]]
           ) -> dict[str, Any]:
    tp = sum(len(p & g) for p, g in zip(pred, gold))
    n_pred, n_gold = sum(map(len, pred)), sum(map(len, gold))
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4),
            "true_positives": tp, "predicted": n_pred, "gold": n_gold}


def _longest_first(found: list[tuple[int, int, str]]) -> set[tuple[int, int, str]]:
    kept: list[tuple[int, int, str]] = []
    for s, e, label in sorted(found, key=lambda x: (x[0] - x[1], x[0])):
        if not any(ks < e and s < ke for ks, ke, _ in kept):
            kept.append((s, e, label))
    return set(kept)


def baseline_find(text: str, terms: list[tuple[str, str]]) -> set[tuple[int, int, str]]:
    found = []
    for term, label in terms:
        i = text.find(term)
        while i >= 0:
            found.append((i, i + len(term), label))
            i = text.find(term, i + 1)
    return _longest_first(found)


def quality(train: list[DocumentRecord], dev: list[DocumentRecord]) -> dict[str, Any]:
    pairs = [(d.text[s.start:s.end], s.label) for d in train for s in d.spans]
    ours_terms = terms_from_spans(pairs)
    gold = [{(s.start, s.end, s.label) for s in d.spans} for d in dev]
    started = time.perf_counter()
    matcher = PatternMatcher(ours_terms)
    ours = [{(m.start, m.end, m.label) for m in matcher.find(d.text)} for d in dev]
    ours_s = time.perf_counter() - started
    base_terms = list(dict.fromkeys(pairs))
    started = time.perf_counter()
    base = [baseline_find(d.text, base_terms) for d in dev]
    base_s = time.perf_counter() - started
    return {
        "train_sentences": len(train), "dev_sentences": len(dev),
        "terms": len(ours_terms), "baseline_terms": len(base_terms),
        "patterns": {**_score(ours, gold), "seconds": round(ours_s, 3)},
        "baseline_exact_find": {**_score(base, gold), "seconds": round(base_s, 3)},
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--terms", type=int, default=10_000)
    ap.add_argument("--sentences", type=int, default=100_000)
    ap.add_argument("--max-train", type=int, default=None, help="NCBI train sentences used")
    ap.add_argument("--max-dev", type=int, default=None, help="NCBI devel sentences used")
    ap.add_argument("--seed", type=int, default=0)
    add_common_args(ap)
    args = ap.parse_args(argv)
    tiny(args, terms=500, sentences=2_000, max_train=300, max_dev=100)
    train = _load("train.tsv", args.max_train)
    dev = _load("devel.tsv", args.max_dev)
    result = {
        "speed": speed(train, args.terms, args.sentences, args.seed),
        "quality": quality(train, dev),
        "seed": args.seed,
        "python": sys.version.split()[0],
        # a shared machine: the load when the run ended (1, 5, 15 minutes)
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    emit(result, args.out, indent=2)


if __name__ == "__main__":
    main()
