"""What erasure costs (node/engine/redact.py, docs/erasure.md): `secure_delete` on every write, and one
person's erasure at a county that holds a 5,000-person village.

`secure_delete=ON` zeroes the bytes SQLite frees, so a rewritten changeset body or a purged merge
state leaves nothing behind in free pages; it is on for every store connection. The first figure is
the county applying the village's first changesets with it on, beside the same with it off. The
erasure figures time `erase` of one person (delete, find every body naming the row with a scan of
the log, redact, sign, rewrite) and, inside it, `forget` (the WAL checkpoint that empties the WAL).
"""
from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event, select

from bench import Figure, datasets
from bench.datasets import BIG, COUNTY, VILLAGE
from bench.timing import once_rates, percentile
from node.engine import tables as t
from node.engine.db import make_engine
from node.engine.redact import erase, forget
from node.engine.store import Store

SEED = 1
APPLY_PEOPLE = 1_000
APPLY_BATCH = 50
ERASURES = 7


def run(seconds: float) -> list[Figure]:
    big = datasets.village(VILLAGE, BIG, SEED)
    return secure_delete_cost(big) + erasing(big)


def _county(secure: bool) -> Store:
    engine = make_engine(datasets.fresh_path("erasure-county"))
    if not secure:
        @event.listens_for(engine, "connect")
        def _off(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
            dbapi_conn.execute("PRAGMA secure_delete=OFF")  # after the store's own settings
    store = datasets.hub_store(engine)
    store.add_certificate(datasets.world().villages[VILLAGE].cert)
    return store


def secure_delete_cost(big: Path) -> list[Figure]:
    envs = datasets.envelopes(big)[:APPLY_PEOPLE]
    changes = datasets.changes_in(envs)
    opened: list[Store] = []

    def prepare(secure: bool) -> Callable[[], Callable[[], None]]:
        def setup() -> Callable[[], None]:
            store = _county(secure)
            opened.append(store)

            def apply_all() -> None:
                for i in range(0, len(envs), APPLY_BATCH):
                    store.apply(envs[i:i + APPLY_BATCH])
            return apply_all
        return setup

    try:
        on, off = once_rates([(prepare(True), changes), (prepare(False), changes)])
    finally:
        for s in opened:
            s.close()
    return [Figure("erasure.apply_with_secure_delete", on, "field changes/s", off, "secure_delete=OFF",
                   f"a fresh county store applying the village's first {APPLY_PEOPLE} changesets ({changes} field "
                   f"changes) in batches of {APPLY_BATCH}, PRAGMA secure_delete=ON (as every store runs) vs OFF")]


def erasing(big: Path) -> list[Figure]:
    store = _county(True)
    envs = datasets.envelopes(big)
    try:
        for i in range(0, len(envs), 500):
            store.apply(envs[i:i + 500])
        with store.engine.connect() as conn:
            rows = [r.row for r in conn.execute(select(t.rows.c.row).where(t.rows.c.tbl == "person").limit(ERASURES))]
        totals, checkpoints = [], []
        for row in rows:
            started = time.perf_counter()
            erase(store, [("person", row)], "bench")
            totals.append(time.perf_counter() - started)
            checkpoints.append(forget(store))  # an idle checkpoint: the floor of the one inside erase
        size = Path(str(store.engine.url.database)).stat().st_size
    finally:
        store.close()
    return [
        Figure("erasure.erase_one_person", percentile(totals, 50) * 1000, "ms",
               note=f"median of {len(totals)} erasures of one person at a county holding {len(envs)} changesets "
                    f"of a {BIG}-person village ({size / 1e6:.1f} MB database): delete, scan the log for the row id, "
                    f"redact, sign, rewrite, WAL checkpoint(TRUNCATE); max {max(totals) * 1000:.0f} ms"),
        Figure("erasure.idle_checkpoint", percentile(checkpoints, 50) * 1000, "ms",
               note="PRAGMA wal_checkpoint(TRUNCATE) with nothing left to copy: its fixed cost"),
    ]
