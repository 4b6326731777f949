"""Wide state rows: one merge-state row per replicated row, a group of columns per declared field.

For each table a model declares (`node.engine.schema.replicated`), `lw_state_<table>` holds one row
per replicated row (`row`, its 16-byte id) and, for each field of the model, the five columns
`lw_field` holds per field elsewhere: `<field>__rank`, `__hlc`, `__author`, `__val`, `__mat` (docs/
engine.md "State layout"). `<field>__hlc` is NULL while the field has no state. Fields a build does
not know (and tables it does not know) keep their state in `lw_field`, and OR-set tags in `lw_set`.

Which fields have columns is a **layout**, table → fields. The store uses today's models' layout
(`current`); a migration passes the one its database has at that revision (`of`), so a revision
written today keeps working when a later one adds a field. This module only names and builds; the
statements that merge and materialize are in `node.engine.rowstate`.
"""
from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from sqlalchemy import BigInteger, Column, Connection, Integer, LargeBinary, MetaData, Table, Text, inspect, text

Layout = Mapping[str, tuple[str, ...]]
PARTS = ("rank", "hlc", "author", "val", "mat")
PREFIX = "lw_state_"
NARROW: Layout = {}  # every field in lw_field: the layout of revision 0007

_declared: dict[str, tuple[str, ...]] = {}  # today's models: table → fields, in declaration order


def name(table: str) -> str:
    """The state table of a replicated table."""
    return PREFIX + table


def col(field: str, part: str) -> str:
    """The column holding `part` (one of PARTS) of `field`'s state."""
    return f"{field}__{part}"


def columns(fields: tuple[str, ...]) -> list[Column[Any]]:
    """The state table's columns for `fields`: `row`, then five per field (`field_columns`)."""
    return [Column("row", LargeBinary(16), primary_key=True), *[c for f in fields for c in field_columns(f)]]


def field_columns(field: str) -> list[Column[Any]]:
    """One field's five state columns, all nullable (as lw_field's, whose `rank`, `hlc` and `author`
    are never NULL where a field has state). A migration that adds a field to a model adds these
    to `lw_state_<table>` and calls `rematerialize`, which moves the field's state here."""
    return [Column(col(field, "rank"), Integer), Column(col(field, "hlc"), BigInteger),
            Column(col(field, "author"), LargeBinary(32)), Column(col(field, "val"), LargeBinary),
            Column(col(field, "mat"), Text)]


def declare(table: str, fields: tuple[str, ...], metadata: MetaData) -> None:
    """Add `table`'s state table to the models' metadata (created with them, compared by the schema test)."""
    _declared[table] = fields
    if name(table) not in metadata.tables:
        Table(name(table), metadata, *columns(fields))


def current() -> Layout:
    """Today's models' layout."""
    return _declared


def of(conn: Connection) -> Layout:
    """The layout a database has (a migration's view: its state tables and their columns)."""
    out: dict[str, tuple[str, ...]] = {}
    insp = inspect(conn)
    for tb in insp.get_table_names():
        if tb.startswith(PREFIX):
            names = [c["name"] for c in insp.get_columns(tb)]
            out[tb[len(PREFIX):]] = tuple(n[: -len("__hlc")] for n in names if n.endswith("__hlc"))
    return out


@functools.lru_cache(maxsize=None)
def table(tb: str, fields: tuple[str, ...]) -> Table:
    """The state table of `tb` with the columns of `fields` (a standalone Table: statements only)."""
    return Table(name(tb), MetaData(), *columns(fields))


# -- statements (text: one per table and set of fields, on both backends) -------------------------


def _q(ident: str) -> str:
    return f'"{ident}"'


def mark(paramstyle: str) -> str:
    """The driver's placeholder: sqlite3 binds `?`, psycopg `%s`."""
    return "?" if paramstyle == "qmark" else "%s"


@functools.lru_cache(maxsize=4096)
def upsert_sql(ph: str, tb: str, fields: tuple[str, ...], sets: tuple[str, ...] = ()) -> str:
    """Merge one row's `fields` (lww or lattice) and write its `sets` (OR-set fields: a marker and
    the set's JSON, computed from lw_set after this batch's tags): parameters `row`, then PARTS of
    each field of `fields`, then of `sets`.

    Each of `fields` takes the incoming five columns `CASE WHEN` the stored field has no state or
    the incoming `(rank, hlc, author, val)` is greater (row values compare lexicographically on
    SQLite and PostgreSQL; blobs bytewise, then by length). Every expression of a SET reads the
    row as it was, so the condition is judged on the stored clock for all five. A set field's
    columns are replaced: its JSON was computed from every tag the row holds."""
    n = _q(name(tb))
    cols = ["row", *[col(f, p) for f in (*fields, *sets) for p in PARTS]]
    assign = []
    for f in fields:
        ours = ", ".join(f"{n}.{_q(col(f, p))}" for p in PARTS[:4])
        theirs = ", ".join(f"excluded.{_q(col(f, p))}" for p in PARTS[:4])
        newer = f"{n}.{_q(col(f, 'hlc'))} IS NULL OR ({theirs}) > ({ours})"
        assign += [f"{_q(c)} = CASE WHEN {newer} THEN excluded.{_q(c)} ELSE {n}.{_q(c)} END"
                   for c in (col(f, p) for p in PARTS)]
    assign += [f"{_q(col(f, p))} = excluded.{_q(col(f, p))}" for f in sets for p in PARTS]
    return (f"INSERT INTO {n} ({', '.join(map(_q, cols))}) VALUES ({', '.join([ph] * len(cols))}) "
            f"ON CONFLICT ({_q('row')}) DO UPDATE SET {', '.join(assign)}")


# -- moving state between lw_field and the state tables (migrations) ------------------------------

WIDEN_CHUNK = 20_000  # rows per INSERT … SELECT … GROUP BY: the database's sort and memory stay bounded


def widen(conn: Connection, tb: str, fields: tuple[str, ...], chunk: int | None = None) -> int:
    """Move the lw_field state of `fields` of `tb` into its state table (which has their columns):
    one `INSERT … SELECT … GROUP BY row` per chunk of rows in key order, then one DELETE. A row that
    already has a state row keeps the fields this does not move. Returns the rows moved."""
    if not fields:
        return 0
    pg = conn.dialect.name == "postgresql"
    n = _q(name(tb))
    picked = ", ".join(f"'{f}'" for f in fields)  # field names are identifiers of today's models

    def part(f: str, p: str) -> str:
        if pg and p in ("author", "val"):  # PostgreSQL has no max(bytea): the one value, by FILTER
            return f"(array_agg({p}) FILTER (WHERE field = '{f}'))[1]"
        return f"MAX(CASE WHEN field = '{f}' THEN {p} END)"

    cols = [col(f, p) for f in fields for p in PARTS]
    keep = ", ".join(f"{_q(c)} = CASE WHEN excluded.{_q(col(c.rsplit('__', 1)[0], 'hlc'))} IS NULL "
                     f"THEN {n}.{_q(c)} ELSE excluded.{_q(c)} END" for c in cols)
    insert = (f"INSERT INTO {n} ({_q('row')}, {', '.join(map(_q, cols))}) "
              f"SELECT {_q('row')}, {', '.join(part(f, p) for f in fields for p in PARTS)} FROM lw_field "
              f"WHERE tbl = :tb AND field IN ({picked}) AND {_q('row')} > :lo {{upper}}"
              f"GROUP BY {_q('row')} ON CONFLICT ({_q('row')}) DO UPDATE SET {keep}")
    bound = text(f"SELECT {_q('row')} FROM lw_row WHERE tbl = :tb AND {_q('row')} > :lo "
                 f"ORDER BY {_q('row')} LIMIT 1 OFFSET :n")
    lo, moved = b"", 0
    while True:
        hi = conn.execute(bound, {"tb": tb, "lo": lo, "n": (chunk or WIDEN_CHUNK) - 1}).scalar()
        upper = "" if hi is None else f"AND {_q('row')} <= :hi "
        got = conn.execute(text(insert.format(upper=upper)), {"tb": tb, "lo": lo, "hi": hi})
        moved += max(got.rowcount or 0, 0)
        if hi is None:
            break
        lo = hi
    conn.execute(text(f"DELETE FROM lw_field WHERE tbl = :tb AND field IN ({picked})"), {"tb": tb})
    return moved


def narrow(conn: Connection, tb: str, fields: tuple[str, ...]) -> None:
    """The other way (a downgrade): each field's state back into lw_field rows, one INSERT … SELECT
    per field; the caller drops the state table."""
    n = _q(name(tb))
    for f in fields:
        parts = ", ".join(_q(col(f, p)) for p in PARTS)
        conn.execute(text(f"INSERT INTO lw_field (tbl, {_q('row')}, field, rank, hlc, author, val, mat) "
                          f"SELECT :tb, {_q('row')}, :f, {parts} FROM {n} WHERE {_q(col(f, 'hlc'))} IS NOT NULL"),
                     {"tb": tb, "f": f})
