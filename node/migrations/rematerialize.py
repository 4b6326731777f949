"""Re-materialize a domain table from the merge state, for migrations that add columns or tables.

The merge state keeps every field a replica was sent, known or not (DESIGN §4: fields it does not
know are kept). A migration that adds a column, or a table, makes room for values a newer writer may
already have sent; calling `rematerialize(op.get_bind(), "person")` at the end of its `upgrade()`
writes them into the materialized rows, so they show up at once instead of after the row's next
edit. Only columns the database has at that revision are written, so an old migration keeps working
when later ones change the same table. Before revision 0007 the state is the msgpack map of
`lw_row.state` (`legacy_state`); from 0007 on, the per-field rows of `node.engine.rowstate`, and from
0008 on the wide state rows (`node.engine.widestate`) for the fields whose columns the database has:
a migration that adds a field to a model adds its columns to `lw_state_<table>` too, and this moves
the field's state there from lw_field before materializing. `rematerialize_where` rewrites only the
rows an SQL condition picks (0009: the rows an older release wrote with a JSON null).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, Connection, MetaData, Table, inspect, select, text

from conflict.row import row_values
from node.engine import tables as t
from node.engine import rowstate, schema, widestate
from node.engine.db import upsert
from node.migrations import legacy_state


def rematerialize(conn: Connection, table: str) -> int:
    """Rewrite every live row of `table` from its merge state; the number of live rows it holds."""
    cls = schema.TABLES[table]
    registry = schema.registry()
    present = {c["name"] for c in inspect(conn).get_columns(table)}
    if "state" in {c["name"] for c in inspect(conn).get_columns("lw_row")}:
        return _legacy(conn, table, cls.__table__, present)  # type: ignore[attr-defined]
    layout = widestate.of(conn)  # the state tables this revision has (0007: none, every field in lw_field)
    widestate.widen(conn, table, layout.get(table, ()))  # a field that just got its columns: its state moves in
    rowstate.rerender(conn, registry, table, layout)
    rows = [r.row for r in conn.execute(select(t.rows.c.row).where(t.rows.c.tbl == table))]
    rowstate.materialize(conn, table, rows, tuple(sorted(present)), layout)
    return len(conn.execute(select(cls.__table__.c.id)).all())  # type: ignore[attr-defined]


PAGE = 20_000  # rows `rematerialize_where` picks at a time, in key order: its memory is bounded by this


def rematerialize_where(conn: Connection, table: str, where: str, page: int | None = None) -> int:
    """Rewrite from their merge state the rows of `table` that `where` (SQL on the table's columns,
    portable) picks, as the merge path materializes them (`rowstate.materialize`, the revision's
    layout and columns), `PAGE` rows at a time in key order; the number of rows picked. For a
    revision repairing rows that an earlier migration wrote unlike the merge path; from 0007 on."""
    present = {c["name"] for c in inspect(conn).get_columns(table)}
    layout = widestate.of(conn)
    pick = text(f'SELECT id FROM "{table}" WHERE ({where}) AND id > :after ORDER BY id LIMIT :n')
    after, picked = "", 0
    while True:
        ids = [r.id for r in conn.execute(pick, {"after": after, "n": page or PAGE})]
        if not ids:
            return picked
        rowstate.materialize(conn, table, [bytes.fromhex(i) for i in ids], tuple(sorted(present)), layout)
        picked += len(ids)
        after = ids[-1]


def _legacy(conn: Connection, table: str, model: Any, present: set[str]) -> int:
    registry = schema.registry()
    cols = [c for c in model.columns if c.name in present]
    required = [c.name for c in cols if not c.nullable and c.name != "id"]
    # An empty JSON column is SQL NULL, as the merge path writes it (SQLAlchemy's JSON type binds
    # None as the JSON null 'null' unless told otherwise: what 0.1.0 and 0.2.0 wrote).
    target = Table(table, MetaData(), *[Column(c.name, JSON(none_as_null=True) if isinstance(c.type, JSON) else c.type,
                                               primary_key=c.primary_key) for c in cols])
    out: list[dict[str, Any]] = []
    legacy = Table("lw_row", MetaData(), autoload_with=conn)
    q = select(legacy).where(legacy.c.tbl == table, legacy.c.tomb_hlc.is_(None))
    for r in conn.execute(q):
        values = row_values(legacy_state.decode(registry, table, r), table, registry)
        rec = {c.name: values.get(c.name) if rowstate.fits(c, values.get(c.name)) else None for c in cols}
        rec["id"] = r.row.hex()
        if all(rec.get(name) is not None for name in required):
            out.append(rec)
    if out:
        conn.execute(upsert(conn.dialect.name, target, ["id"]), out)
    return len(out)
