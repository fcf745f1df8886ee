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
