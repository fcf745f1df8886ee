"""Helpers shared by the reliability tests and the opt-in soak/fuzz benchmarks.

Nothing here imports pytest, so ``benchmarks/`` scripts can use it too. Database checks
read the file with the plain ``sqlite3`` module (read-only URI), never through the code
under test, so a bug in the store cannot hide itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import select
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("_crash_worker.py")

# --- looking at a project file from outside -------------------------------------------


@contextmanager
def raw_ro(path: Path) -> Iterator[sqlite3.Connection]:
    """A plain read-only sqlite3 connection (it may still recover a WAL left by a crash)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        yield conn
    finally:
        conn.close()


def integrity(path: Path) -> str:
    """"ok", or what ``PRAGMA integrity_check`` / ``foreign_key_check`` found wrong."""
    try:
        with raw_ro(path) as conn:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
            fk = conn.execute("PRAGMA foreign_key_check").fetchall()
    except sqlite3.DatabaseError as exc:
        return f"unreadable: {exc}"
    result = ";".join(str(r[0]) for r in rows)
    if fk:
        result += f"; foreign_key_check: {fk[:5]}"
    return result


def fingerprint(path: Path) -> dict[str, Any]:
    """Row counts per table and one SHA-256 over every row of every table (and the schema).

    Two fingerprints are equal exactly when the project's content is the same."""
    digest = hashlib.sha256()
    counts: dict[str, int] = {}
    with raw_ro(path) as conn:
        schema = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
            "ORDER BY type, name"
        ).fetchall()
        digest.update(repr(schema).encode())
        tables = [name for kind, name, _ in schema if kind == "table"]
        for table in tables:
            rows = conn.execute(f'SELECT * FROM "{table}" ORDER BY rowid').fetchall()
            counts[table] = len(rows)
            digest.update(table.encode())
            for row in rows:
                digest.update(repr(row).encode("utf-8", "surrogatepass"))
    return {"counts": counts, "sha256": digest.hexdigest()}


def annotation_fingerprint(path: Path) -> str:
    """A hash of the human labels only (documents, entities, classes, questions, answers)."""
    digest = hashlib.sha256()
    with raw_ro(path) as conn:
        for table in (
            "documents", "labels", "entity_annotations", "class_annotations", "questions",
            "answer_annotations",
        ):
            for row in conn.execute(f'SELECT * FROM "{table}" ORDER BY rowid'):
                digest.update(repr(row).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


MEASURE_RSS = r"""
import json, os, resource, subprocess, sys
cmd = json.loads(sys.argv[1])
proc = subprocess.run(cmd, capture_output=True, text=True)
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr,
                  "peak_rss_mb": peak_kib / 1024}))
"""


def run_measuring_rss(cmd: list[str], *, env: dict[str, str] | None = None, timeout: float = 300) -> dict[str, Any]:
    """Run ``cmd`` in a fresh wrapper process; return rc, stdout, stderr and the peak RSS (MB)
    of ``cmd`` alone (the wrapper has no other children)."""
    wrapper = subprocess.run(
        [sys.executable, "-c", MEASURE_RSS, json.dumps(cmd)],
        capture_output=True, text=True, env=env, timeout=timeout, cwd=REPO,
    )
    if wrapper.returncode != 0:
        raise RuntimeError(wrapper.stderr)
    return json.loads(wrapper.stdout)


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    return env


# --- the crash worker (a fork server) ---------------------------------------------------


class Zygote:
    """A subprocess that imports the tool once, then forks one worker per crash trial.

    Forking a warm process makes a trial cost milliseconds instead of the ~0.8 s of a cold
    interpreter start, so many trials fit in a CI budget. Each worker is a real separate
    process running the tool's code against the project file; the test kills it with
    SIGKILL by its pid.
    """

    def __init__(self, preload: tuple[str, ...] = ()) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER), "serve", ",".join(preload)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
            cwd=REPO, env=cli_env(),
        )
        ready = self._read(timeout=120)
        if ready.get("ready") is not True:
            raise RuntimeError(f"crash worker did not start: {ready}")

    def _read(self, timeout: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            raise TimeoutError("crash worker did not answer")
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"crash worker exited with {self.proc.wait()}")
        return json.loads(line)

    def run(self, job: dict[str, Any], *, kill_after: float | None, timeout: float = 120) -> dict[str, Any]:
        """Fork a worker for ``job``; SIGKILL it after ``kill_after`` seconds (None: let it
        finish). Returns ``{"pid", "status", "killed", "seconds"}``."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        started = self._read(timeout=30)
        pid = started["pid"]
        t0 = time.monotonic()
        killed = False
        if kill_after is not None:
            # Poll so that a worker that finishes early is not "killed" (and not confused
            # with a recycled pid): the zygote reports its exit on our pipe.
            assert self.proc.stdout is not None
            ready, _, _ = select.select([self.proc.stdout], [], [], kill_after)
            if not ready:
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed = True
                except ProcessLookupError:
                    pass
        done = self._read(timeout=timeout)
        assert done["pid"] == pid, done
        return {
            "pid": pid,
            "status": done["status"],
            "killed": killed and done["status"] == -signal.SIGKILL,
            "seconds": time.monotonic() - t0,
        }

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def read_log(path: Path) -> list[dict[str, Any]]:
    """The worker's log: one JSON object a line; an unfinished last line is dropped."""
    if not path.exists():
        return []
    data = path.read_bytes()
    lines = data.split(b"\n")
    complete = lines[:-1]  # the part after the last newline is unfinished (or empty)
    return [json.loads(line) for line in complete if line]


# --- annotate trials ----------------------------------------------------------------------


def annotation_state(path: Path) -> tuple[frozenset, frozenset, frozenset]:
    """The human labels as content (ids left out): entities, classes, answered questions."""
    with raw_ro(path) as conn:
        ents = frozenset(
            conn.execute(
                "SELECT e.document_id, e.start, e.\"end\", l.name FROM entity_annotations e "
                "JOIN labels l ON l.id = e.label_id"
            ).fetchall()
        )
        classes = frozenset(
            conn.execute(
                "SELECT c.document_id, l.name FROM class_annotations c JOIN labels l ON l.id = c.label_id"
            ).fetchall()
        )
        questions = frozenset(
            (doc, text, bool(imp), tuple(
                tuple(r) for r in conn.execute(
                    'SELECT start, "end" FROM answer_annotations WHERE question_id = ? ORDER BY id',
                    (qid,),
                )
            ))
            for qid, doc, text, imp in conn.execute(
                "SELECT id, document_id, text, is_impossible FROM questions"
            ).fetchall()
        )
    return ents, classes, questions


def apply_op(state: tuple[frozenset, frozenset, frozenset], op: dict[str, Any]):  # type: ignore[no-untyped-def]
    ents, classes, questions = set(state[0]), set(state[1]), set(state[2])
    kind = op["op"]
    if kind == "add":
        ents.add((op["doc"], op["start"], op["end"], op["label"]))
    elif kind == "del":
        ents.discard((op["doc"], op["start"], op["end"], op["label"]))
    elif kind == "relabel":
        ents.discard((op["doc"], op["start"], op["end"], op["old"]))
        ents.add((op["doc"], op["start"], op["end"], op["label"]))
    elif kind == "cls":
        classes = {c for c in classes if c[0] != op["doc"]}
        classes.add((op["doc"], op["label"]))
    elif kind == "qa":
        answers = () if op["start"] is None else ((op["start"], op["end"]),)
        questions.add((op["doc"], op["text"], op["start"] is None, answers))
    else:  # pragma: no cover
        raise ValueError(kind)
    return frozenset(ents), frozenset(classes), frozenset(questions)


@dataclass
class AnnotateVerdict:
    acknowledged: int = 0
    lost: int = 0
    phantom: int = 0
    in_flight_committed: int = 0
    problems: list[str] = field(default_factory=list)


def verify_annotate(path: Path, log: list[dict[str, Any]], initial) -> AnnotateVerdict:  # type: ignore[no-untyped-def]
    """Every acknowledged action is in the file; the only other change allowed is the one
    action that was in flight when the worker died (committed or not, never half)."""
    verdict = AnnotateVerdict()
    state = initial
    pending: dict[str, Any] | None = None
    for entry in log:
        if entry["t"] == "try":
            pending = entry
        elif entry["t"] == "ok":
            assert pending is not None and pending["n"] == entry["n"], (pending, entry)
            state = apply_op(state, pending)
            verdict.acknowledged += 1
            pending = None
    actual = annotation_state(path)
    if actual == state:
        return verdict
    if pending is not None and actual == apply_op(state, pending):
        verdict.in_flight_committed = 1
        return verdict
    for want, got, name in zip(state, actual, ("entities", "classes", "questions")):
        missing = want - got
        extra = got - want
        verdict.lost += len(missing)
        verdict.phantom += len(extra)
        if missing or extra:
            verdict.problems.append(
                f"{name}: missing {sorted(missing)[:5]} extra {sorted(extra)[:5]} (in flight: {pending})"
            )
    return verdict


# --- import trials ------------------------------------------------------------------------


def verify_imports(path: Path, log: list[dict[str, Any]]) -> dict[str, Any]:
    """Each import batch is all there or not there at all; acknowledged ones are all there."""
    acked = {e["batch"] for e in log if e["t"] == "ok"}
    tried = {e["batch"]: e["size"] for e in log if e["t"] == "try"}
    problems: list[str] = []
    with raw_ro(path) as conn:
        rows = conn.execute(
            "SELECT substr(external_id, 1, instr(external_id, '-') - 1), count(*) "
            "FROM documents WHERE external_id LIKE 'b%-%' GROUP BY 1"
        ).fetchall()
        ents = dict(
            conn.execute(
                "SELECT substr(d.external_id, 1, instr(d.external_id, '-') - 1), count(*) "
                "FROM entity_annotations e JOIN documents d ON d.id = e.document_id "
                "WHERE d.external_id LIKE 'b%-%' GROUP BY 1"
            ).fetchall()
        )
    present = {int(name[1:]): n for name, n in rows}
    half = 0
    for batch, n in present.items():
        size = tried.get(batch)
        if size is None:
            problems.append(f"batch {batch} present but never tried")
        elif n != size:
            half += 1
            problems.append(f"batch {batch}: {n} of {size} documents (half-applied)")
        elif ents.get(f"b{batch}", 0) != 2 * size:
            half += 1
            problems.append(f"batch {batch}: {ents.get(f'b{batch}', 0)} of {2 * size} entities")
    lost = [b for b in acked if present.get(b) != tried[b]]
    if lost:
        problems.append(f"acknowledged batches missing: {lost}")
    return {
        "acknowledged": len(acked),
        "in_flight_committed": len(set(present) - acked),
        "half_applied": half,
        "lost": len(lost),
        "problems": problems,
    }


def seeded_delays(seed: int, n: int, low: float, high: float) -> list[float]:
    rng = random.Random(seed)
    return [rng.uniform(low, high) for _ in range(n)]


# --- the suite's summary lines ------------------------------------------------------------

SUMMARY: list[str] = []

# Scale the number of crash trials / fuzz examples (CI default 1; soak runs use more).
SCALE = float(os.environ.get("RELIABILITY_SCALE", "1"))


def scaled(n: int) -> int:
    return max(1, int(n * SCALE))


def summary(line: str) -> None:
    """Record one summary line, shown at the end of the pytest run (and printed now)."""
    SUMMARY.append(line)
    print(line)


class Tally:
    """Counts for one test group, turned into its summary line at the end of a module."""

    def __init__(self, group: str) -> None:
        self.group = group
        self.counts: dict[str, int] = {}

    def add(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def line(self) -> str:
        return f"{self.group}: " + ", ".join(f"{v} {k}" for k, v in self.counts.items())

    def emit(self) -> None:
        if self.counts:
            summary(self.line())


def file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_cli(*argv: str) -> tuple[int, str, str]:
    """Run the ``annotator`` command line in this process: (exit code, stdout, stderr)."""
    import contextlib
    import io

    from annotator.cli.main import run

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = run(list(argv))
        except SystemExit as exc:  # argparse errors
            rc = int(exc.code or 0)
    return rc, out.getvalue(), err.getvalue()


# --- a tiny BERT (random weights, word-piece tokenizer) for engine tests ------------------

TINY_WORDS = (
    "patient has flu and cough given aspirin rest fever gone rash noted bp fine today "
    "pain chest headache nausea type diabetes metformin asthma note visit with the of on "
    "a in for no mild history seen follow up"
).split()


def make_tiny_base_model(out: Path) -> Path:
    """Write a tiny random BERT encoder + fast tokenizer (safetensors) to ``out``: a base
    model the engine accepts (a local directory with config.json), trained in seconds."""
    import torch
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece
    from transformers import BertConfig, BertModel, BertTokenizerFast

    torch.manual_seed(0)
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = sorted(set("abcdefghijklmnopqrstuvwxyz0123456789.,;:!?-()/'\""))
    vocab_list = specials + TINY_WORDS + chars + [f"##{c}" for c in chars]
    vocab = {tok: i for i, tok in enumerate(dict.fromkeys(vocab_list))}
    tok = Tokenizer(WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    tok.decoder = decoders.WordPiece()
    fast = BertTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
        sep_token="[SEP]", mask_token="[MASK]", model_max_length=128,
    )
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=128,
    )
    out.mkdir(parents=True, exist_ok=True)
    BertModel(config).save_pretrained(out, safe_serialization=True)
    fast.save_pretrained(out)
    return out


def make_tiny_ner_model(base: Path, out: Path, labels: tuple[str, ...] = ("Disease", "Drug")) -> Path:
    """A saved NER model version (through the engine's own build/save functions)."""
    from core.engine import modelio
    from core.engine.settings import TaskSpec
    from core.types import TaskKind

    spec = TaskSpec(task=TaskKind.NER, labels=labels)
    model, tokenizer, base_dir = modelio.build_model(spec, str(base), lambda _m: None)
    return modelio.save_model_dir(
        model, tokenizer, spec, out, settings={"max_length": 64, "stride": 16}, metrics={},
        base_model=base_dir,
    )
