"""Merge state per field (issue 13.1): the msgpack map of `lw_row.state` becomes rows of `lw_field`
(one per lww or lattice field: its clock, value and materialized text) and `lw_set` (one per OR-set
element and tag), so one set-based statement per table merges a batch (node/engine/rowstate.py,
docs/engine.md). `lw_row` keeps the tombstone and gains `feed_scope`; its `state` column goes.

Revision ID: 0007_field_state
Revises: 0006_log_indexes
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy import MetaData, Table, inspect, select, text

from node.engine import rowstate, schema
from node.migrations import legacy_state

revision = "0007_field_state"
down_revision = "0006_log_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lw_field",
        sa.Column("tbl", sa.String(64), nullable=False),
        sa.Column("row", sa.LargeBinary(16), nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("hlc", sa.BigInteger(), nullable=False),
        sa.Column("author", sa.LargeBinary(32), nullable=False),
        sa.Column("val", sa.LargeBinary(), nullable=True),
        sa.Column("mat", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("tbl", "row", "field"),
    )
    op.create_table(
        "lw_set",
        sa.Column("tbl", sa.String(64), nullable=False),
        sa.Column("row", sa.LargeBinary(16), nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("elem", sa.LargeBinary(), nullable=False),
        sa.Column("hlc", sa.BigInteger(), nullable=False),
        sa.Column("author", sa.LargeBinary(), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tbl", "row", "field", "elem", "hlc", "author"),
    )
    conn = op.get_bind()
    registry = schema.registry()
    legacy = Table("lw_row", MetaData(), autoload_with=conn)
    states, scopes = {}, {}
    for r in conn.execute(select(legacy)):
        states[(r.tbl, r.row)] = legacy_state.decode(registry, r.tbl, r)
    for (tb, row), st in states.items():
        if "scope" not in st.fields and tb in schema.TABLES:
            scopes[(tb, row)] = _shown_scope(conn, tb, row)
    conn.execute(text("DELETE FROM lw_row"))
    with op.batch_alter_table("lw_row") as batch:
        batch.drop_column("state")
        batch.add_column(sa.Column("feed_scope", sa.String(12), nullable=True))
    rowstate.save(conn, registry, states, scopes)


def _shown_scope(conn: Any, table: str, row: bytes) -> str | None:
    """The place a row without a `scope` field showed: what 0.2.0 took from the feed that wrote it."""
    if table not in inspect(conn).get_table_names():
        return None
    r = conn.execute(text(f"SELECT scope FROM {table} WHERE id = :id"), {"id": row.hex()}).first()
    return None if r is None else r.scope


def downgrade() -> None:
    conn = op.get_bind()
    registry = schema.registry()
    states = rowstate.load_all(conn, registry)
    conn.execute(text("DELETE FROM lw_row"))
    with op.batch_alter_table("lw_row") as batch:
        batch.drop_column("feed_scope")
        batch.add_column(sa.Column("state", sa.LargeBinary(), nullable=False, server_default=sa.text("''")))
    legacy = Table("lw_row", MetaData(), autoload_with=conn)
    rows = [{"tbl": tb, "row": row, "state": legacy_state.encode(registry, tb, st),
             "tomb_hlc": st.tombstone[0] if st.tombstone else None,
             "tomb_author": st.tombstone[1] if st.tombstone else None} for (tb, row), st in states.items()]
    for i in range(0, len(rows), 500):
        conn.execute(legacy.insert(), rows[i : i + 500])
    op.drop_table("lw_set")
    op.drop_table("lw_field")
