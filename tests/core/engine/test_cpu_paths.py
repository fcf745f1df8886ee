"""The CPU training paths (core.engine.cpu_paths): dropout masks that keep each element with
probability 1 - p, a dropout whose backward uses its forward's mask, a word-embedding
gradient identical to the dense one, and a model put back as it was after training."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_models import build_tiny_bert

torch = pytest.importorskip("torch")

from core.engine import cpu_paths


def test_the_masks_keep_each_element_with_probability_one_minus_p() -> None:
    torch.manual_seed(0)
    for p in (0.1, 0.5):
        x = torch.empty(400_003)  # not a multiple of 4: the last lanes are cut off
        mask = cpu_paths._keep_mask(x, p)
        assert mask.shape == x.shape and mask.dtype == torch.bool
        assert abs(mask.float().mean().item() - (1 - p)) < 0.004
        # each of the four 16-bit lanes of a 64-bit draw is as likely to keep
        lanes = mask[:400_000].view(-1, 4).float().mean(dim=0)
        assert torch.all((lanes - (1 - p)).abs() < 0.008), lanes
    # two draws differ (the generator advances)
    a, b = cpu_paths._keep_mask(torch.empty(1000), 0.5), cpu_paths._keep_mask(torch.empty(1000), 0.5)
    assert not torch.equal(a, b)


def test_fast_dropout_scales_the_kept_elements_and_backpropagates_through_the_same_mask() -> None:
    torch.manual_seed(1)
    x = torch.randn(64, 97, requires_grad=True)
    y = cpu_paths.fast_dropout(x, 0.2, True)
    kept = y != 0
    assert 0.7 < kept.float().mean().item() < 0.9
    assert torch.allclose(y[kept], x[kept] / 0.8)
    y.sum().backward()
    assert torch.equal(x.grad != 0, kept)
    assert torch.allclose(x.grad[kept], torch.full_like(x.grad[kept], 1 / 0.8))
    # in bf16 (autocast's activations) it keeps the dtype
    xb = torch.randn(8, 8, dtype=torch.bfloat16)
    assert cpu_paths.fast_dropout(xb, 0.1, True).dtype == torch.bfloat16
    assert cpu_paths.fast_dropout(x, 0.2, False) is x  # eval: the identity
    assert cpu_paths.fast_dropout(x, 0.0, True) is x


def _tiny_tagger(tmp_path: Path, dropout: float) -> object:
    import transformers

    base = build_tiny_bert(tmp_path / "bert")
    return transformers.AutoModelForTokenClassification.from_pretrained(
        base, num_labels=3, hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout)


def test_the_sparse_embedding_gradient_is_the_dense_one_and_one_buffer_is_reused(
        tmp_path: Path) -> None:
    model = _tiny_tagger(tmp_path, dropout=0.0)
    model.train()
    ids = torch.tensor([[2, 5, 7, 5, 3], [2, 9, 9, 3, 0]])
    labels = torch.tensor([[-100, 1, 2, 0, -100], [-100, 1, 0, -100, -100]])

    def grads() -> dict[str, object]:
        model.zero_grad(set_to_none=True)
        if paths is not None:
            paths.before_backward()
        model(input_ids=ids, attention_mask=(ids != 0).long(), labels=labels).loss.backward()
        return {n: p.grad.clone() for n, p in model.named_parameters()}

    paths = None
    dense = grads()
    paths = cpu_paths.install(model)
    embedding = model.get_input_embeddings()
    assert embedding.sparse and paths.embedding is embedding
    first = grads()
    buffer = embedding.weight.grad
    assert buffer.layout == torch.strided  # a dense gradient, for the optimizer and clipping
    second = grads()
    assert embedding.weight.grad is buffer  # kept, not allocated afresh
    for name, grad in dense.items():
        assert torch.allclose(first[name], grad, atol=1e-6), name
        assert torch.allclose(second[name], grad, atol=1e-6), name  # zeroed in between
    cpu_paths.remove(model, paths)
    assert not embedding.sparse and embedding.weight.grad is None


def test_install_replaces_every_dropout_and_remove_puts_the_model_back(tmp_path: Path) -> None:
    import transformers

    model = _tiny_tagger(tmp_path, dropout=0.1)
    before = [(n, type(m)) for n, m in model.named_modules()]
    n_dropouts = sum(type(m) is torch.nn.Dropout for m in model.modules())
    assert n_dropouts > 0
    paths = cpu_paths.install(model)
    assert len(paths.dropouts) == n_dropouts
    assert not any(type(m) is torch.nn.Dropout for m in model.modules())
    assert all(isinstance(m, torch.nn.Dropout) and m.p == 0.1
               for n, m in model.named_modules() if "dropout" in n.split(".")[-1])
    model.train()
    out = model(input_ids=torch.tensor([[2, 5, 7, 3]])).logits
    assert out.shape == (1, 4, 3)
    model.eval()
    cpu_paths.remove(model, paths)
    assert [(n, type(m)) for n, m in model.named_modules()] == before
    assert all(not m.training for m in model.modules())  # the mode the model was left in
    model.save_pretrained(tmp_path / "saved")
    again = transformers.AutoModelForTokenClassification.from_pretrained(tmp_path / "saved")
    assert [(n, type(m)) for n, m in again.named_modules()] == before


def test_a_training_run_uses_them_on_the_cpu_and_leaves_a_plain_model(
        tmp_path: Path, tiny_bert: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from test_training import fast
    from tiny_models import make_ner_docs

    from core.engine.job import TrainingJob

    installed: list[object] = []
    real = cpu_paths.install

    def spy(model: object) -> cpu_paths.CpuPaths:
        installed.append(model)
        return real(model)

    monkeypatch.setattr(cpu_paths, "install", spy)
    result = TrainingJob(task="ner", labels=["DRUG"], train=make_ner_docs(24),
                         settings=fast(tiny_bert, epochs=2), output_dir=tmp_path / "m").run()
    assert result.status == "completed", result.reason
    assert len(installed) == 1
    model = installed[0]
    assert not any(isinstance(m, torch.nn.Embedding) and m.sparse for m in model.modules())
    assert not any(type(m).__name__ == "FastDropout" for m in model.modules())
    monkeypatch.setattr(cpu_paths, "ENABLED", False)
    installed.clear()
    off = TrainingJob(task="ner", labels=["DRUG"], train=make_ner_docs(24),
                      settings=fast(tiny_bert, epochs=2), output_dir=tmp_path / "m2").run()
    assert off.status == "completed" and installed == []


def test_the_attention_path_is_sdpas_arithmetic_and_goes_back_before_saving(
        tmp_path: Path) -> None:
    import json

    model = _tiny_tagger(tmp_path, dropout=0.1)
    assert model.config._attn_implementation == "sdpa"
    ids = torch.tensor([[2, 5, 7, 9, 3], [2, 9, 3, 0, 0]])
    mask = (ids != 0).long()
    model.eval()
    with torch.no_grad():
        reference = model(input_ids=ids, attention_mask=mask).logits
    paths = cpu_paths.install(model)
    assert model.config._attn_implementation == cpu_paths.ATTENTION
    with torch.no_grad():  # eval: transformers' own SDPA
        assert torch.equal(model(input_ids=ids, attention_mask=mask).logits, reference)
    # training with (almost) no dropout: the math path gives SDPA's result, padding masked
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 1e-9
    model.train()
    with torch.no_grad():
        trained_path = model(input_ids=ids, attention_mask=mask).logits
    assert torch.allclose(trained_path, reference, atol=1e-5)
    # with dropout the probabilities are dropped: outputs vary from draw to draw
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.5
    with torch.no_grad():
        a = model(input_ids=ids, attention_mask=mask).logits
        b = model(input_ids=ids, attention_mask=mask).logits
    assert not torch.allclose(a, b)
    model.eval()
    cpu_paths.remove(model, paths)
    assert model.config._attn_implementation == "sdpa"
    model.save_pretrained(tmp_path / "saved")
    assert cpu_paths.ATTENTION not in (tmp_path / "saved" / "config.json").read_text()
    saved = json.loads((tmp_path / "saved" / "config.json").read_text())
    assert saved["hidden_dropout_prob"] == saved["attention_probs_dropout_prob"] == 0.1
