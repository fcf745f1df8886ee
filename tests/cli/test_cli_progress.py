"""Progress bars: on stderr when it is a terminal (rate and ETA), never in stdout or
``--json`` output, nothing at all when stderr is not a terminal."""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import pytest
from tiny_models import build_tiny_bert, make_ner_docs

from annotator.cli.main import run
from annotator.cli.progress import ProgressBar, wants_bar
from core.project import Project
from core.types import Split

# tqdm's "[elapsed<remaining, rate]", e.g. "[00:01<00:02, 3.10step/s]" or "12.5s/step"
BAR = re.compile(r"\[\d\d:\d\d<\d\d:\d\d, +[\d.?]+(\w+/s|s/\w+)[,\]]")


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(params=[True, False], ids=["tty", "not-a-tty"])
def stderr(request: pytest.FixtureRequest) -> io.StringIO:
    """A stderr that is a terminal or not; a test puts it in place with ``_use`` (in its
    body: capsys puts its own in place after the fixtures are set up)."""
    return FakeTerminal() if request.param else io.StringIO()


def _use(monkeypatch: pytest.MonkeyPatch, fake: io.StringIO) -> None:
    monkeypatch.setattr(sys, "stderr", fake)


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("progress-bert") / "model")


def _conll(path: Path, n: int) -> Path:
    lines = []
    for d in make_ner_docs(n):
        pos = 0
        (span,) = d.spans
        for w in d.text.split(" "):
            lines.append(f"{w}\t{'B-DRUG' if pos == span.start else 'O'}")
            pos += len(w) + 1
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_wants_bar_follows_isatty() -> None:
    assert wants_bar(FakeTerminal()) and not wants_bar(io.StringIO())
    closed = io.StringIO()
    closed.close()  # isatty() of a closed stream raises ValueError
    assert not wants_bar(closed) and not wants_bar(object())  # type: ignore[arg-type]


def test_train_and_predict_show_a_bar_per_step_only_on_a_terminal(
    tmp_path: Path, tiny_bert: Path, stderr: io.StringIO, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _use(monkeypatch, stderr)
    db = tmp_path / "p.db"
    assert run(["init", str(db), "--task", "ner", "--labels", "DRUG", "--json"]) == 0
    data = _conll(tmp_path / "train.conll", 40)
    assert run(["import", str(db), str(data), "--format", "conll", "--json"]) == 0
    with Project.open(db) as p:
        p.documents.add([d.__class__(d.text + " again") for d in make_ner_docs(10)],
                        split=Split.UNASSIGNED)
    argv = ["train", str(db), "--task", "ner", "--base-model", str(tiny_bert), "--epochs", "2",
            "--lr", "0.003", "--batch-size", "4"]
    assert run([*argv, "--json"]) == 0
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert len(lines) == 3 and json.loads(lines[-1])["status"] == "completed"  # init, import
    assert json.loads(lines[-1])["preannotation"]["documents"] > 0
    err = stderr.getvalue()
    tty = isinstance(stderr, FakeTerminal)
    assert bool(BAR.search(err)) is tty
    if tty:
        assert "training" in err and "step" in err and "pre-annotating" in err
        assert "importing" in err
    else:
        assert err == ""
    # Without --json the epoch table stays on stdout, bar or not.
    stderr.seek(0)
    stderr.truncate()
    assert run([*argv, "--no-predict"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["epoch", "step", "train_loss", "val_loss", "metrics"]
    assert "step/s" not in out and "s/step" not in out and "\r" not in out
    assert bool(BAR.search(stderr.getvalue())) is tty
    stderr.seek(0)
    stderr.truncate()
    assert run(["predict", str(db), "--task", "ner", "--json"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert done["documents"] >= 0
    assert ("predicting" in stderr.getvalue()) is tty
    if not tty:
        assert stderr.getvalue() == ""
    # The line for a person says what computed the suggestions, as the JSON does.
    with Project.open(db) as p:
        p.documents.add([d.__class__(d.text + " later") for d in make_ner_docs(3)],
                        split=Split.UNASSIGNED)
    assert run(["predict", str(db), "--task", "ner"]) == 0
    line = capsys.readouterr().out.splitlines()[0]
    assert line.startswith("model version 2: 3 documents predicted"), line
    assert line.endswith(f"documents/s, {done['backend']} {done['precision']})"), line
    # Nothing left: said so, and no model loaded.
    assert run(["predict", str(db), "--task", "ner"]) == 0
    assert capsys.readouterr().out.splitlines() == [(
        "model version 2: no document left to predict (it has predicted every unreviewed "
        "document outside the test split; the model was not loaded)")]
    assert run(["predict", str(db), "--task", "ner", "--json"]) == 0
    nothing = json.loads(capsys.readouterr().out)
    assert (nothing["documents"], nothing["backend"], nothing["precision"]) == (0, "none", "none")


def test_simulate_shows_a_bar_on_a_terminal_and_log_lines_otherwise(
    tmp_path: Path, tiny_bert: Path, stderr: io.StringIO, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _use(monkeypatch, stderr)
    pool, dev = _conll(tmp_path / "pool.conll", 16), _conll(tmp_path / "dev.conll", 6)
    assert run(["simulate", "--task", "ner", "--data", str(pool), "--dev", str(dev),
                "--format", "conll", "--seed-size", "8", "--batch-size", "4", "--rounds", "1",
                "--strategy", "random", "--epochs", "1", "--base-model", str(tiny_bert),
                "--max-length", "32"]) == 0
    out = capsys.readouterr().out
    err = stderr.getvalue()
    assert "random" in out and "run/s" not in out and "s/run" not in out
    if isinstance(stderr, FakeTerminal):
        assert BAR.search(err) and "simulating" in err and "2/2" in err
    else:
        assert not BAR.search(err) and "round 1/1" in err  # the log's line per training


def test_a_bar_object_does_nothing_off_a_terminal(
    stderr: io.StringIO, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    _use(monkeypatch, stderr)
    with ProgressBar(total=3, desc="x", unit="doc") as bar:
        assert list(bar.wrap([1, 2, 3])) == [1, 2, 3]
        bar.write("a line")
    assert capsys.readouterr().out == "a line\n"
    assert ("3/3" in stderr.getvalue()) is isinstance(stderr, FakeTerminal)


def test_restart_counts_a_new_run_from_zero_under_its_name(
    stderr: io.StringIO, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The heads trained after the tagger count their own steps: the bar starts again at 0
    of the head's total, named after it (not a count going backwards)."""
    _use(monkeypatch, stderr)
    with ProgressBar(total=10, desc="training", unit="step") as bar:
        bar.update_to(10)
        bar.restart("training attributes", total=4)
        bar.update_to(1)
        if isinstance(stderr, FakeTerminal):
            assert bar._bar.n == 1 and bar._bar.total == 4
    err = stderr.getvalue()
    if isinstance(stderr, FakeTerminal):
        assert "training attributes" in err and "1/4" in err
    else:
        assert err == ""
