"""Fixtures of the active-learning tests (helpers in al_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from al_helpers import TinyModels, build_tiny_bert


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("active-tiny"))


@pytest.fixture(scope="session")
def tiny_models(tiny_bert: Path, tmp_path_factory: pytest.TempPathFactory) -> TinyModels:
    """Tiny models per task ("ner", "classify", "qa"), fine-tuned for a few steps."""
    return TinyModels(tiny_bert, tmp_path_factory.mktemp("active-models"))
