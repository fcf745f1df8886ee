"""Copying a whole project between back ends: a file and a PostgreSQL database, either way
(or file to file).

Every table of the schema is copied row by row with its ids, so every reference between
rows (and every id a user or an export may have noted) stays valid. Model versions are rows
too: their stored paths are copied as they are, the model folders are not (the destination
refers to the same folders). The destination must be new: a file that does not exist yet, or
an empty database. Nothing half-written is left: a file is written under a temporary name
and renamed when complete; a database is filled in one transaction, rolled back on failure.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    ForeignKeyConstraint,
    Table,
    bindparam,
    create_engine,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.schema import sort_tables, sort_tables_and_constraints

from core.errors import ProjectError
from core.store import migrations
from core.store.db import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    ProjectDB,
    _make_pg_engine,
    check_empty_database,
    database_url,
    display_url,
    is_database_url,
    open_db,
)
from core.store.models import Base, create_schema

CHUNK_ROWS = 2000


@dataclass(frozen=True)
class CopySummary:
    """What a copy wrote: rows per table, in the order they were copied."""

    source: str
    destination: str
    tables: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


def tables_in_order() -> list[Table]:
    """Every table of the schema, each after the tables its rows refer to (but for the
    references of :func:`deferred_references`)."""
    deferred = deferred_references()
    return list(sort_tables(Base.metadata.tables.values(), skip_fn=lambda fk: fk.constraint in deferred))


def deferred_references() -> list[ForeignKeyConstraint]:
    """The references that close a cycle between tables (a question names the suggestion
    it came from, a suggestion the question it answers): nullable ones, filled after every
    row is in. The provenance column ``suggestion_id`` first, any nullable one otherwise."""
    import warnings

    with warnings.catch_warnings():  # the cycle is what is looked for here
        warnings.simplefilter("ignore")
        left = [fkc for table, fkcs in sort_tables_and_constraints(Base.metadata.tables.values())
                if table is None for fkc in fkcs]
    in_cycle = {fkc.table for fkc in left}
    cyclic = [fkc for fkc in left if fkc.referred_table in in_cycle]
    nullable = [fkc for fkc in cyclic if all(c.nullable for c in fkc.columns)]
    provenance = [fkc for fkc in nullable if [c.name for c in fkc.columns] == ["suggestion_id"]]
    return provenance or nullable


def _copy_rows(src: Connection, dst: Connection, on_table: Callable[[str, int], None] | None,
               location: str) -> dict[str, int]:
    later: dict[str, list[str]] = {}
    for fkc in deferred_references():
        later.setdefault(fkc.table.name, []).extend(c.name for c in fkc.columns)
    counts: dict[str, int] = {}
    for table in tables_in_order():
        n = 0
        try:
            # The defaults a new project writes (meta, the project row) make way for the
            # source's own rows.
            dst.execute(table.delete())
            order = list(table.primary_key.columns) or list(table.columns)
            result = src.execution_options(stream_results=True).execute(
                select(table).order_by(*order))
            blank = dict.fromkeys(later.get(table.name, ()))
            while rows := result.fetchmany(CHUNK_ROWS):
                dst.execute(table.insert(), [{**r._mapping, **blank} for r in rows])
                n += len(rows)
        except Exception as exc:
            raise _failed(location, table.name, n, exc) from exc
        counts[table.name] = n
        if on_table is not None:
            on_table(table.name, n)
    for name, columns in later.items():
        table = Base.metadata.tables[name]
        pk = list(table.primary_key.columns)
        try:
            stmt = table.update().where(*[c == bindparam("_pk_" + c.name) for c in pk]) \
                .values({c: bindparam("_v_" + c) for c in columns})
            result = src.execute(select(*pk, *[table.c[c] for c in columns]).where(
                or_(*[table.c[c].is_not(None) for c in columns])))
            while rows := result.fetchmany(CHUNK_ROWS):
                dst.execute(stmt, [{**{"_pk_" + c.name: r._mapping[c.name] for c in pk},
                                    **{"_v_" + c: r._mapping[c] for c in columns}} for r in rows])
        except Exception as exc:
            raise _failed(location, name, counts.get(name, 0), exc) from exc
    return counts


def _failed(location: str, table: str, rows: int, exc: Exception) -> ProjectError:
    detail = " ".join(str(getattr(exc, "orig", None) or exc).split())
    return ProjectError(
        f"{location}: copying table {table} failed after {rows} rows ({detail}); "
        "nothing was written to the destination"
    )


def _reset_sequences(conn: Connection) -> None:
    """PostgreSQL: the next id of each table follows the copied ones (rows copied with
    their ids leave the sequences behind)."""
    for table in tables_in_order():
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not pk[0].autoincrement or pk[0].type.python_type is not int:
            continue
        seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                           {"t": table.name, "c": pk[0].name}).scalar()
        if seq is None:
            continue
        top = conn.execute(select(func.max(pk[0]))).scalar()
        conn.execute(text("SELECT setval(:s, :v, :called)"),
                     {"s": seq, "v": top or 1, "called": top is not None})


def _fill(dst: Connection, src: Connection, on_table: Callable[[str, int], None] | None,
          location: str) -> dict[str, int]:
    create_schema(dst)
    counts = _copy_rows(src, dst, on_table, location)
    migrations.stamp(dst, SCHEMA_VERSION)
    if dst.dialect.name == "postgresql":
        _reset_sequences(dst)
    return counts


def _to_file(source: ProjectDB, path: Path, on_table: Callable[[str, int], None] | None
             ) -> dict[str, int]:
    if path.exists():
        raise ProjectError(f"{path}: a file already exists there; copy to a new file")
    if not path.parent.is_dir():
        raise ProjectError(f"{path.parent}: no such folder")
    tmp = path.with_name(path.name + ".copying")
    tmp.unlink(missing_ok=True)
    engine = create_engine("sqlite:///" + str(tmp))
    try:
        with engine.connect() as dst:
            dst.exec_driver_sql(f"PRAGMA application_id = {APPLICATION_ID}")
            dst.exec_driver_sql("PRAGMA foreign_keys = ON")
            dst.commit()
            with source.read_engine.connect() as src, src.begin(), dst.begin():
                counts = _fill(dst, src, on_table, str(path))
        engine.dispose()
        # A file in WAL mode as every project file; then it appears complete or not at all.
        raw = sqlite3.connect(tmp)
        try:
            raw.execute("PRAGMA journal_mode = WAL")
        finally:
            raw.close()
        os.replace(tmp, path)
    except BaseException:
        engine.dispose()
        for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm"), Path(f"{tmp}-journal")):
            leftover.unlink(missing_ok=True)
        raise
    return counts


def _to_database(source: ProjectDB, target: str, on_table: Callable[[str, int], None] | None
                 ) -> dict[str, int]:
    url = database_url(target)
    location = display_url(url)
    engine = _make_pg_engine(url, write=True)
    try:
        with engine.connect() as dst:
            # One transaction, holding the project's write lock: all or nothing.
            with source.read_engine.connect() as src, src.begin(), dst.begin():
                check_empty_database(dst, location)
                counts = _fill(dst, src, on_table, location)
    except ProjectError:
        raise
    except Exception as exc:
        detail = " ".join(str(getattr(exc, "orig", None) or exc).split())
        raise ProjectError(f"{location}: cannot copy into the database ({detail})") from exc
    finally:
        engine.dispose()
    return counts


def copy_project(source: str | os.PathLike[str], destination: str | os.PathLike[str], *,
                 on_table: Callable[[str, int], None] | None = None) -> CopySummary:
    """Copy the project at ``source`` (a file or a database URL) to ``destination`` (a new
    file, or an empty database). The source is opened read-only (it must be at the current
    schema: open it once to upgrade it). ``on_table(name, rows)`` after each table."""
    src = open_db(source, readonly=True)
    try:
        if is_database_url(destination):
            counts = _to_database(src, str(destination), on_table)
            where = display_url(database_url(str(destination)))
        else:
            path = Path(destination).resolve()
            counts = _to_file(src, path, on_table)
            where = str(path)
        return CopySummary(source=src.location, destination=where, tables=counts)
    finally:
        src.close()


def table_rows(db: ProjectDB) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, in primary-key order, times as naive UTC (how SQLite hands
    them back), for comparing two projects table by table."""
    import datetime as _dt

    def plain(value: Any) -> Any:
        if isinstance(value, _dt.datetime) and value.tzinfo is not None:
            return value.astimezone(_dt.timezone.utc).replace(tzinfo=None)
        return value

    out: dict[str, list[dict[str, Any]]] = {}
    with db.read_engine.connect() as conn:
        for table in tables_in_order():
            order = list(table.primary_key.columns) or list(table.columns)
            out[table.name] = [{k: plain(v) for k, v in r._mapping.items()}
                               for r in conn.execute(select(table).order_by(*order))]
    return out
