"""The SQL merge (`node.engine.rowstate`) against its specification, the conflict/ pure functions.

Random histories of one village's rows — lww fields with values of every type (some that do not fit
their column), OR-set adds and removes naming observed and unobserved tags, lattice stages known
and unknown, row deletes — are shuffled, duplicated and cut into random batches, merged through the
SQL path on a real SQLite file and a real PostgreSQL, and compared with `conflict.row.merge_row`
folded over the same changes: the merge states must be equal, and the materialized rows exactly
what those states show (values that do not fit their column shown empty, rows lacking a required
value or deleted left out).
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import Backend
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, select

from conflict.row import RowState, merge_row, row_values
from node import domain  # noqa: F401  (registers the domain tables and their policies)
from node.engine import rowstate, schema, widestate
from node.engine import tables as t
from node.engine.db import make_engine
from protocol.changeset import DELETE_FIELD, DELETE_VALUE, Change

EXAMPLES = int(os.environ.get("LAOWU_PROPERTY_EXAMPLES", "0")) or 40
VILLAGE = "513225103201"
REGISTRY = schema.registry()
ROWS = [schema.derived_row_id(VILLAGE, bytes([i])) for i in range(3)]
AUTHORS = [bytes([i]) * 32 for i in (1, 2, 3)]
STAGES = ("planned", "signed", "started", "stable", "revoked", "someday")  # "someday": a newer build's stage

hlcs = st.integers(0, 5)  # a tiny range: (hlc, author) ties are common
authors = st.sampled_from(AUTHORS)
values = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.just(1 << 40), st.text("王李a1", max_size=3),
                   st.just("x\x00y"), st.binary(max_size=2), st.lists(st.integers(0, 2), max_size=2))
elements = st.sampled_from(["焊工", "1", 1])
PERSON_FIELDS = ["scope", "name", "id_number", "phone", "household_size", "two_after", "unknown_later"]
SETS = ("skills", "certificates")
PLACEMENT_FIELDS = ["scope", "person", "start_date", "monthly_pay"]


@st.composite
def change(draw: st.DrawFn) -> tuple[Change, bytes]:
    table = draw(st.sampled_from(["person", "person", "placement", "newer_table"]))
    row = draw(st.sampled_from(ROWS))
    hlc, author = draw(hlcs), draw(authors)
    kind = draw(st.sampled_from({"person": ["lww", "lww", "set", "set", "delete"],
                                 "placement": ["lww", "stage", "stage", "delete"]}.get(table, ["lww", "delete"])))
    if kind == "delete":
        return Change(table, row, DELETE_FIELD, DELETE_VALUE, hlc), author
    if kind == "set":
        fld = draw(st.sampled_from(["skills", "certificates"]))
        if draw(st.booleans()):
            return Change(table, row, fld, ["+", draw(elements)], hlc), author
        observed = draw(st.lists(st.tuples(hlcs, authors), max_size=3))
        return Change(table, row, fld, ["-", draw(elements), [[h, a] for h, a in observed]], hlc), author
    if kind == "stage":
        return Change(table, row, "stage", draw(st.sampled_from(STAGES)), hlc), author
    fld = draw(st.sampled_from(PERSON_FIELDS if table == "person" else PLACEMENT_FIELDS))
    value = VILLAGE if fld == "scope" and draw(st.booleans()) else draw(values)
    return Change(table, row, fld, value, hlc), author


@st.composite
def history(draw: st.DrawFn) -> list[list[tuple[Change, bytes]]]:
    """Changes in a random order with duplicates, cut into random batches."""
    changes = draw(st.lists(change(), min_size=1, max_size=30))
    adds: dict[tuple[str, bytes, str, Any], list[list[Any]]] = {}
    for c, a in changes:
        if c.field in SETS and c.value[0] == "+":
            adds.setdefault((c.table, c.row, c.field, c.value[1]), []).append([c.hlc, a])
    for i, (c, a) in enumerate(changes):  # most removes name tags their writer saw added
        seen = adds.get((c.table, c.row, c.field, c.value[1])) if c.field in SETS else None
        if seen and c.value[0] == "-" and draw(st.integers(0, 3)):
            picked = draw(st.lists(st.sampled_from(seen), min_size=1, max_size=3))
            changes[i] = (Change(c.table, c.row, c.field, ["-", c.value[1], picked + c.value[2]], c.hlc), a)
    changes += draw(st.lists(st.sampled_from(changes), max_size=8))
    changes = draw(st.permutations(changes))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(changes) - 1)), max_size=4)))
    return [changes[i:j] for i, j in zip([0, *cuts], [*cuts, len(changes)]) if changes[i:j]]


def spec(batches: list[list[tuple[Change, bytes]]]) -> dict[tuple[str, bytes], RowState]:
    out: dict[tuple[str, bytes], RowState] = {}
    for batch in batches:
        for c, author in batch:
            key = (c.table, c.row)
            out[key], _ = merge_row(out.get(key, RowState()), c.table, [(c, author)], REGISTRY)
    return out


def shown(states: dict[tuple[str, bytes], RowState], table: str) -> dict[str, dict[str, Any]]:
    """The rows a query must see, from the specified states (the materializing rules of DESIGN §7)."""
    model: Any = schema.TABLES[table].__table__  # type: ignore[attr-defined]
    out = {}
    for (tb, row), st_ in states.items():
        if tb != table or st_.deleted:
            continue
        vals = row_values(st_, table, REGISTRY)
        vals.setdefault("scope", VILLAGE)  # the feed that wrote it
        rec = {c.name: vals.get(c.name) if rowstate.fits(c, vals.get(c.name)) else None for c in model.columns}
        rec["id"] = row.hex()
        if all(rec[c.name] is not None for c in model.columns if not c.nullable):
            out[row.hex()] = rec
    return out


def materialized(engine: Engine, table: str) -> dict[str, dict[str, Any]]:
    model: Any = schema.TABLES[table].__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return {r.id: dict(r._mapping) for r in conn.execute(select(model))}


def same(a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]]) -> bool:
    """Rows equal as a query reads them (a boolean column gives True where 1 was merged)."""
    def norm(rows: dict[str, dict[str, Any]]) -> str:
        return json.dumps({k: {c: (int(v) if isinstance(v, bool) else v) for c, v in r.items()} for k, r in rows.items()},
                          sort_keys=True, default=repr)
    return norm(a) == norm(b)


@pytest.fixture
def engine(backend: Backend) -> Iterator[Engine]:
    eng = make_engine(backend.url("merge"))
    t.metadata.create_all(eng)
    yield eng
    eng.dispose()


def wipe(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in (t.rows, t.fields, t.set_tags, t.metadata.tables[widestate.name("person")],
                      t.metadata.tables[widestate.name("placement")],
                      schema.TABLES["person"].__table__,  # type: ignore[attr-defined]
                      schema.TABLES["placement"].__table__):  # type: ignore[attr-defined]
            conn.execute(delete(table))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=history())
def test_the_sql_merge_equals_the_conflict_policies_on_any_history(engine: Engine, batches: list[list[Any]]) -> None:
    wipe(engine)
    for batch in batches:
        with engine.begin() as conn:
            for table, rows in rowstate.merge(conn, REGISTRY, [([c], a, VILLAGE) for c, a in batch]).items():
                rowstate.materialize(conn, table, rows)
    want = spec(batches)
    with engine.connect() as conn:
        assert rowstate.load_all(conn, REGISTRY) == dict(sorted(want.items()))
    for table in ("person", "placement"):
        assert same(materialized(engine, table), shown(want, table))


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every state row, as stored."""
    names = ["lw_row", "lw_field", "lw_set", widestate.name("person"), widestate.name("placement")]
    with engine.connect() as conn:
        return {n: sorted(tuple(r) for r in conn.execute(select(t.metadata.tables[n]))) for n in names}


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=history())
def test_widening_the_per_field_state_gives_what_the_wide_merge_stores(engine: Engine, batches: list[list[Any]]) -> None:
    """Revision 0008's move (`widestate.widen`, one row per chunk here) of a history merged in
    0007's layout, every field in lw_field, stores exactly what merging it in the wide layout
    stores, and both layouts materialize the rows the specification shows."""
    want = spec(batches)
    wipe(engine)
    for batch in batches:
        with engine.begin() as conn:
            for table, rows in rowstate.merge(conn, REGISTRY, [([c], a, VILLAGE) for c, a in batch], widestate.NARROW).items():
                rowstate.materialize(conn, table, rows, layout=widestate.NARROW)
    with engine.connect() as conn:
        assert rowstate.load_all(conn, REGISTRY, layout=widestate.NARROW) == dict(sorted(want.items()))
    for table in ("person", "placement"):
        assert same(materialized(engine, table), shown(want, table))
    with engine.begin() as conn:
        for table in ("person", "placement"):
            widestate.widen(conn, table, widestate.current()[table], chunk=1)
    widened = dump(engine)
    wipe(engine)
    for batch in batches:
        with engine.begin() as conn:
            rowstate.merge(conn, REGISTRY, [([c], a, VILLAGE) for c, a in batch])
    assert dump(engine) == widened
