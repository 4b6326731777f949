"""Read-only access to materialized rows for semantic rules, inside the applying transaction."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from conflict.semantic import RowValues
from node.engine import schema


class SqlRowView:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def find(self, table: str, **equals: Any) -> list[tuple[bytes, RowValues]]:
        cls = schema.TABLES.get(table)
        if cls is None:
            return []
        tbl: Any = cls.__table__  # type: ignore[attr-defined]
        q = select(tbl).where(*[tbl.c[k] == v for k, v in equals.items()])
        return [(bytes.fromhex(r.id), dict(r._mapping)) for r in self.conn.execute(q)]
