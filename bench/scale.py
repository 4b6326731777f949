"""A county hub at scale on PostgreSQL: what one changeset costs to ingest as the hub grows, and what
a village's hello + pull costs once the hub is big.

`SIZE` people (`LAOWU_BENCH_COUNTY_PEOPLE`, default 100,000; issue 13's figure is at 100,000 and a
tenth of it) from the 16 villages of `bench.datasets.HUB_VILLAGES`, one signed changeset each, go into
a county hub store on PostgreSQL (a fresh database, dropped afterwards; the server's autovacuum as it
is configured, which on this machine is off) through `Store.apply`, the hub's writer, in batches of
`BATCH` taken from each village in turn. The `PROBE` changesets applied right after the hub holds a
tenth of `SIZE`, and the last `PROBE` before it holds `SIZE`, are timed: their cost per changeset at
both sizes, and the ratio (a hub that keeps its statistics and indexes right does not slow down).

Then a village that last synced while the hub was empty syncs again over HTTP (the hub in a process
of its own, as in `bench.hub`): a hello and a pull that must find, among everything that arrived
since, that nothing is for it. That sync is timed `RUNS` times, the village's cursor set back to where
it was before the fill each time (the median; one sample was at the mercy of the machine's load),
then again while in step (median of `RUNS`). The province-sized figure of issue 13 (1,000,000 people) is this with
`LAOWU_BENCH_COUNTY_PEOPLE=1000000`: hours of building on the project's machine, so `make bench`
measures it at `SIZE` and says so.
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

from bench import Figure, datasets
from bench.datasets import HUB_VILLAGES, VILLAGE
from bench.hub import HubProcess, pg_database
from node.engine import synclog
from node.engine.store import Store
from node.sync.client import SyncClient
from protocol import clock
from protocol.changeset import seal

SIZE = int(os.environ.get("LAOWU_BENCH_COUNTY_PEOPLE", "100000"))
BATCH = 500  # changesets per Store.apply, as a push of a village's backlog
PROBE = 2_000  # changesets timed at each size
RUNS = 5  # in-step syncs timed after the first
SEED = 300


def run(seconds: float) -> list[Figure]:
    with pg_database() as url:
        if url is None:
            return []
        return measure(url)


def feeds(size: int, seed: int = SEED) -> list[list[bytes]]:
    """Each village's signed changesets, `size` people in all (generated and sealed here: no village store)."""
    w = datasets.world()
    started = time.perf_counter()
    per = -(-size // len(HUB_VILLAGES))
    out = []
    for i, code in enumerate(HUB_VILLAGES):
        m, hlc, prev, envs = w.villages[code], clock.HLC(), None, []
        for seq, p in enumerate(datasets.people(code, min(per, size - i * per), seed + i), 1):
            cs = seal(m.key, code, seq, prev, datasets.card_changes(code, p, hlc))
            envs.append(cs.envelope)
            prev = cs.id
        out.append(envs)
    print(f"  sealed {size} people's changesets in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return out


def batches(per_village: list[list[bytes]]) -> list[list[bytes]]:
    """`BATCH`-sized runs of one village's feed, the villages taken in turn (feed order kept).

    A feed whose length is not a multiple of `BATCH` has one shorter run; village i has it at round
    i mod (runs), so short runs are spread evenly over the fill. Left at the end of every feed they
    all fell in the last round, and the last `PROBE` changesets (the full-size probe) went in
    half-size calls while the tenth-size probe went in full ones: every per-call cost (commit,
    statistics, statement planning) counted twice per changeset at full size only."""
    runs = []
    for i, envs in enumerate(per_village):
        sizes = [BATCH] * (len(envs) // BATCH)
        if len(envs) % BATCH:
            sizes.insert(i % (len(sizes) + 1), len(envs) % BATCH)
        at, mine = 0, []
        for n in sizes:
            mine.append(envs[at : at + n])
            at += n
        runs.append(mine)
    return [r[k] for k in range(max(len(r) for r in runs)) for r in runs if k < len(r)]


def sync_listener(store: Store, url: str, cpu: list[float] | None = None) -> float:
    """Wall seconds of one sync of `store` with the hub at `url`; its CPU seconds in this process
    appended to `cpu` when given."""
    client = SyncClient(store, url, datasets.world().county.key.public)
    try:
        start, used = time.perf_counter(), time.thread_time()
        report = client.sync()
        elapsed = time.perf_counter() - start
        if cpu is not None:
            cpu.append(time.thread_time() - used)
    finally:
        client.close()
    assert report.pushed == 0 and not report.refused, report
    return elapsed


def process_cpu(pid: int) -> float:
    """CPU seconds every thread of process `pid` has run so far (Linux schedstat, nanoseconds): what a
    request cost the hub whatever else the machine was running meanwhile."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # a thread that ended meanwhile
    return total / 1e9


def measure(url: str) -> list[Figure]:
    w = datasets.world()
    store = datasets.hub_store(url)
    for code in HUB_VILLAGES:  # as a county holds its villages' certificates before they sync
        store.add_certificate(w.villages[code].cert)
    store.close()
    listener = datasets.node_store(VILLAGE, datasets.fresh_path("listener"))
    hub: HubProcess | None = None
    try:
        # One hub process throughout, as a county's runs for months: the listener syncs with it while
        # it is empty, the villages' changesets go into its database meanwhile, and the listener comes
        # back. (A hub started just before the timed sync made it time the new process's first
        # connections to the server and first statements instead.)
        hub = HubProcess(url).__enter__()
        sync_listener(listener, hub.url)  # in step with an empty hub
        was = synclog.cursors(listener, hub.url)
        work = batches(feeds(SIZE))
        lo_at, hi_at = SIZE // 10, SIZE - PROBE
        windows = {lo_at: [0.0, 0, 0], hi_at: [0.0, 0, 0]}  # seconds applying, changesets, calls, from that size on
        started, held = time.perf_counter(), 0
        store = Store.open(url, w.county.key)
        try:
            for batch in work:
                t0 = time.perf_counter()
                outcomes = store.apply(batch)
                took = time.perf_counter() - t0
                if any(o["status"] != "accepted" for o in outcomes):
                    raise AssertionError(f"the hub refused a village's changesets: {outcomes[0]}")
                for at, acc in windows.items():
                    if at <= held < at + PROBE:
                        acc[0] += took
                        acc[1] += len(batch)
                        acc[2] += 1
                held += len(batch)
        finally:
            store.close()
        print(f"  filled the county hub with {held} people in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        behinds = []
        for _ in range(RUNS):  # its cursor set back each time: a sync from before the fill, RUNS times
            with listener.transaction() as conn:
                synclog.save_cursor(conn, hub.url, pull=was[0], push=was[1])
            behinds.append(sync_listener(listener, hub.url))
        behind = statistics.median(behinds)
        walls, node_cpu, hub_cpu = [], [], []
        for _ in range(RUNS):
            before = process_cpu(hub.proc.pid)
            walls.append(sync_listener(listener, hub.url, node_cpu))
            hub_cpu.append(process_cpu(hub.proc.pid) - before)
        in_step = statistics.median(walls)
    finally:
        if hub is not None:
            hub.__exit__(None, None, None)
        listener.close()
    cost = {at: seconds / n for at, (seconds, n, _) in windows.items()}
    calls = {at: c for at, (_, _, c) in windows.items()}
    lo, hi = cost[lo_at], cost[hi_at]
    return [
        Figure("scale.people", held, "people", note="people (one changeset each) the county hub of the two figures below held"),
        Figure(
            "scale.pg_ingest_cost_ratio", hi / lo, "×",
            note=f"Store.apply on a PostgreSQL county hub, {BATCH} changesets a call (one person each): cost per "
            f"changeset of the {PROBE} applied once the hub held {hi_at:,} people ({hi * 1000:.2f} ms, "
            f"{calls[hi_at]} calls) over the {PROBE} once it held {lo_at:,} ({lo * 1000:.2f} ms, {calls[lo_at]} calls); "
            f"goal <= 1.2 (LAOWU_BENCH_COUNTY_PEOPLE={SIZE}); load average {os.getloadavg()[0]:.1f} at the end",
        ),
        Figure(
            "scale.hello_pull", behind * 1000, "ms",
            note=f"a village's sync with that hub holding {held:,} people over HTTP (hello + a pull finding nothing "
            f"for it): from a cursor from before the {held:,} arrived (median of {RUNS}, the cursor set back before each; "
            f"the first {behinds[0] * 1000:.1f} ms); in step again: {in_step * 1000:.1f} ms "
            f"(median of {RUNS}), of which CPU {statistics.median(node_cpu) * 1000:.1f} ms in the node and "
            f"{statistics.median(hub_cpu) * 1000:.1f} ms in the hub process (medians; PostgreSQL's not counted); "
            f"load average {os.getloadavg()[0]:.1f}. Issue 13's goal is <= 20 ms at 1,000,000 people; measured here at {held:,}",
        ),
    ]
