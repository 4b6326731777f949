"""Backups of a node's (or a SQLite hub's) database, and restoring one without forking the feed.

`backup()` takes a consistent copy while the database is in use, through SQLite's online backup
API on the store's own driver connection: writers may go on, the copy is one moment's state. An
encrypted node database (SQLCipher) is copied into a file keyed the same way, so the backup is
encrypted like the database. A node's backup is a zip of that copy, its key file (sealed under the
operator's passphrase; the database key derives from it) and config.json, so one file restores a
laptop whose disk died; a hub's is the bare database file.

`restore()` puts a backup in place of the database (the current one is kept beside it, renamed, never
deleted) and marks the database "restored". A restored laptop must not write seqs of its feed that it
already wrote after the backup was taken: the sync client pulls before it seals (DESIGN §4), so its
next sync brings those changesets back and it continues the feed; until that sync has happened the
mark makes every other way of sealing (a USB bundle) refuse, saying why.
"""
from __future__ import annotations

import json
import os
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack
from sqlalchemy import Engine, delete, select

from node.engine import tables as t
from node.engine.db import _key_pragma, make_engine, upsert
from node.files import fsync_dir
from protocol import codec
from protocol.errors import ConfigError

DATABASE, MANIFEST = "database.sqlite", "backup.json"  # members of a node backup (a zip), beside node.key, config.json
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


def _connect_like(src: Any, path: Path, db_key: bytes | None) -> Any:
    """A connection to `path` by the same driver as `src`, keyed like it when the database is encrypted."""
    dst = type(src)(str(path))
    if db_key is not None:
        dst.execute(_key_pragma(db_key))
    return dst


def backup(engine: Engine, out: Path | str, *, files: dict[str, bytes] | None = None,
           db_key: bytes | None = None) -> BackupInfo:
    """Copy the database behind `engine` to `out` (written whole, then renamed into place), encrypted
    under `db_key` when the database is. A hub's copy is the bare database; a node passes `files` (its
    key file, sealed under the passphrase, and config) and gets a zip of the copy and those files: the
    key must stay readable beside an encrypted database, since the database key derives from it."""
    out = Path(out)
    if out.exists() and out.is_dir():
        raise ConfigError(f"{out} 是目录 is a folder: give a file name for the backup")
    tmp = out.with_name(out.name + ".partial")
    tmp.unlink(missing_ok=True)
    pooled, src = _driver(engine)
    try:
        dst = _connect_like(src, tmp, db_key)
        try:
            src.backup(dst)  # one step: a consistent snapshot even while others write
            dst.execute("PRAGMA journal_mode=DELETE")
            taken = int(time.time() * 1000)
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
    if files is not None:  # a node's: what restoring it on a new laptop needs besides the database
        packed = out.with_name(out.name + ".zip-partial")
        with zipfile.ZipFile(packed, "w", zipfile.ZIP_STORED) as z:
            z.write(tmp, DATABASE)
            for name, data in files.items():
                z.writestr(name, data)
            z.writestr(MANIFEST, json.dumps({"format": 1, "taken_ms": taken, "encrypted": db_key is not None}))
        tmp.unlink()
        tmp = packed
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, out)
    fsync_dir(out.parent)
    return BackupInfo(out, out.stat().st_size, taken, int(feeds), int(changesets))


def read_files(path: Path | str) -> dict[str, bytes]:
    """The small files a node backup carries (node.key, config.json, backup.json), not the database."""
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if DATABASE not in names or MANIFEST not in names:
                raise ConfigError(f"{path} 不是劳务备份文件 is not a Laowu backup (made by `laowu-node backup`)")
            return {n: z.read(n) for n in names if n != DATABASE}
    except (zipfile.BadZipFile, FileNotFoundError) as exc:
        raise ConfigError(f"{path} 不是劳务备份文件 is not a Laowu backup (made by `laowu-node backup`): {exc}") from exc


def author_of(engine: Engine) -> bytes:
    with engine.connect() as conn:
        r = conn.execute(select(t.meta.c.value).where(t.meta.c.key == "author")).first()
    if r is None:
        raise ConfigError("备份里没有节点身份 the backup holds no node identity")
    return bytes(msgpack.unpackb(r.value))


def install(backup_file: Path | str, db: Path, *, expect_author: bytes,
            db_key: bytes | None) -> tuple[dict[str, bytes], Path | None]:
    """Put the database of `backup_file` in place of `db`, marked restored; the files it carried, and
    where the database it replaced was kept (None if there was none). `db_key` opens an encrypted one."""
    files = read_files(backup_file)
    staged = db.with_name(db.name + ".restoring")
    with zipfile.ZipFile(backup_file) as z, open(staged, "wb") as f:
        f.write(z.read(DATABASE))
    engine = make_engine(staged, db_key=db_key if json.loads(files[MANIFEST]).get("encrypted") else None)
    try:
        author = author_of(engine)
        if author != expect_author:
            raise ConfigError("这个备份属于另一台节点 this backup belongs to another node (its key differs from this "
                              "node's key): nothing was changed")
        taken = int(json.loads(files[MANIFEST])["taken_ms"])
        with engine.begin() as conn:
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
