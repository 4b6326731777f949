"""The hub's costs over real HTTP: ingest from concurrent villages, bytes on the wire, the no-op
sync, and bootstrapping a new node of a 5,000-person village.

The hub is the county hub of 昭觉县 (513431) on a SQLite store (WAL, synchronous=FULL), served by
`hub.server.ServerThread` (real uvicorn on loopback) in a process of its own, as in production (with
0 verify workers unless a figure says otherwise: `hub.verify`), so the village clients (threads of this process, each with its own village SQLite store and
`SyncClient`) do not share its interpreter lock. Villages hold people from `node.domain.generate`, one
signed changeset per person (`bench.datasets`).
"""
from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from sqlalchemy.engine import make_url

from bench import Figure, datasets
from bench.datasets import BIG, COUNTY, HUB_VILLAGES, VILLAGE
from bench.timing import once_rates
from hub.app import MAX_PULL_BUDGET
from hub.snapshot import make_snapshot
from node.sync.bootstrap import bootstrap as node_bootstrap
from node.engine.store import Store
from node.sync.client import SyncClient, SyncReport

SEED = 1  # VILLAGE's people, as in bench.store
PER_VILLAGE = 100  # people each concurrent village pushes
CLIENTS = (1, 4, 16)
WORKERS = (1, 2)  # hub.ingest_16 again with this many verify worker processes
PG_CLIENTS = 4  # the PostgreSQL variant runs this many villages
# A PostgreSQL server for the variant: LAOWU_BENCH_PG_URL, else the one the hub tests use.
PG_URL = os.environ.get("LAOWU_BENCH_PG_URL") or os.environ.get("LAOWU_TEST_PG_URL",
                                                                 "postgresql://postgres@127.0.0.1:5432/test")
INGEST_RUNS = 2  # best of: each run starts a fresh hub and fresh copies of the villages
ROOT = Path(__file__).resolve().parent.parent

_SERVE = """
import sys
from bench import datasets
from hub.app import Hub
from hub.server import ServerThread
from node.engine.store import Store
store = Store.open(sys.argv[1], datasets.world().county.key)
with ServerThread(Hub(store, verify_workers=int(sys.argv[2]))) as server:
    print(server.url, flush=True)
    sys.stdin.read()  # until the benchmark closes our stdin
store.close()
"""


class HubProcess:
    """A county hub serving `db` in a child process (with `workers` verify workers of its own); stopped
    (and waited for, workers and all) on exit."""

    def __init__(self, db: Path | str, workers: int = 0) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", _SERVE, str(db), str(workers)], cwd=ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.url = ""

    def __enter__(self) -> HubProcess:
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http://"):
            self.__exit__(None, None, None)
            raise RuntimeError("the hub process did not start")
        return self

    def __exit__(self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()


def sync_all(stores: list[Store], url: str, budget: int = MAX_PULL_BUDGET) -> tuple[float, list[SyncReport]]:
    """Every store syncs with the hub at once, one thread each; wall time from the common start."""
    hub = datasets.world().county.key.public
    reports: list[SyncReport | None] = [None] * len(stores)
    errors: list[BaseException] = []
    start = threading.Barrier(len(stores) + 1, timeout=60)

    def one(i: int) -> None:
        client = SyncClient(stores[i], url, hub, budget=budget)
        try:
            start.wait()
            reports[i] = client.sync()
        except BaseException as exc:  # reported below, in the main thread
            errors.append(exc)
            start.abort()
        finally:
            client.close()

    threads = [threading.Thread(target=one, args=(i,), name=f"village-{i}") for i in range(len(stores))]
    for th in threads:
        th.start()
    start.wait()
    began = time.perf_counter()
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise RuntimeError(f"a village's sync failed: {errors[0]!r}") from errors[0]
    return elapsed, [r for r in reports if r is not None]


def run(seconds: float) -> list[Figure]:
    villages = {code: datasets.village(code, PER_VILLAGE, 100 + i) for i, code in enumerate(HUB_VILLAGES)}
    per_village = {code: datasets.changes_in(datasets.envelopes(path)) for code, path in villages.items()}
    sqlite = ingest(villages, per_village) + ingest_synced()
    baseline = next(f.value for f in sqlite if f.name == f"hub.ingest_{PG_CLIENTS}")
    return sqlite + ingest_pg(villages, per_village, baseline) + bootstrap()


def ingest_round(target: Path | str, codes: Sequence[str], villages: dict[str, Path], *, again: bool = False,
                 workers: int = 0, pushes: int = PER_VILLAGE) -> tuple[float, list[SyncReport], SyncReport | None]:
    """Fresh copies of the villages `codes` syncing at once with a fresh hub on `target` (with `workers`
    verify workers), each pushing `pushes` changesets; with `again`, the first village syncs a second
    time, already in step."""
    w = datasets.world()
    datasets.hub_store(target).close()
    stores = [Store.open(datasets.copy(villages[c], "village"), w.villages[c].key) for c in codes]
    try:
        with HubProcess(target, workers) as hub:
            elapsed, reports = sync_all(stores, hub.url)
            noop = sync_all(stores[:1], hub.url)[1][0] if again else None
    finally:
        for s in stores:
            s.close()
    for r in reports:
        if r.pushed != pushes or r.refused:
            raise AssertionError(f"the hub took {r.pushed} of {pushes} changesets: {r.refused[:1]}")
    return elapsed, reports, noop


def ingest_synced() -> list[Figure]:
    """Figure: 16 villages syncing at once, each pushing its day's PER_VILLAGE new cards as a node now
    seals them: one v2 changeset (sealed beforehand, as the one-card changesets of `ingest` are: the
    villages' own work runs on their own laptops, not in this process)."""
    n = CLIENTS[-1]
    villages = {code: datasets.village_day(code, PER_VILLAGE, 100 + i) for i, code in enumerate(HUB_VILLAGES[:n])}
    best, filled, changes = 0.0, datasets.fresh_path("hub-synced"), 0
    for _ in range(INGEST_RUNS):
        filled = datasets.fresh_path("hub-synced")
        elapsed, _, _ = ingest_round(filled, HUB_VILLAGES[:n], villages, pushes=1)
        changes = datasets.changes_in(datasets.envelopes(filled))
        best = max(best, changes / elapsed)
    raw = datasets.RawUpsert(filled)
    assert len(raw.rows) == n * PER_VILLAGE, len(raw.rows)
    (raw_rate,) = once_rates([(raw.prepare, changes)])
    return [Figure(
        f"hub.ingest_{n}_synced", best, "field changes/s", raw_rate, "raw sqlite3 upsert",
        f"{n} villages syncing at once with a fresh county hub over HTTP, each pushing its {PER_VILLAGE} new cards "
        f"as one v2 changeset, as a node seals a day's work (docs/engine.md \"One seal per sync\"; {changes} field "
        f"changes in all): hello, pull (nothing), push; wall time from the common start to the last report, best "
        f"of {INGEST_RUNS}. Same baseline as hub.ingest_{n}. Not the goal's figure (bench.goals)",
    )]


def ingest(villages: dict[str, Path], per_village: dict[str, int]) -> list[Figure]:
    """Figures: hub ingest at 1, 4 and 16 concurrent villages, and at 16 with 1 and 2 verify workers;
    bytes per change; the no-op sync."""
    runs = [(n, 0) for n in CLIENTS] + [(CLIENTS[-1], w) for w in WORKERS]  # (villages, verify workers)
    best: dict[tuple[int, int], float] = {}
    filled: dict[tuple[int, int], Path] = {}
    first: SyncReport | None = None
    noop: SyncReport | None = None
    for _ in range(INGEST_RUNS):
        for n, workers in runs:
            codes = HUB_VILLAGES[:n]
            filled[n, workers] = datasets.fresh_path(f"hub{n}w{workers}")
            elapsed, reports, again = ingest_round(filled[n, workers], codes, villages, again=n == 1, workers=workers)
            if n == 1:
                first, noop = reports[0], again
            best[n, workers] = max(best.get((n, workers), 0.0), sum(per_village[c] for c in codes) / elapsed)
    assert first is not None and noop is not None
    out = []
    for n, workers in runs:
        changes = sum(per_village[c] for c in HUB_VILLAGES[:n])
        raw = datasets.RawUpsert(filled[n, workers])
        assert len(raw.rows) == n * PER_VILLAGE, len(raw.rows)
        (raw_rate,) = once_rates([(raw.prepare, changes)])
        with_workers = f", the hub verifying in {workers} worker process{'es' if workers > 1 else ''}" if workers else ""
        out.append(Figure(
            f"hub.ingest_{n}" + (f"_w{workers}" if workers else ""), best[n, workers], "field changes/s", raw_rate,
            "raw sqlite3 upsert",
            f"{n} village{'s' if n > 1 else ''} syncing at once with a fresh county hub over HTTP{with_workers}, each "
            f"pushing {PER_VILLAGE} people ({changes} field changes in all): hello, pull (nothing), push; wall time "
            f"from the common start to the last report, best of {INGEST_RUNS}. Baseline: the hub's {n * PER_VILLAGE} "
            "final person rows upserted by raw sqlite3 (as store.apply_remote)",
        ))
    changes = per_village[HUB_VILLAGES[0]]
    wire = first.bytes_sent + first.bytes_received
    out.append(Figure(
        "hub.bytes_per_change", wire / changes, "B/change",
        note=f"request + response bodies of one village's first sync pushing {PER_VILLAGE} people ({changes} field "
        f"changes, {PER_VILLAGE} signed changesets): {first.bytes_sent} B sent, {first.bytes_received} B received "
        f"in {first.round_trips} round trips (SyncReport; HTTP headers not counted)",
    ))
    out.append(Figure(
        "hub.noop_round_trips", noop.round_trips, "round trips",
        note="a village already in step syncing again (nothing to pull, seal or push); goal <= 2",
    ))
    out.append(Figure(
        "hub.noop_bytes", noop.bytes_sent + noop.bytes_received, "B",
        note=f"bodies of that no-op sync: {noop.bytes_sent} B sent (hello with the village's certificate chain), "
        f"{noop.bytes_received} B received; goal < 2 KB",
    ))
    return out


def ingest_pg(villages: dict[str, Path], per_village: dict[str, int], sqlite: float) -> list[Figure]:
    """Figure: the same ingest on a PostgreSQL hub store, beside `sqlite` (the rate on a SQLite hub
    store), when a server is reachable; else none."""
    codes = HUB_VILLAGES[:PG_CLIENTS]
    best = 0.0
    for _ in range(INGEST_RUNS):
        with pg_database() as url:
            if url is None:
                return []
            elapsed, _, _ = ingest_round(url, codes, villages)
        best = max(best, sum(per_village[c] for c in codes) / elapsed)
    host = make_url(PG_URL).host
    return [Figure(
        f"hub.ingest_{PG_CLIENTS}_pg", best, "field changes/s", sqlite, f"hub.ingest_{PG_CLIENTS} (SQLite)",
        f"hub.ingest_{PG_CLIENTS} with the hub store on PostgreSQL ({host}, a fresh database, default "
        f"synchronous_commit), best of {INGEST_RUNS}; the baseline is the same ingest on the SQLite hub store",
    )]


@contextmanager
def pg_database() -> Iterator[str | None]:
    """The URL of a new, empty database on the PostgreSQL server at PG_URL, dropped afterwards; None
    (and a line on stderr) when there is no server to be had."""
    try:
        import psycopg

        admin = psycopg.connect(PG_URL, autocommit=True, connect_timeout=3)
    except Exception as exc:  # no driver, no server, no access: the figure is skipped, said so on stderr
        print(f"  hub.ingest_{PG_CLIENTS}_pg skipped: no PostgreSQL at {make_url(PG_URL).host} ({exc})".strip(),
              file=sys.stderr)
        yield None
        return
    name = f"laowu_bench_{os.getpid()}_{next(_pg_serial)}"
    try:
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
        admin.close()


_pg_serial = itertools.count(1)


def bootstrap() -> list[Figure]:
    """Figures: a hub-made snapshot of the 5,000-person village, and a new device bootstrapping from it
    end to end."""
    w = datasets.world()
    hub_db = hub_with_big_village()
    snap = datasets.fresh_path("snapshot")
    store = Store.open(hub_db, w.county.key)
    try:
        start = time.perf_counter()
        _, count = make_snapshot(store, VILLAGE, w.spare.key.public, snap)
        snap_s = time.perf_counter() - start
    finally:
        store.close()
    assert count == BIG, count
    with HubProcess(hub_db) as hub:
        path = datasets.fresh_path("new-device")
        client = SyncClient(datasets.node_store(VILLAGE, path, w.spare), hub.url, w.county.key.public)
        try:
            start = time.perf_counter()
            boot = node_bootstrap(client, path)
            boot_s = time.perf_counter() - start
        finally:
            client.close()
        node = Store.open(path, w.spare.key)
        try:
            assert len(node.values("person")) == BIG
        finally:
            node.close()
    assert boot.envelopes == BIG, boot.envelopes
    return [
        Figure(
            "hub.snapshot_5000", snap_s, "s",
            note=f"hub.snapshot.make_snapshot on the county hub of the {BIG}-person village for a new device: the "
            f"hub's verified log of what the village sees ({count} changesets) and its heads copied into a fresh "
            "SQLite file, no replay; once (the first in a process also imports alembic to stamp the file)",
        ),
        Figure(
            "hub.snapshot_5000_size", snap.stat().st_size / 1e6, "MB",
            note="that snapshot file (what a new node downloads)",
        ),
        Figure(
            "hub.bootstrap_5000", boot_s, "s",
            note=f"node.sync.bootstrap.bootstrap of a new device of the village, end to end over loopback: hello, the "
            f"hub copying the snapshot, {boot.bytes / 1e6:.1f} MB downloaded, every changeset admitted and merged "
            "again by the node against its own trust (docs/trust.md §3); once; goal <= 1.5 s (issue 13)",
        ),
    ]


_hub_db: list[Path] = []


def hub_with_big_village() -> Path:
    """A county hub store holding every changeset of the 5,000-person village (built once per run)."""
    if not _hub_db:
        started = time.perf_counter()
        w = datasets.world()
        path = datasets.tmpdir() / f"hub-{COUNTY}-{BIG}.sqlite"
        store = datasets.hub_store(datasets.build_engine(path))
        store.add_certificate(w.villages[VILLAGE].cert)
        envs = datasets.envelopes(datasets.village(VILLAGE, BIG, SEED))
        for i in range(0, len(envs), 500):
            assert all(o["status"] == "accepted" for o in store.apply(envs[i : i + 500]))
        store.close()
        _hub_db.append(path)
        print(f"  built {path.name}: {len(envs)} changesets in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return _hub_db[0]

