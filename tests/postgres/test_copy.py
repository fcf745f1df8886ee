"""``annotator copy``: a project from a file into a PostgreSQL database and back (and file
to file) equals its source table by table, ids kept; a non-empty destination is refused; a
copy that fails leaves no half-written destination."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from annotator.cli.main import run
from core.errors import ProjectError
from core.patterns import PhrasePattern
from core.project import DocFilter, Project, copy_project
from core.store import copying
from core.store.db import open_db
from core.types import Answer, DocumentRecord, EntitySpan, Question, Split


def _rich_project(path: Path) -> Path:
    """A project with rows in every table the tool fills."""
    with Project.create(path, tasks={"ner": ["Disease", "Drug"], "classify": ["urgent", "routine"],
                                     "qa": [], "sentence": ["Finding", "Plan"]}) as p:
        p.documents.add([
            DocumentRecord("Patient with asthma was given salbutamol. Review in a week.",
                           external_id="d0", spans=(EntitySpan(13, 19, "Disease"),),
                           questions=(Question("What drug?", (Answer(30, 40, "salbutamol"),)),),
                           meta={"ward": "B", "ids": [1, 2]}),
            DocumentRecord("No diabetes; metformin stopped. Follow up in two weeks.",
                           external_id="d1", classes=("routine",),
                           questions=(Question("What was stopped?"),)),
            DocumentRecord("Chest pain resolved after aspirin. Discharged.", external_id="d2",
                           split=Split.DEV),
        ])
        ids = p.documents.filter(DocFilter())
        p.annotations.add_attribute("negation=Affirmed,Negated@Disease")
        doc = p.documents.get(ids[0])
        assert doc is not None
        p.annotations.set_entity_attributes(doc.entities[0].id, {"negation": "Negated"})
        p.annotations.set_review_status(ids[1], "reviewed")
        first = doc.sentences[0]
        p.annotations.set_sentence_classes(ids[0], first.start, first.end, ["Finding"])
        p.review.apply_patterns("ner", [PhrasePattern("Drug", "aspirin")], source="patterns:t")
        p.models.register("ner", path=path.parent / "models" / "ner-1", base_model="tiny",
                          metrics={"f1": 0.5}, labels=["Disease", "Drug"])
        p.timings.record(ids[0], "ner", "add_entity", 3.5, annotator="anna")
    return path


def _rows(target: str | Path) -> dict[str, list[dict]]:
    db = open_db(target, readonly=True)
    try:
        return copying.table_rows(db)
    finally:
        db.close()


def test_file_to_database_and_back_equals_the_source(tmp_path: Path, pg_url: str) -> None:
    source = _rich_project(tmp_path / "source.db")
    expected = _rows(source)
    filled = {name for name, rows in expected.items() if rows}
    assert {"documents", "entity_annotations", "entity_attributes", "class_annotations",
            "questions", "answer_annotations", "sentences", "suggestions", "model_versions",
            "timings", "document_tasks", "labels", "tasks", "meta", "project"} <= filled
    summary = copy_project(source, pg_url)
    assert summary.tables == {name: len(rows) for name, rows in expected.items()}
    assert _rows(pg_url) == expected
    back = tmp_path / "back.db"
    assert run(["copy", pg_url, str(back), "--json"]) == 0
    assert _rows(back) == expected
    raw = sqlite3.connect(back)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    raw.close()
    # The copy is a working project: new rows take ids after the copied ones, the model
    # version still names the same folder.
    with Project.open(pg_url) as p:
        d2 = next(i for i in p.documents.filter(DocFilter())
                  if p.documents.get(i).external_id == "d2")  # type: ignore[union-attr]
        p.annotations.add_entity(d2, 0, 10, "Disease")
        (version,) = p.models.list("ner")
        assert version.path == (tmp_path / "models" / "ner-1").absolute()
        added, _ = p.documents.add([DocumentRecord("a new note")])
        assert added.documents_added == 1
    assert not (tmp_path / "back.db.copying").exists()


def test_file_to_file_and_database_to_database(tmp_path: Path, postgres_server, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    source = _rich_project(tmp_path / "a.db")
    copy_project(source, tmp_path / "b.db")
    assert _rows(tmp_path / "b.db") == _rows(source)
    copy_project(source, pg_url)
    other = postgres_server.new_database()
    try:
        copy_project(pg_url, postgres_server.url(other))
        assert _rows(postgres_server.url(other)) == _rows(source)
    finally:
        postgres_server.drop_database(other)


def test_a_destination_that_is_not_new_is_refused(tmp_path: Path, pg_url: str) -> None:
    source = _rich_project(tmp_path / "a.db")
    taken = tmp_path / "taken.db"
    taken.write_text("precious")
    with pytest.raises(ProjectError, match="already exists"):
        copy_project(source, taken)
    assert taken.read_text() == "precious"
    Project.create(pg_url).close()
    with pytest.raises(ProjectError, match="a project already exists"):
        copy_project(source, pg_url)
    with Project.open(pg_url) as p:
        assert p.documents.stats()["documents"] == 0


def test_a_failed_copy_leaves_no_destination(tmp_path: Path, pg_url: str) -> None:
    source = _rich_project(tmp_path / "a.db")

    def fail_midway(table: str, rows: int) -> None:
        if table == "documents":
            raise RuntimeError("the disk went away")

    target = tmp_path / "b.db"
    with pytest.raises((RuntimeError, ProjectError), match="disk went away"):
        copy_project(source, target, on_table=fail_midway)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("b.db")) == []
    with pytest.raises((RuntimeError, ProjectError), match="disk went away"):
        copy_project(source, pg_url, on_table=fail_midway)
    with pytest.raises(ProjectError, match="the database is empty"):
        Project.open(pg_url)  # rolled back: not even the tables are there
    # And a row the destination refuses: the error names the table, nothing is kept.
    raw = sqlite3.connect(source)
    raw.execute("UPDATE documents SET external_id = ? WHERE external_id = 'd2'", ("x" * 600,))
    raw.commit()
    raw.close()
    with pytest.raises(ProjectError, match="copying table documents failed"):
        copy_project(source, pg_url)
    with pytest.raises(ProjectError, match="the database is empty"):
        Project.open(pg_url)


def test_cli_copy_says_what_it_copied(tmp_path: Path, pg_url: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    source = _rich_project(tmp_path / "a.db")
    assert run(["copy", str(source), pg_url, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["tables"]["documents"] == 3 and out["rows"] == sum(out["tables"].values())
    assert "secret" not in out["destination"]
    assert run(["copy", str(source), pg_url]) == 2
    assert "a project already exists" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run(["copy", "--help"])
    assert "NOT copied" in capsys.readouterr().out
