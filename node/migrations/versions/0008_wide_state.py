"""Wide state rows (issue 13, engine v2): the lw_field rows of every field a model declares move into
one row per replicated row of `lw_state_<table>`, a group of five columns per field (rank, hlc,
author, val, mat; node/engine/widestate.py, docs/engine.md). Fields a model does not declare, tables
this build does not know and OR-set tags stay in lw_field and lw_set.

Set-based on both backends: one `INSERT … SELECT … GROUP BY row` per table and chunk of
`widestate.WIDEN_CHUNK` rows in key order (nothing passes through Python), then one DELETE of the
moved lw_field rows. The downgrade puts each field back with one `INSERT … SELECT` and drops the
state tables.

Revision ID: 0008_wide_state
Revises: 0007_field_state
"""
from __future__ import annotations

from alembic import op
from sqlalchemy import inspect

from node.engine import schema, widestate

revision = "0008_wide_state"
down_revision = "0007_field_state"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    present = set(inspect(conn).get_table_names())
    for tb, cls in sorted(schema.TABLES.items()):
        if tb not in present:
            continue  # a table a later revision creates: it creates its state table too
        # The fields this revision's table has (a column a later revision adds gets its state columns there).
        has = {c["name"] for c in inspect(conn).get_columns(tb)}
        fields = tuple(f for f in schema.columns(cls) if f in has)
        op.create_table(widestate.name(tb), *widestate.columns(fields))
        widestate.widen(conn, tb, fields)


def downgrade() -> None:
    conn = op.get_bind()
    for tb, fields in sorted(widestate.of(conn).items()):
        widestate.narrow(conn, tb, fields)
        op.drop_table(widestate.name(tb))
