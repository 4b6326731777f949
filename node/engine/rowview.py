"""Read-only access to materialized rows for semantic rules, inside the applying transaction."""
from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Connection, bindparam, select

from conflict.semantic import RowValues
from node.engine import schema


class SqlRowView:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def find(self, table: str, **equals: Any) -> list[tuple[bytes, RowValues]]:
        cls = schema.TABLES.get(table)
        if cls is None:
            return []
        q = _matching(table, tuple(sorted(equals)))
        return [(bytes.fromhex(r.id), dict(r._mapping)) for r in self.conn.execute(q, equals)]


@functools.lru_cache(maxsize=None)
def _matching(table: str, columns: tuple[str, ...]) -> Any:
    """SELECT of `table`'s rows whose `columns` equal bound values, built once: a rule runs on every
    row a save or a changeset touches, and building a statement cost more than SQLite takes to run it."""
    tbl: Any = schema.TABLES[table].__table__  # type: ignore[attr-defined]
    return select(tbl).where(*(tbl.c[c] == bindparam(c) for c in columns))
