from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from sqlalchemy import select, text

from core.errors import InputError, ProjectError
from core.patterns import PhrasePattern
from core.project import DocFilter, Project
from core.store import db as dbmod
from core.store import migrations, repo
from core.store.models import Document, EntityAnnotation, Suggestion, Task
from core.tasks import labelled_records
from core.types import Answer, DocumentRecord, EntitySpan, Question

TASKS = {"ner": ["Disease"], "classify": ["pos", "neg"]}


@pytest.fixture(params=["sqlite", "postgres"])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Project:
    """The same project in a file and in a PostgreSQL database (the test server of
    tests/pg_server.py): the tests of the store that are not about files run on both."""
    where = (str(tmp_path / "p.db") if request.param == "sqlite"
             else request.getfixturevalue("pg_url"))
    p = Project.create(where, tasks=TASKS)
    yield p
    p.close()


@pytest.fixture
def file_project(tmp_path: Path) -> Project:
    p = Project.create(tmp_path / "p.db", tasks=TASKS)
    yield p
    p.close()


def _counts(project: Project) -> dict[str, object]:
    with project.read() as session:
        return repo.stats(session)


def test_new_project_is_wal_with_foreign_keys(file_project: Project) -> None:
    project = file_project
    with project.read() as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
    raw = sqlite3.connect(project.path)
    assert raw.execute("PRAGMA application_id").fetchone()[0] == dbmod.APPLICATION_ID
    assert raw.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(
        dbmod.SCHEMA_VERSION
    )
    raw.close()


def test_create_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "x.db"
    target.write_text("precious")
    with pytest.raises(ProjectError, match="already exists"):
        Project.create(target)
    assert target.read_text() == "precious"


def test_import_dedupes_by_content_and_merges_labels(project: Project) -> None:
    with project.write() as s:
        first = repo.add_documents(
            s, [DocumentRecord("Aspirin helps flu.", spans=(EntitySpan(13, 16, "Disease"),))]
        )
    with project.write() as s:
        again = repo.add_documents(
            s,
            [DocumentRecord("Aspirin helps flu.", spans=(EntitySpan(0, 7, "Drug"), EntitySpan(13, 16, "Disease")))],
        )
    assert (first.documents_added, again.documents_added, again.duplicates) == (1, 0, 1)
    assert again.annotations_added == 1 and again.labels_added == ["Drug"]
    stats = _counts(project)
    assert stats["documents"] == 1
    assert stats["entity_labels"] == {"Disease": 1, "Drug": 1}


def test_bad_record_rolls_back_the_whole_import(project: Project) -> None:
    good = DocumentRecord("fine text", classes=("pos",), source="in.jsonl", line=1)
    bad = DocumentRecord("short", spans=(EntitySpan(2, 40, "Disease"),), source="in.jsonl", line=2)
    with pytest.raises(InputError) as info:
        with project.write() as s:
            repo.add_documents(s, [good, bad])
    assert "in.jsonl:2" in str(info.value) and "outside the text" in str(info.value)
    assert _counts(project)["documents"] == 0


def test_overlapping_entities_are_refused(project: Project) -> None:
    with project.write() as s:
        repo.add_documents(s, [DocumentRecord("chronic kidney disease")])
        doc_id = s.scalars(select(Document.id)).one()
        repo.add_entity(s, doc_id, 8, 22, "Disease")
    with pytest.raises(repo.AnnotationError, match="overlaps"):
        with project.write() as s:
            repo.add_entity(s, doc_id, 0, 14, "Disease")
    with pytest.raises(repo.AnnotationError, match="outside"):
        with project.write() as s:
            repo.add_entity(s, doc_id, 5, 99, "Disease")
    with project.read() as s:
        rows = s.scalars(select(EntityAnnotation)).all()
        assert [(r.start, r.end, r.label.name) for r in rows] == [(8, 22, "Disease")]


def test_classes_single_and_multi_label(project: Project) -> None:
    with project.write() as s:
        repo.add_documents(s, [DocumentRecord("good film")])
        doc_id = s.scalars(select(Document.id)).one()
        repo.set_classes(s, doc_id, ["pos"])
        repo.set_classes(s, doc_id, ["neg"])
    with project.read() as s:
        assert labelled_records(s, "classify")[0].classes == ("neg",)
    with pytest.raises(repo.AnnotationError, match="single-label"):
        with project.write() as s:
            repo.set_classes(s, doc_id, ["pos", "neg"])
    with project.write() as s:
        repo.require_task(s, "classify").multi_label = True
    with project.write() as s:
        repo.set_classes(s, doc_id, ["pos", "neg"])
    with project.read() as s:
        assert sorted(labelled_records(s, "classify")[0].classes) == ["neg", "pos"]


def test_questions_answers_and_no_answer(project: Project) -> None:
    passage = "The patient takes metformin daily."
    with project.write() as s:
        repo.add_documents(
            s,
            [DocumentRecord(passage, questions=(Question("Which drug?", (Answer(18, 27, "metformin"),)),))],
        )
        doc_id = s.scalars(select(Document.id)).one()
        q = repo.add_question(s, doc_id, "Any allergy?")
        repo.set_answer(s, q.id, None, None)
    with project.read() as s:
        (record,) = labelled_records(s, "qa")
    assert record.questions[0].answers[0].text == "metformin"
    assert record.questions[1].is_impossible and not record.questions[1].answers
    stats = _counts(project)
    assert stats["questions"] == 2 and stats["questions_answered"] == 2 and stats["unanswerable"] == 1


def test_deleting_a_document_cascades(project: Project) -> None:
    with project.write() as s:
        repo.add_documents(s, [DocumentRecord("flu", spans=(EntitySpan(0, 3, "Disease"),))])
        doc_id = s.scalars(select(Document.id)).one()
        repo.delete_documents(s, [doc_id])
    with project.read() as s:
        assert s.scalars(select(EntityAnnotation)).all() == []


def test_concurrent_writers_never_see_database_locked(project: Project) -> None:
    errors: list[BaseException] = []

    def writer(i: int) -> None:
        try:
            for k in range(25):
                with project.write() as s:
                    repo.add_documents(s, [DocumentRecord(f"note {i}-{k}", classes=("pos",))])
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _counts(project)["documents"] == 100


def test_reopen_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "keep.db"
    with Project.create(path, tasks={"ner": ["Disease"]}) as p:
        with p.write() as s:
            repo.add_documents(s, [DocumentRecord("flu", spans=(EntitySpan(0, 3, "Disease"),))])
    with Project.open(path) as p:
        assert _counts(p)["entities"] == 1


def test_not_a_project(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"\x00\x01 not sqlite at all" * 10)
    with pytest.raises(ProjectError, match="not a project"):
        Project.open(junk)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(ProjectError, match="not an annotator project"):
        Project.open(other)
    with pytest.raises(ProjectError, match="no such project"):
        Project.open(tmp_path / "missing.db")


_AS_USER_CHECK = """
import sys
from core.errors import ProjectError
from core.project import Project
from core.store import repo
path = sys.argv[1]
try:
    Project.open(path).close()
except ProjectError as exc:
    print("refused:", exc)
with Project.open(path, readonly=True) as p, p.read() as s:
    print("documents:", repo.stats(s)["documents"])
"""


def _open_read_only_project_as_user(folder_mode: int) -> tuple[Path, subprocess.CompletedProcess]:
    """A project file of mode 0444 in a folder of ``folder_mode``, opened read-write then
    read-only by an unprivileged user: the file's owner, or (as root, who ignores chmod) the
    user nobody through setpriv. Really read-only, not a mocked os.access."""
    folder = Path(tempfile.mkdtemp(prefix="ro-project-"))  # outside root's 0700 tmp_path
    try:
        path = folder / "ro.db"
        with Project.create(path, tasks={"ner": ["Disease"]}) as p, p.write() as s:
            repo.add_documents(s, [DocumentRecord("flu")])
        path.chmod(0o444)
        folder.chmod(folder_mode)
        prefix: list[str] = []
        if os.geteuid() == 0:
            setpriv = shutil.which("setpriv")
            assert setpriv, "setpriv (util-linux) is needed to test read-only files as root"
            prefix = [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
        repo_root = Path(__file__).resolve().parents[2]
        done = subprocess.run(
            [*prefix, sys.executable, "-c", _AS_USER_CHECK, str(path)],
            capture_output=True, text=True, timeout=120, cwd="/",
            env={**os.environ, "PYTHONPATH": str(repo_root)}, check=False,
        )
        return path, done
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder, ignore_errors=True)


def test_read_only_file_as_an_unprivileged_user() -> None:
    path, done = _open_read_only_project_as_user(0o777)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"refused: {path}: the project file is read-only" in done.stdout, done.stdout
    assert "documents: 1" in done.stdout


def test_read_only_file_in_a_read_only_folder_as_an_unprivileged_user() -> None:
    path, done = _open_read_only_project_as_user(0o755)
    assert f"refused: {path}: the project file is read-only" in done.stdout, done.stdout
    assert done.returncode == 0, done.stderr[-2000:]
    assert "documents: 1" in done.stdout


def test_read_only_file_check_uses_access(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ro.db"
    Project.create(path).close()
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode: False if str(p) == str(path) else real_access(p, mode)
    )
    with pytest.raises(ProjectError, match="read-only"):
        Project.open(path)
    with Project.open(path, readonly=True) as p:
        assert _counts(p)["documents"] == 0


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    Project.create(path).close()
    raw = sqlite3.connect(path)
    raw.execute("UPDATE meta SET value='999' WHERE key='schema_version'")
    raw.commit()
    raw.close()
    with pytest.raises(ProjectError, match="newer version"):
        Project.open(path)


def add_step(monkeypatch: pytest.MonkeyPatch, folder: Path, step) -> int:  # type: ignore[no-untyped-def]
    from tests.schema_steps import add_next_step

    return add_next_step(step, folder, monkeypatch)


def test_older_schema_is_upgraded_after_a_backup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.db"
    with Project.create(path) as p:
        with p.write() as s:
            repo.add_documents(s, [DocumentRecord("kept through the upgrade")])
    def add_column(conn) -> None:  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("ALTER TABLE documents ADD COLUMN upgraded_marker INTEGER DEFAULT 7")

    current = add_step(monkeypatch, tmp_path, add_column)
    with Project.open(path) as p:
        with p.read() as s:
            assert s.execute(text("SELECT upgraded_marker FROM documents")).scalar() == 7
            assert s.execute(text("SELECT value FROM meta WHERE key='schema_version'")).scalar() == str(current + 1)
    backup = path.with_name(f"old.db.v{current}.bak")
    assert backup.exists()
    raw = sqlite3.connect(backup)
    assert raw.execute("SELECT text FROM documents").fetchone()[0] == "kept through the upgrade"
    assert raw.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(current)
    raw.close()


def test_failed_upgrade_leaves_file_at_old_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.db"
    Project.create(path).close()

    def broken(conn) -> None:  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("ALTER TABLE documents ADD COLUMN half INTEGER")
        raise RuntimeError("step failed")

    current = add_step(monkeypatch, tmp_path, broken)
    with pytest.raises(ProjectError, match="the file is unchanged") as info:
        Project.open(path)
    backup = path.with_name(f"old.db.v{current}.bak")
    assert f"a copy is at {backup}" in str(info.value) and backup.exists()
    raw = sqlite3.connect(path)
    cols = [r[1] for r in raw.execute("PRAGMA table_info(documents)")]
    assert "half" not in cols
    assert raw.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(current)
    assert raw.execute("SELECT version_num FROM alembic_version").fetchone()[0] == \
        migrations.revision_for(current)
    raw.close()


def test_every_migration_step_has_its_revision() -> None:
    """Each step N -> N + 1 of MIGRATIONS is the Alembic revision schema_<N+1> after
    schema_<N>, and the newest revision is the current schema."""
    script = migrations.script_directory()
    assert script.get_current_head() == migrations.revision_for(dbmod.SCHEMA_VERSION)
    assert sorted(dbmod.MIGRATIONS) == list(range(1, dbmod.SCHEMA_VERSION))
    for step in dbmod.MIGRATIONS:
        revision = script.get_revision(migrations.revision_for(step + 1))
        assert revision is not None, f"MIGRATIONS[{step}] has no revision"
        assert revision.down_revision == migrations.revision_for(step)
    assert script.get_revision(migrations.revision_for(1)).down_revision is None


def test_each_revision_runs_its_step_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file of schema 1 made before Alembic (no alembic_version) is stamped at schema 1,
    then every revision calls its own step once, in order, and records its version."""
    path = tmp_path / "old.db"
    Project.create(path).close()
    raw = sqlite3.connect(path)
    raw.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    raw.execute("DROP TABLE alembic_version")
    raw.commit()
    raw.close()
    calls: list[tuple[int, str]] = []

    def spy(step: int):  # type: ignore[no-untyped-def]
        def run(conn) -> None:  # type: ignore[no-untyped-def]
            seen = conn.exec_driver_sql(
                "SELECT value FROM meta WHERE key = 'schema_version'").scalar()
            calls.append((step, seen))
        return run

    for step in list(dbmod.MIGRATIONS):
        monkeypatch.setitem(dbmod.MIGRATIONS, step, spy(step))
    Project.open(path).close()
    assert calls == [(step, str(step)) for step in range(1, dbmod.SCHEMA_VERSION)]
    raw = sqlite3.connect(path)
    assert raw.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == \
        str(dbmod.SCHEMA_VERSION)
    assert raw.execute("SELECT version_num FROM alembic_version").fetchone()[0] == \
        migrations.revision_for(dbmod.SCHEMA_VERSION)
    raw.close()
    assert path.with_name("old.db.v1.bak").exists()


def test_upgrade_needs_no_alembic_ini_in_the_working_directory(tmp_path: Path) -> None:
    """The migration scripts ship inside the package: a schema-5 file upgrades from a
    process whose working directory is an unrelated, empty folder."""
    path = tmp_path / "v5.db"
    raw = sqlite3.connect(path)
    raw.executescript((Path(__file__).parent / "data" / "schema5.sql").read_text(encoding="utf-8"))
    raw.close()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    repo_root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from core.project import Project; "
         "Project.open(sys.argv[1]).close()", str(path)],
        cwd=elsewhere, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "PYTHONPATH": str(repo_root)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    raw = sqlite3.connect(path)
    assert raw.execute("SELECT version_num FROM alembic_version").fetchone()[0] == \
        migrations.revision_for(dbmod.SCHEMA_VERSION)
    raw.close()
    assert list(elsewhere.iterdir()) == []


def test_a_current_file_made_before_alembic_is_stamped_without_an_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    Project.create(path).close()
    raw = sqlite3.connect(path)
    raw.execute("DROP TABLE alembic_version")
    raw.commit()
    raw.close()
    Project.open(path).close()
    raw = sqlite3.connect(path)
    assert raw.execute("SELECT version_num FROM alembic_version").fetchone()[0] == \
        migrations.revision_for(dbmod.SCHEMA_VERSION)
    raw.close()
    assert not list(tmp_path.glob("*.bak"))


def test_alembic_follows_the_meta_row_where_they_disagree(tmp_path: Path) -> None:
    """meta.schema_version is the record every program reads: a current file whose Alembic
    table names another revision is stamped again, with no upgrade step run."""
    path = tmp_path / "p.db"
    Project.create(path).close()
    raw = sqlite3.connect(path)
    raw.execute("UPDATE alembic_version SET version_num = 'schema_2'")
    raw.commit()
    raw.close()
    Project.open(path).close()
    raw = sqlite3.connect(path)
    assert raw.execute("SELECT version_num FROM alembic_version").fetchall() == [
        (migrations.revision_for(dbmod.SCHEMA_VERSION),)]
    raw.close()
    assert not list(tmp_path.glob("*.bak"))


def test_seconds_per_annotation_uses_human_gaps(project: Project) -> None:
    from datetime import datetime, timedelta, timezone

    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with project.write() as s:
        repo.add_documents(s, [DocumentRecord(f"doc {i}") for i in range(4)])
        ids = s.scalars(select(Document.id)).all()
        for i, doc_id in enumerate(ids):
            row = repo.add_entity(s, doc_id, 0, 3, "Disease")
            row.created_at = t0 + timedelta(seconds=[0, 10, 30, 3600][i])
    with project.read() as s:
        assert repo.seconds_per_annotation(s) == 20.0


def test_schema_1_file_is_upgraded_with_backup(tmp_path: Path) -> None:
    """A real file of schema 1 (before training runs recorded their process), as the tool of
    that schema wrote it (tests/core/data/schema1.sql), upgrades to the current schema."""
    path = tmp_path / "v1.db"
    dump = (Path(__file__).parent / "data" / "schema1.sql").read_text(encoding="utf-8")
    raw = sqlite3.connect(path)
    raw.executescript(dump)
    original = list(raw.iterdump())
    raw.close()
    with Project.open(path) as p:
        with p.read() as s:
            version = s.execute(text("SELECT value FROM meta WHERE key='schema_version'")).scalar()
            assert version == str(dbmod.SCHEMA_VERSION)
            run = s.execute(text("SELECT status, error, pid FROM training_runs")).one()
            # The run from schema 1 has no process recorded: it was interrupted.
            assert run[0] == "failed" and "interrupted" in run[1] and run[2] is None
            assert _counts(p)["entities"] == 1
    old = sqlite3.connect(tmp_path / "v1.db.v1.bak")
    assert list(old.iterdump()) == original  # the backup is the schema-1 file as it was
    old.close()


def test_upgraded_file_takes_the_sentence_kind_and_still_refuses_others(tmp_path: Path) -> None:
    """Schema 5 loosens the kind CHECKs in place: an upgraded file stores sentences and the
    'sentence' kind, refuses an unknown kind, and its table definitions are the ones a new
    file gets."""
    path = tmp_path / "v1.db"
    raw = sqlite3.connect(path)
    raw.executescript((Path(__file__).parent / "data" / "schema1.sql").read_text(encoding="utf-8"))
    raw.close()
    Project.open(path).close()
    fresh = tmp_path / "fresh.db"
    Project.create(fresh).close()

    def checks(file: Path) -> dict[str, list[str]]:
        import re

        conn = sqlite3.connect(file)
        try:
            return {name: sorted(re.findall(r"CHECK \((kind IN [^)]*\))", sql or ""))
                    for name, sql in conn.execute("SELECT name, sql FROM sqlite_master")
                    if name in ("tasks", "document_tasks", "timings", "suggestions")}
        finally:
            conn.close()

    assert checks(path) == checks(fresh)
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    raw.execute("PRAGMA foreign_keys = ON")
    raw.execute("INSERT INTO tasks (kind, multi_label, settings) VALUES ('sentence', 0, '{}')")
    with pytest.raises(sqlite3.IntegrityError, match="task_kind"):
        raw.execute("INSERT INTO tasks (kind, multi_label, settings) VALUES ('bogus', 0, '{}')")
    doc = raw.execute("SELECT id FROM documents").fetchone()[0]
    raw.execute('INSERT INTO sentences (document_id, start, "end") VALUES (?, 0, 3)', (doc,))
    raw.commit()
    raw.close()


def test_schema_5_file_gains_the_source_of_suggestions(tmp_path: Path) -> None:
    """A real file of schema 5 (tests/core/data/schema5.sql) upgrades to schema 6: its
    suggestions, all made by a model then, read as the model's; the column is the one a new
    file has; a pattern suggestion can be stored and the report counts the sources apart."""
    from core.review import suggestion_report

    path = tmp_path / "v5.db"
    raw = sqlite3.connect(path)
    raw.executescript((Path(__file__).parent / "data" / "schema5.sql").read_text(encoding="utf-8"))
    original = list(raw.iterdump())
    raw.close()
    with Project.open(path) as p:
        with p.read() as s:
            assert s.execute(text("SELECT value FROM meta WHERE key='schema_version'")).scalar() \
                == str(dbmod.SCHEMA_VERSION)
            rows = s.execute(text("SELECT state, source FROM suggestions ORDER BY id")).all()
            assert [tuple(r) for r in rows] == [("pending", "model"), ("accepted", "model")]
        doc = p.documents.filter(DocFilter())[0]
        result = p.review.apply_patterns(
            "ner", [PhrasePattern("Disease", "asthma")], source="patterns:terms.txt"
        )
        # The model's pending suggestion is on "asthma" already: not proposed twice.
        assert result.suggestions == 0 and result.other_source == 1
        p.annotations.remove_entity(doc, 0, 13)
        result = p.review.apply_patterns(
            "ner", [PhrasePattern("Disease", "breast cancer")], source="patterns:terms.txt"
        )
        assert result.suggestions == 1
        with p.read() as s:
            report = suggestion_report(s, "ner")
        assert report["by_source"] == {
            "model": {"pending": 1, "accepted": 1, "edited": 0, "rejected": 0},
            "patterns:terms.txt": {"pending": 1, "accepted": 0, "edited": 0, "rejected": 0},
        }

    def columns(file: Path) -> list[tuple[str, str, int]]:
        conn = sqlite3.connect(file)
        try:
            return [(r[1], r[2], r[3]) for r in conn.execute("PRAGMA table_info(suggestions)")]
        finally:
            conn.close()

    fresh = tmp_path / "fresh.db"
    Project.create(fresh).close()
    assert columns(path) == columns(fresh)
    old = sqlite3.connect(tmp_path / "v5.db.v5.bak")
    assert list(old.iterdump()) == original
    old.close()


def test_running_run_of_a_live_process_is_left_alone(project: Project) -> None:
    import os
    import socket

    from core.store.models import TrainingRun

    with project.write() as s:
        task = repo.require_task(s, "ner")
        s.add(TrainingRun(task_id=task.id, status="running", pid=os.getpid(), host=socket.gethostname()))
        s.add(TrainingRun(task_id=task.id, status="running", pid=2**22 + 12345, host=socket.gethostname()))
        s.add(TrainingRun(task_id=task.id, status="running", pid=1, host="another-machine"))
    assert project.recover() == [2]
    with project.read() as s:
        assert [r.status for r in s.scalars(select(TrainingRun).order_by(TrainingRun.id))] == [
            "running", "failed", "running"]


def test_schema_6_file_gains_attributes_of_entities(tmp_path: Path) -> None:
    """A real file of schema 6 (tests/core/data/schema6.sql) upgrades to schema 7: its kind
    CHECKs take 'attribute' (and equal a new file's), it stores attribute values that go with
    their entity, and an unknown kind is still refused."""
    import re

    path = tmp_path / "v6.db"
    raw = sqlite3.connect(path)
    raw.executescript((Path(__file__).parent / "data" / "schema6.sql").read_text(encoding="utf-8"))
    original = list(raw.iterdump())
    raw.close()
    with Project.open(path) as p:
        with p.read() as s:
            assert s.execute(text("SELECT value FROM meta WHERE key='schema_version'")).scalar() \
                == str(dbmod.SCHEMA_VERSION)
        p.annotations.add_attribute("negation=Affirmed,Negated@Condition")
        doc = p.documents.get(p.documents.filter(DocFilter())[0])
        assert doc is not None
        assert [dict(e.attributes) for e in doc.entities] == [{"negation": "Affirmed"}, {}]
        p.annotations.set_entity_attributes(doc.entities[0].id, {"negation": "Negated"})
        with p.read() as s:  # declaring an attribute made the attribute model's task
            assert s.execute(text("SELECT count(*) FROM tasks WHERE kind = 'attribute'")
                             ).scalar() == 1
        p.annotations.remove_entity(doc.id, doc.entities[0].start, doc.entities[0].end)
        with p.read() as s:  # the value went with its entity (ON DELETE CASCADE)
            assert s.execute(text("SELECT count(*) FROM entity_attributes")).scalar() == 0
    fresh = tmp_path / "fresh.db"
    Project.create(fresh).close()

    def schema(file: Path) -> dict[str, object]:
        conn = sqlite3.connect(file)
        try:
            rows = conn.execute("SELECT name, sql FROM sqlite_master").fetchall()
            out: dict[str, object] = {
                name: sorted(re.findall(r"CHECK \((kind IN [^)]*\))", sql or ""))
                for name, sql in rows
                if name in ("tasks", "document_tasks", "timings", "suggestions")}
            out["columns"] = [tuple(r[1:4]) for r in
                              conn.execute("PRAGMA table_info(entity_attributes)")]
            out["fks"] = [tuple(r[2:7]) for r in
                          conn.execute("PRAGMA foreign_key_list(entity_attributes)")]
            out["indexes"] = sorted(r[1] for r in conn.execute(
                "PRAGMA index_list(entity_attributes)"))
            return out
        finally:
            conn.close()

    assert schema(path) == schema(fresh)
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with pytest.raises(sqlite3.IntegrityError, match="task_kind"):
        raw.execute("INSERT INTO tasks (kind, multi_label, settings) VALUES ('bogus', 0, '{}')")
    raw.close()
    old = sqlite3.connect(tmp_path / "v6.db.v6.bak")
    assert list(old.iterdump()) == original
    old.close()


def test_schema_7_file_gains_layers_and_assignments(tmp_path: Path) -> None:
    """A real file of schema 7 (tests/core/data/schema7.sql) upgrades to schema 8: what it
    holds stays the documents' one layer (same labels, same status, nothing assigned), its
    new columns and table are the ones a new file has, and it takes a team: a double-
    annotated document's layers, deleted with their document."""
    path = tmp_path / "v7.db"
    raw = sqlite3.connect(path)
    raw.executescript((Path(__file__).parent / "data" / "schema7.sql").read_text(encoding="utf-8"))
    original = list(raw.iterdump())
    raw.close()
    with Project.open(path) as p:
        ids = p.documents.filter(DocFilter())
        before = [(d.external_id, [(e.start, e.end, e.label) for e in d.entities], d.classes,
                   d.review_status) for d in map(p.documents.get, ids)]
        assert before == [("n1", [(3, 8, "Condition"), (16, 23, "Medication")], (), "reviewed"),
                          ("n2", [], ("urgent",), "unreviewed")]
        assert p.team.documents() == [] and p.team.assignments() == {}
        assert p.documents.stats()["documents"] == 2
        p.team.assign(annotators=["ana", "ben"], double_share=1.0, doc_ids=[ids[1]])
        assert [x.annotator for x in p.team.documents()[0].layers] == ["ana", "ben"]
        assert p.documents.stats()["documents"] == 2
    fresh = tmp_path / "fresh.db"
    Project.create(fresh).close()

    def schema(file: Path) -> dict[str, object]:
        conn = sqlite3.connect(file)
        try:
            return {
                "documents": sorted(tuple(r[1:4]) for r in conn.execute("PRAGMA table_info(documents)")),
                "documents_fks": sorted(tuple(r[2:7]) for r in
                                        conn.execute("PRAGMA foreign_key_list(documents)")),
                "assignments": [tuple(r[1:4]) for r in conn.execute("PRAGMA table_info(assignments)")],
                "indexes": sorted(r[1] for t in ("documents", "assignments")
                                  for r in conn.execute(f"PRAGMA index_list({t})")),
            }
        finally:
            conn.close()

    assert schema(path) == schema(fresh)
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA foreign_keys = ON")
    assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert raw.execute("SELECT count(*) FROM documents WHERE layer_of IS NOT NULL").fetchone()[0] == 2
    raw.execute("DELETE FROM documents WHERE layer_of IS NULL AND external_id = 'n2'")
    assert raw.execute("SELECT count(*) FROM documents").fetchone()[0] == 1  # layers went too
    raw.close()
    old = sqlite3.connect(tmp_path / "v7.db.v7.bak")
    assert list(old.iterdump()) == original
    old.close()


def test_schema_8_file_gains_relations_between_entities(tmp_path: Path) -> None:
    """A real file of schema 8 (tests/core/data/schema8.sql) upgrades to schema 9: its
    labels are unchanged, its kind CHECKs take 'relation' (and equal a new file's, an
    unknown kind still refused), its new table is the one a new file has, and it stores
    relations that go with either of their entities."""
    import re

    path = tmp_path / "v8.db"
    raw = sqlite3.connect(path)
    raw.executescript((Path(__file__).parent / "data" / "schema8.sql").read_text(encoding="utf-8"))
    original = list(raw.iterdump())
    raw.close()
    with Project.open(path) as p:
        ids = p.documents.filter(DocFilter())
        docs = [p.documents.get(i) for i in ids]
        assert [(d.external_id, [(e.start, e.end, e.label, dict(e.attributes))
                                 for e in d.entities], d.classes, d.review_status)
                for d in docs] == [
            ("n1", [(5, 10, "Dosage", {"negation": "Affirmed"}),
                    (14, 21, "Medication", {"negation": "Negated"})], (), "reviewed"),
            ("n2", [], ("urgent",), "unreviewed")]
        p.annotations.add_relation_type("dosage_of=Dosage>Medication")
        with p.read() as s:  # declaring a relation type made the relation model's task
            assert s.execute(text("SELECT count(*) FROM tasks WHERE kind = 'relation'")
                             ).scalar() == 1
        p.annotations.add_relation(ids[0], (5, 10), (14, 21), "dosage_of")
        assert [(r.head, r.tail, r.label) for r in p.documents.get(ids[0]).relations] == [
            ((5, 10), (14, 21), "dosage_of")]
        p.annotations.remove_entity(ids[0], 14, 21)
        with p.read() as s:  # the relation went with its tail (ON DELETE CASCADE)
            assert s.execute(text("SELECT count(*) FROM entity_relations")).scalar() == 0
    fresh = tmp_path / "fresh.db"
    Project.create(fresh).close()

    def schema(file: Path) -> dict[str, object]:
        conn = sqlite3.connect(file)
        try:
            rows = conn.execute("SELECT name, sql FROM sqlite_master").fetchall()
            out: dict[str, object] = {
                name: sorted(re.findall(r"CHECK \((kind IN [^)]*\))", sql or ""))
                for name, sql in rows
                if name in ("tasks", "document_tasks", "timings", "suggestions")}
            out["columns"] = [tuple(r[1:6]) for r in
                              conn.execute("PRAGMA table_info(entity_relations)")]
            out["fks"] = sorted(tuple(r[2:7]) for r in
                                conn.execute("PRAGMA foreign_key_list(entity_relations)"))
            out["indexes"] = sorted(r[1] for r in conn.execute(
                "PRAGMA index_list(entity_relations)"))
            out["checks"] = re.findall(r"CHECK \(head_id[^)]*\)", dict(rows)["entity_relations"])
            return out
        finally:
            conn.close()

    upgraded = schema(path)
    assert upgraded == schema(fresh)
    assert upgraded["tasks"] == ["kind IN ('ner', 'classify', 'qa', 'sentence', 'attribute', "
                                 "'relation')"]
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA foreign_keys = ON")
    assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with pytest.raises(sqlite3.IntegrityError, match="task_kind"):
        raw.execute("INSERT INTO tasks (kind, multi_label, settings) VALUES ('bogus', 0, '{}')")
    with pytest.raises(sqlite3.IntegrityError, match="entity_relation_ends"):
        raw.execute("INSERT INTO entity_relations (head_id, tail_id, label, annotator, "
                    "created_at, origin) VALUES (1, 1, 'x', 'a', '2026-01-01', 'human')")
    raw.close()
    old = sqlite3.connect(tmp_path / "v8.db.v8.bak")
    assert list(old.iterdump()) == original
    old.close()


def test_schema_9_file_records_who_reviewed_and_decided(tmp_path: Path) -> None:
    """A real file of schema 9 (tests/core/data/schema9.sql) upgrades to schema 10: its
    reviewed document and its rejected suggestion become the implicit annotator's ("user"),
    the pending one nobody's; from then on the acting annotator is recorded, and cleared when
    a status or decision is taken back."""
    path = tmp_path / "v9.db"
    raw = sqlite3.connect(path)
    raw.executescript((Path(__file__).parent / "data" / "schema9.sql").read_text(encoding="utf-8"))
    raw.close()

    def who(p: Project) -> tuple[list[tuple], list[tuple]]:
        with p.read() as s:
            return (s.execute(text("SELECT external_id, review_status, reviewed_by FROM documents "
                                   "ORDER BY id")).all(),
                    s.execute(text("SELECT id, state, decided_by FROM suggestions ORDER BY id"))
                    .all())

    with Project.open(path, annotator="ana") as p:
        docs, suggestions = who(p)
        assert docs == [("n1", "reviewed", "user"), ("n2", "unreviewed", None)]
        assert suggestions == [(1, "rejected", "user"), (2, "pending", None)]
        n2 = p.documents.filter(DocFilter())[1]
        p.review.accept(n2, [2])
        changes = p.annotations.set_review_status(n2, "reviewed")
        docs, suggestions = who(p)
        assert docs[1] == ("n2", "reviewed", "ana") and suggestions[1] == (2, "accepted", "ana")
        p.undo(changes)
        assert who(p)[0][1] == ("n2", "unreviewed", None)
    fresh = tmp_path / "fresh.db"
    Project.create(fresh).close()

    def columns(file: Path) -> list[tuple]:
        conn = sqlite3.connect(file)
        try:
            return sorted(tuple(r[1:4]) for t in ("documents", "suggestions")
                          for r in conn.execute(f"PRAGMA table_info({t})")
                          if r[1] in ("reviewed_by", "decided_by"))
        finally:
            conn.close()

    assert columns(path) == columns(fresh) == [("decided_by", "VARCHAR(100)", 0),
                                               ("reviewed_by", "VARCHAR(100)", 0)]


def test_schema_10_file_never_hands_out_an_id_again(tmp_path: Path) -> None:
    """A real file of schema 10 (tests/core/data/schema10.sql) upgrades to schema 11: what it
    holds is unchanged; its labels, questions and suggestions tables are defined as a new
    file's (AUTOINCREMENT), counting on from their largest id. So a deleted question and a
    deleted label, whose ids the next new suggestion and label would have taken before, come
    back under their ids when undone."""
    path = tmp_path / "v10.db"
    raw = sqlite3.connect(path)
    raw.executescript((Path(__file__).parent / "data" / "schema10.sql").read_text(encoding="utf-8"))
    original = list(raw.iterdump())
    raw.close()

    def content(p: Project) -> list[tuple]:
        with p.read() as s:
            return [tuple(r) for q in (
                "SELECT id, document_id, text FROM questions ORDER BY id",
                "SELECT id, question_id, state FROM suggestions ORDER BY id",
                "SELECT question_id, start, \"end\", origin, suggestion_id FROM answer_annotations "
                "ORDER BY question_id",
                "SELECT id, name FROM labels ORDER BY id",
            ) for r in s.execute(text(q))]

    with Project.open(path) as p:
        upgraded = content(p)
        assert upgraded == [
            (1, 1, "What drug?"), (2, 2, "How long?"),
            (1, 1, "accepted"), (2, 1, "pending"),
            (1, 10, 17, "accepted", 1), (2, 10, 18, "imported", None),
            (1, "Condition"), (2, "Medication")]
        n1 = p.documents.filter(DocFilter())[0]
        removed = p.annotations.remove_question(1)  # with suggestions 1 and 2, the largest
        deleted = p.annotations.delete_label(2)  # the largest label id
        with p.write() as s:  # as pre-annotation and an import write new rows
            s.add(Suggestion(document_id=n1, task_id=s.scalar(select(Task.id).where(
                Task.kind == "ner")), kind="entity", payload={"start": 3, "end": 8,
                                                               "label": "Condition"}))
        p.documents.add([DocumentRecord("Dosage 5 mg.", spans=(EntitySpan(7, 11, "Dose"),))])
        with p.read() as s:
            assert s.execute(text("SELECT max(id) FROM suggestions")).scalar() == 3
            assert s.execute(text("SELECT id FROM labels WHERE name = 'Dose'")).scalar() == 3
        p.undo(deleted)
        p.undo(removed)
        after = content(p)
        assert [r for r in after if r not in ((3, None, "pending"), (3, "Dose"))] == upgraded
    fresh = tmp_path / "fresh.db"
    Project.create(fresh).close()

    def definitions(file: Path) -> dict[str, list[str]]:
        """Each table's columns and constraints (in any order: SQLAlchemy's may differ)."""
        conn = sqlite3.connect(file)
        try:
            return {name: sorted(part.strip() for part in sql.split("(", 1)[1][:-1].split(", \n"))
                    for name, sql in conn.execute(
                        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name IN "
                        "('labels', 'questions', 'suggestions')")}
        finally:
            conn.close()

    assert definitions(path) == definitions(fresh)
    assert all("id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT" in parts and
               "PRIMARY KEY (id)" not in parts for parts in definitions(path).values())
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert raw.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("11",)
    raw.close()
    old = sqlite3.connect(tmp_path / "v10.db.v10.bak")
    assert list(old.iterdump()) == original
    old.close()


def _foreign_keys(path: Path) -> dict[str, list[str]]:
    raw = sqlite3.connect(path)
    try:
        return {t: sorted(f"{r[3]}->{r[2]}" for r in raw.execute(f"PRAGMA foreign_key_list({t})"))
                for t in ("suggestions", "questions")}
    finally:
        raw.close()


@pytest.mark.parametrize("where", ["schema only", "postgres"])
def test_a_postgresql_project_leaves_the_next_file_its_foreign_keys(
    where: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """PostgreSQL gets the foreign-key cycle between questions and suggestions as ALTER TABLE
    ... ADD CONSTRAINT, which SQLAlchemy marks never to write inline again; a file created
    after it, in the same process, still has every foreign key, and its cascades."""
    from sqlalchemy import create_mock_engine

    from core.store.models import create_schema

    if where == "postgres":
        Project.create(request.getfixturevalue("pg_url")).close()
    else:
        create_schema(create_mock_engine("postgresql+psycopg://", lambda *_a, **_k: None))
    assert _foreign_keys(_new_file(tmp_path)) == {
        "suggestions": ["document_id->documents", "model_version_id->model_versions",
                        "question_id->questions", "task_id->tasks"],
        "questions": ["document_id->documents", "suggestion_id->suggestions"]}
    with Project.open(tmp_path / "after.db") as p:
        p.documents.add([DocumentRecord("Fever.", questions=(Question("What?"),))])
        doc = p.documents.get(p.documents.filter(DocFilter())[0])
        with p.write() as s:
            s.add(Suggestion(document_id=doc.id, question_id=doc.questions[0].id, kind="answer",
                             task_id=s.scalar(select(Task.id).where(Task.kind == "qa")),
                             payload={"start": 0, "end": 5}))
        p.annotations.remove_question(doc.questions[0].id)
        with p.read() as s:  # the suggestion went with its question (ON DELETE CASCADE)
            assert s.execute(text("SELECT count(*) FROM suggestions")).scalar() == 0


def _new_file(folder: Path) -> Path:
    Project.create(folder / "after.db", tasks={"qa": []}).close()
    return folder / "after.db"


def test_schema_10_file_made_after_a_postgresql_project_gets_its_foreign_keys_back(
    tmp_path: Path,
) -> None:
    """A file created after a PostgreSQL project in the same process had questions and
    suggestions without foreign keys (models.create_schema), so deleting a document left
    its question and suggestions behind. Its upgrade removes those orphans, keeps the rest,
    and puts the keys back: the file then has a new file's keys, none of them broken."""
    import re

    path = tmp_path / "v10.db"
    raw = sqlite3.connect(path)
    raw.executescript((Path(__file__).parent / "data" / "schema10.sql").read_text(encoding="utf-8"))
    version = raw.execute("PRAGMA schema_version").fetchone()[0]
    raw.execute("PRAGMA writable_schema = ON")
    for table in ("questions", "suggestions"):
        sql = raw.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
        raw.execute("UPDATE sqlite_master SET sql = ? WHERE name = ?",
                    (re.sub(r",\s*FOREIGN KEY\([a-z_]+\) REFERENCES [a-z_]+ \(id\) ON DELETE "
                            r"(CASCADE|SET NULL)", "", sql), table))
    raw.execute(f"PRAGMA schema_version = {version + 1}")
    raw.execute("PRAGMA writable_schema = OFF")
    raw.commit()
    raw.close()
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA foreign_keys = ON")
    assert raw.execute("PRAGMA foreign_key_list(suggestions)").fetchall() == []
    raw.execute("DELETE FROM documents WHERE external_id = 'n1'")  # leaves its rows behind
    raw.commit()
    assert raw.execute("SELECT count(*) FROM suggestions").fetchone()[0] == 2
    raw.close()
    with Project.open(path) as p, p.read() as s:
        assert s.execute(text("SELECT count(*) FROM suggestions")).scalar() == 0
        assert s.execute(text("SELECT d.external_id, q.text FROM questions q JOIN documents d "
                              "ON d.id = q.document_id")).all() == [("n2", "How long?")]
    Project.create(tmp_path / "fresh.db").close()
    assert _foreign_keys(path) == _foreign_keys(tmp_path / "fresh.db")
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA foreign_keys = ON")
    assert raw.execute("PRAGMA foreign_key_check").fetchall() == []
    assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    raw.execute("DELETE FROM documents WHERE external_id = 'n2'")  # now its question goes too
    assert raw.execute("SELECT count(*) FROM questions").fetchone()[0] == 0
    raw.close()


def test_schema_10_file_with_a_table_defined_otherwise_is_refused_and_left_as_it_was(
        tmp_path: Path) -> None:
    """The schema-11 step rewrites the labels table's definition in place only when it reads
    as this program wrote it; one changed by hand (its key declared on the column) stops the
    upgrade with the table named, and the file holds what it held."""
    path = tmp_path / "v10.db"
    script = (Path(__file__).parent / "data" / "schema10.sql").read_text(encoding="utf-8")
    changed = script.replace("CREATE TABLE labels (\n\tid INTEGER NOT NULL, ",
                             "CREATE TABLE labels (\n\tid INTEGER PRIMARY KEY, ", 1)
    changed = changed.replace("\tposition INTEGER NOT NULL, \n\tPRIMARY KEY (id), \n\tCONSTRAINT "
                              "label_name_unique", "\tposition INTEGER NOT NULL, \n\tCONSTRAINT "
                              "label_name_unique", 1)
    assert changed.count("id INTEGER PRIMARY KEY") == 1
    raw = sqlite3.connect(path)
    raw.executescript(changed)
    before = list(raw.iterdump())
    raw.close()
    with pytest.raises(ProjectError,
                       match="the table labels is not defined as this program made it"):
        Project.open(path)
    raw = sqlite3.connect(path)
    try:  # the same tables, definitions and rows, still at schema 10
        assert list(raw.iterdump()) == before
        assert raw.execute("SELECT value FROM meta WHERE key = 'schema_version'"
                           ).fetchone() == ("10",)
    finally:
        raw.close()
