"""Sentence classes end to end from the command line on a tiny model: init --unit sentence,
import, train, predict, queue, evaluate on a gold JSONL file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from annotator.cli.main import run

    code = run(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _ok(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code, out, err = _run([*argv, "--json"], capsys)
    assert code == 0, err
    result: dict[str, Any] = json.loads(out)
    return result


def _note(i: int) -> tuple[str, list[dict[str, Any]]]:
    """A note of two sentences, 'smoking' then 'plan', and a third without a class."""
    a = f"patient {i} smokes a pipe daily."
    b = f"plan follow up in {i % 5 + 1} weeks."
    c = "seen by the nurse."
    text = f"{a} {b} {c}"
    return text, [
        {"start": 0, "end": len(a), "label": "smoking"},
        {"start": len(a) + 1, "end": len(a) + 1 + len(b), "label": "plan"},
        {"start": len(a) + len(b) + 2, "end": len(text), "label": None},
    ]


def _jsonl(path: Path, objects: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(o) + "\n" for o in objects), encoding="utf-8")
    return path


def test_sentence_project_from_init_to_evaluate(
    tiny_bert: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "notes.db")
    _ok(["init", db, "--task", "classify", "--unit", "sentence", "--labels", "smoking,plan"],
        capsys)
    labelled = [{"id": f"n{i}", "text": t, "sentences": s} for i, (t, s) in
                ((i, _note(i)) for i in range(40))]
    _ok(["import", db, str(_jsonl(tmp_path / "train.jsonl", labelled[:32]))], capsys)
    _ok(["import", db, str(_jsonl(tmp_path / "dev.jsonl", labelled[32:])), "--split", "dev"],
        capsys)
    open_notes = [{"id": f"o{i}", "text": _note(100 + i)[0]} for i in range(5)]  # split by the tool
    _ok(["import", db, str(_jsonl(tmp_path / "open.jsonl", open_notes))], capsys)

    trained = _ok(["train", db, "--task", "classify", "--base-model", str(tiny_bert),
                   "--epochs", "1", "--batch-size", "8", "--no-predict"], capsys)
    assert trained["status"] == "completed", trained["reason"]
    assert Path(trained["model_path"]).name.startswith("sentence-")
    assert trained["dev"]["sentences"] == 16  # 8 dev notes, 2 labelled sentences each
    assert {"accuracy", "macro_f1", "per_label"} <= set(trained["dev"])

    predicted = _ok(["predict", db, "--task", "classify"], capsys)
    assert predicted["documents"] == 5 and predicted["suggestions"] == 15  # every sentence
    queue = _ok(["queue", db, "--task", "classify", "--limit", "0"], capsys)
    assert queue["task"] == "sentence"
    assert {d["external_id"] for d in queue["documents"]} == {f"o{i}" for i in range(5)}

    gold_notes = [_note(200 + i) for i in range(3)]
    gold = _jsonl(tmp_path / "gold.jsonl", [
        *({"id": f"g{i}", "text": t, "sentences": s} for i, (t, s) in enumerate(gold_notes)),
        {"id": "g-plain", "text": "patient smokes. plan follow up."},  # no gold sentences
    ])
    code, out, err = _run(["evaluate", db, "--task", "classify", "--data", str(gold), "--json"],
                          capsys)
    assert code == 0, err
    metrics = json.loads(out)
    assert metrics["task"] == "sentence" and metrics["documents"] == 4
    assert metrics["documents_scored"] == 3 and metrics["sentences"] == 6
    assert metrics["documents_without_gold"] == [{"line": 4, "id": "g-plain"}]
    assert "gold.jsonl:4" in err and "not scored" in err
    assert 0.0 <= metrics["accuracy"] <= 1.0 and 0.0 <= metrics["macro_f1"] <= 1.0
    assert {k: v["support"] for k, v in metrics["per_label"].items()} == {"smoking": 3, "plan": 3}
    assert set(metrics["per_label"]["plan"]) == {"precision", "recall", "f1", "support"}

    # the model directory instead of the version: the same scores
    again = _ok(["evaluate", db, "--task", "classify", "--model", trained["model_path"],
                 "--data", str(gold)], capsys)
    assert (again["accuracy"], again["macro_f1"]) == (metrics["accuracy"], metrics["macro_f1"])
    code, out, err = _run(["evaluate", db, "--task", "classify", "--data", str(gold)], capsys)
    assert code == 0 and "scored 6 gold sentences of 3 documents" in out
    assert "macro_f1" in out and "smoking: precision" in out

    # a gold file without any gold sentence is refused, not scored as empty
    plain = _jsonl(tmp_path / "plain.jsonl", [{"text": "patient smokes a pipe."},
                                              {"text": "plan a visit.", "label": "plan"}])
    code, out, err = _run(["evaluate", db, "--task", "classify", "--data", str(plain), "--json"],
                          capsys)
    assert code == 2 and "plain.jsonl" in err and "no gold sentence labels" in err
    assert json.loads(out)["error"]
    # asking for the document task of a sentence-only project names the problem
    code, _, err = _run(["evaluate", db, "--task", "classify", "--unit", "document",
                         "--model", trained["model_path"], "--data", str(gold)], capsys)
    assert code == 2 and "is a sentence model, not classify" in err
