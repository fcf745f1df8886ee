"""The Predictor's precision and the cache that keeps a loaded model between runs."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_training import fast, run_job
from tiny_models import make_ner_docs

from core.engine import predict as P
from core.engine import runtime
from core.types import DocumentRecord


@pytest.fixture(scope="module")
def model_dir(tiny_bert: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    result, _ = run_job(tmp_path_factory.mktemp("predict"), task="ner", labels=["DRUG"],
                        train=make_ner_docs(60), settings=fast(tiny_bert, epochs=4))
    assert result.status == "completed", result.reason
    return Path(result.model_path)


def _spans(preds: list[Any]) -> list[list[tuple[int, int, str]]]:
    return [[(s.start, s.end, s.label) for s in p.spans] for p in preds]


def test_bf16_predicts_the_spans_of_fp32(model_dir: Path) -> None:
    import torch

    docs = [DocumentRecord(d.text) for d in make_ner_docs(20, seed=3)]
    fp32 = P.Predictor(model_dir, device="cpu", precision="fp32")
    bf16 = P.Predictor(model_dir, device="cpu", precision="bf16")
    assert fp32.precision == "fp32" and bf16.precision == "bf16"
    a, b = fp32.predict(docs), bf16.predict(docs)
    assert _spans(a) == _spans(b)
    assert max(np.abs(x.word_probs - y.word_probs).max() for x, y in zip(a, b)) < 0.05
    # The forward really ran in bf16 (autocast), and outputs come back as float32.
    seen: list[torch.dtype] = []
    layer = bf16.loaded.model.classifier
    handle = layer.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    try:
        out = bf16.predict(docs[:2])
    finally:
        handle.remove()
    assert seen and set(seen) == {torch.bfloat16}
    assert out[0].word_probs.dtype == np.float32
    assert bf16.embed(docs[:2]).dtype == np.float32


def test_auto_precision_follows_the_cpu(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    cpu = torch.device("cpu")
    monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: True)
    assert runtime.inference_dtype(cpu, "auto") is torch.bfloat16
    assert P.Predictor(model_dir, device="cpu").precision == "bf16"
    monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: False)
    assert runtime.inference_dtype(cpu, "auto") is None
    assert P.Predictor(model_dir, device="cpu").precision == "fp32"
    assert runtime.inference_dtype(cpu, "fp32") is None
    with pytest.raises(ValueError, match="precision"):
        P.Predictor(model_dir, device="cpu", precision="fp8")


def test_evaluate_scores_as_training_did(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Scores are fp32 on the CPU (as dev evaluation in training), whatever the predictor's
    own precision; only the forward passes inside inference_precision change."""
    import torch

    seen: list[torch.dtype] = []
    predictor = P.Predictor(model_dir, device="cpu", precision="bf16")
    handle = predictor.loaded.model.classifier.register_forward_hook(
        lambda m, i, o: seen.append(o.dtype))
    try:
        predictor.evaluate(make_ner_docs(6, seed=4))
    finally:
        handle.remove()
    assert seen and set(seen) == {torch.float32}
    with runtime.autocast(torch.device("cpu")):  # training's own: no autocast on the CPU
        assert not torch.is_autocast_enabled("cpu")


def test_cached_predictor_is_loaded_once_and_lent_to_one_caller(model_dir: Path) -> None:
    P.clear_predictor_cache()
    with P.cached_predictor(model_dir, device="cpu") as first, \
            P.cached_predictor(model_dir, device="cpu") as meanwhile:
        assert meanwhile is not first  # lent: a second caller gets its own
    with P.cached_predictor(model_dir, device="cpu") as again:
        assert again is first
    with P.cached_predictor(model_dir, device="cpu", precision="fp32") as other:
        assert other is not first  # other options, another predictor
    # New weights in the same directory (same path, another file): loaded again.
    weights = model_dir / "model.safetensors"
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    with P.cached_predictor(model_dir, device="cpu") as changed:
        assert changed is not first
    P.clear_predictor_cache()


def test_the_cache_keeps_the_most_recent_few(model_dir: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    P.clear_predictor_cache()
    monkeypatch.setattr(P, "CACHE_SIZE", 2)
    kept = []
    for precision in ("fp32", "bf16", "auto"):
        with P.cached_predictor(model_dir, device="cpu", precision=precision) as p:
            kept.append(p)
    with P.cached_predictor(model_dir, device="cpu", precision="auto") as p:
        assert p is kept[2]
    with P.cached_predictor(model_dir, device="cpu", precision="fp32") as p:
        assert p is not kept[0]  # the least recently used went first
    assert len(P._cache) == 2
    P.clear_predictor_cache()


def test_cached_predictor_from_two_threads(model_dir: Path) -> None:
    P.clear_predictor_cache()
    got: list[Any] = []
    barrier = threading.Barrier(2)

    def use() -> None:
        with P.cached_predictor(model_dir, device="cpu") as p:
            barrier.wait(timeout=30)
            got.append(p)
            barrier.wait(timeout=30)

    workers = [threading.Thread(target=use) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert len(got) == 2 and got[0] is not got[1]
    P.clear_predictor_cache()
