"""``annotator train`` and ``annotator evaluate`` on a small project (tiny model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from annotator.cli.main import run

    code = run(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_train_then_evaluate(project_path: Path, tiny_bert: Path, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["train", str(project_path), "--task", "ner", "--base-model",
                           str(tiny_bert), "--epochs", "4", "--lr", "0.003", "--batch-size", "4",
                           "--json"], capsys)
    assert code == 0, err
    payload = json.loads(out)
    assert payload["status"] == "completed"
    epochs = [row["epoch"] for row in payload["epochs"]]
    assert epochs == list(range(1, len(epochs) + 1)) and 2 <= len(epochs) <= 4  # may stop early
    assert payload["dev"]["f1"] > 0.9
    assert {"train_loss", "val_loss", "precision", "recall", "f1", "accuracy"} <= set(
        payload["epochs"][0])
    assert payload["dev_examples"] == 8 and payload["tokens_per_second"] > 0
    assert Path(payload["model_path"]).is_dir()
    assert Path(payload["model_path"]).parent == project_path.with_name("notes.models")

    gold = tmp_path / "gold.conll"
    gold.write_text("the\tO\npatient\tO\ntook\tO\nzorblax\tB-DRUG\n\nno\tO\npain\tO\n\n")
    code, out, err = _run(["evaluate", str(project_path), "--task", "ner", "--data",
                           str(gold), "--format", "conll", "--json"], capsys)
    assert code == 0, err
    metrics = json.loads(out)
    # One gold DRUG ("zorblax", a drug the model was trained on) and six O words: the model
    # that scored F1 > 0.9 on dev finds exactly that one.
    assert metrics["documents"] == 2
    assert (metrics["precision"], metrics["recall"], metrics["f1"]) == (1.0, 1.0, 1.0), metrics
    assert metrics["accuracy"] == 1.0
    assert metrics["per_label"]["DRUG"]["support"] == 1
    assert metrics["per_label"]["DRUG"]["f1"] == 1.0

    # a gold file in another encoding: a clear message naming file and line, or --encoding
    latin = tmp_path / "gold-latin1.conll"
    latin.write_bytes("the\tO\ncafé\tO\nzorblax\tB-DRUG\n\n".encode("latin-1"))
    code, out, err = _run(["evaluate", str(project_path), "--task", "ner", "--data",
                           str(latin), "--format", "conll", "--json"], capsys)
    assert code == 2 and "gold-latin1.conll:2" in err and "--encoding" in err
    code, out, err = _run(["evaluate", str(project_path), "--task", "ner", "--data",
                           str(latin), "--format", "conll", "--encoding", "latin-1", "--json"],
                          capsys)
    assert code == 0, err
    assert json.loads(out)["documents"] == 1


def test_train_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["train", str(tmp_path / "none.db"), "--task", "ner"], capsys)
    assert code == 2 and "no such project" in err


def test_train_failed_run_exits_1(project_path: Path, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, out, err = _run(["train", str(project_path), "--task", "ner", "--base-model",
                           "someone/absent", "--json"], capsys)
    assert code == 1
    assert "Traceback" not in err
    payload = json.loads(out)
    assert payload["status"] == "failed" and "offline" in payload["reason"]


def test_answers_train_from_a_project_without_labels(tiny_bert: Path, tmp_path: Path) -> None:
    """A QA task has no label set; training it from a project must still work."""
    from tiny_models import make_qa_docs

    from core.engine.project_bridge import train_project
    from core.engine.settings import TrainingSettings
    from core.project import Project
    from core.store import repo

    with Project.create(tmp_path / "qa.db", tasks={"qa": []}) as project:
        with project.write() as s:
            repo.add_documents(s, make_qa_docs(24))
        settings = TrainingSettings(base_model=str(tiny_bert), epochs=1, batch_size=8,
                                    max_length=64, stride=16, device="cpu")
        outcome = train_project(project, "qa", settings)
        assert outcome.result.status == "completed", outcome.result.reason
        assert outcome.version == 1


def test_train_pre_annotates_the_unreviewed_documents(
        project_path: Path, tiny_bert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from core.project import Project
    from core.store import repo
    from core.types import DocumentRecord

    texts = ["the patient was given zorblax daily", "no pain after dose of melovate today",
             "follow up visit next week", "the nurse gave drapsil in clinic"]
    with Project.open(project_path) as project, project.write() as session:
        repo.add_documents(session, [DocumentRecord(text=t) for t in texts])
    argv = ["train", str(project_path), "--task", "ner", "--base-model", str(tiny_bert),
            "--epochs", "4", "--lr", "0.003", "--batch-size", "4", "--json"]
    code, out, err = _run(argv, capsys)
    assert code == 0, err
    payload = json.loads(out)
    pre = payload["preannotation"]
    assert pre["model_version"] == payload["model_version"] == 1
    # every unreviewed, non-test document (imported gold sentences stay unreviewed)
    assert pre["documents"] == 40 + len(texts)
    from sqlalchemy import select

    from core.store.models import Document, Suggestion

    with Project.open(project_path) as project, project.read() as session:
        found = {
            (text, payload["label"], text[payload["start"]:payload["end"]])
            for text, payload in session.execute(
                select(Document.text, Suggestion.payload)
                .join(Suggestion, Suggestion.document_id == Document.id)
                .where(Document.text.in_(texts), Suggestion.state == "pending"))
        }
    assert {drug for _, _, drug in found} >= {"zorblax", "melovate", "drapsil"}
    assert all(label == "DRUG" for _, label, _ in found)

    code, out, err = _run([*argv, "--no-predict"], capsys)
    assert code == 0, err
    assert json.loads(out)["preannotation"] is None

    # the human summary: the saved version, and no pre-annotation line under --no-predict
    human = [a for a in argv if a != "--json"]
    code, out, err = _run(human, capsys)
    assert code == 0, err
    last = out.strip().splitlines()[-2:]
    assert last[0].startswith("model version 3 saved to") and last[1].startswith("pre-annotated")
    code, out, err = _run([*human, "--no-predict"], capsys)
    assert code == 0, err
    assert out.strip().splitlines()[-1].startswith("model version 4 saved to")
    assert not [line for line in out.splitlines() if line.startswith("training ")]
