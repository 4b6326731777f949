"""Opening databases: SQLite files for nodes (WAL, fsync on commit), any SQLAlchemy URL for hubs.

A village node's database is encrypted at rest with SQLCipher (`sqlcipher3-binary`) under a 32-byte
key derived from the node's own private key, which is sealed under the operator's passphrase
(protocol.sealed): one passphrase unlocks both, a stolen laptop yields no ID numbers, and WAL pages
are encrypted too. The raw key is given as `PRAGMA key = "x'…'"`, so opening a connection costs no
second key derivation. Hubs stay on plain SQLite or PostgreSQL: servers rely on disk encryption and
database access control (docs/threat-model.md). Database files are created 0600 (SQLite gives the
-wal and -shm files the main file's mode); on a platform without POSIX modes this is skipped.
"""
from __future__ import annotations

import functools
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError

from protocol.errors import BadPassphrase, LocalError


class StorageFull(LocalError):
    """The disk (or the database's size limit) is full. Nothing committed is lost; free space and retry."""

    code = "storage-full"


HUB_CACHE_MB = 64  # per connection; a hub's pool holds up to 15, and the mapped file is shared by all
MMAP_PER_CACHE = 16  # so a hub maps the first GiB of its file


def url_for(target: str | Path) -> str:
    text = str(target)
    return text if "://" in text else f"sqlite:///{Path(text).resolve()}"


SQLITE_MAGIC = b"SQLite format 3\x00"


def owner_only(path: Path) -> None:
    """Create `path` (if missing) readable by its owner only; tighten it if it exists. No-op off POSIX."""
    if os.name != "posix":
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)


def is_plaintext(path: Path) -> bool:
    """A SQLite file anyone can read (a node made before encryption, or a hub's)."""
    try:
        with open(path, "rb") as f:
            return f.read(16) == SQLITE_MAGIC
    except FileNotFoundError:
        return False


def _key_pragma(db_key: bytes) -> str:
    return f"PRAGMA key = \"x'{db_key.hex()}'\""


def connect_raw(path: str | Path, db_key: bytes | None = None) -> Any:
    """A plain DB-API connection (sqlite3, or sqlcipher3 when `db_key` is given), for tools and tests."""
    if db_key is None:
        return sqlite3.connect(str(path))
    import sqlcipher3  # type: ignore[import-untyped]

    con = sqlcipher3.connect(str(path))
    con.execute(_key_pragma(db_key))
    return con


def encrypt_in_place(path: Path, db_key: bytes) -> None:
    """Turn a plaintext node database into an encrypted one (sqlcipher_export), atomically."""
    import sqlcipher3

    tmp = path.with_name(path.name + ".encrypting")
    tmp.unlink(missing_ok=True)
    owner_only(tmp)
    con = sqlcipher3.connect(str(path))
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        version = con.execute("PRAGMA user_version").fetchone()[0]
        con.execute(f"ATTACH DATABASE ? AS enc KEY \"x'{db_key.hex()}'\"", (str(tmp),))
        con.execute("SELECT sqlcipher_export('enc')")
        con.execute(f"PRAGMA enc.user_version = {int(version)}")
        con.execute("DETACH DATABASE enc")
    finally:
        con.close()
    os.replace(tmp, path)
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


CHECKPOINT_PAGES = 10_000  # WAL pages (about 40 MB) past which a commit checkpoints anyway; SQLite's default is 1,000


def checkpoint(engine: Engine) -> None:
    """Copy what the WAL holds back into the database file, as far as readers allow (PASSIVE: never
    waits). SQLite: sealing calls it, so saves never pay for it; no-op on PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()  # outside any transaction: a checkpoint cannot run in one
    try:
        raw.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)")
    except sqlite3.OperationalError:
        pass  # another connection holds a lock: the next seal (or the bound) checkpoints instead
    finally:
        raw.close()


def make_engine(target: str | Path, *, max_page_count: int | None = None, db_key: bytes | None = None,
                cache_mb: int | None = None) -> Engine:
    """An engine for a path or URL. SQLite gets WAL and synchronous=FULL: an acknowledged write survives a
    power cut; with `db_key` the file is SQLCipher-encrypted under it (a wrong key: BadPassphrase).
    `cache_mb` sizes SQLite's page cache per connection and maps up to `MMAP_PER_CACHE` times as much
    of the file (hubs: `HUB_CACHE_MB`; docs/operations.md "Page cache"): reads of the log's indexes
    then come from memory shared with the OS page cache instead of SQLite's default 2 MB per connection."""
    url = url_for(target)
    if url.startswith("sqlite"):
        if "://" not in str(target) and str(target) != ":memory:":
            owner_only(Path(str(target)))
        kw: dict[str, Any] = {}
        if db_key is not None:
            import sqlcipher3.dbapi2  # type: ignore[import-untyped]

            kw["module"] = sqlcipher3.dbapi2
        engine = create_engine(url, connect_args={"timeout": 30}, **kw)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
            # pysqlite's own transaction handling would defer BEGIN; we want it explicit.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            if db_key is not None:
                cur.execute(_key_pragma(db_key))
                try:
                    cur.execute("SELECT count(*) FROM sqlite_master")
                except Exception as exc:  # noqa: BLE001 - sqlcipher3's DatabaseError, not sqlite3's
                    raise BadPassphrase("数据库无法解开 the database does not open with this key: wrong passphrase, "
                                        "or not this node's database") from exc
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            # A clerk's save does not copy the WAL back into the file: `Store.seal` (at sync or export)
            # does, so this is only the bound on the WAL between two syncs (docs/engine.md).
            cur.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_PAGES}")
            cur.execute("PRAGMA busy_timeout=30000")
            # Erasure (PIPL): freed bytes are zeroed, not left in free pages (node.redact, docs/erasure.md).
            cur.execute("PRAGMA secure_delete=ON")
            if max_page_count:
                cur.execute(f"PRAGMA max_page_count={int(max_page_count)}")
            if cache_mb:
                cur.execute(f"PRAGMA cache_size=-{int(cache_mb) * 1024}")  # negative: KiB
                cur.execute(f"PRAGMA mmap_size={int(cache_mb) * MMAP_PER_CACHE << 20}")
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


@contextmanager
def unwaited(engine: Engine) -> Iterator[Connection]:
    """A write transaction whose commit does not wait for the disk (no fsync): for a record that
    may be lost to a power cut with no harm, such as a finished sync's time and a cursor the next
    sync finds again (docs/engine.md "hello + pull"). It is atomic as any other, and the next
    durable commit takes it to the disk with its own. On SQLite `synchronous=NORMAL` for this
    transaction only (WAL: the database stays consistent), on PostgreSQL `synchronous_commit off`.
    A full disk: StorageFull, as `Store.transaction`."""
    try:
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection if conn.dialect.name == "sqlite" else None
            if raw is not None:  # outside a transaction: SQLite refuses to change it inside one
                raw.execute("PRAGMA synchronous=NORMAL")
            try:
                with conn.begin():
                    begin_write(conn)
                    if raw is None:
                        conn.execute(text("SET LOCAL synchronous_commit TO OFF"))
                    yield conn
            finally:
                if raw is not None:
                    raw.execute("PRAGMA synchronous=FULL")
    except OperationalError as exc:
        if is_full(exc):
            raise StorageFull("the disk is full: this change was rolled back, nothing committed was lost; "
                              "free space and try again") from exc
        raise


def upsert(engine_or_dialect: Engine | str, table: Table, keys: list[str]) -> Any:
    """INSERT ... ON CONFLICT (keys) DO UPDATE every other column: the same on SQLite and PostgreSQL."""
    name = engine_or_dialect if isinstance(engine_or_dialect, str) else engine_or_dialect.dialect.name
    ins: Any = postgresql.insert(table) if name == "postgresql" else sqlite.insert(table)
    others = {c.name: ins.excluded[c.name] for c in table.columns if c.name not in keys}
    return ins.on_conflict_do_update(index_elements=keys, set_=others) if others else ins.on_conflict_do_nothing(index_elements=keys)


def is_full(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, OperationalError) and ("full" in text or "no space" in text)


def executemany(conn: Connection, build: Callable[[str], Any], order: tuple[str, ...],
                rows: Sequence[tuple[Any, ...]]) -> None:
    """executemany of the statement `build(dialect)` on the driver itself: SQLAlchemy's per-row
    parameter processing costs more than SQLite takes to run an upsert (the merge writes one row
    per field change). `rows` are tuples in the column order `order`, bound as they are where the
    driver binds by position (SQLite), as dicts where it binds by name (PostgreSQL). Values must
    be plain ints, str and bytes (or None), which both drivers bind as they are."""
    if not rows:
        return
    sql, names = _compiled(conn.dialect, build)
    if names is None:
        conn.exec_driver_sql(sql, [dict(zip(order, r)) for r in rows])
    elif names == order:
        conn.exec_driver_sql(sql, rows)
    else:
        at = [order.index(n) for n in names]
        conn.exec_driver_sql(sql, [tuple([r[i] for i in at]) for r in rows])


@functools.lru_cache(maxsize=None)
def _compiled(dialect: Any, build: Callable[[str], Any]) -> tuple[str, tuple[str, ...] | None]:
    c = build(dialect.name).compile(dialect=dialect)
    return c.string, (tuple(c.positiontup) if c.positional else None)
