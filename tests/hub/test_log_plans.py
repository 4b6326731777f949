"""No O(n) per request (issue 13 item 6, node/engine/stats.py): the log's indexes serve hello, pull and
the pending lookup on both backends, and planner statistics follow the log as it grows; an erasure's
walk of a successor chain reads the person table by its indexes. Plans are read with EXPLAIN on a
real SQLite file and a real PostgreSQL database; timings live in bench/scale.py."""
from __future__ import annotations

import os
from typing import Any

import pytest
from conftest import Backend
from hubkit import COUNTY, SIBLING, VILLAGE, feed
from sqlalchemy import Connection, text

from node.domain import erase
from node.engine import stats, synclog
from node.engine import tables as t
from node.engine.store import _WAITING, Store
from node.sandbox import Sandbox

OTHERS = [f"513225103{n:03d}" for n in range(203, 263)]  # sixty more villages of the township


def _hub(backend: Backend, sandbox: Sandbox) -> Store:
    county = sandbox.members[COUNTY]
    return Store.create(backend.url("hub"), county.key, COUNTY, sandbox.root.public,
                        [sandbox.members["510000000000"].cert, county.cert])


def _fill(store: Store) -> None:
    """A log of 6,000 applied changesets of sixty other villages after VILLAGE's first 20, one of
    VILLAGE's feeds with 2 changesets waiting: what a county hub holds, in miniature."""
    rows: list[dict[str, Any]] = []
    pos = 0
    author = os.urandom(32)
    for seq in range(1, 23):
        pos += seq <= 20
        rows.append({"id": os.urandom(32), "author": author, "scope": VILLAGE, "seq": seq,
                     "status": "applied" if seq <= 20 else "pending", "envelope": b"x" * 200, "received": 0,
                     "pos": pos if seq <= 20 else None})
    for i in range(6_000):
        pos += 1
        rows.append({"id": os.urandom(32), "author": bytes(32), "scope": OTHERS[i % len(OTHERS)], "seq": i + 1,
                     "status": "applied", "envelope": b"x" * 200, "received": 0, "pos": pos})
    with store.transaction() as conn:
        conn.execute(t.log.insert(), rows)
    stats.refresh(store.engine)


def _plan(conn: Connection, query: Any, params: dict[str, Any] | None = None) -> str:
    state = query.compile(dialect=conn.dialect).construct_expanded_state(params or {})  # an IN's list expanded
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # tiny tables: is the index usable at all?
        rows = conn.exec_driver_sql("EXPLAIN " + state.statement, state.parameters).all()
    else:
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + state.statement, state.positional_parameters).all()
    return "\n".join(str(r[-1]) for r in rows)


def test_the_pending_lookup_reads_only_the_waiting_changesets_of_a_feed(backend: Backend, sandbox: Sandbox) -> None:
    store = _hub(backend, sandbox)
    try:
        _fill(store)
        with store.engine.begin() as conn:
            author = conn.execute(text("SELECT author FROM lw_log WHERE scope = :s LIMIT 1"), {"s": VILLAGE}).scalar()
            plan = _plan(conn, _WAITING, {"feed_author": author, "feed_scope": VILLAGE})
            assert "lw_log_waiting" in plan, plan
            assert len(conn.execute(_WAITING, {"feed_author": author, "feed_scope": VILLAGE}).all()) == 2
    finally:
        store.close()


def test_a_pull_past_a_cursor_reads_the_subscriber_s_scopes_not_the_whole_log(backend: Backend, sandbox: Sandbox) -> None:
    store = _hub(backend, sandbox)
    try:
        _fill(store)
        with store.engine.begin() as conn:
            plans = [_plan(conn, synclog.past(20, SIBLING).limit(synclog.PAGE)), _plan(conn, synclog.past(20, SIBLING).limit(1))]
        assert all("lw_log_scope_pos" in p and "lw_log_pos" not in p for p in plans), plans
        assert not synclog.has_after(store, 20, SIBLING) and synclog.has_after(store, 0, VILLAGE)
    finally:
        store.close()


def test_a_step_back_along_a_successor_chain_reads_the_successor_index(backend: Backend, sandbox: Sandbox) -> None:
    """Erasing a person who moved follows their cards both ways (`erase.cards_of`): the step back,
    the cards whose successor is one of these, reads ix_person_successor, not every card."""
    store = _hub(backend, sandbox)
    try:
        with store.engine.begin() as conn:
            plan = _plan(conn, erase.links(), {"cards": ["ab" * 16, "cd" * 16]})
        assert "ix_person_successor" in plan and "SCAN person" not in plan, plan
    finally:
        store.close()


def test_statistics_are_refreshed_as_the_log_grows(backend: Backend, sandbox: Sandbox,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stats, "MIN_ROWS", 10)  # the real threshold, lowered: growth is reached in 10 rows, not thousands
    store = _hub(backend, sandbox)
    try:
        store.add_certificate(sandbox.members[VILLAGE].cert)
        key = sandbox.members[VILLAGE].key
        first = feed(key, VILLAGE, 9)
        assert all(o["status"] == "accepted" for o in store.apply([cs.envelope for cs in first]))
        assert _counted(store) != 9  # nine is below the threshold: what the planner knew before
        more = feed(key, VILLAGE, 1, first=10, prev=first[-1].id)
        store.apply([cs.envelope for cs in more])
        assert _counted(store) == 10
    finally:
        store.close()


def _counted(store: Store) -> int | None:
    """How many log rows the planner's statistics say there are (None: never analyzed)."""
    with store.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            return int(conn.execute(text("SELECT reltuples FROM pg_class WHERE relname = 'lw_log'")).scalar_one())
        if not conn.execute(text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")).scalar():
            return None
        stat = conn.execute(text("SELECT stat FROM sqlite_stat1 WHERE idx = 'lw_log_pos'")).scalar()
        return None if stat is None else int(str(stat).split()[0])
