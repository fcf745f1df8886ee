"""Training precision: the steps run in bf16 mixed precision where asked (or, "auto", where
the CPU computes bf16 natively); weights, saved files and dev scores stay fp32."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_training import fast, run_job
from tiny_models import make_ner_docs

from core.engine import runtime
from core.engine.loop import build_optimisation
from core.engine.settings import TrainingSettings, preset_settings


def _linear_outputs(tmp_path: Path, tiny_bert: Path, precision: str) -> tuple[Any, set]:
    """Train a tiny tagger at ``precision``; the (training mode, dtype) of every linear
    layer's output on the way."""
    import torch

    seen: set[tuple[bool, torch.dtype]] = set()

    def hook(module: Any, _inputs: Any, output: Any) -> None:
        if isinstance(module, torch.nn.Linear) and isinstance(output, torch.Tensor):
            seen.add((module.training, output.dtype))

    handle = torch.nn.modules.module.register_module_forward_hook(hook)
    try:
        result, _ = run_job(tmp_path, task="ner", labels=["DRUG"], train=make_ner_docs(80),
                            settings=fast(tiny_bert, precision=precision))
    finally:
        handle.remove()
    assert result.status == "completed", result.reason
    return result, seen


def test_bf16_steps_keep_fp32_weights_and_fp32_dev_scores(tmp_path: Path,
                                                          tiny_bert: Path) -> None:
    import torch
    from safetensors import safe_open

    result, seen = _linear_outputs(tmp_path, tiny_bert, "bf16")
    assert (True, torch.bfloat16) in seen  # the training steps' forward passes
    assert (False, torch.float32) in seen  # dev scores after each epoch
    assert (True, torch.float32) not in seen
    assert result.dev_metrics["f1"] > 0.9  # it still learns
    with safe_open(str(Path(result.model_path) / "model.safetensors"), "pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} == {torch.float32}


def test_fp32_steps_have_no_autocast(tmp_path: Path, tiny_bert: Path) -> None:
    import torch

    _, seen = _linear_outputs(tmp_path, tiny_bert, "fp32")
    assert {dtype for _, dtype in seen} == {torch.float32}


def test_auto_is_bf16_only_where_the_cpu_computes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    cpu = torch.device("cpu")
    model = torch.nn.Linear(4, 2)
    settings = TrainingSettings(device="cpu")
    assert settings.precision == "auto"
    monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: True)
    assert build_optimisation(model, settings, 10, cpu).amp is torch.bfloat16
    monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: False)
    assert build_optimisation(model, settings, 10, cpu).amp is None
    forced = settings.replace(precision="bf16")
    assert build_optimisation(model, forced, 10, cpu).amp is torch.bfloat16
    assert build_optimisation(model, settings.replace(precision="fp32"), 10, cpu).amp is None


def test_precision_is_checked_and_the_plain_recipe_stays_fp32() -> None:
    with pytest.raises(ValueError, match="precision must be one of"):
        TrainingSettings(precision="fp8")
    assert preset_settings("seed-002", "ner").precision == "fp32"
    assert preset_settings("default", "classify").precision == "auto"
    assert TrainingSettings.from_dict({"precision": "bf16"}).precision == "bf16"
