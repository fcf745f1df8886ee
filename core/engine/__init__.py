"""The fine-tuning engine: train, save, load and predict with BERT-style encoders.

Public API (imported lazily, so ``import core.engine`` does not import torch):
``TrainingJob``, ``TrainingSettings``, ``preset_settings``, ``PRESETS``,
``resolve_base_model``, ``Predictor``, ``load_model``, and the result/event dataclasses
in :mod:`core.engine.results`.
"""

from __future__ import annotations

from typing import Any

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
