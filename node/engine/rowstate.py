"""Row merge state in the database, merged and materialized by set-based SQL (docs/engine.md).

The conflict/ policies are the specification; this module computes the same states with a few
statements per table per batch instead of a Python merge per field:

    lw_row          one per replicated row: the feed scope that first wrote it, the delete tombstone
    lw_state_<tbl>  one per row of a table the model declares (`node.engine.widestate`): for each
                    declared field, its clock `(rank, hlc, author)`, the value's canonical bytes `val`
                    (msgpack, the exact value and the last tie-break) and `mat`, the value as its
                    materialized column takes it (text; NULL when it does not fit). A `set` field's
                    group holds only a marker (`hlc` 0) and `mat`, the set's JSON list
    lw_field        the same five per (row, field) for fields and tables this build does not know
    lw_set          one per (row, field, element, tag) of a `set` field: `removed` once a remove named it

LWW and lattice: one upsert per row, `INSERT ... ON CONFLICT (row) DO UPDATE SET` each field's columns
`CASE WHEN` the stored field has no state or `(rank, hlc, author, val) >` its stored clock; `rank`
is 0 for lww and the stage's rank for a lattice, so the order is exactly the policies' `(rank, hlc,
author)` then the value's bytes (in lw_field: one upsert per field, `WHERE` the same comparison).
OR-set: tags are rows; a remove upserts `removed = 1`, an add inserts `removed = 0` unless the row
exists (a tag removed before its add arrived stays removed). Row delete: the tombstone is the
greater `(hlc, author)`, the row's state rows are deleted, and edits to a tombstoned row are dropped
before they reach the statements. Materializing: one INSERT ... SELECT of the `mat` columns ... ON
CONFLICT (id) DO UPDATE writes the domain table, and one DELETE removes rows that are deleted or lack
a required value.
"""
from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from typing import Any, Callable

import msgpack
from sqlalchemy import (
    Column,
    Connection,
    MetaData,
    Table,
    bindparam,
    case,
    cast,
    delete,
    func,
    select,
    tuple_,
)
from sqlalchemy import types as sqltypes
from sqlalchemy.dialects import postgresql, sqlite

from conflict.lattice import Lattice, LatticeState
from conflict.lww import LwwState
from conflict.orset import SetState
from conflict.registry import Registry
from conflict.row import RowState
from conflict.types import Incoming
from node.engine import tables as t
from node.engine import schema, widestate
from node.engine.db import executemany
from node.engine.widestate import Layout
from protocol import codec
from protocol.changeset import DELETE_FIELD, Change

RowKey = tuple[str, bytes]
Render = Callable[[Any], "str | None"]
_TAG_LIMIT = 1 << 63  # a set remove may name a tag no change can carry (hlc >= 2^63): it can match no add
_CHUNK = 500


# -- values as their columns take them ------------------------------------------------------------


def fits(col: Any, value: Any) -> bool:
    """Whether a merged value can be stored in a materialized column as it is."""
    kind = col.type.impl if isinstance(col.type, sqltypes.TypeDecorator) else col.type  # sqlmodel's AutoString
    if value is None:
        return True
    if isinstance(kind, sqltypes.JSON):
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            return False
        return True
    if isinstance(kind, sqltypes.Boolean):
        return isinstance(value, int) and value in (0, 1)
    if isinstance(kind, sqltypes.String):
        # PostgreSQL enforces VARCHAR(n) and refuses NUL in text; SQLite does neither. Judged alike
        # on both, so a SQLite node and a PostgreSQL hub show the same rows and neither fails a batch.
        return isinstance(value, str) and "\x00" not in value and (kind.length is None or len(value) <= kind.length)
    if isinstance(kind, sqltypes.Integer):
        bits = 63 if isinstance(kind, sqltypes.BigInteger) else 15 if isinstance(kind, sqltypes.SmallInteger) else 31
        return isinstance(value, int) and not isinstance(value, bool) and -(1 << bits) <= value < (1 << bits)
    if isinstance(kind, (sqltypes.Float, sqltypes.Numeric)):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, (str, bytes)) or (isinstance(value, int) and -(1 << 63) <= value < (1 << 63))


def _text(col: Any) -> Callable[[Any], str]:
    """How a value that fits `col` is written into `mat` (text on both backends; cast back in SQL)."""
    kind = col.type.impl if isinstance(col.type, sqltypes.TypeDecorator) else col.type
    if isinstance(kind, sqltypes.JSON):
        return json.dumps  # what SQLAlchemy's JSON type writes
    if isinstance(kind, sqltypes.Boolean):
        return lambda v: "1" if v else "0"
    if isinstance(kind, sqltypes.String):
        return str
    if isinstance(kind, (sqltypes.Integer, sqltypes.Float, sqltypes.Numeric)):
        return repr
    return lambda v: v.hex() if isinstance(v, bytes) else str(v)


def renderer(col: Any) -> Render:
    """value → `mat` for `col`: its text when it fits, else None (kept in `val`, shown empty)."""
    kind = col.type.impl if isinstance(col.type, sqltypes.TypeDecorator) else col.type
    if isinstance(kind, sqltypes.String) and not isinstance(kind, sqltypes.Enum):
        limit = kind.length or (1 << 62)

        def text_value(value: Any) -> str | None:  # most fields: `fits` for a string column, inlined
            return value if type(value) is str and len(value) <= limit and "\x00" not in value else None

        return text_value
    text = _text(col)

    def render(value: Any) -> str | None:
        return None if value is None or not fits(col, value) else text(value)

    return render


def _nothing(value: Any) -> None:
    return None


def _renderers(table: str) -> dict[str, Render]:
    cls = schema.TABLES.get(table)
    return {} if cls is None else _column_renderers(cls)


@functools.lru_cache(maxsize=None)
def _column_renderers(cls: Any) -> dict[str, Render]:
    return {c.name: renderer(c) for c in cls.__table__.columns if c.name != "id"}


@functools.lru_cache(maxsize=None)
def _text_limits(table: str) -> dict[str, int]:
    """The length limit of each plain string column of `table` (what `renderer` inlines for them)."""
    cls = schema.TABLES.get(table)
    out: dict[str, int] = {}
    for c in [] if cls is None else cls.__table__.columns:  # type: ignore[attr-defined]
        kind = c.type.impl if isinstance(c.type, sqltypes.TypeDecorator) else c.type
        if c.name != "id" and isinstance(kind, sqltypes.String) and not isinstance(kind, sqltypes.Enum):
            out[c.name] = kind.length or (1 << 62)
    return out


def render(table: str, field: str, value: Any) -> str | None:
    """The `mat` text of a value of `table.field` (None: no such column, or it does not fit)."""
    return _renderers(table).get(field, _nothing)(value)


# -- statements, built once per dialect -----------------------------------------------------------


def _insert(dialect: str, table: Table) -> Any:
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


@functools.lru_cache(maxsize=None)
def _field_upsert(dialect: str) -> Any:
    ins = _insert(dialect, t.fields)
    f, x = t.fields.c, ins.excluded
    return ins.on_conflict_do_update(
        index_elements=["tbl", "row", "field"],
        set_={"rank": x.rank, "hlc": x.hlc, "author": x.author, "val": x.val, "mat": x.mat},
        where=tuple_(x.rank, x.hlc, x.author, x.val) > tuple_(f.rank, f.hlc, f.author, f.val))


@functools.lru_cache(maxsize=None)
def _set_mat(dialect: str) -> Any:
    ins = _insert(dialect, t.fields)
    return ins.on_conflict_do_update(index_elements=["tbl", "row", "field"], set_={"mat": ins.excluded.mat})


@functools.lru_cache(maxsize=None)
def _tag_upsert(dialect: str) -> Any:
    ins = _insert(dialect, t.set_tags)
    return ins.on_conflict_do_update(
        index_elements=["tbl", "row", "field", "elem", "hlc", "author"], set_={"removed": ins.excluded.removed},
        where=ins.excluded.removed > t.set_tags.c.removed)


@functools.lru_cache(maxsize=None)
def _row_insert(dialect: str) -> Any:
    return _insert(dialect, t.rows).on_conflict_do_nothing(index_elements=["tbl", "row"])


@functools.lru_cache(maxsize=None)
def _tomb_upsert(dialect: str) -> Any:
    ins = _insert(dialect, t.rows)
    r, x = t.rows.c, ins.excluded
    return ins.on_conflict_do_update(
        index_elements=["tbl", "row"], set_={"tomb_hlc": x.tomb_hlc, "tomb_author": x.tomb_author},
        where=r.tomb_hlc.is_(None) | (tuple_(x.tomb_hlc, x.tomb_author) > tuple_(r.tomb_hlc, r.tomb_author)))


_ROWS_IN: Any = bindparam("rows", expanding=True)
_TOMBSTONED = select(t.rows.c.row).where(
    t.rows.c.tbl == bindparam("tbl"), t.rows.c.row.in_(_ROWS_IN), t.rows.c.tomb_hlc.is_not(None))
_PURGE_FIELDS = delete(t.fields).where(t.fields.c.tbl == bindparam("tbl"), t.fields.c.row.in_(_ROWS_IN))
_PURGE_TAGS = delete(t.set_tags).where(t.set_tags.c.tbl == bindparam("tbl"), t.set_tags.c.row.in_(_ROWS_IN))
_PURGE_ROWS = delete(t.rows).where(t.rows.c.tbl == bindparam("tbl"), t.rows.c.row.in_(_ROWS_IN))
_LIVE_TAGS = (select(t.set_tags.c.row, t.set_tags.c.field, t.set_tags.c.elem)
              .where(t.set_tags.c.tbl == bindparam("tbl"), t.set_tags.c.row.in_(_ROWS_IN), t.set_tags.c.removed == 0))
_LOAD_ROWS = select(t.rows).where(t.rows.c.tbl == bindparam("tbl"), t.rows.c.row.in_(_ROWS_IN))
_LOAD_FIELDS = select(t.fields.c.row, t.fields.c.field, t.fields.c.rank, t.fields.c.hlc, t.fields.c.author,
                      t.fields.c.val).where(t.fields.c.tbl == bindparam("tbl"), t.fields.c.row.in_(_ROWS_IN))
_LOAD_TAGS = select(t.set_tags).where(t.set_tags.c.tbl == bindparam("tbl"), t.set_tags.c.row.in_(_ROWS_IN))


def _hex(dialect: str, col: Any) -> Any:
    """A row id as the materialized tables hold it: 32 lowercase hex characters."""
    return func.encode(col, "hex") if dialect == "postgresql" else func.lower(func.hex(col))


def _shown(dialect: str, table: str, fields: tuple[str, ...], cols: Sequence[Any]) -> Any:
    """SELECT id and `cols` of the live rows `:rows` of `table` from their state row's `mat`
    columns (no pivot): those whose required columns all have a value. A column whose field has no
    state columns (a migration's database at revision 0007) reads its lw_field row instead."""
    r = t.rows.c
    state = widestate.table(table, fields) if fields else None

    def held(name: str, part: str) -> Any:
        if state is not None and name in fields:
            return state.c[widestate.col(name, part)]
        f = t.fields.c
        return (select(f[part]).where(f.tbl == table, f.row == r.row, f.field == name)
                .correlate(t.rows).scalar_subquery())

    exprs: dict[str, Any] = {}
    for c in cols:
        value: Any = held(c.name, "mat")
        if c.name == "scope":  # a row that never carried a scope shows the feed that wrote it
            value = case((held("scope", "hlc").is_not(None), value), else_=r.feed_scope)
        exprs[c.name] = _cast(dialect, value, c)
    required = [exprs[c.name] for c in cols if not c.nullable]
    source = t.rows if state is None else t.rows.outerjoin(state, state.c.row == r.row)
    return (select(_hex(dialect, r.row).label("id"), *[e.label(n) for n, e in exprs.items()])
            .select_from(source)
            .where(r.tbl == table, r.row.in_(_ROWS_IN), r.tomb_hlc.is_(None), *[e.is_not(None) for e in required]))


def _cast(dialect: str, value: Any, col: Any) -> Any:
    kind = col.type.impl if isinstance(col.type, sqltypes.TypeDecorator) else col.type
    if isinstance(kind, sqltypes.String):
        return value
    if isinstance(kind, sqltypes.JSON):
        return cast(value, postgresql.JSON) if dialect == "postgresql" else value
    if isinstance(kind, sqltypes.Boolean):
        return cast(value, sqltypes.Boolean() if dialect == "postgresql" else sqltypes.Integer())
    if isinstance(kind, (sqltypes.Integer, sqltypes.Float, sqltypes.Numeric)):
        return cast(value, kind)
    return value


@functools.lru_cache(maxsize=None)
def _materializers(dialect: str, table: str, fields: tuple[str, ...],
                   names: tuple[str, ...] | None = None) -> tuple[Any, Any]:
    """(upsert of the rows that qualify, returning their ids; delete of the ids `:ids`) for
    `table`, whose state row holds `fields`, over the columns `names` (default: every column of
    today's model; a migration passes the ones its database has)."""
    model: Any = schema.TABLES[table].__table__  # type: ignore[attr-defined]
    cols = [c for c in model.columns if c.name != "id" and (names is None or c.name in names)]
    target = model if names is None else Table(
        table, MetaData(), *[Column(c.name, c.type, primary_key=c.primary_key)
                             for c in model.columns if c.name == "id" or c in cols])
    ins = _insert(dialect, target)
    upsert = ins.from_select(["id", *[c.name for c in cols]], _shown(dialect, table, fields, cols))
    upsert = upsert.on_conflict_do_update(index_elements=["id"], set_={c.name: ins.excluded[c.name] for c in cols})
    stale = delete(target).where(target.c.id.in_(bindparam("ids", expanding=True)))
    return upsert.returning(target.c.id), stale


@functools.lru_cache(maxsize=None)
def _wide_purge(table: str, fields: tuple[str, ...]) -> Any:
    w = widestate.table(table, fields)
    return delete(w).where(w.c.row.in_(_ROWS_IN))


@functools.lru_cache(maxsize=None)
def _wide_load(table: str, fields: tuple[str, ...]) -> Any:
    w = widestate.table(table, fields)
    return select(w).where(w.c.row.in_(_ROWS_IN))


# -- merging --------------------------------------------------------------------------------------


def merge(conn: Connection, registry: Registry, groups: Iterable[tuple[Sequence[Change], bytes, str]],
          layout: Layout | None = None) -> dict[str, list[bytes]]:
    """Merge `(changes, author, feed scope)` groups (a changeset's, a local write's) into the state
    tables; the rows touched, per table.

    Equal to folding the changes through `conflict.row.merge_row` in any order (docs/engine.md;
    tests/hub/test_sql_merge.py): each statement is a join of a semilattice, so batching,
    order and duplicates do not matter."""
    Edits = dict[bytes, list[Change]]  # author → the changes it wrote
    by_table: dict[str, tuple[dict[bytes, str], Edits, dict[bytes, tuple[int, bytes]]]] = {}
    for changes, author, feed_scope in groups:
        for change in changes:
            got = by_table.get(change.table)
            if got is None:
                got = by_table[change.table] = ({}, {}, {})
            rows, edits, deletes = got
            row = change.row
            if row not in rows:
                rows[row] = feed_scope
            if change.field == DELETE_FIELD:
                tag = (change.hlc, author)
                old = deletes.get(row)
                if old is None or tag > old:
                    deletes[row] = tag
                continue
            mine = edits.get(author)
            if mine is None:
                mine = edits[author] = []
            mine.append(change)
    wide = widestate.current() if layout is None else layout
    for table, (rows, edits, deletes) in by_table.items():
        _merge_table(conn, registry, table, wide.get(table, ()), rows, edits, deletes)
    return {table: list(got[0]) for table, got in by_table.items()}


_ROW_COLS = ("tbl", "row", "feed_scope", "tomb_hlc", "tomb_author")
_FIELD_COLS = ("tbl", "row", "field", "rank", "hlc", "author", "val", "mat")
_TAG_COLS = ("tbl", "row", "field", "elem", "hlc", "author", "removed")
Clock = tuple[int, int, bytes, bytes]  # (rank, hlc, author, val): the order every lww and lattice field merges by
Best = dict[bytes, dict[str, tuple[Clock, Any]]]  # row → field → (the batch's greatest clock, its value)


def _merge_table(conn: Connection, registry: Registry, table: str, wide: tuple[str, ...], rows: dict[bytes, str],
                 edits: dict[bytes, list[Change]], deletes: dict[bytes, tuple[int, bytes]]) -> None:
    executemany(conn, _row_insert, _ROW_COLS, [(table, row, sc, None, None) for row, sc in rows.items()])
    if edits:
        dead = set(deletes)
        for part in _chunks(list(rows), _CHUNK):
            dead.update(r.row for r in conn.execute(_TOMBSTONED, {"tbl": table, "rows": part}))
        # row → field → ((rank, hlc, author, val), value): the greatest clock of the batch per field.
        best: Best = {}
        tags: dict[tuple[bytes, str, bytes, int, bytes], int] = {}
        sets: set[tuple[bytes, str]] = set()
        kinds: dict[str, Any] = {}  # field → its policy, None for lww (most fields: no rank to compute)
        pack = codec.pack
        for change, author in ((c, a) for a, mine in edits.items() for c in mine):
            row = change.row
            if row in dead:
                continue  # a deleted row takes no edits: delete wins
            name = change.field
            value = change.value
            if name in kinds:
                policy = kinds[name]
            else:
                policy = registry.policy(table, name)
                policy = kinds[name] = None if policy.name == "lww" else policy
            if policy is None:
                clock = (0, change.hlc, author, pack(value))
            elif policy.name == "set":
                sets.add((row, name))
                for (elem, h, a), removed in _set_rows(policy, change, author):
                    key = (row, name, elem, h, a)
                    tags[key] = max(tags.get(key, 0), removed)  # a removed tag stays removed
                continue
            else:
                clock = (policy.rank(value), change.hlc, author, pack(value))
            fields = best.get(row)
            if fields is None:
                fields = best[row] = {}
            old = fields.get(name)
            # Within one batch only the greatest clock for a field can win: PostgreSQL refuses one
            # statement that updates a row twice, and it spares the database the losing writes.
            if old is None or clock > old[0]:
                fields[name] = (clock, value)
        if tags:
            executemany(conn, _tag_upsert, _TAG_COLS, [
                (table, row, name, elem, hlc, author, removed)
                for (row, name, elem, hlc, author), removed in tags.items()])
        # The sets' JSON is read after their tags are merged, and written with the row's other fields:
        # one upsert per row (SQLite rewrites a whole row for any update of it).
        shown = _set_values(conn, table, sets) if sets else {}
        _write_sets(conn, table, {k: v for k, v in shown.items() if k[1] not in wide})
        _upsert_fields(conn, table, wide, best, {k: v for k, v in shown.items() if k[1] in wide})
    if deletes:
        executemany(conn, _tomb_upsert, _ROW_COLS, [(table, row, rows[row], h, a) for row, (h, a) in deletes.items()])
        _purge_state(conn, table, wide, list(deletes))


def _upsert_fields(conn: Connection, table: str, wide: tuple[str, ...], best: Best,
                   sets: dict[tuple[bytes, str], str | None]) -> None:
    """Write each field's winning clock of the batch (`best`) and the sets' JSON (`sets`, the
    fields of `wide` only): one upsert per row into the state table for the fields it has columns
    for (rows grouped by which fields they carry: one statement each), one per field into lw_field
    for the others."""
    renders = _renderers(table)
    limits = _text_limits(table)
    columns = set(wide)
    narrow: list[tuple[Any, ...]] = []
    marks: dict[bytes, dict[str, str | None]] = {}
    for (row, name), mat in sets.items():
        marks.setdefault(row, {})[name] = mat
    groups: dict[tuple[tuple[str, ...], tuple[str, ...]], list[tuple[Any, ...]]] = {}
    for row in [*best, *(r for r in marks if r not in best)]:
        fields = best.get(row, {})
        params: list[Any] = [row]
        plain = []
        for name in sorted(fields):
            (rank, hlc, author, val), value = fields[name]
            limit = limits.get(name)
            if limit is not None:  # a plain string column: `text_value` inlined (most fields)
                mat = value if type(value) is str and len(value) <= limit and "\x00" not in value else None
            else:
                mat = renders.get(name, _nothing)(value)
            if name in columns:
                plain.append(name)
                params += (rank, hlc, author, val, mat)
            else:
                narrow.append((table, row, name, rank, hlc, author, val, mat))
        marked = marks.get(row)
        set_names: tuple[str, ...] = ()
        if marked:
            set_names = tuple(sorted(marked))
            for name in set_names:
                params += (0, 0, b"", None, marked[name])  # the marker lw_field's set rows carry: rank 0, hlc 0, no author
        if plain or set_names:
            groups.setdefault((tuple(plain), set_names), []).append(tuple(params))
    executemany(conn, _field_upsert, _FIELD_COLS, narrow)
    ph = widestate.mark(conn.dialect.paramstyle)
    for (names, set_fields), rows in groups.items():
        conn.exec_driver_sql(widestate.upsert_sql(ph, table, names, set_fields), rows)


def _purge_state(conn: Connection, table: str, wide: tuple[str, ...], rows: list[bytes]) -> None:
    """Delete the state of `rows` (values purged), the tombstone in lw_row aside."""
    for part in _chunks(rows, _CHUNK):
        conn.execute(_PURGE_FIELDS, {"tbl": table, "rows": part})
        conn.execute(_PURGE_TAGS, {"tbl": table, "rows": part})
        if wide:
            conn.execute(_wide_purge(table, wide), {"rows": part})


def _set_rows(policy: Any, change: Change, author: bytes) -> list[tuple[tuple[bytes, int, bytes], int]]:
    """An OR-set change as lw_set rows `((elem, hlc, author), removed)`: the policy's own merge into
    the empty set says what it adds and what it removes (and refuses a malformed one)."""
    delta = policy.merge(None, Incoming(change.value, change.hlc, author))
    return ([((codec.pack(e), h, a), 0) for e, (h, a) in delta.adds]
            + [((codec.pack(e), h, a), 1) for e, (h, a) in delta.removed if h < _TAG_LIMIT])


def set_json(conn: Connection, table: str, keys: set[tuple[bytes, str]], layout: Layout | None = None) -> None:
    """Write the JSON list of each set field `keys` names into its state's `mat` (and mark the field
    present): the set's live elements, once each, ints before strings (`SetState.elements`)."""
    wide = (widestate.current() if layout is None else layout).get(table, ())
    shown = _set_values(conn, table, keys)
    _write_sets(conn, table, {k: v for k, v in shown.items() if k[1] not in wide})
    _upsert_fields(conn, table, wide, {}, {k: v for k, v in shown.items() if k[1] in wide})


def _set_values(conn: Connection, table: str, keys: set[tuple[bytes, str]]) -> dict[tuple[bytes, str], str | None]:
    """The JSON text of each set field `keys` names, from its live tags (one SELECT per 500 rows)."""
    elems: dict[tuple[bytes, str], set[Any]] = {k: set() for k in keys}
    rows = sorted({row for row, _ in keys})
    for part in _chunks(rows, _CHUNK):
        for r in conn.execute(_LIVE_TAGS, {"tbl": table, "rows": part}):
            got = elems.get((r.row, r.field))
            if got is not None:
                got.add(msgpack.unpackb(r.elem))
    render = _renderers(table)
    return {key: render.get(key[1], _nothing)(sorted(found, key=_element_order)) for key, found in elems.items()}


def _write_sets(conn: Connection, table: str, shown: dict[tuple[bytes, str], str | None]) -> None:
    """The sets' JSON into their lw_field rows (a table or field this build does not know)."""
    executemany(conn, _set_mat, _FIELD_COLS, [(table, row, name, 0, 0, b"", None, mat) for (row, name), mat in shown.items()])


def _element_order(e: Any) -> tuple[bool, Any]:
    return (isinstance(e, str), e)


# -- materializing --------------------------------------------------------------------------------


def materialize(conn: Connection, table: str, rows: Sequence[bytes], names: tuple[str, ...] | None = None,
                layout: Layout | None = None) -> None:
    """Write `rows` of `table` from their state: upserted when live with every required value,
    taken out of the table otherwise. A table this build does not know keeps only its state."""
    if table not in schema.TABLES:
        return
    wide = (widestate.current() if layout is None else layout).get(table, ())
    upsert, stale = _materializers(conn.dialect.name, table, wide, names)
    for part in _chunks(list(rows), _CHUNK):
        # The rows that qualify are upserted and named back (RETURNING, on both backends), and
        # the others of the batch (deleted, or lacking a required value) are taken out, usually none.
        kept = {r[0] for r in conn.execute(upsert, {"rows": part})}
        gone = [h for h in (r.hex() for r in part) if h not in kept]
        if gone:
            conn.execute(stale, {"ids": gone})


# -- reading and replacing state (rare paths: local writes, retract, redact, screens) -------------


def load(conn: Connection, registry: Registry, keys: Iterable[RowKey], layout: Layout | None = None) -> dict[RowKey, RowState]:
    """The merge states of `keys` (those that have one) as conflict/ objects."""
    by_table: dict[str, list[bytes]] = {}
    for tb, row in keys:
        by_table.setdefault(tb, []).append(row)
    wide = widestate.current() if layout is None else layout
    out: dict[RowKey, RowState] = {}
    for tb, rows in by_table.items():
        for part in _chunks(list(dict.fromkeys(rows)), _CHUNK):
            args = {"tbl": tb, "rows": part}
            states = {r.row: RowState({}, (r.tomb_hlc, r.tomb_author) if r.tomb_hlc is not None else None)
                      for r in conn.execute(_LOAD_ROWS, args)}
            _fill(conn, registry, tb, wide.get(tb, ()), states, args)
            out.update({(tb, row): st for row, st in states.items()})
    return out


def _fill(conn: Connection, registry: Registry, tb: str, wide: tuple[str, ...], states: dict[bytes, RowState],
          args: dict[str, Any]) -> None:
    adds: dict[tuple[bytes, str], set[Any]] = {}
    gone: dict[tuple[bytes, str], set[Any]] = {}
    for r in conn.execute(_LOAD_TAGS, args):
        pair = (msgpack.unpackb(r.elem), (r.hlc, r.author))
        (gone if r.removed else adds).setdefault((r.row, r.field), set()).add(pair)
    held: list[tuple[bytes, str, int, int, bytes, bytes | None]] = [
        (r.row, r.field, r.rank, r.hlc, r.author, r.val) for r in conn.execute(_LOAD_FIELDS, args)]
    if wide:
        for r in conn.execute(_wide_load(tb, wide), {"rows": args["rows"]}):
            m = r._mapping
            held += [(r.row, f, m[widestate.col(f, "rank")], m[widestate.col(f, "hlc")], m[widestate.col(f, "author")],
                      m[widestate.col(f, "val")]) for f in wide if m[widestate.col(f, "hlc")] is not None]
    for row, field, rank, hlc, author, val in held:
        st = states.get(row)
        if st is None:
            continue
        policy = registry.policy(tb, field)
        if policy.name == "set":
            key = (row, field)
            st.fields[field] = SetState(frozenset(adds.get(key, ())), frozenset(gone.get(key, ())))
        elif isinstance(policy, Lattice):
            value = msgpack.unpackb(val)
            st.fields[field] = LatticeState(value, policy.rank(value), hlc, author)
        else:
            st.fields[field] = LwwState(msgpack.unpackb(val), hlc, author)


def load_all(conn: Connection, registry: Registry, table: str | None = None,
             layout: Layout | None = None) -> dict[RowKey, RowState]:
    """Every row's merge state (of `table`), for comparing replicas and re-materializing."""
    q = select(t.rows.c.tbl, t.rows.c.row).order_by(t.rows.c.tbl, t.rows.c.row)
    if table is not None:
        q = q.where(t.rows.c.tbl == table)
    keys = [(r.tbl, r.row) for r in conn.execute(q)]
    got = load(conn, registry, keys, layout)
    return {k: got[k] for k in keys}


def save(conn: Connection, registry: Registry, states: dict[RowKey, RowState],
         feed_scopes: dict[RowKey, str | None], layout: Layout) -> None:
    """Write whole merge states of rows that have none here (a migration converting the msgpack
    states of earlier releases, in the `layout` its database has), materialized text included."""
    rows, tags = [], []
    by_table: dict[str, Best] = {}
    sets: dict[str, set[tuple[bytes, str]]] = {}
    for (tb, row), st in states.items():
        tomb = st.tombstone or (None, None)
        rows.append({"tbl": tb, "row": row, "feed_scope": feed_scopes.get((tb, row)), "tomb_hlc": tomb[0],
                     "tomb_author": tomb[1]})
        fields = by_table.setdefault(tb, {}).setdefault(row, {})
        for name, fs in st.fields.items():
            if isinstance(fs, SetState):
                sets.setdefault(tb, set()).add((row, name))
                tags += [{"tbl": tb, "row": row, "field": name, "elem": codec.pack(e), "hlc": h, "author": a,
                          "removed": removed} for pairs, removed in ((fs.adds, 0), (fs.removed, 1))
                         for e, (h, a) in pairs if h < _TAG_LIMIT]
                continue
            policy = registry.policy(tb, name)
            rank = policy.rank(fs.value) if isinstance(policy, Lattice) else 0
            fields[name] = ((rank, fs.hlc, fs.author, codec.pack(fs.value)), fs.value)
    for stmt, params in ((t.rows.insert(), rows), (t.set_tags.insert(), tags)):
        for part in _chunks(params, _CHUNK):
            conn.execute(stmt, part)
    for tb, best in by_table.items():
        _upsert_fields(conn, tb, layout.get(tb, ()), best, {})
    for tb, keys in sets.items():
        set_json(conn, tb, keys, layout)


def rerender(conn: Connection, registry: Registry, table: str, layout: Layout) -> None:
    """Compute `mat` and lattice ranks again for every field of `table` with today's model: a
    migration added a column (a value a newer writer sent for it before this replica knew the
    column now fits) or a lattice stage (a value that ranked below every known stage now ranks)."""
    q = select(t.fields.c.row, t.fields.c.field, t.fields.c.rank, t.fields.c.val).where(t.fields.c.tbl == table)
    plain, sets = [], set()
    for r in conn.execute(q):
        if r.val is None:
            sets.add((r.row, r.field))
            continue
        plain.append({"r": r.row, "f": r.field, **_rendered(registry, table, r.field, r.rank, r.val)})
    stmt = t.fields.update().where(t.fields.c.tbl == table, t.fields.c.row == bindparam("r"),
                                   t.fields.c.field == bindparam("f")).values(mat=bindparam("m"), rank=bindparam("k"))
    for part in _chunks(plain, _CHUNK):
        conn.execute(stmt, part)
    wide = layout.get(table, ())
    if wide:
        w = widestate.table(table, wide)
        lww = [f for f in wide if registry.policy(table, f).name != "set"]
        update_ = w.update().where(w.c.row == bindparam("r")).values(
            {widestate.col(f, p): bindparam(f"{p}_{i}") for i, f in enumerate(lww) for p in ("rank", "mat")})
        rows: list[dict[str, Any]] = []
        for r in conn.execute(select(w)):
            m = r._mapping
            params: dict[str, Any] = {"r": r.row}
            for i, f in enumerate(lww):
                val = m[widestate.col(f, "val")]
                got = {"k": None, "m": None} if val is None else _rendered(registry, table, f, m[widestate.col(f, "rank")], val)
                params[f"rank_{i}"], params[f"mat_{i}"] = got["k"], got["m"]
            rows.append(params)
            sets.update((r.row, f) for f in wide if f not in lww and m[widestate.col(f, "hlc")] is not None)
        if lww:
            for part in _chunks(rows, _CHUNK):
                conn.execute(update_, part)
    if sets:
        set_json(conn, table, sets, layout)


def _rendered(registry: Registry, table: str, field: str, rank: int, val: bytes) -> dict[str, Any]:
    value = msgpack.unpackb(val)
    policy = registry.policy(table, field)
    return {"k": policy.rank(value) if isinstance(policy, Lattice) else rank, "m": render(table, field, value)}


def purge(conn: Connection, keys: Iterable[RowKey]) -> None:
    """Forget the merge state of `keys` entirely (before merging them again from the log)."""
    by_table: dict[str, list[bytes]] = {}
    for tb, row in keys:
        by_table.setdefault(tb, []).append(row)
    for tb, rows in by_table.items():
        _purge_state(conn, tb, widestate.current().get(tb, ()), rows)
        for part in _chunks(rows, _CHUNK):
            conn.execute(_PURGE_ROWS, {"tbl": tb, "rows": part})


def _chunks(items: list[Any], n: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]
