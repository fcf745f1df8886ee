"""The throw-away PostgreSQL server of the test run answers, on its own socket only."""

from __future__ import annotations


def test_the_test_server_runs_queries_in_its_own_database(postgres_server, pg_url) -> None:  # type: ignore[no-untyped-def]
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(pg_url)
    with psycopg.connect(host=url.query["host"], port=int(url.query["port"]), user="postgres",
                         dbname=url.database) as conn:
        assert conn.execute("SELECT current_database()").fetchone()[0] == url.database
        assert conn.execute("SHOW listen_addresses").fetchone()[0] == ""
        assert conn.execute("SELECT 1 + 1").fetchone()[0] == 2


def test_no_server_binaries_says_what_to_install(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from tests import pg_server

    monkeypatch.delenv("PG_BINDIR", raising=False)
    monkeypatch.setattr(pg_server.shutil, "which", lambda name: None)
    monkeypatch.setattr(pg_server.glob, "glob", lambda pattern: [])
    with pytest.raises(pg_server.NoServer, match="apt-get install postgresql"):
        pg_server.start_server()
