"""Fixtures for the hub tests: every test runs against SQLite and a real PostgreSQL (DESIGN §7).

`backend` hands out fresh database URLs for hub stores: a file in tmp_path, or an empty database
of its own on the PostgreSQL server at LAOWU_TEST_PG_URL (made once per session, emptied after
each test, dropped at the end). An unreachable server skips the PostgreSQL half, except under CI
(CI=true), where it fails. Node stores are always SQLite files. `world` is the three-tier setup of
`hubkit.World` on real loopback servers.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hubkit import PG_URL, World, no_postgresql
from sqlalchemy.engine import make_url

from node.sandbox import Sandbox



def _connect(database: str | None = None) -> Any:
    import psycopg

    url = PG_URL if database is None else _url(database)
    return psycopg.connect(url, connect_timeout=5, autocommit=True)


def _url(database: str) -> str:
    return make_url(PG_URL).set(database=database).render_as_string(hide_password=False)


class PgDatabases:
    """Databases on the PostgreSQL server, made once per session and emptied after each test.

    CREATE DATABASE plus creating every table costs up to a second per hub store on a busy machine;
    emptying the tables of one already made costs milliseconds, and a test cannot tell the difference.
    """

    def __init__(self) -> None:
        self.made: list[str] = []
        self.free: list[str] = []

    def take(self) -> str:
        if self.free:
            return self.free.pop()
        db = f"laowu_t_{uuid.uuid4().hex[:12]}"
        with _connect() as conn:
            conn.execute(f'CREATE DATABASE "{db}"'.encode())
        self.made.append(db)
        return db

    def give_back(self, db: str) -> None:
        with _connect(db) as conn:
            conn.execute(b"SET lock_timeout = '10s'")  # a store left open fails the test, never hangs it
            conn.execute(b"SET synchronous_commit = off")
            tables = [r[0] for r in conn.execute(b"SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
            with conn.transaction():  # DELETE, not TRUNCATE: a few rows each, no new files to make and sync
                for table in tables:
                    conn.execute(f'DELETE FROM "{table}"'.encode())
        self.free.append(db)

    def drop_all(self) -> None:
        with _connect() as conn:
            for db in self.made:
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'.encode())


@pytest.fixture(scope="session")
def pg() -> Iterator[PgDatabases | str]:
    """The session's PostgreSQL databases, or why the server could not be reached."""
    try:
        with _connect() as conn:
            conn.execute(b"SELECT 1")
    except Exception as exc:  # whatever stops us reaching it means the same thing here
        yield " ".join(f"{type(exc).__name__}: {exc}".split())
        return
    dbs = PgDatabases()
    yield dbs
    dbs.drop_all()


class Backend:
    """Fresh, empty databases for hub stores, as SQLAlchemy URLs: SQLite files or PostgreSQL."""

    def __init__(self, name: str, tmp: Path, pg: PgDatabases | None) -> None:
        self.name = name
        self.tmp = tmp
        self.pg = pg
        self.taken: list[str] = []

    def url(self, label: str) -> str:
        if self.pg is None:
            return f"sqlite:///{self.tmp / f'{label}.sqlite'}"
        db = self.pg.take()
        self.taken.append(db)
        return _url(db)

    def release(self) -> None:
        if self.pg is not None:
            for db in self.taken:
                self.pg.give_back(db)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path, pg: PgDatabases | str) -> Iterator[Backend]:
    """Where hub stores live: SQLite files, or empty databases on a real PostgreSQL server."""
    if request.param == "postgresql" and isinstance(pg, str):
        shown = make_url(PG_URL).render_as_string(hide_password=True)
        message = f"PostgreSQL not reachable at {shown} ({pg}): hub tests on PostgreSQL skipped"
        no_postgresql(message)
    b = Backend(request.param, tmp_path, pg if isinstance(pg, PgDatabases) and request.param == "postgresql" else None)
    yield b
    b.release()


@pytest.fixture
def world(backend: Backend, sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    """Province 510000000000 and county 513225000000 hubs serving on loopback; township
    513225103000 and villages 513225103201, 513225103202 (and more on demand) as node stores."""
    w = World(sandbox, tmp_path, backend.url)
    try:
        yield w
    finally:
        w.close()
