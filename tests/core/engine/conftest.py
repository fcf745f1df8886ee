"""Shared fixtures: a tiny random BERT (2 layers, hidden 32) with a WordPiece vocabulary
built from the test texts, and small synthetic corpora for each task."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from tiny_models import (  # noqa: E402, F401  (re-exported for the engine tests)
    BAD,
    DRUGS,
    FILLER,
    GOOD,
    build_tiny_bert,
    make_class_docs,
    make_ner_docs,
    make_qa_docs,
)


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Directory of a tiny random BERT encoder with a fast tokenizer."""
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert") / "model")
