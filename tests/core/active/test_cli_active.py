from __future__ import annotations

import json
from pathlib import Path

import pytest
from al_helpers import TinyModels, ner_docs

from annotator.cli.main import run
from core.project import Project
from core.store import repo
from core.store.models import ModelVersion
from core.types import Split


def _json(capsys: pytest.CaptureFixture[str]) -> dict:
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, out
    return json.loads(out[0])


def _conll(path: Path, n: int, seed: int) -> Path:
    lines = []
    for d in ner_docs(n, seed=seed):
        words, pos = d.text.split(" "), 0
        (span,) = d.spans
        for w in words:
            lines.append(f"{w}\t{'B-DRUG' if pos == span.start else 'O'}")
            pos += len(w) + 1
        lines.append("")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_predict_and_queue(tmp_path: Path, tiny_models: TinyModels,
                           capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "p.db"
    with Project.create(db, tasks={"ner": ["DRUG"]}) as p, p.write() as s:
        repo.add_documents(s, [d.__class__(d.text) for d in ner_docs(12, seed=4)],
                           split=Split.TRAIN)
        s.add(ModelVersion(task_id=repo.require_task(s, "ner").id, version=1,
                           base_model="tiny", path=str(tiny_models["ner"]), is_active=True))
    assert run(["predict", str(db), "--task", "ner", "--json"]) == 0
    data = _json(capsys)
    assert data["documents"] == 12 and data["model_version"] == 1
    assert {"suggestions", "seconds", "documents_per_second"} <= set(data)
    assert run(["queue", str(db), "--task", "ner", "--strategy", "margin", "--limit", "5",
                "--json"]) == 0
    queue = _json(capsys)
    assert len(queue["documents"]) == 5
    scores = [d["score"] for d in queue["documents"]]
    assert scores == sorted(scores, reverse=True)
    assert run(["queue", str(db), "--task", "ner", "--strategy", "diverse", "--limit", "4",
                "--json"]) == 0
    assert len(_json(capsys)["documents"]) == 4
    assert run(["queue", str(db), "--task", "ner", "--strategy", "bald"]) == 2
    assert "unknown strategy" in capsys.readouterr().err


def test_predict_without_model_is_exit_2(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "p.db"
    Project.create(db, tasks={"ner": ["DRUG"]}).close()
    assert run(["predict", str(db), "--task", "ner"]) == 2
    assert "train one first" in capsys.readouterr().err


def test_simulate_cli_json_and_plot(tmp_path: Path, tiny_bert: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    pool, dev = _conll(tmp_path / "pool.conll", 30, 1), _conll(tmp_path / "dev.conll", 8, 2)
    png = tmp_path / "curves.png"
    code = run([
        "simulate", "--task", "ner", "--data", str(pool), "--dev", str(dev),
        "--format", "conll", "--seed-size", "10", "--batch-size", "5", "--rounds", "1",
        "--strategy", "random,least_confidence", "--epochs", "1", "--base-model",
        str(tiny_bert), "--max-length", "64", "--plot", str(png), "--json",
    ])
    assert code == 0
    data = _json(capsys)
    assert set(data["curves"]) == {"random", "least_confidence"}
    assert [p["labels"] for p in data["curves"]["random"]] == [10, 15]
    assert "f1" in data["curves"]["random"][0]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_simulate_cli_latin1_lines_with_min_steps(tmp_path: Path, tiny_bert: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from al_helpers import class_docs

    def write(path: Path, n: int, seed: int) -> Path:
        rows = [f"{d.classes[0]} {d.text} caf\u00e9" for d in class_docs(n, seed=seed)]
        path.write_bytes(("\n".join(rows) + "\n").encode("latin-1"))
        return path

    pool, dev = write(tmp_path / "pool.txt", 24, 1), write(tmp_path / "dev.txt", 8, 2)
    argv = ["simulate", "--task", "classify", "--data", str(pool), "--dev", str(dev),
            "--format", "lines", "--seed-size", "8", "--batch-size", "4", "--rounds", "1",
            "--strategy", "random,margin", "--epochs", "1", "--min-steps", "6",
            "--base-model", str(tiny_bert), "--max-length", "32", "--json"]
    assert run(argv) == 2  # not UTF-8: the file and line are named
    assert "pool.txt" in capsys.readouterr().err
    assert run([*argv, "--encoding", "latin-1"]) == 0
    data = _json(capsys)
    assert data["settings"]["min_steps"] == 6
    assert [p["labels"] for p in data["curves"]["margin"]] == [8, 12]
