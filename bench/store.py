"""The SQLite node store's costs: a county applying a village's changesets, a clerk saving a card,
and a village node's memory and start-up time.

Data (`bench.datasets`): village 513431100201 of 昭觉县 with 5,000 people from `node.domain.generate`, each
registered as one card and sealed on its own, so one person is one signed changeset of ~17 field
changes. Every database runs with the node's settings: WAL and `synchronous=FULL`, an fsync at
every commit, on whatever disk holds the temporary directory.
"""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench import Figure, datasets
from bench.datasets import BIG, COUNTY, VILLAGE
from bench.timing import once_rates, percentile
from node.domain import ops
from node.domain.rules import RULES
from node.engine.store import Store
from protocol import codec
from protocol.changeset import Change, seal
from protocol.keys import verify

SEED = 1
APPLY_PEOPLE = 1_000
APPLY_BATCH = 50  # envelopes per apply(): what one pull or push of a village's day brings
SAMPLES = 200  # saves timed one by one, for each of register_person and write
COLD_RUNS = 3

# The cold start: a new interpreter opens the node database and lists the people, as
# `laowu-node person list` does (all cards, masked, sorted by place, address and name).
_COLD = """
import resource, sys, time
t0 = time.perf_counter()
from sqlalchemy import select
from node.domain.person import Person
from node.domain.privacy import mask_person
from node.engine.store import Store
t1 = time.perf_counter()
rss_imports = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
store = Store.open(sys.argv[1], None)
with store.engine.connect() as conn:
    found = [dict(r._mapping) for r in conn.execute(select(Person.__table__))]
listed = [mask_person(p) for p in sorted(found, key=lambda p: (p["scope"], p.get("household_address") or "", p["name"]))]
assert len(listed) == int(sys.argv[2]), len(listed)
print(t1 - t0, time.perf_counter() - t1, rss_imports)
"""
# Runs _COLD and reports its wall time and peak RSS. A child's ru_maxrss starts at the size of the
# process that spawned it, so it is spawned from this small launcher, not from the benchmark.
_LAUNCH = """
import resource, subprocess, sys, time
start = time.perf_counter()
out = subprocess.run([sys.executable, "-c", *sys.argv[1:]], check=True, capture_output=True, text=True).stdout
wall = time.perf_counter() - start
print(wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, out)
"""


def run(seconds: float) -> list[Figure]:
    big = datasets.village(VILLAGE, BIG, SEED)
    return applying(big) + saving(big) + starting(big)


def applying(big: Path) -> list[Figure]:
    """Figure: field changes per second a county store takes from a village, beside raw sqlite3."""
    w = datasets.world()
    envs = datasets.envelopes(big)[:APPLY_PEOPLE]
    changes = datasets.changes_in(envs)
    opened: list[Store] = []

    def county() -> Store:
        store = datasets.hub_store(datasets.fresh_path("county"))
        store.add_certificate(w.villages[VILLAGE].cert)  # as a hub learns it from the village's push
        opened.append(store)
        return store

    def prepare_store() -> Callable[[], None]:
        store = county()

        def apply_all() -> None:
            for i in range(0, len(envs), APPLY_BATCH):
                outcomes = store.apply(envs[i : i + APPLY_BATCH])
                if any(o["status"] != "accepted" for o in outcomes):
                    raise AssertionError(f"the county refused the village's changesets: {outcomes[0]}")

        return apply_all

    warm = county()
    for i in range(0, len(envs), APPLY_BATCH):
        warm.apply(envs[i : i + APPLY_BATCH])
    warm.close()
    raw = datasets.RawUpsert(Path(str(warm.engine.url.database)))
    assert len(raw.rows) == APPLY_PEOPLE, len(raw.rows)
    signed = [_signed(env) for env in envs]

    def prepare_verify() -> Callable[[], None]:
        def check_all() -> None:
            for author, sig, body in signed:
                verify(author, sig, body)

        return check_all

    synced = synced_envelopes(envs, APPLY_BATCH)

    def prepare_synced() -> Callable[[], None]:
        store = county()

        def apply_each() -> None:
            for env in synced:  # one push per sync: one changeset, one apply()
                outcomes = store.apply([env])
                if outcomes[0]["status"] != "accepted":
                    raise AssertionError(f"the county refused the village's changeset: {outcomes[0]}")

        return apply_each

    try:
        store_rate, raw_rate, verify_rate, synced_rate = once_rates(
            [(prepare_store, changes), (raw.prepare, changes), (prepare_verify, changes), (prepare_synced, changes)])
    finally:
        for s in opened:
            s.close()
    return [
        Figure(
            "store.apply_remote", store_rate, "field changes/s", raw_rate, "raw sqlite3 upsert",
            f"a fresh county store ({COUNTY}) applying the village's first {APPLY_PEOPLE} changesets "
            f"({changes} field changes) in apply() batches of {APPLY_BATCH}: admit (Ed25519, certificate "
            "chain), placement, merge state, materialized rows, log; one fsync'd transaction per batch. "
            f"Baseline: the same {APPLY_PEOPLE} final person rows upserted with sqlite3 executemany "
            "(INSERT ... ON CONFLICT DO UPDATE, same table, WAL, synchronous=FULL) in one transaction. "
            f"Checking the {APPLY_PEOPLE} Ed25519 signatures alone runs at "
            f"{verify_rate:,.0f} field changes/s, ratio {verify_rate / raw_rate:.3f}. Issue 13's goal table uses "
            "this figure: one card per changeset, as the issue measured it (bench.goals)",
        ),
        Figure(
            "store.apply_remote_synced", synced_rate, "field changes/s", raw_rate, "raw sqlite3 upsert",
            f"the same {changes} field changes sealed as a village syncs them now (docs/engine.md \"One seal per "
            f"sync\"): the {APPLY_BATCH} cards of each apply() batch above in one changeset (v2 body, as a node "
            f"seals once its hub reads v2), {len(synced)} changesets, each applied by its own apply() (one push "
            "per sync) into a fresh county store; same baseline. One signature per sync instead of one per card",
        ),
    ]


def synced_envelopes(envs: list[bytes], per_sync: int) -> list[bytes]:
    """The changes of `envs` (one card each, one feed) sealed again by their village as one changeset
    per `per_sync` cards, in order, on a chain of their own (a fresh feed scope's seqs from 1)."""
    w = datasets.world()
    key = w.villages[VILLAGE].key
    out: list[bytes] = []
    prev = None
    for seq, i in enumerate(range(0, len(envs), per_sync), 1):
        changes = [Change(*c) for env in envs[i : i + per_sync] for c in datasets.open_unchecked(env)]
        cs = seal(key, VILLAGE, seq, prev, changes, body=2)
        out.append(cs.envelope)
        prev = cs.id
    return out


def _signed(envelope: bytes) -> tuple[bytes, bytes, bytes]:
    """(author, signature, body) of an envelope, for timing the signature check alone."""
    outer = codec.unpack(envelope, max_bytes=1 << 20, what="envelope")
    body = outer["body"]
    return codec.unpack(body, max_bytes=1 << 20, what="changeset")["author"], outer["sig"], body


def saving(big: Path) -> list[Figure]:
    """Figures: latency of a clerk's save of one card, and of sealing it, on a 5,000-person village;
    beside them, the disk's floor: one row committed by raw sqlite3 with the same settings."""
    w = datasets.world()
    # Opened as a node opens its store (`node.nodedir.Node.store`): with the domain's semantic rules,
    # which read and judge every person a save touches (unencrypted: SQLCipher is not timed here).
    store = Store.open(datasets.copy(big, "village"), w.villages[VILLAGE].key, rules=RULES)
    floor = _RawCommit(datasets.fresh_path("floor"))
    newcomers = datasets.people(VILLAGE, 2 * SAMPLES, SEED + 1000)
    register: list[float] = []
    write: list[float] = []
    seal: list[float] = []
    raw: list[float] = []
    try:
        for i, p in enumerate(newcomers):
            raw.append(floor.commit())  # interleaved: the floor sees the disk the saves see
            if i < SAMPLES:
                fields = datasets.form(p)
                start = time.perf_counter()
                ops.register_person(store, fields, today=datasets.TODAY)
                register.append(time.perf_counter() - start)
            else:
                row, items = datasets.card_write(store.home, p)
                start = time.perf_counter()
                store.write("person", row, items)
                write.append(time.perf_counter() - start)
            start = time.perf_counter()
            sealed = store.seal()
            seal.append(time.perf_counter() - start)
            assert len(sealed) == 1
    finally:
        store.close()
        floor.close()
    where = f"on a copy of the {BIG}-person village (WAL, synchronous=FULL), {SAMPLES} saves"
    out = []
    for name, samples, what in (
        ("register_person", register, "ops.register_person of one new card: form checks, the duplicate read, "
         "the write of the values and skill adds and the node's semantic rules on the new card, in one "
         "Store.batch, one fsync'd transaction"),
        ("write_card", write, "Store.write of one whole card (values and skill adds) in one fsync'd transaction"),
        ("seal", seal, f"Store.seal after each of the {2 * SAMPLES} saves above: one changeset of one card "
         "signed, logged and the open changes cleared, one fsync'd transaction"),
    ):
        for q in (50, 99):
            out.append(Figure(f"store.{name}_p{q}", percentile(samples, q) * 1000, "ms",
                              percentile(raw, q) * 1000, f"raw sqlite3 commit p{q}",
                              note=f"{what}; p{q} of {len(samples)} {where}" if q == 50 else f"p{q} of the same"))
    out.append(Figure("store.raw_commit_p50", percentile(raw, 50) * 1000, "ms",
                      note=f"the disk's floor under every save above: one {_RawCommit.BYTES}-byte row inserted and "
                      f"committed by raw sqlite3 (WAL, synchronous=FULL: one fsync), timed before each of the "
                      f"{2 * SAMPLES} saves; p99 {percentile(raw, 99) * 1000:.2f} ms; load average "
                      f"{os.getloadavg()[0]:.1f} at the end"))
    return out


class _RawCommit:
    """The cheapest durable save SQLite makes on this disk: one small row, one transaction, one fsync."""

    BYTES = 1_200  # about what one card's changes take in the open changes

    def __init__(self, path: Path) -> None:
        self.con = sqlite3.connect(str(path), isolation_level=None)
        self.con.execute("PRAGMA journal_mode=WAL")
        self.con.execute("PRAGMA synchronous=FULL")
        self.con.execute("CREATE TABLE IF NOT EXISTS t (n INTEGER PRIMARY KEY, v BLOB)")

    def commit(self) -> float:
        start = time.perf_counter()
        self.con.execute("BEGIN IMMEDIATE")
        self.con.execute("INSERT INTO t (v) VALUES (?)", (os.urandom(self.BYTES),))
        self.con.execute("COMMIT")
        return time.perf_counter() - start

    def close(self) -> None:
        self.con.close()


def starting(big: Path) -> list[Figure]:
    """Figures: peak memory and wall time of a new process that opens the node and lists everyone."""
    path = datasets.copy(big, "village")
    best, rss, split = float("inf"), 0, (0.0, 0.0, 0)
    for _ in range(COLD_RUNS):
        out = subprocess.run([sys.executable, "-c", _LAUNCH, _COLD, str(path), str(BIG)], check=True,
                             capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent).stdout
        wall, maxrss, imports, query, rss_imports = out.split()
        rss = max(rss, int(maxrss))  # KiB on Linux
        if float(wall) < best:
            best, split = float(wall), (float(imports), float(query), int(rss_imports))
    size = path.stat().st_size
    return [
        Figure(
            "store.node_rss_5000", rss / 1024, "MB",
            note=f"peak RSS (getrusage(RUSAGE_CHILDREN).ru_maxrss, taken in a small launcher process: Linux "
            f"counts the spawning process's size into a child's ru_maxrss) of a new Python process that opens "
            f"the {BIG}-person village database ({size / 1e6:.1f} MB) and lists every card, masked and sorted, as "
            f"`laowu-node person list` does; {split[2] / 1024:.0f} MB of it is reached by the interpreter and imports",
        ),
        Figure(
            "store.cold_start_5000", best, "s",
            note=f"wall time of that process, spawn to exit, best of {COLD_RUNS}: imports {split[0]:.2f} s, "
            f"Store.open + the list {split[1]:.2f} s, the rest interpreter start and exit. Warm page cache "
            "(the file was just written); a first start after boot also reads the disk",
        ),
    ]
