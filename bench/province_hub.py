"""A hub holding 1,000,000 people on PostgreSQL: built once by a bulk path and kept, then measured
(issue 13: the province hub report, and hello + pull at 1,000,000 people; docs/operations.md
"A province on one machine, and past it").

    nice -n 10 .venv/bin/python -m bench.province_hub            # build if missing, measure, keep it
    nice -n 10 .venv/bin/python -m bench.province_hub --drop     # ... and drop the database afterwards

**Build** (only when the database `LAOWU_BENCH_PROVINCE_DB` is missing or holds fewer than `TOTAL`
people). `REAL` people (the 16 villages of `bench.datasets.HUB_VILLAGES`, one signed changeset each)
go in through `Store.apply`, the hub's writer, in batches of 500: timed, with this process's peak
memory and the PostgreSQL backend's, so every engine and domain table holds what ingest really
writes. Then the rest is made in SQL by copying those rows (`replicate`): each copy under a new
township code (villages keep their numbers), new row ids (4 bytes of the random tail) and new feed
authors, until the hub holds `TOTAL` people. The copy is generic over the engine's storage: every
table keyed by a `tbl` and a `row` (the merge state, whatever tables hold it) and every domain table
(an `id` and a `scope`) is copied, plus the log and the heads. Copied envelopes are the originals'
bytes: the hub never verifies its own log again, and the listener below never receives them (other
scopes), but they are not valid changesets of their new feeds.

**Measured** at `TOTAL`: disk (`pg_database_size`, the largest relations); ingest cost per changeset
of `PROBE` new, real changesets (a second device of one village) against the cost in the real part
once it held a tenth of `REAL`; and a village that last synced when the hub was empty syncing again
over HTTP (hello + a pull that must find nothing for it among a million changesets), the hub in a
process of its own: once, then the median of `RUNS`. EXPLAIN of the pull's query is printed.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, LargeBinary, Table, text
from sqlalchemy.engine import make_url

from bench import Figure, datasets, report
from bench.datasets import COUNTY, HUB_VILLAGES, VILLAGE
from bench.hub import PG_URL, HubProcess
from bench.scale import batches, sync_listener
from bench.scale import feeds as sealed_feeds
from hub.app import Hub
from node import migrations
from node.engine import schema, stats, synclog, widestate
from node.engine import tables as t
from node.engine.store import Store
from protocol import clock, codec, messages
from protocol.changeset import seal

DB = os.environ.get("LAOWU_BENCH_PROVINCE_DB", "laowu_bench_province")
TOTAL = int(os.environ.get("LAOWU_BENCH_PROVINCE_PEOPLE", "1000000"))
REAL = int(os.environ.get("LAOWU_BENCH_PROVINCE_REAL", "50000"))
PROBE = 2_000
RUNS = 5
SEED = 700
LISTENER = "513431100299"  # a village of the county with nothing of its own on the hub
TOWNSHIP = COUNTY[:6] + "100"  # the real part's villages are 513431100202..217


def url_of(db: str) -> str:
    return make_url(PG_URL).set(database=db).render_as_string(hide_password=False)


def admin(sql: str) -> list[Any]:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True, connect_timeout=5) as conn:
        cur = conn.execute(sql.encode())
        return cur.fetchall() if cur.description else []


def people_held(url: str) -> int:
    """People the kept database holds, read without opening it as a Store: a database made by an
    earlier schema would be migrated first (every merge state converted: minutes and gigabytes at
    this size). Such a database is rebuilt instead."""
    import psycopg

    if not admin(f"SELECT 1 FROM pg_database WHERE datname = '{DB}'"):
        return 0
    with psycopg.connect(url, connect_timeout=5) as conn:
        revision = conn.execute(b"SELECT version_num FROM alembic_version").fetchall()
        if [r[0] for r in revision] != list(migrations.heads()):
            return 0
        row = conn.execute(b"SELECT count(*) FROM person").fetchone()
        return int(row[0]) if row else 0


def backend_peak_kb(conn: Connection) -> int:
    """Peak resident memory (VmHWM) of the PostgreSQL backend serving `conn` (0 when unreadable)."""
    pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return 0


def build(url: str) -> dict[str, float]:
    """The real part through Store.apply, then SQL copies up to TOTAL; what the real part cost."""
    admin(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
    admin(f'CREATE DATABASE "{DB}"')
    w = datasets.world()
    store = datasets.hub_store(url)
    for code in HUB_VILLAGES:
        store.add_certificate(w.villages[code].cert)
    feeds = sealed_feeds(REAL, SEED)
    held, window, ingest_s = 0, [0.0, 0], 0.0
    for batch in batches(feeds):
        t0 = time.perf_counter()
        outcomes = store.apply(batch)
        took = time.perf_counter() - t0
        if any(o["status"] != "accepted" for o in outcomes):
            raise AssertionError(f"the hub refused a village's changesets: {outcomes[0]}")
        if REAL // 10 <= held < REAL // 10 + PROBE:
            window[0] += took
            window[1] += len(batch)
        held += len(batch)
        ingest_s += took
    with store.engine.connect() as conn:
        backend_kb = backend_peak_kb(conn)
    store.close()
    out = {"real": held, "ingest_s": ingest_s, "cost_small": window[0] / max(window[1], 1),
           "writer_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "backend_peak_mb": backend_kb / 1024}
    print(f"  ingested {held} people through Store.apply in {ingest_s:.0f} s", file=sys.stderr)
    started = time.perf_counter()
    replicate(url, -(-TOTAL // held) - 1)
    print(f"  copied up to {people_held(url)} people in SQL in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return out


def _copies(table: Table) -> dict[str, str] | None:
    """How copy :k of a row of `table` differs from the row (column → SQL expression), or None when
    the table is not copied (per-replica state: meta, peers, certificates, audit...)."""
    cols = set(table.columns.keys())
    scope = (f"CASE WHEN scope LIKE '{TOWNSHIP}%' THEN '{COUNTY[:6]}' || (200 + CAST(:k AS integer))::text || right(scope, 3) "
             "ELSE scope END")
    if table is t.log:
        return {"id": "overlay(id placing int4send(CAST(:k AS integer)) from 1 for 4)",
                "author": "overlay(author placing int4send(CAST(:k AS integer)) from 1 for 4)", "scope": scope, "pos": "pos + CAST(:k AS bigint) * CAST(:n AS bigint)"}
    if table is t.heads:
        return {"author": "overlay(author placing int4send(CAST(:k AS integer)) from 1 for 4)", "scope": scope}
    if ({"tbl", "row"} <= cols or table.name.startswith(widestate.PREFIX)) and isinstance(table.c.row.type, LargeBinary):
        return {"row": "overlay(row placing int4send(CAST(:k AS integer)) from 9 for 4)"}  # merge state, wide rows too
    if table.name in schema.TABLES:
        return {"id": "encode(overlay(decode(id, 'hex') placing int4send(CAST(:k AS integer)) from 9 for 4), 'hex')", "scope": scope}
    return None


def replicate(url: str, copies: int) -> None:
    store = Store.open(url, None)
    try:
        with store.engine.connect() as conn:  # one session: the originals are its temporary tables
            n = int(conn.execute(text("SELECT coalesce(max(pos), 0) FROM lw_log")).scalar_one())
            todo = [(tb, how) for tb in t.metadata.sorted_tables if (how := _copies(tb)) is not None]
            for tb, _ in todo:
                conn.execute(text(f'CREATE TEMP TABLE "orig_{tb.name}" AS SELECT * FROM "{tb.name}"'))
            conn.commit()
            for k in range(1, copies + 1):
                for tb, how in todo:
                    names = list(tb.columns.keys())
                    exprs = ", ".join(how.get(c, f'"{c}"') for c in names)
                    conn.execute(text(f'INSERT INTO "{tb.name}" ({", ".join(names)}) '
                                      f'SELECT {exprs} FROM "orig_{tb.name}"'), {"k": k, "n": n})
                conn.execute(text("UPDATE lw_meta SET value = :v WHERE key = 'pos'"), {"v": codec.pack(n * (k + 1))})
                conn.commit()
                print(f"  copy {k}/{copies}", file=sys.stderr)
        stats.refresh(store.engine)
    finally:
        store.close()


def unreplicate(url: str) -> int:
    """Delete what `replicate` made (every copy lives under a township other than TOWNSHIP's, or has
    a row id marked by its copy number); return the people of the real part left."""
    store = Store.open(url, None)
    try:
        with store.engine.begin() as conn:
            n = conn.execute(text(f"SELECT count(*) FROM lw_log WHERE scope LIKE '{TOWNSHIP}%'")).scalar_one()
            for tb in t.metadata.sorted_tables:
                how = _copies(tb)
                if how is None:
                    continue
                if "scope" in tb.columns:
                    conn.execute(text(f'DELETE FROM "{tb.name}" WHERE scope LIKE \'{COUNTY[:6]}2%\''))
                else:
                    conn.execute(text(f'DELETE FROM "{tb.name}" WHERE substring(row from 9 for 3) = \'\\x000000\'::bytea'))
            conn.execute(text("UPDATE lw_meta SET value = :v WHERE key = 'pos'"), {"v": codec.pack(int(n))})
        return int(n)
    finally:
        store.close()


def disk(url: str) -> tuple[float, list[tuple[str, float]]]:
    store = Store.open(url, None)
    try:
        with store.engine.connect() as conn:
            total = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
            top = conn.execute(text(
                "SELECT relname, pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 2 DESC LIMIT 6")).all()
        return total / 1e9, [(r[0], r[1] / 1e9) for r in top]
    finally:
        store.close()


def probe(url: str) -> tuple[float, int, float]:
    """PROBE new people of a second device of VILLAGE through Store.apply at full size: seconds per
    changeset, people held then, the backend's peak memory (MB)."""
    w = datasets.world()
    store = Store.open(url, w.county.key)
    try:
        store.add_certificate(w.spare.cert)
        head = dict(((a, s), (n, i)) for a, s, n, i in _heads(store, w.spare.key.public))
        seq, prev = head.get((w.spare.key.public, VILLAGE), (0, None))
        hlc, envs = clock.HLC(), []
        for p in datasets.people(VILLAGE, PROBE, SEED + 99 + seq):
            seq += 1
            cs = seal(w.spare.key, VILLAGE, seq, prev, datasets.card_changes(VILLAGE, p, hlc))
            envs.append(cs.envelope)
            prev = cs.id
        took = 0.0
        for i in range(0, len(envs), 500):
            t0 = time.perf_counter()
            outcomes = store.apply(envs[i:i + 500])
            took += time.perf_counter() - t0
            assert all(o["status"] == "accepted" for o in outcomes), outcomes[0]
        with store.engine.connect() as conn:
            held = int(conn.execute(text("SELECT count(*) FROM person")).scalar_one())
            peak = backend_peak_kb(conn) / 1024
        return took / len(envs), held, peak
    finally:
        store.close()


def _heads(store: Store, author: bytes) -> list[tuple[bytes, str, int, bytes]]:
    with store.engine.connect() as conn:
        return [(r.author, r.scope, r.seq, r.id) for r in conn.execute(t.heads.select().where(t.heads.c.author == author))]


def listen(url: str) -> tuple[float, float, float, str]:
    """A village with nothing on the hub: hello + pull handled in this process (its signing included;
    median of RUNS), then a whole no-op sync over HTTP (once, then the median of RUNS); the plan."""
    w = datasets.world()
    member = w.box.enroll(LISTENER, "village", COUNTY)
    store = Store.open(url, w.county.key)
    try:
        store.add_certificate(member.cert)
        with store.engine.connect() as conn:
            q = (t.log.select().where(t.log.c.status == "applied", t.log.c.pos > 0, synclog.visible(t.log.c.scope, LISTENER))
                 .order_by(t.log.c.pos)).compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
            plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN ANALYZE " + str(q), q.params))
        handler, chain = Hub(store), [w.box.members[datasets.PROVINCE].cert, w.county.cert, member.cert]
        handled = []
        for _ in range(RUNS):
            t0 = time.perf_counter()
            hello = messages.Hello.make(member.key, store.author, LISTENER, chain, 0, clock.wall_ms(),
                                        os.urandom(messages.NONCE_LEN)).encode()
            welcome = messages.Welcome.decode(handler.hello(handler.hello_check(hello)))
            batch = messages.Batch.decode(handler.pull(messages.Pull(welcome.token, 0, 1 << 20, False).encode()))
            handled.append(time.perf_counter() - t0)
            assert not welcome.more and not batch.envelopes
    finally:
        store.close()
    node = Store.create(datasets.fresh_path("listener"), member.key, LISTENER, w.box.root.public,
                        [w.box.members[datasets.PROVINCE].cert, w.county.cert, member.cert])
    try:
        with HubProcess(url) as hub:
            first = sync_listener(node, hub.url)
            again = statistics.median(sync_listener(node, hub.url) for _ in range(RUNS))
    finally:
        node.close()
    return statistics.median(handled), first, again, plan


def run(seconds: float) -> list[Figure]:
    """`python -m bench province_hub`: build the 1,000,000-person hub afresh (a kept one is dropped, so
    every figure, the small-size ingest cost included, comes from this run) and measure it, in a
    process of its own: its peak memory is then the writer's, not that of the modules run before it."""
    admin(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
    out = subprocess.run([sys.executable, "-m", "bench.province_hub", "--json"], check=True, stdout=subprocess.PIPE,
                         text=True, cwd=Path(__file__).resolve().parent.parent).stdout
    return [Figure(**f) for f in json.loads(out)]


def measure(url: str) -> tuple[dict[str, float], dict[str, Any]]:
    """Build the hub if it is missing (what the build cost), then measure it."""
    built: dict[str, float] = {}
    have = people_held(url)
    if REAL <= have < TOTAL:  # an earlier build stopped while copying: copy again from its real part
        print(f"copying {DB} again: {have} people held, {TOTAL} wanted", file=sys.stderr)
        real = unreplicate(url)
        replicate(url, -(-TOTAL // real) - 1)
    elif have < TOTAL:
        print(f"building {DB}: {have} people held, {TOTAL} wanted", file=sys.stderr)
        built = build(url)
    size, top = disk(url)
    cost, held, peak = probe(url)
    handled, first, again, plan = listen(url)
    got = {"size": size, "top": top, "cost": cost, "held": held, "peak": peak, "handled": handled, "first": first,
           "again": again, "plan": plan, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "load": os.getloadavg()[0]}
    return built, got


def figures(built: dict[str, float], got: dict[str, Any]) -> list[Figure]:
    held, where = got["held"], f"at {got['held']:,} people, load average {got['load']:.1f}"
    out = [
        Figure("province_hub.people", held, "people",
               note=f"people the PostgreSQL province hub held when measured ({REAL:,} through Store.apply, the rest "
               "SQL copies of them: bench/province_hub.py)"),
        Figure("province_hub.disk", got["size"], "GB",
               note=f"pg_database_size {where}: {got['size'] * 1e6 / held:.1f} kB a person; largest: "
               + ", ".join(f"{n} {g:.2f} GB" for n, g in got["top"])),
        Figure("province_hub.memory", max(got["rss"], got["peak"]), "MB",
               note=f"peak RSS: the hub's writer (then its client) {got['rss']:.0f} MB, the PostgreSQL backend "
               f"{got['peak']:.0f} MB"
               + (f"; while ingesting the real part {built['writer_peak_mb']:.0f} and {built['backend_peak_mb']:.0f} MB"
                  if built else "")),
        Figure("province_hub.hello_pull", got["handled"] * 1000, "ms",
               note=f"hello + a pull finding nothing, of a village that never synced, handled by the hub in "
               f"process (its signing included), median of {RUNS}, {where}"),
        Figure("province_hub.sync_http", got["again"] * 1000, "ms",
               note=f"that village's whole no-op sync over HTTP, the hub in its own process: median of {RUNS} after "
               f"the first ({got['first'] * 1000:.1f} ms), {where}"),
    ]
    if built:
        out.insert(1, Figure(
            "province_hub.ingest", got["cost"] * 1000, "ms/changeset", built["cost_small"] * 1000,
            f"the same at {REAL // 10:,} people",
            note=f"Store.apply of {PROBE:,} new one-card changesets (batches of 500) {where}, against the cost once "
            f"the hub held {REAL // 10:,}; the real part went in at {built['ingest_s'] / built['real'] * 1000:.2f} ms "
            f"a person ({built['real']:,.0f} in {built['ingest_s']:.0f} s)"))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.province_hub", description=__doc__.split("\n\n")[0])
    parser.add_argument("--drop", action="store_true", help="drop the database afterwards")
    parser.add_argument("--json", action="store_true", help="print only the figures, as JSON (for `run`)")
    args = parser.parse_args(argv)
    built, got = measure(url_of(DB))
    if args.json:
        print(json.dumps([dataclasses.asdict(f) for f in figures(built, got)]))
        return 0
    shown = figures(built, got)
    print(report.table(shown))
    print("\n".join(f"  {f.name}: {f.note}" for f in shown))
    print("  the pull's query, EXPLAIN ANALYZE:\n    " + got["plan"].replace("\n", "\n    "))
    if args.drop:
        admin(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        print(f"  dropped {DB}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
