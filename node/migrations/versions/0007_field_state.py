"""Merge state per field (issue 13.1): the msgpack map of `lw_row.state` becomes rows of `lw_field`
(one per lww or lattice field: its clock, value and materialized text) and `lw_set` (one per OR-set
element and tag), so one set-based statement per table merges a batch (node/engine/rowstate.py,
docs/engine.md). `lw_row` keeps the tombstone and gains `feed_scope`; its `state` column goes.

Revision ID: 0007_field_state
Revises: 0006_log_indexes
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy import MetaData, Table, inspect, select, text, tuple_

from node.engine import rowstate, schema, widestate
from node.engine import tables as t
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
    # The old rows move aside in the database (one INSERT … SELECT), lw_row takes today's shape, and
    # the states come back `legacy_state.CHUNK` rows at a time: a hub of a million rows never holds
    # more than a chunk of them in memory (the first version loaded them all: gigabytes).
    _stage(conn, "lw_row", ("tbl", "row", "state", "tomb_hlc", "tomb_author"))
    with op.batch_alter_table("lw_row") as batch:
        batch.drop_column("state")
        batch.add_column(sa.Column("feed_scope", sa.String(12), nullable=True))
    present = set(inspect(conn).get_table_names())
    for chunk in _chunks(conn):
        states = {(r.tbl, r.row): legacy_state.decode(registry, r.tbl, r) for r in chunk}
        scopes = {(tb, row): _shown_scope(conn, present, tb, row) for (tb, row), st in states.items()
                  if "scope" not in st.fields and tb in schema.TABLES}
        rowstate.save(conn, registry, states, scopes, widestate.NARROW)  # 0007's layout: every field in lw_field
    op.drop_table(STAGE)


STAGE = "lw_row_0006"  # the rows on their way, in the 0.2.x shape (tbl, row, state, tombstone)


def _stage(conn: Any, source: str, columns: tuple[str, ...]) -> None:
    """Copy `source`'s `columns` into the staging table (0.2.x shape, keyed like lw_row) and empty it."""
    op.create_table(
        STAGE,
        sa.Column("tbl", sa.String(64), nullable=False),
        sa.Column("row", sa.LargeBinary(16), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=True),
        sa.Column("tomb_hlc", sa.BigInteger(), nullable=True),
        sa.Column("tomb_author", sa.LargeBinary(32), nullable=True),
        sa.PrimaryKeyConstraint("tbl", "row"),
    )
    if source:
        src = Table(source, MetaData(), autoload_with=conn)
        stage = Table(STAGE, MetaData(), autoload_with=conn)
        conn.execute(stage.insert().from_select(list(columns), select(*[src.c[c] for c in columns])))
        conn.execute(src.delete())


def _chunks(conn: Any) -> Iterator[list[Any]]:
    """The staged rows in key order, `legacy_state.CHUNK` at a time (keyset pagination on the key)."""
    stage = Table(STAGE, MetaData(), autoload_with=conn)
    after: tuple[str, bytes] | None = None
    while True:
        q = select(stage).order_by(stage.c.tbl, stage.c.row).limit(legacy_state.CHUNK)
        if after is not None:
            q = q.where(tuple_(stage.c.tbl, stage.c.row) > tuple_(*after))
        chunk = conn.execute(q).all()
        if not chunk:
            return
        yield chunk
        after = (chunk[-1].tbl, chunk[-1].row)


def _shown_scope(conn: Any, present: set[str], table: str, row: bytes) -> str | None:
    """The place a row without a `scope` field showed: what 0.2.0 took from the feed that wrote it."""
    if table not in present:
        return None
    r = conn.execute(text(f"SELECT scope FROM {table} WHERE id = :id"), {"id": row.hex()}).first()
    return None if r is None else r.scope


def downgrade() -> None:
    conn = op.get_bind()
    registry = schema.registry()
    # Each chunk of rows is read from the per-field tables and written, encoded, into the staging
    # table; then lw_row takes the 0.2.x shape and gets the staged rows back in one INSERT … SELECT.
    _stage(conn, "", ())
    stage = Table(STAGE, MetaData(), autoload_with=conn)
    after: tuple[str, bytes] | None = None
    while True:
        q = select(t.rows.c.tbl, t.rows.c.row).order_by(t.rows.c.tbl, t.rows.c.row).limit(legacy_state.CHUNK)
        if after is not None:
            q = q.where(tuple_(t.rows.c.tbl, t.rows.c.row) > tuple_(*after))
        keys = [(r.tbl, r.row) for r in conn.execute(q)]
        if not keys:
            break
        states = rowstate.load(conn, registry, keys, widestate.NARROW)
        conn.execute(stage.insert(), [
            {"tbl": tb, "row": row, "state": legacy_state.encode(registry, tb, st),
             "tomb_hlc": st.tombstone[0] if st.tombstone else None,
             "tomb_author": st.tombstone[1] if st.tombstone else None} for (tb, row), st in states.items()])
        after = keys[-1]
    conn.execute(text("DELETE FROM lw_row"))
    with op.batch_alter_table("lw_row") as batch:
        batch.drop_column("feed_scope")
        batch.add_column(sa.Column("state", sa.LargeBinary(), nullable=False, server_default=sa.text("''")))
    legacy = Table("lw_row", MetaData(), autoload_with=conn)
    columns = ["tbl", "row", "state", "tomb_hlc", "tomb_author"]
    conn.execute(legacy.insert().from_select(columns, select(*[stage.c[c] for c in columns])))
    op.drop_table(STAGE)
    op.drop_table("lw_set")
    op.drop_table("lw_field")
