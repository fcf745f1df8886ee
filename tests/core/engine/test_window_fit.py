"""A base model with fewer positions than the preset's window trains, with a warning."""

from __future__ import annotations

import json
from pathlib import Path

from tiny_models import make_ner_docs

from core.engine.job import TrainingJob
from core.engine.results import WarningEvent
from core.engine.settings import TrainingSettings


def test_window_is_fitted_to_the_base_models_positions(tiny_bert: Path, tmp_path: Path) -> None:
    # The tiny encoder has 128 position embeddings; the preset's window is 256 tokens.
    settings = TrainingSettings(base_model=str(tiny_bert), epochs=1, max_length=256, stride=64,
                                batch_size=8, device="cpu", min_steps=0)
    long_docs = [d.__class__(text=" ".join([d.text] * 12), spans=()) for d in make_ner_docs(4)]
    events: list[object] = []
    job = TrainingJob(task="ner", labels=["DRUG"], train=make_ner_docs(30) + long_docs,
                      settings=settings, output_dir=tmp_path / "m", on_event=events.append)
    result = job.run()
    assert result.status == "completed", result.reason
    warnings = [e.message for e in events if isinstance(e, WarningEvent)]
    assert any("at most 128 tokens" in w for w in warnings), warnings
    saved = json.loads((Path(result.model_path) / "annotator.json").read_text())
    assert saved["settings"]["max_length"] == 128
    assert saved["settings"]["stride"] < 64
