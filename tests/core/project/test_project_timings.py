"""project.timings: the time each decision took, per annotator and kind; schema 3 -> 4."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest

from core.errors import AnnotatorError
from core.project import Project
from core.project.timings import format_duration
from tests.core.project.conftest import doc_id


def test_summary_per_annotator_and_kind(project: Project) -> None:
    d0, d1 = doc_id(project, "d0"), doc_id(project, "d1")
    assert project.timings.summary() == {}
    project.timings.record(d0, "ner", "add Disease", 12.5)
    project.timings.record(d0, "ner", "mark reviewed", 2.5)
    project.timings.record(d1, "ner", "add Drug", 4.0, annotator="ana")
    project.timings.record(d1, "classify", "set classes", 3.0)
    assert project.timings.summary() == {
        "ana": {"ner": {"seconds": 4.0, "actions": 1, "documents": 1}},
        "user": {
            "classify": {"seconds": 3.0, "actions": 1, "documents": 1},
            "ner": {"seconds": 15.0, "actions": 2, "documents": 1},
        },
    }


@pytest.mark.parametrize("seconds", [-1.0, math.nan, math.inf])
def test_bad_seconds_are_refused_and_nothing_written(project: Project, seconds: float) -> None:
    with pytest.raises(AnnotatorError, match="seconds"):
        project.timings.record(doc_id(project, "d0"), "ner", "add", seconds)
    with pytest.raises(AnnotatorError, match="does not exist"):
        project.timings.record(10_000, "ner", "add", 1.0)
    assert project.timings.summary() == {}


def test_format_duration() -> None:
    assert [format_duration(s) for s in (9.4, 75, 3725)] == ["9 s", "1 min 15 s", "1 h 2 min"]


def test_an_older_file_gets_the_timings_after_a_backup(tmp_path: Path) -> None:
    """A real file from before timings (schema 1, tests/core/data/schema1.sql, as the tool of
    that schema wrote it) upgrades through every step to the current schema, timings table
    included, after a backup copy."""
    from core.store import db as dbmod

    path = tmp_path / "v1.db"
    dump = Path(__file__).parents[1] / "data" / "schema1.sql"
    raw = sqlite3.connect(path)
    raw.executescript(dump.read_text(encoding="utf-8"))
    raw.close()
    with Project.open(path) as p:
        assert p.timings.summary() == {}
    assert (tmp_path / "v1.db.v1.bak").exists()
    raw = sqlite3.connect(path)
    version = raw.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
    columns = [r[1] for r in raw.execute("PRAGMA table_info(timings)")]
    raw.close()
    assert version == str(dbmod.SCHEMA_VERSION) and "seconds" in columns
    assert "annotator" in columns
