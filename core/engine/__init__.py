"""The fine-tuning engine: train, save, load and predict with BERT-style encoders.

Public API (imported lazily, so ``import core.engine`` does not import torch):
``TrainingJob``, ``TrainingSettings``, ``preset_settings``, ``PRESETS``,
``resolve_base_model``, ``Predictor``, ``load_model``, and the result/event dataclasses
in :mod:`core.engine.results`.
"""

from __future__ import annotations

import os
import sys
from typing import Any

# torch's OpenMP threads spin while they wait for the next piece of work (libgomp's
# default). Where other processes want the cores too, a spinning thread burns the time
# slice its partner needs, and every parallel region waits for the slowest thread: a
# forward pass of the default encoder took 3.5x as long at load average 7 on 2 cores
# (docs/engine.md, "Threads"). Waiting threads that sleep cost one wake-up per region on
# an idle machine. libgomp reads this once, when torch loads it: so here, before any
# engine module imports torch; a value the user set is kept.
if "torch" not in sys.modules:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

_EXPORTS = {
    "TrainingJob": "core.engine.job",
    "split_dev": "core.engine.job",
    "TrainingSettings": "core.engine.settings",
    "TaskSpec": "core.engine.settings",
    "PRESETS": "core.engine.settings",
    "preset_settings": "core.engine.settings",
    "resolve_base_model": "core.engine.settings",
    "Predictor": "core.engine.predict",
    "load_model": "core.engine.modelio",
    "TrainingResult": "core.engine.results",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'core.engine' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = sorted(_EXPORTS)
