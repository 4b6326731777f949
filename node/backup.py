"""Backups of a node's (or a SQLite hub's) database, and restoring one without forking the feed.

`backup()` takes a consistent copy while the database is in use, through SQLite's online backup
API on the store's own driver connection: writers may go on, the copy is one moment's state. An
encrypted database (SQLCipher, whose SQLAlchemy URL carries the key) is copied into a file keyed the
same way, so the backup is encrypted like the database. A node's copy also carries its key file
(itself encrypted under the operator's passphrase) and config.json, in a small table of the copy,
so one file restores a laptop whose disk died.

`restore()` puts a backup in place of the database (the current one is kept beside it, renamed, never
deleted) and marks the database "restored". A restored laptop must not write seqs of its feed that it
already wrote after the backup was taken: the sync client pulls before it seals (DESIGN §4), so its
next sync brings those changesets back and it continues the feed; until that sync has happened the
mark makes every other way of sealing (a USB bundle) refuse, saying why.
"""
from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack
from sqlalchemy import Engine, delete, select

from node import engine_tables as t
from node.db import make_engine, upsert
from node.files import fsync_dir
from protocol import codec
from protocol.errors import ConfigError

FILES_TABLE = "lw_backup_file"  # exists only in backup copies: name → bytes of the node's key and config
RESTORED = "restored_from_backup"  # lw_meta key: when the backup restored here was taken (ms)


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    bytes: int
    taken_ms: int
    feeds: int
    changesets: int


def _driver(engine: Engine) -> tuple[Any, Any]:
    """(the pooled connection, its DBAPI connection) of a SQLite engine; refuses other backends."""
    if engine.dialect.name != "sqlite":
        raise ConfigError(
            "这是 PostgreSQL 数据库,请用 pg_dump 备份(见 docs/operations.md)/ this database is PostgreSQL: back it up "
            "with pg_dump --format=custom (docs/operations.md), not with this command")
    pooled = engine.raw_connection()
    return pooled, pooled.driver_connection


def _connect_like(src: Any, path: Path, engine: Engine) -> Any:
    """A connection to `path` by the same driver as `src`, keyed like it when the database is encrypted."""
    dst = type(src)(str(path))
    key = engine.url.password
    if key:
        dst.execute(f"PRAGMA key = '{str(key).replace(chr(39), chr(39) * 2)}'")
    return dst


def backup(engine: Engine, out: Path | str, *, files: dict[str, bytes] | None = None) -> BackupInfo:
    """Copy the database behind `engine` to `out` (written whole, then renamed into place). A node
    passes `files` (its key and config), carried in the copy; a hub's copy is the bare database."""
    out = Path(out)
    if out.exists() and out.is_dir():
        raise ConfigError(f"{out} 是目录 is a folder: give a file name for the backup")
    tmp = out.with_name(out.name + ".partial")
    tmp.unlink(missing_ok=True)
    pooled, src = _driver(engine)
    try:
        dst = _connect_like(src, tmp, engine)
        try:
            src.backup(dst)  # one step: a consistent snapshot even while others write
            dst.execute("PRAGMA journal_mode=DELETE")
            taken = int(time.time() * 1000)
            if files is not None:  # a node's: what restoring it on a new laptop needs besides the database
                dst.execute(f"CREATE TABLE {FILES_TABLE} (name TEXT PRIMARY KEY, data BLOB NOT NULL)")
                dst.executemany(f"INSERT INTO {FILES_TABLE} VALUES (?, ?)",
                                [*files.items(), ("taken_ms", str(taken).encode())])
                dst.commit()
            feeds, changesets = dst.execute(
                "SELECT (SELECT count(*) FROM lw_head), (SELECT count(*) FROM lw_log)").fetchone()
            ok = dst.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            dst.close()
    finally:
        pooled.close()
    if ok != "ok":
        tmp.unlink(missing_ok=True)
        raise ConfigError(f"备份副本未通过完整性检查 the copy failed its integrity check ({ok}); nothing was written")
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, out)
    fsync_dir(out.parent)
    return BackupInfo(out, out.stat().st_size, taken, int(feeds), int(changesets))


def read_files(path: Path | str) -> dict[str, bytes]:
    """The files a backup carries (key, config, taken_ms)."""
    engine = make_engine(path)
    try:
        pooled, con = _driver(engine)
        try:
            names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if FILES_TABLE not in names or "lw_meta" not in names:
                raise ConfigError(f"{path} 不是劳务备份文件 is not a Laowu backup (made by `backup --out`)")
            return {r[0]: bytes(r[1]) for r in con.execute(f"SELECT name, data FROM {FILES_TABLE}")}
        finally:
            pooled.close()
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"{path} 不是劳务备份文件 is not a Laowu backup: {exc}") from exc
    finally:
        engine.dispose()


def author_of(engine: Engine) -> bytes:
    with engine.connect() as conn:
        r = conn.execute(select(t.meta.c.value).where(t.meta.c.key == "author")).first()
    if r is None:
        raise ConfigError("备份里没有节点身份 the backup holds no node identity")
    return bytes(msgpack.unpackb(r.value))


def install(backup_file: Path | str, db: Path, *, expect_author: bytes | None) -> tuple[dict[str, bytes], Path | None]:
    """Put `backup_file` in place of `db`, marked restored; the files it carried, and where the
    database it replaced was kept (None if there was none)."""
    backup_file = Path(backup_file)
    files = read_files(backup_file)
    staged = db.with_name(db.name + ".restoring")
    staged.write_bytes(backup_file.read_bytes())
    engine = make_engine(staged)
    try:
        author = author_of(engine)
        if expect_author is not None and author != expect_author:
            raise ConfigError("这个备份属于另一台节点 this backup belongs to another node (its key differs from this "
                              "node's key): nothing was changed")
        taken = int(files.get("taken_ms", b"0"))
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP TABLE {FILES_TABLE}")
            conn.execute(upsert(engine, t.meta, ["key"]), {"key": RESTORED, "value": codec.pack(taken)})
    except Exception:
        engine.dispose()
        staged.unlink(missing_ok=True)
        raise
    engine.dispose()
    kept = None
    if db.exists():
        kept = db.with_name(f"{db.name}.before-restore-{time.strftime('%Y%m%d-%H%M%S')}")
        os.replace(db, kept)
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    os.replace(staged, db)
    return files, kept


def restored_since(engine: Engine) -> int | None:
    """When the backup restored here was taken (ms), until a sync has brought the feed back; else None."""
    with engine.connect() as conn:
        r = conn.execute(select(t.meta.c.value).where(t.meta.c.key == RESTORED)).first()
    return None if r is None else int(msgpack.unpackb(r.value))


def synced_after_restore(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(delete(t.meta).where(t.meta.c.key == RESTORED))
