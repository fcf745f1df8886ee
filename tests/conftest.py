from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    """The shared corpora, ``../shared/data`` beside the repository, if present. The one
    lookup of the whole suite (every ``shared_data`` fixture goes through it)."""
    candidate = (REPO.parent / "shared" / "data").resolve()
    return candidate if candidate.is_dir() else None


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data``; under CI (``CI=true``) its absence fails the test instead of
    skipping it, so a broken checkout cannot turn the corpus tests into silent skips."""
    path = shared_data_dir()
    if path is None:
        message = f"the shared corpora are not there: {REPO.parent / 'shared' / 'data'}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message + " (CI must have them)", pytrace=False)
        pytest.skip(message + " (put them there to run the corpus tests)")
    return path
