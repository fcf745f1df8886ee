from __future__ import annotations

import os
import sys
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


@pytest.fixture(scope="session")
def postgres_server():  # type: ignore[no-untyped-def]
    """A throw-away PostgreSQL cluster for the whole run (tests/pg_server.py), stopped at the
    end. Skips, saying why, only where no server can be started (no server binaries, no
    psycopg); under CI (``CI=true``) that fails instead, so CI cannot skip them silently."""
    from tests.pg_server import NoServer, start_server

    try:
        import psycopg  # noqa: F401
    except ImportError:
        why = "psycopg is not installed (pip install -e '.[test]' or '.[postgres]')"
    else:
        try:
            server = start_server()
        except NoServer as exc:
            why = str(exc)
        else:
            try:
                yield server
            finally:
                server.stop()
            return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"no PostgreSQL server for the tests: {why} (CI must run them)", pytrace=False)
    pytest.skip(f"no PostgreSQL server can be started: {why}")


@pytest.fixture
def pg_url(postgres_server):  # type: ignore[no-untyped-def]
    """The URL of a new, empty database on the test server, dropped after the test."""
    name = postgres_server.new_database()
    yield postgres_server.url(name)
    postgres_server.drop_database(name)


@pytest.fixture(autouse=True)
def _collect_garbage_as_the_app_does():  # type: ignore[no-untyped-def]
    """Once a window has switched automatic garbage collection off (it collects on the GUI
    thread's timer, annotator.app.qt_jobs), tests that run no event loop would collect
    nothing: after each test, collect as that timer would, on this (the main) thread."""
    yield
    jobs = sys.modules.get("annotator.app.qt_jobs")
    if jobs is not None and getattr(jobs, "_GUI_GC", None) is not None:
        jobs._collect_by_threshold()
