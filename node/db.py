"""Opening databases: SQLite files for nodes (WAL, fsync on commit), any SQLAlchemy URL for hubs."""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError

from protocol.errors import LocalError


class StorageFull(LocalError):
    """The disk (or the database's size limit) is full. Nothing committed is lost; free space and retry."""

    code = "storage-full"


def url_for(target: str | Path) -> str:
    text = str(target)
    return text if "://" in text else f"sqlite:///{Path(text).resolve()}"


def make_engine(target: str | Path, *, max_page_count: int | None = None) -> Engine:
    """An engine for a path or URL. SQLite gets WAL and synchronous=FULL: an acknowledged write survives a power cut."""
    url = url_for(target)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
            # pysqlite's own transaction handling would defer BEGIN; we want it explicit.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA busy_timeout=30000")
            # Erasure (PIPL): freed bytes are zeroed, not left in free pages (node.redact, docs/erasure.md).
            cur.execute("PRAGMA secure_delete=ON")
            if max_page_count:
                cur.execute(f"PRAGMA max_page_count={int(max_page_count)}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            url = "postgresql+psycopg://" + url[len(scheme) :]
    return create_engine(url, pool_pre_ping=True)


# One PostgreSQL advisory lock per database ("laowu" in ASCII), held by its one writer at a time.
WRITER_LOCK = 0x6C616F7775


def begin_write(conn: Connection) -> None:
    """Make this transaction the database's only writer until it ends, as BEGIN IMMEDIATE does on
    SQLite. Applying reads feed heads and the log before writing; without this two PostgreSQL
    transactions placing the same changeset at once (a county's relay pulling what a village is
    pushing) would both insert it, and one would fail on the log's primary key."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": WRITER_LOCK})


def upsert(engine_or_dialect: Engine | str, table: Table, keys: list[str]) -> Any:
    """INSERT ... ON CONFLICT (keys) DO UPDATE every other column: the same on SQLite and PostgreSQL."""
    name = engine_or_dialect if isinstance(engine_or_dialect, str) else engine_or_dialect.dialect.name
    ins: Any = postgresql.insert(table) if name == "postgresql" else sqlite.insert(table)
    others = {c.name: ins.excluded[c.name] for c in table.columns if c.name not in keys}
    return ins.on_conflict_do_update(index_elements=keys, set_=others) if others else ins.on_conflict_do_nothing(index_elements=keys)


def is_full(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, OperationalError) and ("full" in text or "no space" in text)
