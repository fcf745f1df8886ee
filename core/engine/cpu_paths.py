"""Faster training steps on the CPU, with the same arithmetic: what a step spends outside the
encoder's matrix products (measured with torch's profiler on the default encoder, batch 16,
NCBI sentences, bf16 autocast; ``benchmarks/bench_training.py`` times the whole).

* **The word embedding's gradient.** Its dense gradient is vocabulary x hidden (30,522 x
  384 floats, 47 MB). torch allocates it afresh at every step; a block that large is always
  mapped from the kernel (glibc's threshold is at most 32 MB), so each step pays tens of
  thousands of page faults to zero it: 12-30 ms a step, more than the layers' matmuls in
  bf16. Here the embedding gives a sparse gradient (the rows of the batch's tokens) and it is
  added into one dense buffer kept for the whole run and zeroed in place before each
  backward pass: the same gradient (the optimizer, clipping and weight decay see a dense
  tensor as before), without the faults.
* **Dropout masks.** ``torch.nn.Dropout`` draws one Bernoulli number per element
  (``bernoulli_``), about 6 ns each on these CPUs: 20 masks a step. :class:`FastDropout`
  draws 64 random bits per 4 elements and keeps an element when its 16 bits are at or above
  ``p x 65536``: each element is kept with probability ``1 - p`` (to 1/65,536), as before;
  only the random stream differs.
* **Dropout on the attention probabilities.** With dropout, torch's SDPA leaves its fused
  CPU kernel for the math path, with a Bernoulli mask per probability. :func:`_attention`
  (registered with transformers as :data:`ATTENTION`, SDPA's masks) computes the same
  attention with :func:`fast_dropout`; without dropout (eval) it is transformers' SDPA.

:func:`install` applies both to a model about to be trained on the CPU and returns what the
step calls; :func:`remove` puts the model back as it was (the saved model is the same plain
transformers model either way: dropout and the gradient layout are not part of it).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

# Whether the engine trains with these paths on the CPU (a benchmark's switch; on by default).
ENABLED = True
# 16 random bits per element: the threshold of a keep is p x 2**16 above the lowest int16.
_LEVELS = 1 << 16


def _keep_mask(x: Any, p: float) -> Any:
    """A boolean tensor shaped like ``x``, each element True with probability ``1 - p``
    (to 1/65,536), from 64 random bits per 4 elements."""
    import torch

    n = x.numel()
    bits = torch.empty(((n + 3) // 4,), dtype=torch.int64, device=x.device)
    bits.random_(-(1 << 63), None)  # the full 64-bit range: four uniform 16-bit lanes
    threshold = -(1 << 15) + round(p * _LEVELS)
    return bits.view(torch.int16)[:n].view(x.shape) >= threshold


@functools.cache
def _dropout_function() -> Any:
    import torch

    class _Dropout(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any, p: float) -> Any:
            mask = _keep_mask(x, p)
            scale = 1.0 / (1.0 - p)
            ctx.save_for_backward(mask)
            ctx.scale = scale
            return x * mask * scale

        @staticmethod
        def backward(ctx: Any, grad: Any) -> tuple[Any, None]:
            (mask,) = ctx.saved_tensors
            return grad * mask * ctx.scale, None

    return _Dropout


def fast_dropout(x: Any, p: float, training: bool) -> Any:
    """Dropout with :func:`_keep_mask`'s masks (the same expectation as
    ``torch.nn.functional.dropout``: kept elements are scaled by ``1 / (1 - p)``)."""
    if not training or p <= 0.0:
        return x
    if p >= 1.0:
        return x * 0.0
    return _dropout_function().apply(x, p)


@functools.cache
def _fast_dropout_class() -> Any:
    import torch

    class FastDropout(torch.nn.Dropout):
        """``torch.nn.Dropout`` (same ``p``, same module type for a reader of the model) whose
        masks come from :func:`_keep_mask`."""

        def forward(self, x: Any) -> Any:
            if self.inplace:
                return super().forward(x)
            return fast_dropout(x, self.p, self.training)

    return FastDropout


# The attention implementation :func:`install` switches an SDPA model to for training (and
# :func:`remove` switches back): SDPA's masks, and below its dropout on the probabilities.
ATTENTION = "annotator_cpu_sdpa"


def _attention(module: Any, query: Any, key: Any, value: Any, attention_mask: Any,
               dropout: float = 0.0, scaling: float | None = None, is_causal: bool | None = None,
               **kwargs: Any) -> tuple[Any, None]:
    """transformers' SDPA attention, except in training with dropout on the attention
    probabilities: there torch's SDPA leaves its fused kernel for the math path and draws a
    Bernoulli number per probability; this computes the same softmax(QK^T x scaling + mask)
    V with :func:`fast_dropout` on the probabilities. Anything else (causal, GQA, a position
    bias, eval) goes to transformers' own ``sdpa_attention_forward``."""
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    causal = is_causal if is_causal is not None else getattr(module, "is_causal", False)
    if (not module.training or dropout <= 0.0 or causal or kwargs.get("position_bias") is not None
            or getattr(module, "num_key_value_groups", 1) > 1 or query.shape != key.shape):
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout,
                                      scaling=scaling, is_causal=is_causal, **kwargs)
    scale = scaling if scaling is not None else query.shape[-1] ** -0.5
    scores = torch.matmul(query, key.transpose(-1, -2)) * scale
    if attention_mask is not None:
        if attention_mask.dtype == torch.bool:
            scores = scores.masked_fill(~attention_mask, torch.finfo(scores.dtype).min)
        else:
            scores = scores + attention_mask
    probs = torch.softmax(scores, dim=-1, dtype=torch.float32).to(query.dtype)
    probs = fast_dropout(probs, dropout, True)
    return torch.matmul(probs, value).transpose(1, 2).contiguous(), None


def _register_attention() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(ATTENTION, _attention)
    AttentionMaskInterface.register(ATTENTION, sdpa_mask)


@dataclass
class CpuPaths:
    """What :func:`install` changed on a model: the replaced dropout modules (to put back)
    and the word embedding whose gradient is kept in ``buffer``."""

    dropouts: list[tuple[Any, str, Any]] = field(default_factory=list)
    embedding: Any = None
    buffer: Any = None
    configs: list[tuple[Any, str]] = field(default_factory=list)  # (config, its attention)

    def before_backward(self) -> None:
        """Give the word embedding its dense gradient buffer, zeroed (after the optimizer's
        ``zero_grad(set_to_none=True)`` dropped it): the sparse gradient adds into it."""
        if self.embedding is None:
            return
        if self.buffer is None:
            import torch

            self.buffer = torch.zeros_like(self.embedding.weight)
        else:
            self.buffer.zero_()
        self.embedding.weight.grad = self.buffer


def install(model: Any) -> CpuPaths:
    """Sparse word-embedding gradients into a kept buffer, and :class:`FastDropout` in place
    of every ``torch.nn.Dropout`` of ``model`` (CPU training; see the module docstring)."""
    import torch

    paths = CpuPaths()
    fast = _fast_dropout_class()
    for parent in model.modules():
        for name, child in list(parent.named_children()):
            if type(child) is torch.nn.Dropout:
                replacement = fast(child.p, child.inplace)
                replacement.train(child.training)
                setattr(parent, name, replacement)
                paths.dropouts.append((parent, name, child))
    configs = {id(m.config): m.config for m in model.modules()
               if getattr(getattr(m, "config", None), "_attn_implementation", None) == "sdpa"}
    if configs:
        _register_attention()
        for config in configs.values():
            paths.configs.append((config, config._attn_implementation))
            config._attn_implementation = ATTENTION
    get_embeddings = getattr(model, "get_input_embeddings", None)
    embedding = get_embeddings() if callable(get_embeddings) else None
    if (isinstance(embedding, torch.nn.Embedding) and not embedding.sparse
            and embedding.weight.requires_grad and embedding.max_norm is None):
        embedding.sparse = True
        paths.embedding = embedding
    return paths


def remove(model: Any, paths: CpuPaths) -> None:
    """Undo :func:`install`: the original dropout modules and a dense-gradient embedding."""
    for config, implementation in paths.configs:
        config._attn_implementation = implementation
    paths.configs.clear()
    for parent, name, original in paths.dropouts:
        current = getattr(parent, name)
        original.train(current.training)
        setattr(parent, name, original)
    if paths.embedding is not None:
        paths.embedding.sparse = False
        if paths.embedding.weight.grad is paths.buffer:
            paths.embedding.weight.grad = None
    paths.buffer = None
