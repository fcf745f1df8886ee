"""Length-grouped batches and dynamic padding.

Batches hold inputs of similar length so that little padding is computed; the order of
batches is shuffled with a seeded generator, so runs are reproducible. Inference batches
are simply sorted by length.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from core.engine.alignment import IGNORE_INDEX


def length_grouped_batches(
    lengths: Sequence[int], batch_size: int, *, seed: int, epoch: int, group_factor: int = 50
) -> list[list[int]]:
    """Shuffled batches of indices where each batch holds inputs of similar length.

    Indices are shuffled, cut into groups of ``group_factor * batch_size``, each group is
    sorted by length and cut into batches, and the batches are shuffled. Deterministic for
    a given (seed, epoch).
    """
    rng = random.Random(seed * 1_000_003 + epoch)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    group = max(batch_size, group_factor * batch_size)
    batches: list[list[int]] = []
    for g in range(0, len(order), group):
        chunk = sorted(order[g:g + group], key=lambda i: -lengths[i])
        batches += [chunk[b:b + batch_size] for b in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def shard_batches(batches: list[list[int]], rank: int, world_size: int) -> list[list[int]]:
    """This process's share of ``batches`` for distributed training.

    Every rank gets the same number of batches (the list is padded by repeating its first
    batches), as DDP requires all ranks to step together.
    """
    if world_size <= 1:
        return batches
    if not batches:
        return []
    total = -(-len(batches) // world_size) * world_size
    padded = batches + batches[: total - len(batches)]
    while len(padded) < total:  # fewer batches than ranks
        padded += batches[: total - len(padded)]
    return padded[rank::world_size]


def inference_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Batches of indices sorted by length (longest first), for padding-free-ish inference."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[b:b + batch_size] for b in range(0, len(order), batch_size)]


def pad_inputs(
    features: Sequence[Any], pad_id: int, pad_to_multiple_of: int | None = None,
) -> tuple[Any, Any, Any]:
    """Input ids, attention mask and token types of one batch as int64 numpy arrays
    ``(n, longest)``, padded to its longest input (rounded up to ``pad_to_multiple_of``)."""
    import numpy as np

    longest = max(len(f) for f in features)
    if pad_to_multiple_of:
        longest = -(-longest // pad_to_multiple_of) * pad_to_multiple_of
    n = len(features)
    input_ids = np.full((n, longest), pad_id, dtype=np.int64)
    attention = np.zeros((n, longest), dtype=np.int64)
    types = np.zeros((n, longest), dtype=np.int64)
    for row, f in enumerate(features):  # a row from a list at once
        k = len(f.input_ids)
        input_ids[row, :k] = f.input_ids
        attention[row, :k] = 1
        types[row, :k] = f.token_type_ids
    return input_ids, attention, types


def pad_batch(
    features: Sequence[Any], pad_id: int, *, with_targets: str | None = None,
    multi_label: bool = False, pad_to_multiple_of: int | None = None,
) -> dict[str, Any]:
    """Tensors of one batch, padded to its longest input.

    ``with_targets``: None, "ner" (per-token ``labels``: ``(n, length)``, or for the
    per-label tagger of overlapping entities ``(n, length, labels)``), "classify" or "relation"
    (``labels``; relations' training inputs also ``pair_weights``), "qa"
    (``start_positions``/``end_positions``) or "attribute" (``attribute_labels``: per input
    the value index of each attribute, see :mod:`core.tasks.attributes`).
    """
    import numpy as np
    import torch

    # Filled in numpy, handed to torch without a copy: a tensor per row costs about ten
    # times as much, and the rows of a batch are many.
    input_ids, attention, types = pad_inputs(features, pad_id, pad_to_multiple_of)
    n, longest = input_ids.shape
    batch: dict[str, Any] = {
        "input_ids": torch.from_numpy(input_ids), "attention_mask": torch.from_numpy(attention),
        "token_type_ids": torch.from_numpy(types),
    }
    if with_targets == "ner":
        first = features[0].labels[0] if features[0].labels else None
        shape = (n, longest, len(first)) if isinstance(first, list) else (n, longest)
        labels = np.full(shape, IGNORE_INDEX, dtype=np.int64)
        for row, f in enumerate(features):
            if f.labels:
                labels[row, : len(f.labels)] = f.labels
        batch["labels"] = torch.from_numpy(labels)
    elif with_targets in ("classify", "relation"):  # relations: one class per pair
        if multi_label:
            batch["labels"] = torch.tensor([f.label for f in features], dtype=torch.float)
        else:
            batch["labels"] = torch.tensor([f.label for f in features], dtype=torch.long)
        if with_targets == "relation" and features[0].weight is not None:  # training inputs
            batch["pair_weights"] = torch.tensor([f.weight for f in features],
                                                 dtype=torch.float)
    elif with_targets == "attribute":  # per input, the value index of each attribute
        batch["attribute_labels"] = torch.tensor([f.labels for f in features], dtype=torch.long)
    elif with_targets == "qa":
        batch["start_positions"] = torch.tensor([f.start_position for f in features])
        batch["end_positions"] = torch.tensor([f.end_position for f in features])
    return batch
