"""Entity attributes: the learned attribute head vs the NegEx / ConText rules, on real clinical
sentences (issue 13, "Measured").

The data is ``../shared/data/attributes/negex-train.tsv``: the NegEx test set's sentences
(reports 1-60), one row a condition, with a physician's negation (Affirmed / Negated) and
temporality (Recent / Historical / Not particular). The condition is upper-cased in its
row's sentence; the ``concept`` column holds it as written. It becomes the project's JSONL:

* a row's span is the upper-cased stretch of its sentence that reads as its concept (where
  the concept is written twice in one sentence, both are upper-cased and its rows take them
  in order); the stretch is given back its case from the ``concept`` column, so every row of
  a sentence gives the same text (checked: a clash is counted). Rows whose concept is not
  upper-cased but written as it is in the sentence are placed there too; rows whose concept
  is not in their sentence at all are counted with the reason and left out.
* one document per distinct sentence text and part, holding the spans of all its rows, with
  label ``Condition`` and ``"attributes": {"negation": ..., "temporality": ...}``. The same
  templated sentence recurs across reports (echo reports); its rows join one document, a
  span given twice is kept once, and a span that overlaps another row's span of the same
  text (another report marked a longer or shorter stretch) is left out and counted.
* split by report: reports 1-45 train, 46-60 test. By default the engine holds out its own
  15 % of the training documents for early stopping, as for a user; ``--dev-reports 40-45``
  makes those reports the dev part instead (to compare recipes on fixed reports; a dev
  sentence also found in a train report stays in train). Test sentences that also occur in a train report are marked; the
  scores are also given on the test spans whose sentence is unseen.

Methods, scored on the same test spans (gold entities given):

* ``rules``: ``core.negex.assess`` (NegEx window of 5 words; ConText's temporality
  triggers); ``rules_sentence_scope``: the same with the negation scope to the end of the
  sentence (the later NegEx versions). Fixed before any test score was seen.
* ``head``: the project's attribute head, driven through the CLI as a user does it
  (``annotator init --attribute ...``, ``import``, ``train``, ``evaluate --json``), per
  training seed. ``--variant`` picks how the head reads the entity
  (``core.tasks.attributes.REPRESENTATION``, set in each CLI process the run starts):
  ``markers`` (``[E] entity [/E]``, the [CLS] vector) or ``pooled`` (no markers; [CLS] and
  the mean of the entity's sub-word vectors). ``--compare-with`` copies another variant's
  result summary in, for the comparison. ``--weighting`` sets how each attribute's values
  weigh in the loss (``core.tasks.attributes.CLASS_WEIGHTING``: none, balanced inverse
  frequency, or its square root; the default is the engine's); ``--rule-hints tokens|words``
  makes the head read what the rules say of the entity (``RULE_HINTS``: added hint tokens
  or the encoder's own words after [CLS]; the default is the engine's); ``--head-only`` trains the
  attribute head alone (``train --task attribute``) instead of the tagger and the head.

Metrics: negated-F1 (F1 of the value "Negated") and temporality accuracy, with each value's
precision, recall and F1.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_attributes.py --seeds 3 \
        --out benchmarks/results/attributes.json
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_attributes.py --seeds 3 \
        --variant pooled --compare-with benchmarks/results/attributes.json \
        --out benchmarks/results/attributes_pooled.json
    python benchmarks/bench_attributes.py --rules-only       # the rules alone, seconds
    python benchmarks/bench_attributes.py --tiny             # seconds (tiny random model)
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_cli import add_common_args, emit, tiny, tiny_base_model

import core.tasks.attributes as attributes_kind
from core.negex import RuleSettings, assess

DATA = Path(os.environ.get("ANNOTATOR_DATA", ROOT.parent / "shared" / "data"))
TSV = DATA / "attributes" / "negex-train.tsv"
LABEL = "Condition"
ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "negation": ("Affirmed", "Negated"),
    "temporality": ("Recent", "Historical", "Not particular"),
}
COLUMNS = ("report", "concept", "sentence", "negation", "temporality", "experiencer")
TRAIN_REPORTS = range(1, 46)
TEST_REPORTS = range(46, 61)
DEV_REPORTS = range(40, 46)  # six consecutive reports: the report types come round in sixes
VARIANTS = ("markers", "pooled", "entity_start")  # core.tasks.attributes.REPRESENTATIONS
# Runs the CLI with the attribute head's variant, class weighting and rule hints set first:
# python -c RUN_CLI variant weighting hints args...
WEIGHTINGS = ("none", "balanced", "sqrt")  # core.tasks.attributes.CLASS_WEIGHTINGS
ENGINE_WEIGHTING = str(attributes_kind.CLASS_WEIGHTING or "none")  # what the app trains with
HINTS = ("off", "tokens", "words")  # core.tasks.attributes.RULE_HINT_FORMS (None: off)
ENGINE_HINTS = attributes_kind.RULE_HINTS or "off"
RUN_CLI = ("import runpy, sys; import core.tasks.attributes as a; "
           "a.REPRESENTATION = sys.argv.pop(1); w = sys.argv.pop(1); "
           "a.CLASS_WEIGHTING = None if w == 'none' else w; "
           "h = sys.argv.pop(1); a.RULE_HINTS = None if h == 'off' else h; "
           "runpy.run_module('annotator', run_name='__main__', alter_sys=True)")
HEADS = {
    "markers": "the entity between the markers [E] ... [/E] in a window of the note, the "
               "[CLS] vector, one softmax per attribute",
    "pooled": "the window of the note without markers; [CLS] and the mean of the entity's "
              "sub-word vectors concatenated, one linear layer, one softmax per attribute",
    "entity_start": "the entity between the markers [E] ... [/E] in a window of the note; "
                    "[CLS] and the vector of [E] concatenated, one linear layer, one softmax "
                    "per attribute",
}


class DataError(ValueError):
    """A row of the TSV that cannot be read: the message names the file and line."""


# --- reading and placing the rows ----------------------------------------------------------


@dataclass(frozen=True)
class Row:
    line: int
    report: int
    concept: str
    sentence: str
    negation: str
    temporality: str


@dataclass(frozen=True)
class Placed:
    """A row's span in its sentence, the sentence given back its case (``text``), and how
    the span was found."""

    row: Row
    text: str
    start: int
    end: int
    how: str


@dataclass(frozen=True)
class Unplaced:
    row: Row
    reason: str


def read_rows(path: Path) -> list[Row]:
    """The rows of the NegEx TSV; a bad header, report number or value raises
    ``DataError`` naming the file and line."""
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header is None or tuple(h.strip() for h in header) != COLUMNS:
            expected = "\t".join(COLUMNS)
            raise DataError(f"{path}:1: expected the header {expected!r}, found {header!r}")
        rows = []
        for number, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(COLUMNS):
                raise DataError(f"{path}:{number}: expected {len(COLUMNS)} tab-separated "
                                f"fields, found {len(cells)}")
            report, concept, sentence, negation, temporality, _ = cells
            try:
                report_no = int(report)
            except ValueError:
                raise DataError(f"{path}:{number}: the report {report!r} is not a number") \
                    from None
            for name, value in (("negation", negation), ("temporality", temporality)):
                if value not in ATTRIBUTES[name]:
                    raise DataError(f"{path}:{number}: {name} {value!r} is not one of "
                                    f"{', '.join(ATTRIBUTES[name])}")
            if not concept.strip() or not sentence.strip():
                raise DataError(f"{path}:{number}: the concept or the sentence is empty")
            rows.append(Row(number, report_no, concept, sentence, negation, temporality))
    return rows


def _occurrences(text: str, part: str) -> list[int]:
    out, at = [], text.find(part)
    while at >= 0:
        out.append(at)
        at = text.find(part, at + 1)
    return out


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    """The span without white space at its ends (some concepts end in spaces)."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _why_not_found(row: Row) -> str:
    concept, sentence = row.concept.lower(), row.sentence.lower().rstrip()
    for cut in range(len(concept) - 1, 0, -1):
        if sentence.endswith(concept[:cut].rstrip()) and concept[:cut].strip():
            return ("the concept runs past the end of the sentence (the sentence was cut "
                    "inside it, at a full stop)")
    return "the concept is not in the sentence, in upper case or as written"


def place_rows(rows: Sequence[Row]) -> tuple[list[Placed], list[Unplaced]]:
    """Each row's span, found from the upper-cased stretch that reads as its concept."""
    groups: dict[tuple[int, str, str], list[Row]] = defaultdict(list)
    for row in rows:
        groups[(row.report, row.sentence, row.concept)].append(row)
    placed: list[Placed] = []
    unplaced: list[Unplaced] = []
    for (_, sentence, concept), group in groups.items():
        upper = concept.upper()
        if len(upper) != len(concept):
            unplaced += [Unplaced(r, "upper-casing changes the concept's length") for r in group]
            continue
        at = _occurrences(sentence, upper)
        text, how = sentence, "upper-cased stretch"
        if at:
            # The source upper-cased every occurrence: give each its case back.
            for a in at:
                text = text[:a] + concept + text[a + len(upper):]
            if len(at) > 1:
                how = "upper-cased stretch; the concept is written twice, rows in order"
        else:
            at, how = _occurrences(sentence, concept), "as written (not upper-cased)"
        if not at:
            unplaced += [Unplaced(r, _why_not_found(r)) for r in group]
            continue
        if len(at) == 1 and len(group) > 1:
            # The same sentence is in the report more than once (an echo report's Doppler
            # sections), a row each: all of them are that one stretch.
            at = at * len(group)
            how += "; the sentence recurs in its report"
        elif len(at) != len(group):
            unplaced += [Unplaced(r, f"the concept is in the sentence {len(at)} times for "
                                     f"{len(group)} rows: which is which is unknown")
                         for r in group]
            continue
        for row, a in zip(group, at):
            start, end = _trimmed(text, a, a + len(concept))
            placed.append(Placed(row, text, start, end, how))
    placed.sort(key=lambda p: p.row.line)
    unplaced.sort(key=lambda u: u.row.line)
    return placed, unplaced


# --- documents -----------------------------------------------------------------------------


@dataclass(frozen=True)
class GoldSpan:
    start: int
    end: int
    negation: str
    temporality: str
    line: int  # the TSV line it came from (the first, when several rows give it)

    def values(self) -> dict[str, str]:
        return {"negation": self.negation, "temporality": self.temporality}


@dataclass
class Document:
    text: str
    part: str
    reports: list[int] = field(default_factory=list)
    spans: list[GoldSpan] = field(default_factory=list)
    seen_in_train: bool = False

    def jsonl(self, doc_id: str) -> dict[str, Any]:
        """The project's JSONL record (Prodigy-style spans with attributes)."""
        return {
            "id": doc_id, "text": self.text,
            "spans": [{"start": s.start, "end": s.end, "label": LABEL,
                       "attributes": s.values()} for s in sorted(self.spans,
                                                                 key=lambda s: s.start)],
            "split": "dev" if self.part == "dev" else "train" if self.part == "train" else
            "test",
            "meta": {"reports": sorted(set(self.reports))},
        }


@dataclass
class Corpus:
    documents: dict[str, list[Document]]
    rows: int
    unplaced: list[Unplaced]
    placed_how: Counter[str]
    merged_repeats: int = 0
    conflicting_repeats: int = 0
    overlaps_dropped: list[tuple[int, int]] = field(default_factory=list)  # (line, other line)
    case_clashes: int = 0

    def describe(self) -> dict[str, Any]:
        parts: dict[str, Any] = {}
        for part, docs in self.documents.items():
            spans = [s for d in docs for s in d.spans]
            parts[part] = {
                "documents": len(docs), "spans": len(spans),
                "reports": sorted({r for d in docs for r in d.reports}),
                "negation": dict(Counter(s.negation for s in spans)),
                "temporality": dict(Counter(s.temporality for s in spans)),
            }
            if part == "test":
                parts[part]["spans_in_sentences_seen_in_train"] = sum(
                    len(d.spans) for d in docs if d.seen_in_train)
        return {
            "rows": self.rows,
            "rows_placed": self.rows - len(self.unplaced),
            "rows_placed_how": dict(self.placed_how),
            "rows_not_placed": len(self.unplaced),
            "rows_not_placed_why": dict(Counter(u.reason for u in self.unplaced)),
            "rows_not_placed_lines": [u.row.line for u in self.unplaced],
            "rows_merged_with_the_same_span": self.merged_repeats,
            "merged_rows_with_other_values": self.conflicting_repeats,
            "rows_left_out_overlapping_another_span": len(self.overlaps_dropped),
            "rows_left_out_overlapping_lines": [a for a, _ in self.overlaps_dropped],
            "sentences_whose_rows_disagree_on_the_text": self.case_clashes,
            "parts": parts,
        }


def part_of(report: int, dev_reports: Iterable[int], train_reports: range = TRAIN_REPORTS,
            test_reports: range = TEST_REPORTS) -> str:
    if report in test_reports:
        return "test"
    if report in train_reports:
        return "dev" if report in set(dev_reports) else "train"
    raise DataError(f"report {report} is in neither the train ({_span(train_reports)}) nor "
                    f"the test ({_span(test_reports)}) reports")


def split_reports(choice: bool = False, fold: str | None = None) -> tuple[range, range]:
    """The train and test reports: 1-45 and 46-60; for ``choice``, 1-39 and 40-45; for a
    ``fold`` "A-B" within 1-45, all of 1-45 as train and A-B as test (part_of reads the
    test range first, so the fold's reports are scored and the rest train)."""
    if not fold:
        return (range(1, 40), range(40, 46)) if choice else (TRAIN_REPORTS, TEST_REPORTS)
    lo, _, hi = fold.partition("-")
    try:
        reports = range(int(lo), int(hi or lo) + 1)
    except ValueError:
        reports = range(0)
    if not reports or reports.start < TRAIN_REPORTS.start or reports.stop > TRAIN_REPORTS.stop:
        raise ValueError(f"--choice-fold {fold}: give a range of reports A-B within "
                         f"{_span(TRAIN_REPORTS)}")
    return TRAIN_REPORTS, reports


def _span(reports: range) -> str:
    return f"{reports.start}-{reports.stop - 1}"


def build_corpus(rows: Sequence[Row], dev_reports: Iterable[int] = DEV_REPORTS,
                 train_reports: range = TRAIN_REPORTS,
                 test_reports: range = TEST_REPORTS) -> Corpus:
    """The documents of each part (``train``, ``dev``, ``test``) from the rows of the train
    and test reports (the rows of other reports are left out)."""
    dev = set(dev_reports)
    rows = [r for r in rows if r.report in train_reports or r.report in test_reports]
    placed, unplaced = place_rows(rows)
    corpus = Corpus({"train": [], "dev": [], "test": []}, len(rows), unplaced,
                    Counter(p.how for p in placed))
    texts_of: dict[tuple[int, str], set[str]] = defaultdict(set)
    for p in placed:
        texts_of[(p.row.report, p.row.sentence.lower())].add(p.text)
    corpus.case_clashes = sum(len(t) > 1 for t in texts_of.values())
    train_texts = {p.text for p in placed if part_of(p.row.report, dev, train_reports, test_reports) == "train"}
    by_key: dict[tuple[str, str], Document] = {}
    for p in placed:
        part = part_of(p.row.report, dev, train_reports, test_reports)
        if part == "dev" and p.text in train_texts:
            part = "train"  # one document per text in the project: train keeps it
        doc = by_key.get((part, p.text))
        if doc is None:
            doc = by_key[(part, p.text)] = Document(p.text, part)
            corpus.documents[part].append(doc)
        doc.reports.append(p.row.report)
        same = [s for s in doc.spans if (s.start, s.end) == (p.start, p.end)]
        if same:
            corpus.merged_repeats += 1
            if same[0].values() != {"negation": p.row.negation,
                                    "temporality": p.row.temporality}:
                corpus.conflicting_repeats += 1
            continue
        clash = [s for s in doc.spans if s.start < p.end and p.start < s.end]
        if clash:
            corpus.overlaps_dropped.append((p.row.line, clash[0].line))
            continue
        doc.spans.append(GoldSpan(p.start, p.end, p.row.negation, p.row.temporality,
                                  p.row.line))
    seen = {d.text for part in ("train", "dev") for d in corpus.documents[part]}
    for d in corpus.documents["test"]:
        d.seen_in_train = d.text in seen
    return corpus


def write_jsonl(docs: Iterable[tuple[str, Document]], path: Path) -> int:
    n = 0
    with path.open("w", encoding="utf-8") as f:
        for doc_id, doc in docs:
            f.write(json.dumps(doc.jsonl(doc_id), ensure_ascii=False) + "\n")
            n += 1
    return n


def write_parts(corpus: Corpus, folder: Path) -> dict[str, Path]:
    """``train.jsonl`` (train and dev documents, dev marked ``"split": "dev"``),
    ``test.jsonl`` and ``test-unseen.jsonl`` (the test sentences not in any train report)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {"train": folder / "train.jsonl", "test": folder / "test.jsonl",
             "test_unseen": folder / "test-unseen.jsonl"}
    ids = {part: [(f"{part}-{i + 1}", d) for i, d in enumerate(docs)]
           for part, docs in corpus.documents.items()}
    write_jsonl(ids["train"] + ids["dev"], files["train"])
    write_jsonl(ids["test"], files["test"])
    write_jsonl([(i, d) for i, d in ids["test"] if not d.seen_in_train], files["test_unseen"])
    return files


# --- scoring -------------------------------------------------------------------------------


def attribute_scores(gold: Sequence[str], predicted: Sequence[str],
                     values: Sequence[str]) -> dict[str, Any]:
    """Accuracy and each value's precision, recall, F1 and support (as ``annotator
    evaluate`` reports an attribute), by the engine's own classification metrics."""
    from core.engine.metrics import classification_metrics

    m = classification_metrics([[g] for g in gold], [[p] for p in predicted], values)
    return {"accuracy": round(m["accuracy"], 4), "spans": len(gold),
            "per_value": {v: {k: (round(x, 4) if k != "support" else int(x))
                              for k, x in row.items()}
                          for v, row in m["per_label"].items()}}


def headline(scores: dict[str, Any]) -> dict[str, float]:
    """The two numbers of the issue: negated-F1 and temporality accuracy."""
    return {"negated_f1": scores["negation"]["per_value"]["Negated"]["f1"],
            "temporality_accuracy": scores["temporality"]["accuracy"]}


def score_rules(docs: Sequence[Document], settings: RuleSettings) -> dict[str, Any]:
    gold: dict[str, list[str]] = {"negation": [], "temporality": []}
    pred: dict[str, list[str]] = {"negation": [], "temporality": []}
    for d in docs:
        for s in d.spans:
            got = assess(d.text, s.start, s.end, settings).values()
            for name in ATTRIBUTES:
                gold[name].append(s.values()[name])
                pred[name].append(got[name])
    scores = {name: attribute_scores(gold[name], pred[name], ATTRIBUTES[name])
              for name in ATTRIBUTES}
    return {**headline(scores), "attributes": scores}


def score_rules_per_row(placed: Sequence[Placed], test: Callable[[int], bool],
                        settings: RuleSettings) -> dict[str, Any]:
    """The rules on every placed test row (each row once, as NegEx's own evaluation
    counts them, repeats of templated sentences included)."""
    rows = [p for p in placed if test(p.row.report)]
    scores = {}
    for name, values in ATTRIBUTES.items():
        gold = [getattr(p.row, name) for p in rows]
        pred = [assess(p.text, p.start, p.end, settings).values()[name] for p in rows]
        scores[name] = attribute_scores(gold, pred, values)
    return {**headline(scores), "attributes": scores}


# --- the head, through the CLI -------------------------------------------------------------


def _annotator(cmd: list[str], log: list[dict[str, Any]], source: Path,
               variant: str = "markers", weighting: str = "none",
               hints: str = "off") -> dict[str, Any]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               PYTHONPATH=str(source))
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", RUN_CLI, variant, weighting, hints, *cmd],
                          cwd=source, env=env, capture_output=True, text=True, check=False)
    log.append({"command": cmd[0], "seconds": round(time.perf_counter() - started, 2),
                "exit": proc.returncode})
    if proc.returncode != 0:
        raise SystemExit(f"annotator {' '.join(cmd)} failed ({proc.returncode}):\n"
                         f"{proc.stderr[-4000:]}")
    return json.loads(proc.stdout) if "--json" in cmd else {}


def run_head(files: dict[str, Path], *, seed: int, base_model: str, train_args: list[str],
             workdir: Path, source: Path = ROOT,
             evaluate: Sequence[str] = ("test", "test_unseen"),
             variant: str = "markers", weighting: str = "none",
             head_only: bool = False, hints: str = "off") -> dict[str, Any]:
    """init, import, train and evaluate, as a user runs them; the attribute scores of
    ``evaluate --json`` on the test file (and on its unseen sentences). ``head_only``:
    ``train --task attribute`` (the attribute head alone; the tagger's scores are not
    part of the comparison)."""
    log: list[dict[str, Any]] = []

    def _run(cmd: list[str]) -> dict[str, Any]:
        return _annotator(cmd, log, source, variant, weighting, hints)

    project = str(workdir / f"attributes-{seed}-{time.monotonic_ns()}.db")
    init = ["init", project, "--task", "ner", "--labels", LABEL]
    for name, values in ATTRIBUTES.items():
        init += ["--attribute", f"{name}={','.join(values)}"]
    _run(init)
    imported = _run(["import", project, str(files["train"]), "--format", "jsonl",
                     "--json"])
    trained = _run(["train", project, "--task", "attribute" if head_only else "ner", "--json",
                    "--no-predict", "--seed", str(seed), "--base-model", base_model,
                    *train_args])
    out: dict[str, Any] = {"imported": imported,
                           "trained": _trim_training(trained, head_only=head_only)}
    for key in evaluate:
        scored = _run(["evaluate", project, "--task", "attribute" if head_only else "ner",
                       "--data", str(files[key]),
                       "--format", "jsonl", "--json"])
        attrs = scored.get("attributes")
        if not attrs:
            raise SystemExit(f"annotator evaluate gave no attribute scores: {sorted(scored)}")
        out[key] = {**headline(attrs), "attributes": attrs}
    out["steps"] = log
    return out


_TRAINING_KEYS = ("status", "reason", "train_examples", "dev_examples", "train_seconds",
                  "best_epoch", "dev", "model_version", "warnings")


def _trim_training(trained: dict[str, Any], *, head_only: bool = False) -> dict[str, Any]:
    """What ``annotator train --json`` said of the tagger and of the attribute head (its
    ``attributes`` part), without the per-epoch rows of the tagger; ``head_only``: of the
    attribute head alone (``train --task attribute``)."""
    if head_only:
        trained = {"attributes": trained}
    out = {k: trained[k] for k in _TRAINING_KEYS if k in trained}
    out["epochs_run"] = len(trained.get("epochs") or [])
    head = trained.get("attributes")
    if not isinstance(head, dict) or head.get("status") != "completed":
        raise SystemExit(f"annotator train did not train the attribute head: {head!r}")
    out["attributes"] = {**{k: head[k] for k in _TRAINING_KEYS if k in head},
                         "epochs": head.get("epochs")}
    return out


# --- the run -------------------------------------------------------------------------------


def code_state(source: Path) -> dict[str, Any]:
    """The commit the CLI ran from and the files of core/ and annotator/ that differ from
    it (a run on a work tree other people are changing says so)."""
    def git(*cmd: str) -> str:
        done = subprocess.run(["git", *cmd], cwd=source, capture_output=True, text=True,
                              check=False)
        return done.stdout.rstrip()  # porcelain lines start with a status column

    out: dict[str, Any] = {"source": str(source), "code_hash": code_hash(source)}
    if not (source / ".git").exists():  # a copy: what it was copied from, if written down
        note = source / "SNAPSHOT.json"
        if note.is_file():
            out.update(json.loads(note.read_text(encoding="utf-8")))
        return out
    changed = git("status", "--porcelain", "--", "core", "annotator").splitlines()
    return {**out, "commit": git("rev-parse", "HEAD").strip(),
            "core_and_annotator_changes_not_committed": [line[3:] for line in changed]}


def code_hash(source: Path) -> str:
    """SHA-256 over the paths and bytes of core/**.py and annotator/**.py: the same code
    gives the same hash in a copy, a worktree or a commit checked out."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(p for d in ("core", "annotator") for p in (source / d).rglob("*.py")):
        digest.update(str(path.relative_to(source)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def resumed_seeds(out: Path | None, code: dict[str, Any],
                  variant: str = "markers", weighting: str = "none",
                  hints: str = "off") -> list[dict[str, Any]]:
    """The seeds a cut-short invocation wrote to ``out``, if it ran the same code and
    variant."""
    if out is None or not out.is_file():
        return []
    data = json.loads(out.read_text(encoding="utf-8"))
    if "partial" not in data:
        raise SystemExit(f"--resume: {out} holds a finished result; nothing to resume")
    if data.get("code", {}).get("code_hash") != code["code_hash"]:
        raise SystemExit(f"--resume: {out} was made by other code: {data.get('code')}")
    if data.get("weighting", "none") != weighting:
        raise SystemExit(f"--resume: {out} holds the {data.get('weighting', 'none')!r} "
                         f"weighting, not {weighting!r}")
    if data.get("rule_hints", "off") != hints:
        raise SystemExit(f"--resume: {out} holds rule hints {data.get('rule_hints', 'off')!r}, "
                         f"not {hints!r}")
    if data.get("variant", "markers") != variant:
        raise SystemExit(f"--resume: {out} holds the {data.get('variant', 'markers')!r} "
                         f"variant, not {variant!r}")
    return list(data["per_seed"])


def presets(source: Path) -> dict[str, Any]:
    """The 'default' preset of the tagger and of the attribute head, as the CLI that ran
    reads them (``core.engine.settings`` of ``source``)."""
    code = ("import dataclasses, json; from core.engine.settings import preset_settings as p; "
            "keys = ('learning_rate', 'batch_size', 'epochs', 'min_steps', 'max_epochs', "
            "'patience', 'max_length', 'stride', 'warmup_ratio', 'weight_decay'); "
            "print(json.dumps({k: {n: getattr(p('default', k), n) for n in keys} "
            "for k in ('ner', 'attribute')}))")
    done = subprocess.run([sys.executable, "-c", code], cwd=source, capture_output=True,
                          text=True, check=False, env=dict(os.environ, PYTHONPATH=str(source)))
    return json.loads(done.stdout) if done.returncode == 0 else {"unknown": done.stderr[-300:]}


def summarise(per_seed: Sequence[dict[str, Any]], rules: dict[str, Any],
              key: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for metric in ("negated_f1", "temporality_accuracy"):
        values = [s[key][metric] for s in per_seed]
        base = rules[key][metric]
        out[metric] = {
            "rules": base,
            "head_mean": round(statistics.mean(values), 4),
            "head_std": round(statistics.stdev(values), 4) if len(values) > 1 else None,
            "head_per_seed": values,
            "head_minus_rules": round(statistics.mean(values) - base, 4),
            "head_beats_rules_in_every_seed": all(v > base for v in values),
        }
    return out


def compared(path: Path | None, per_seed: Sequence[dict[str, Any]],
             scored_on: Sequence[str]) -> dict[str, Any] | None:
    """Another variant's result (``--compare-with``): its variant, commit and summary, and
    this run's mean minus its mean on each headline number."""
    if path is None:
        return None
    other = json.loads(path.read_text(encoding="utf-8"))
    summary = other.get("summary") or {}
    out: dict[str, Any] = {"file": str(path), "variant": other.get("variant", "markers"),
                           "commit": other.get("code", {}).get("commit"),
                           "seeds": other.get("seeds"), "summary": summary}
    if per_seed:
        out["this_minus_other"] = {
            key: {metric: round(statistics.mean(s[key][metric] for s in per_seed)
                                - summary[key][metric]["head_mean"], 4)
                  for metric in ("negated_f1", "temporality_accuracy")}
            for key in scored_on if key in summary}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=TSV)
    ap.add_argument("--dev-reports", default="none",
                    help="train reports held out as the dev part (a range a-b, e.g. 40-45, "
                    "to compare recipes on fixed reports); none (the default): every report "
                    "of 1-45 trains, and the engine holds out its own 15 %% for early "
                    "stopping, as for a user")
    ap.add_argument("--seeds", type=int, default=1, help="training seeds 42, 43, ...")
    ap.add_argument("--jobs", type=int, default=1,
                    help="seeds trained at the same time (each its own CLI processes)")
    ap.add_argument("--base-model", default="default")
    ap.add_argument("--train-args", default="", help="extra arguments for 'annotator train'")
    ap.add_argument("--source", type=Path, default=ROOT,
                    help="the checkout whose CLI to run (a copy of a work tree, a worktree)")
    ap.add_argument("--rules-only", action="store_true", help="score the rules alone")
    ap.add_argument("--variant", choices=VARIANTS, default="entity_start",
                    help="how the head reads the entity (core.tasks.attributes.REPRESENTATION)")
    ap.add_argument("--weighting", choices=WEIGHTINGS, default=ENGINE_WEIGHTING,
                    help="how each attribute's values weigh in the head's loss "
                    "(core.tasks.attributes.CLASS_WEIGHTING; default: the engine's, "
                    f"{ENGINE_WEIGHTING})")
    ap.add_argument("--rule-hints", choices=HINTS, default=ENGINE_HINTS,
                    help="whether the head reads what the NegEx / ConText rules say of the "
                    "entity (core.tasks.attributes.RULE_HINTS; default: the engine's, "
                    f"{ENGINE_HINTS})")
    ap.add_argument("--head-only", action="store_true",
                    help="train the attribute head alone (train --task attribute), not the "
                    "tagger beside it: the same head, an hour less per seed")
    ap.add_argument("--compare-with", type=Path, default=None,
                    help="another variant's result file: its summary is copied in")
    ap.add_argument("--resume", action="store_true",
                    help="keep the seeds a cut-short invocation wrote to --out (same code)")
    ap.add_argument("--choice", action="store_true",
                    help="the split to choose a recipe on: reports 1-39 train (the engine "
                    "holding out its own 15 %%), 40-45 are scored as the test part, and "
                    "the test reports 46-60 are not read")
    ap.add_argument("--choice-fold", default=None, metavar="A-B",
                    help="like --choice, with reports A-B (within 1-45) scored as the test "
                    "part and the rest of 1-45 training: folds with more of a rare value "
                    "(reports 40-45 hold 3 'Historical' spans, 1-15 hold 59)")
    ap.add_argument("--max-docs", type=int, default=None,
                    help="at most N documents of each part (a quick run)")
    add_common_args(ap)
    args = ap.parse_args()
    tiny(args, max_docs=8, seeds=1)
    if args.dev_reports in ("none", "", "0"):
        dev_reports = range(0)
    else:
        lo, _, hi = args.dev_reports.partition("-")
        dev_reports = range(int(lo), int(hi or lo) + 1)
    if args.choice and dev_reports:
        ap.error("--choice trains on reports 1-39 with the engine's own held-out part: "
                 "give no --dev-reports with it")

    if args.choice_fold and (args.choice or dev_reports):
        ap.error("--choice-fold is a split of its own: give neither --choice nor "
                 "--dev-reports with it")
    try:
        train_reports, test_reports = split_reports(args.choice, args.choice_fold)
    except ValueError as exc:
        ap.error(str(exc))
    rows = read_rows(args.data)
    corpus = build_corpus(rows, dev_reports, train_reports, test_reports)
    if args.max_docs:
        corpus.documents = {p: d[:args.max_docs] for p, d in corpus.documents.items()}
    test_docs = corpus.documents["test"]
    unseen = [d for d in test_docs if not d.seen_in_train]
    rule_variants = {"rules": RuleSettings(),
                     "rules_sentence_scope": RuleSettings(negation_window=None)}
    # A part with no document (the dev part of --choice-fold) is left out, not scored 0.0.
    parts = {"test": test_docs, "test_unseen": unseen, "dev": corpus.documents["dev"],
             "train": corpus.documents["train"]}
    rules = {name: {part: score_rules(docs, s) for part, docs in parts.items() if docs}
             for name, s in rule_variants.items()}
    placed, _ = place_rows(rows)
    rules_rows = score_rules_per_row(placed, lambda r: r in test_reports, RuleSettings())

    load_before = [round(x, 2) for x in os.getloadavg()]
    started = time.perf_counter()
    per_seed: list[dict[str, Any]] = []
    train_args = args.train_args.split()
    if args.tiny:
        train_args += ["--epochs", "1"]
    # The tiny run scores the test file only (a CLI call less: seconds count there).
    scored_on = ("test",) if args.tiny else ("test", "test_unseen")
    code = code_state(args.source)
    kept = resumed_seeds(args.out, code, args.variant, args.weighting,
                         args.rule_hints) if args.resume else []
    per_seed.extend(s for s in kept if s["seed"] < 42 + args.seeds)
    if not args.rules_only:
        base_model = tiny_base_model() if args.tiny else args.base_model
        with tempfile.TemporaryDirectory(prefix="bench-attributes-") as tmp, \
                ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            files = write_parts(corpus, Path(tmp) / "data")
            runs = {pool.submit(run_head, files, seed=seed, base_model=base_model,
                                train_args=train_args, workdir=Path(tmp),
                                source=args.source, evaluate=scored_on,
                                variant=args.variant, weighting=args.weighting,
                                head_only=args.head_only, hints=args.rule_hints): seed
                    for seed in [42 + k for k in range(args.seeds)]
                    if seed not in {s["seed"] for s in per_seed}}
            for done in as_completed(runs):
                row, seed = done.result(), runs[done]
                row["seed"] = seed
                row["load_average"] = [round(x, 2) for x in os.getloadavg()]
                per_seed.append(row)
                per_seed.sort(key=lambda r: r["seed"])
                print(f"seed {seed}: test {row['test']['negated_f1']} negated-F1, "
                      f"{row['test']['temporality_accuracy']} temporality accuracy",
                      file=sys.stderr, flush=True)
                if args.out is not None and not args.tiny:  # a cut-short run keeps its seeds
                    args.out.parent.mkdir(parents=True, exist_ok=True)
                    args.out.write_text(json.dumps(
                        {"partial": f"{len(per_seed)} of {args.seeds} seeds", "code": code,
                         "variant": args.variant, "weighting": args.weighting,
                         "rule_hints": args.rule_hints, "per_seed": per_seed},
                        indent=1) + "\n", encoding="utf-8")
    result: dict[str, Any] = {
        "benchmark": "attributes",
        "question": "the learned attribute head vs the NegEx / ConText rules on the held-out "
                    "reports (46-60) of the NegEx test set: negated-F1 and temporality "
                    "accuracy on the gold spans",
        "data": {"file": str(args.data.relative_to(DATA.parent.parent))
                 if args.data.is_relative_to(DATA.parent.parent) else str(args.data),
                 **corpus.describe()},
        "split": {"train_reports": f"{_span(train_reports)} without the dev reports"
                                   + (f" and the fold {args.choice_fold}"
                                      if args.choice_fold else ""),
                  "dev_reports": (f"{dev_reports.start}-{dev_reports.stop - 1}" if dev_reports
                                  else "none: the engine holds out 15 % of "
                                  + _span(train_reports)),
                  "test_reports": _span(test_reports),
                  "choice": bool(args.choice),
                  "choice_fold": args.choice_fold,
                  "dev_note": "a dev sentence also in a train report stays in train"},
        "rules": rules,
        "rules_per_row": rules_rows,
        "rules_note": "rules: NegEx window 5 (the primary baseline); rules_sentence_scope: "
                      "negation scope to the end of the sentence; both fixed before the "
                      "test scores were seen. rules_per_row: the primary rules on every "
                      "placed test row, repeats of templated sentences included",
        "per_seed": per_seed,
        "seeds": [s["seed"] for s in per_seed],
        "summary": ({key: summarise(per_seed, rules["rules"], key) for key in scored_on}
                    if per_seed else None),
        "variant": args.variant,
        "weighting": args.weighting,
        "rule_hints": args.rule_hints,
        "head_only": args.head_only,
        "head": ("the attribute model, trained alone by 'annotator train --task attribute' "
                 if args.head_only else
                 "the attribute model 'annotator train --task ner' trains beside the tagger ")
                + f"(core/tasks/attributes.py, REPRESENTATION {args.variant!r}, "
                f"CLASS_WEIGHTING {args.weighting!r}, RULE_HINTS {args.rule_hints!r}): "
                + HEADS[args.variant],
        "compared_with": compared(args.compare_with, per_seed, scored_on),
        "code": code,
        "settings": {"base_model": "tiny random BERT" if args.tiny else args.base_model,
                     "presets": presets(args.source),
                     "train_args": train_args, "attributes": {k: list(v) for k, v in
                                                              ATTRIBUTES.items()},
                     "max_docs": args.max_docs, "tiny": args.tiny, "jobs": args.jobs},
        "resumed_seeds": [s["seed"] for s in kept],
        "resumed_note": "seeds listed in 'resumed_seeds' were trained by an earlier "
                        "invocation that was cut short (kept with --resume), with the same "
                        "code (code_hash); their load average is that invocation's",
        "cpu_count": os.cpu_count(),
        "load_average_start": load_before,
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    emit(result, args.out, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
