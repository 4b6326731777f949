"""Schema migrations (alembic): every database of every earlier release upgrades in place (DESIGN §7).

A database is created at the newest revision (`stamp_head`, right after `create_all`) and upgraded
in place when a newer build opens it (`upgrade`). A database made by release 0.1.0 has no
`alembic_version` table: it is recognised by its `lw_meta` table and stamped at the baseline
revision (the 0.1.0 schema) before upgrading. The whole upgrade is one transaction, the database's
only writer (BEGIN IMMEDIATE on SQLite, the writer lock on PostgreSQL): two processes opening one
old database at once upgrade it once, and a failed upgrade leaves it as it was.

Opening a database that is already current costs one small query and no alembic import (a node's
every CLI command opens its store): the head is read from the revision files themselves.
How to add a migration: docs/migrations.md.
"""
from __future__ import annotations

import ast
import functools
import logging
import re
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Connection, Engine, MetaData, PrimaryKeyConstraint, String, Table, inspect, text

from node import logs
from node.engine import stats
from node.engine.db import begin_write
from protocol.errors import ConfigError

HERE = Path(__file__).resolve().parent
VERSIONS = HERE / "versions"
BASELINE = "0001_baseline_0_1_0"  # the schema release 0.1.0 wrote, which had no alembic_version table
VERSION_TABLE = "alembic_version"
log = logging.getLogger("laowu.migrations")

_ASSIGN = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(.+)$", re.M)


@functools.lru_cache(maxsize=1)
def revisions() -> dict[str, tuple[str, ...]]:
    """revision → the revisions it follows, read from the revision files without importing alembic."""
    out: dict[str, tuple[str, ...]] = {}
    for path in sorted(VERSIONS.glob("*.py")):
        found = dict(_ASSIGN.findall(path.read_text(encoding="utf-8")))
        if "revision" not in found:
            continue
        down = ast.literal_eval(found.get("down_revision", "None"))
        out[ast.literal_eval(found["revision"])] = () if down is None else (down,) if isinstance(down, str) else tuple(down)
    return out


def managed(name: str | None, kind: str, _parent: object = None) -> bool:
    """alembic's include_name: only the replica's own tables are ours to migrate; a machine's local
    tables beside them (the web screens' accounts and sessions, `node/web/tables.py`) are not."""
    from node import domain  # noqa: F401  (registers the domain tables)
    from node.engine import tables as t

    return kind != "table" or name in t.metadata.tables


def heads() -> tuple[str, ...]:
    """The revisions nothing follows: exactly one when the chain is kept straight."""
    followed = {d for downs in revisions().values() for d in downs}
    return tuple(sorted(r for r in revisions() if r not in followed))


def current(conn: Connection) -> tuple[str, ...] | None:
    """The revisions a database is stamped at; None when it has no version table."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    return tuple(sorted(r[0] for r in conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))))


def config(connection: Connection | None = None) -> Any:
    """An alembic Config for our scripts, bound to `connection` (env.py runs on it) when given."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def stamp_head(conn: Connection) -> None:
    """Mark a database whose tables were just created from the current models as current: alembic's
    version table as `alembic stamp head` makes it (alembic.ddl.impl.version_table_impl), written
    without importing alembic, which cost every `init` 0.15 s of CPU."""
    version = Table(VERSION_TABLE, MetaData(), Column("version_num", String(32), nullable=False),
                    PrimaryKeyConstraint("version_num", name=f"{VERSION_TABLE}_pkc"))
    version.create(conn, checkfirst=True)
    conn.execute(version.insert(), [{"version_num": head} for head in heads()])


def upgrade(engine: Engine) -> tuple[str, ...] | None:
    """Bring the database up to the head revision, in place; what it was at before (None: current or
    empty). Raises ConfigError, saying what to do, when it cannot."""
    with engine.connect() as conn:
        if current(conn) == heads():
            return None
    from alembic import command

    try:
        with engine.begin() as conn:
            begin_write(conn)
            was = current(conn)  # again, inside the lock: another process may have upgraded it meanwhile
            if was == heads():
                return None
            if not was:
                if not inspect(conn).has_table("lw_meta"):
                    return None  # not a Laowu database (or an empty one): nothing to upgrade
                command.stamp(config(conn), BASELINE)
                was = (BASELINE,)
            unknown = [r for r in was if r not in revisions()]
            if unknown:
                raise ConfigError(
                    f"数据库由更新版本的劳务写入(结构版本 {', '.join(unknown)}),请安装该版本或更新的版本 / "
                    f"this database was written by a newer Laowu (schema revision {', '.join(unknown)}); "
                    "install that release or a newer one to open it")
            command.upgrade(config(conn), "heads")
            logs.event(log, "database.upgraded", was=",".join(was), now=",".join(heads()))
    except ConfigError:
        raise
    except Exception as exc:  # any failure of a migration: the transaction rolled back, nothing changed
        raise ConfigError(
            f"数据库升级失败,数据库未被改动;请先备份数据库文件,再联系县里的技术人员 / upgrading the database failed "
            f"and it was left unchanged ({type(exc).__name__}: {exc}); back up the database file and report this "
            "to the county's support staff") from exc
    stats.refresh(engine)  # a migration may rewrite whole tables: plans from before it would mislead
    return was
