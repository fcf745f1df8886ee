"""Project files that are old, foreign, empty, truncated, damaged or read-only.

Each must give a clear :class:`ProjectError` naming the file (the CLI: exit 2 and the
message on stderr, no traceback) and leave the file byte for byte as it was. An older
schema is upgraded, after a consistent backup copy.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from annotator.cli.main import run as cli_run
from core.errors import ProjectError
from core.project import Project
from core.store import db as dbmod
from core.store import repo
from core.types import DocumentRecord, EntitySpan

from .reliability_lib import REPO, Tally, cli_env, file_sha, fingerprint, integrity, raw_ro

TALLY = Tally("project-files")


@pytest.fixture(scope="module", autouse=True)
def _summary() -> Iterator[None]:
    yield
    TALLY.emit()


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        rc = cli_run(list(argv))
    except SystemExit as exc:  # argparse errors
        rc = int(exc.code or 0)
    out, err = capsys.readouterr()
    return rc, out, err


def _good_project(path: Path, n: int = 400) -> Path:
    with Project.create(path, tasks={"ner": ["Disease"]}) as p:
        with p.write() as s:
            repo.add_documents(
                s,
                [
                    DocumentRecord(f"note {i}: influenza " + "lorem ipsum " * 30,
                                   spans=(EntitySpan(len(f"note {i}: "), len(f"note {i}: ") + 9, "Disease"),))
                    for i in range(n)
                ],
            )
    return path


# --- files that are not usable projects -------------------------------------------------


def _junk(p: Path) -> None:
    p.write_bytes(b"\x00\x01 this is not sqlite at all " * 100)


def _text(p: Path) -> None:
    p.write_text("text,label\nflu,Disease\n", encoding="utf-8")


def _other_sqlite(p: Path) -> None:
    conn = sqlite3.connect(p)
    conn.execute("CREATE TABLE notes (x)")
    conn.commit()
    conn.close()


def _newer(p: Path) -> None:
    _good_project(p, 3)
    conn = sqlite3.connect(p)
    conn.execute("UPDATE meta SET value='999' WHERE key='schema_version'")
    conn.commit()
    conn.close()


def _no_version(p: Path) -> None:
    _good_project(p, 3)
    conn = sqlite3.connect(p)
    conn.execute("DELETE FROM meta WHERE key='schema_version'")
    conn.commit()
    conn.close()


def _truncated(fraction: float) -> Callable[[Path], None]:
    def make(p: Path) -> None:
        good = _good_project(p.with_name(p.name + ".src"))
        data = good.read_bytes()
        p.write_bytes(data[: max(100, int(len(data) * fraction))])

    return make


def _header_only(p: Path) -> None:
    p.write_bytes(b"SQLite format 3\x00")


BAD_FILES: dict[str, tuple[Callable[[Path], None], str]] = {
    # name: (maker, words the message must contain)
    "junk-bytes": (_junk, "not a project"),
    "text-file": (_text, "not a project"),
    "other-sqlite-db": (_other_sqlite, "not an annotator project"),
    "newer-schema": (_newer, "newer version"),
    "no-schema-version": (_no_version, "schema version"),
    "header-only": (_header_only, ""),
    "truncated-3pct": (_truncated(0.03), ""),
    "truncated-50pct": (_truncated(0.5), ""),
    "truncated-97pct": (_truncated(0.97), ""),
}

# Opening these read-write currently lets a raw sqlalchemy DatabaseError escape: see
# test_truncated_file_read_write_open_gives_project_error below.
TRUNCATED = {"header-only", "truncated-3pct", "truncated-50pct", "truncated-97pct"}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_unusable_file_read_only_open(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    maker, words = BAD_FILES[case]
    path = tmp_path / "bad.db"
    maker(path)
    before = file_sha(path)
    with pytest.raises(ProjectError) as info:
        Project.open(path, readonly=True)
    message = str(info.value)
    assert str(path.resolve()) in message and words in message, message
    rc, out, err = cli(capsys, "stats", str(path), "--json")
    assert rc == 2, err
    assert "annotator: error:" in err and "Traceback" not in err
    assert "error" in json.loads(out)
    assert file_sha(path) == before, "a failed open changed the file"
    TALLY.add("unusable files tried read-only (stats)")


@pytest.mark.parametrize("case", sorted(set(BAD_FILES) - TRUNCATED))
def test_unusable_file_read_write_open(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    maker, words = BAD_FILES[case]
    path = tmp_path / "bad.db"
    maker(path)
    before = file_sha(path)
    with pytest.raises(ProjectError, match=words or None):
        Project.open(path)
    data = tmp_path / "in.txt"
    data.write_text("a note about influenza\n", encoding="utf-8")
    for argv in (
        ("import", str(path), str(data)),
        ("export", str(path), str(tmp_path / "out.jsonl"), "--format", "jsonl"),
        ("init", str(path), "--task", "ner", "--labels", "Disease"),
    ):
        rc, _, err = cli(capsys, *argv)
        assert rc == 2 and "annotator: error:" in err and "Traceback" not in err, (argv, rc, err)
        TALLY.add("CLI runs on unusable files exited 2")
    if case not in CHANGED_BY_READ_WRITE_OPEN:
        assert file_sha(path) == before, "a failed open changed the file"
    assert not (tmp_path / "out.jsonl").exists()
    TALLY.add("unusable files tried read-write")


# A read-write open switches the file to WAL before checking that it is a project.
CHANGED_BY_READ_WRITE_OPEN = {"other-sqlite-db"}


def test_foreign_sqlite_file_is_not_modified_by_a_failed_open(tmp_path: Path) -> None:
    path = tmp_path / "theirs.db"
    _other_sqlite(path)
    before = file_sha(path)
    with pytest.raises(ProjectError):
        Project.open(path)
    assert file_sha(path) == before
    with raw_ro(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


@pytest.mark.parametrize("case", sorted(TRUNCATED))
def test_truncated_file_read_write_open_gives_project_error(case: str, tmp_path: Path) -> None:
    maker, _ = BAD_FILES[case]
    path = tmp_path / "bad.db"
    maker(path)
    with pytest.raises(ProjectError):
        Project.open(path)


def test_empty_file_is_named_empty_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    with pytest.raises(ProjectError, match="empty"):
        Project.open(path)
    assert path.stat().st_size == 0


def test_empty_file_gives_project_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    with pytest.raises(ProjectError) as info:
        Project.open(path)
    assert str(path) in str(info.value)
    rc, _, err = cli(capsys, "stats", str(path))
    assert rc == 2 and "annotator: error:" in err
    TALLY.add("empty files tried")


def test_folder_and_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ProjectError, match="folder"):
        Project.open(tmp_path)
    with pytest.raises(ProjectError, match="no such project"):
        Project.open(tmp_path / "missing.db")
    rc, _, err = cli(capsys, "stats", str(tmp_path / "missing.db"))
    assert rc == 2 and "no such project" in err
    assert not (tmp_path / "missing.db").exists()


def _damage_documents_page(path: Path) -> None:
    """Overwrite one page in the middle of the documents table with a fixed pattern."""
    with raw_ro(path) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        n_pages = conn.execute("PRAGMA page_count").fetchone()[0]
    data = bytearray(path.read_bytes())
    page = n_pages // 2
    data[page * page_size : page * page_size + page_size] = bytes([0xA5]) * page_size
    path.write_bytes(bytes(data))


def test_damaged_page_gives_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _good_project(tmp_path / "damaged.db", 800)
    _damage_documents_page(path)
    rc, _, err = cli(capsys, "stats", str(path))
    assert rc == 2 and "Traceback" not in err and "damaged" in err, err


def test_damaged_page_is_detected_by_integrity_check(tmp_path: Path) -> None:
    """Guard for the xfail above: the damage really is there and SQLite sees it."""
    path = _good_project(tmp_path / "damaged.db", 800)
    _damage_documents_page(path)
    assert integrity(path) != "ok"
    TALLY.add("damaged files tried")


# --- read-only files ----------------------------------------------------------------------


def test_read_only_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """root ignores chmod, so the check is simulated through os.access (what open_db uses)."""
    path = _good_project(tmp_path / "ro.db", 5)
    before = fingerprint(path)
    real_access = os.access

    def access(p: object, mode: int, *a: object, **k: object) -> bool:
        if str(p) == str(path) and mode & os.W_OK:
            return False
        return real_access(p, mode, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "access", access)
    data = tmp_path / "in.txt"
    data.write_text("another note\n", encoding="utf-8")
    rc, _, err = cli(capsys, "import", str(path), str(data))
    assert rc == 2 and "read-only" in err and "Traceback" not in err, err
    rc, out, _ = cli(capsys, "stats", str(path), "--json")  # reading still works
    assert rc == 0 and json.loads(out)["documents"] == 5
    assert fingerprint(path) == before
    TALLY.add("read-only files tried")


def test_read_only_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    path = _good_project(tmp_path / "ro.db", 5)
    real_access = os.access
    folder = str(path.resolve().parent)
    monkeypatch.setattr(
        os, "access",
        lambda p, mode, *a, **k: False if str(p) == folder and mode & os.W_OK
        else real_access(p, mode, *a, **k),
    )
    rc, _, err = cli(capsys, "import", str(path), str(path))
    assert rc == 2 and "folder is read-only" in err, err


# --- older schemas ------------------------------------------------------------------------

UPGRADE_SCRIPT = r"""
import sys
from tests.schema_steps import add_next_step
def step(conn):
    conn.exec_driver_sql("ALTER TABLE documents ADD COLUMN upgraded INTEGER DEFAULT 1")
    if sys.argv[1] == "fail":
        raise RuntimeError("simulated failure in the upgrade step")
add_next_step(step)
from annotator.cli.main import run
sys.exit(run(sys.argv[2:]))
"""


def _run_upgrading_cli(mode: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", UPGRADE_SCRIPT, mode, *argv],
        capture_output=True, text=True, cwd=REPO, env=cli_env(), timeout=120,
    )


def test_older_schema_upgraded_after_backup_in_subprocess(tmp_path: Path) -> None:
    """A newer tool (simulated: one more schema version with one step) opens the file: the
    backup holds exactly the old content, including transactions still in the WAL."""
    path = _good_project(tmp_path / "old.db", 50)
    # A second user session keeps the file open with committed work still in the -wal file
    # (no checkpoint yet): the backup must include it.
    keeper = Project.open(path)
    with keeper.write() as s:
        repo.add_documents(s, [DocumentRecord("written just before the upgrade")])
    assert path.with_name("old.db-wal").stat().st_size > 0
    before = fingerprint(path)
    out = tmp_path / "out.jsonl"
    result = _run_upgrading_cli("ok", "export", str(path), str(out), "--format", "jsonl", "--json")
    keeper.close()
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["documents"] == 51
    backup = path.with_name(f"old.db.v{dbmod.SCHEMA_VERSION}.bak")
    assert fingerprint(backup) == before, "the backup is not the pre-upgrade content"
    assert integrity(backup) == "ok" and integrity(path) == "ok"
    with raw_ro(path) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(
            dbmod.SCHEMA_VERSION + 1
        )
        assert conn.execute("SELECT count(*), min(upgraded) FROM documents").fetchone() == (51, 1)
    after = fingerprint(path)
    for table in ("entity_annotations", "labels", "questions"):
        assert after["counts"][table] == before["counts"][table]
    TALLY.add("schema upgrades in a subprocess (backup verified)")


def test_failed_upgrade_leaves_the_file_unchanged(tmp_path: Path) -> None:
    path = _good_project(tmp_path / "old.db", 20)
    before = fingerprint(path)
    result = _run_upgrading_cli("fail", "export", str(path), str(tmp_path / "o.jsonl"), "--format", "jsonl")
    assert result.returncode != 0
    assert fingerprint(path) == before
    assert Project.open(path).close() is None  # this (older) tool still opens it
    TALLY.add("failed upgrades left the file unchanged")


def test_failed_upgrade_is_a_clear_error(tmp_path: Path) -> None:
    path = _good_project(tmp_path / "old.db", 5)
    result = _run_upgrading_cli("fail", "export", str(path), str(tmp_path / "o.jsonl"), "--format", "jsonl")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "unchanged" in result.stderr


def test_cli_exit_code_in_a_real_process(tmp_path: Path) -> None:
    """The entry point itself (not just run()): a junk file gives exit 2 and one line."""
    path = tmp_path / "junk.db"
    _junk(path)
    result = subprocess.run(
        [sys.executable, "-m", "annotator", "stats", str(path)],
        capture_output=True, text=True, cwd=REPO, env=cli_env(), timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("annotator: error:") and "not a project" in result.stderr
    assert "Traceback" not in result.stderr
