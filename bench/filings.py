"""Filings over a province-sized replica on PostgreSQL: 附件3, the two-year review and the five subsidy
lists over LAOWU_BENCH_PERSONS people (default 1,000,000) of Sichuan's real villages.

The province (`bench/province.py`) is bulk-loaded into a fresh PostgreSQL database created by
`Store.create` (real tables and indexes), then a child process builds each filing for the whole
province for 2025 — the query in the database, then the .xlsx — and reports the seconds of each and
its own peak resident memory (ru_maxrss), so the figure is the filing run's, not the generator's.
Goal (issue 10): under 30 s in total, the work done in the database.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from bench import Figure

BENCH = ("annex3", "review", "subsidy-sichuan300", "subsidy-transport", "subsidy-brokerfee", "subsidy-employer",
         "subsidy-training")
PERSONS = int(os.environ.get("LAOWU_BENCH_PERSONS", "1000000"))


def child(url: str, out: str) -> dict[str, object]:
    from hub.filings.access import build
    from hub.filings.common import Ctx
    from hub.filings.xlsx import write
    from node.store import Store

    store = Store.open(url, None)
    times: dict[str, float] = {}
    rows: dict[str, int] = {}
    for name in BENCH:
        t0 = time.perf_counter()
        table = build(store, name, Ctx("510000000000", 2025, None, date(2026, 1, 10)))
        t1 = time.perf_counter()
        write(table, Path(out) / f"{name}.xlsx")
        times[name] = time.perf_counter() - t0
        times[name + ".query"] = t1 - t0
        rows[name] = len(table.rows)
    store.close()
    return {"times": times, "rows": rows, "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run(seconds: float) -> list[Figure]:
    from bench import province
    from bench.hub import pg_database

    with pg_database() as url:
        if url is None:
            return []
        t0 = time.perf_counter()
        data = province.generate(PERSONS)
        t1 = time.perf_counter()
        store = province.create(url)
        counts = province.load(store, data)
        store.close()
        del data
        t2 = time.perf_counter()
        print(f"  filings: generated {counts} in {t1 - t0:.0f} s, loaded in {t2 - t1:.0f} s", file=sys.stderr)
        with tempfile.TemporaryDirectory(prefix="laowu-bench-filings-") as d:
            proc = subprocess.run([sys.executable, "-m", "bench.filings", url, d], capture_output=True, text=True,
                                  timeout=1800)
            if proc.returncode != 0:
                raise SystemExit(f"bench.filings child failed:\n{proc.stderr}")
            got = json.loads(proc.stdout)
    times, rows = got["times"], got["rows"]
    n = f"{PERSONS:,} persons, {counts['placement']:,} placements, {counts['broker']:,} brokers"
    figs = [Figure(f"filings.{name}", times[name], "s",
                   note=f"{name} for the province, query {times[name + '.query']:.1f} s + .xlsx, {rows[name]:,} rows; {n}")
            for name in BENCH]
    total = sum(times[name] for name in BENCH)
    figs += [Figure("filings.total", total, "s", 30.0, "goal (issue 10)",
                    f"附件3 + review + 5 subsidy lists over {n} on PostgreSQL"),
             Figure("filings.peak_rss", got["maxrss_mb"], "MB", note="peak resident memory of the process building them"),
             Figure("filings.load", t2 - t1, "s", note=f"bulk COPY of the generated rows ({sum(counts.values()):,} rows)")]
    return figs


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1], sys.argv[2])))
