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
    from node.engine.store import Store

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
    return {"times": times, "rows": rows, "maxrss_mb": _hwm_mb(), "load": os.getloadavg()[0]}


def _hwm_mb() -> float:
    """This process's peak RSS (VmHWM). Not ru_maxrss: Linux carries that across exec from the parent,
    which here holds the whole generated province."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _loaded(url: str) -> tuple[dict[str, int], float]:
    """Generate and bulk-load the province into `url`; the row counts and the load's seconds."""
    from bench import province

    t0 = time.perf_counter()
    data = province.generate(PERSONS)
    t1 = time.perf_counter()
    store = province.create(url)
    counts = province.load(store, data)
    store.close()
    print(f"  filings: generated {counts} in {t1 - t0:.0f} s, loaded in {time.perf_counter() - t1:.0f} s",
          file=sys.stderr)
    return counts, time.perf_counter() - t1


def _counts(url: str) -> dict[str, int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        out = {t: int(conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one()) for t in ("person", "placement", "broker")}
    engine.dispose()
    return out


def _child(url: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="laowu-bench-filings-") as d:
        proc = subprocess.run([sys.executable, "-m", "bench.filings", url, d], capture_output=True, text=True,
                              timeout=1800)
        if proc.returncode != 0:
            raise SystemExit(f"bench.filings child failed:\n{proc.stderr}")
        return json.loads(proc.stdout)  # type: ignore[no-any-return]


def run(seconds: float) -> list[Figure]:
    """LAOWU_BENCH_FILINGS_URL: a database already loaded by an earlier run (kept), to time the filings only."""
    from bench.hub import pg_database

    kept = os.environ.get("LAOWU_BENCH_FILINGS_URL")
    if kept:
        counts, load_s = _counts(kept), None
        got = _child(kept)
    else:
        with pg_database() as url:
            if url is None:
                return []
            counts, load_s = _loaded(url)
            got = _child(url)
    times, rows = got["times"], got["rows"]
    n = f"{PERSONS:,} persons, {counts['placement']:,} placements, {counts['broker']:,} brokers"
    figs = [Figure(f"filings.{name}", times[name], "s",
                   note=f"{name} for the province, query {times[name + '.query']:.1f} s + .xlsx, {rows[name]:,} rows; {n}")
            for name in BENCH]
    total = sum(times[name] for name in BENCH)
    figs += [Figure("filings.total", total, "s", 30.0, "goal (issue 10)",
                    f"附件3 + review + 5 subsidy lists over {n} on PostgreSQL; queries "
                    f"{sum(times[k + '.query'] for k in BENCH):.1f} s, .xlsx {total - sum(times[k + '.query'] for k in BENCH):.1f} s; "
                    f"load average {got['load']:.1f} at the end (2 cores)"),
             Figure("filings.peak_rss", got["maxrss_mb"], "MB", note="peak resident memory (VmHWM) of the process building them")]
    if load_s is not None:
        figs.append(Figure("filings.load", load_s, "s", note=f"bulk COPY of the generated rows ({sum(counts.values()):,} rows)"))
    return figs


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1], sys.argv[2])))
