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


@pytest.fixture()
def project_path(tmp_path: Path) -> Path:
    """A project file with an entity task: 32 labelled train sentences and 8 dev ones."""
    from core.project import Project
    from core.store import repo
    from core.types import Split

    path = tmp_path / "notes.db"
    project = Project.create(path, tasks={"ner": ["DRUG"]})
    docs = make_ner_docs(40)
    with project.write() as session:
        repo.add_documents(session, docs[:32])
        repo.add_documents(session, docs[32:], split=Split.DEV)
    project.close()
    return path
