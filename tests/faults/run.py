"""Soak runner for the fault campaigns, outside pytest.

    .venv/bin/python tests/faults/run.py --points 200 --json
    .venv/bin/python tests/faults/run.py --points 50 --only hub-kill node-kill --seed 1234

Runs the campaigns of tests/faults (hub kill on SQLite, hub kill on PostgreSQL when
LAOWU_TEST_PG_URL is reachable, node kill during pull, the faulty-network proxy) with N kill points
each (PostgreSQL: N // 3, at least 3; the proxy campaign: N // 10 repetitions, at least 1, each with
its own seed), and prints per campaign: kill points, acknowledged changesets, acknowledged lost,
integrity failures, half-applied states, cursor skips, converged, fault counts, seconds. Exits 1
if any campaign found a problem. Work files go to a temporary directory, kept with --keep.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from faultkit import Figures  # noqa: E402
from ingest_campaign import hub_kill  # noqa: E402
from network_campaign import through_proxy  # noqa: E402
from pull_campaign import node_kill  # noqa: E402

CAMPAIGNS = ("hub-kill", "hub-kill-pg", "node-kill", "proxy")


def _pg() -> tuple[Callable[[str], str], Callable[[], None]] | None:
    """`new_db(label)` on the PostgreSQL server and `drop()` for what it made; None when unreachable."""
    from sqlalchemy.engine import make_url

    url = os.environ.get("LAOWU_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=5, autocommit=True) as conn:
            conn.execute(b"SELECT 1")
    except Exception as exc:
        print(f"PostgreSQL not reachable ({type(exc).__name__}): hub-kill-pg skipped", file=sys.stderr)
        return None
    made: list[str] = []

    def new(label: str) -> str:
        # LAOWU_SOAK_DB_PREFIX: who made them, on a server shared by several people (dropped at the end)
        name = f"{os.environ.get('LAOWU_SOAK_DB_PREFIX', 'laowu')}_soak_{label}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"'.encode())
        made.append(name)
        return make_url(url).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            for name in made:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())

    return new, drop


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--points", type=int, default=int(os.environ.get("LAOWU_FAULT_POINTS", "10")))
    p.add_argument("--seed", type=int, help="replay: the seed a previous run printed")
    p.add_argument("--only", nargs="+", choices=CAMPAIGNS, default=list(CAMPAIGNS))
    p.add_argument("--json", action="store_true", help="one JSON document instead of lines")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    args = p.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 30)
    work = Path(tempfile.mkdtemp(prefix="laowu-soak-"))
    figures: list[Figures] = []
    try:
        if "hub-kill" in args.only:
            figures.append(hub_kill(work / "hub-kill", args.points, seed=seed))
        if "hub-kill-pg" in args.only:
            pg = _pg()
            if pg is not None:
                new_db, drop = pg
                try:
                    figures.append(hub_kill(work / "hub-kill-pg", max(3, args.points // 3), new_db=new_db, seed=seed))
                finally:
                    drop()
        if "node-kill" in args.only:
            figures.append(node_kill(work / "node-kill", args.points, seed=seed))
        if "proxy" in args.only:
            for i in range(max(1, args.points // 10)):
                figures.append(through_proxy(work / f"proxy-{i}", seed=seed + i))
    finally:
        if args.keep:
            print(f"work files kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    summaries = [f.summary() for f in figures]
    totals = {
        "kill_points": sum(f.kill_points for f in figures),
        "acknowledged": sum(f.acknowledged for f in figures),
        "acknowledged_lost": sum(f.lost_count for f in figures),
        "problems": sum(len(s["problems"]) for s in summaries),
        "converged": all(f.converged for f in figures),
        "seconds": round(sum(f.seconds for f in figures), 1),
    }
    if args.json:
        print(json.dumps({"seed": seed, "totals": totals, "campaigns": summaries}, ensure_ascii=False))  # one line: tests/soak.py reads the last
    else:
        for s in summaries:
            print(f"{s['campaign']:<20} kill points {s['kill_points']:>4}  acknowledged {s['acknowledged']:>5}  "
                  f"lost {s['acknowledged_lost']}  integrity failures {s['integrity_failures']}  "
                  f"half-applied {s['half_applied']}  cursor skips {s['cursor_skips']}  "
                  f"converged {s['converged']}  {s['seconds']} s"
                  + (f"  faults {s['faults']}" if s["faults"] else ""))
            for problem in s["problems"]:
                print(f"    {problem}")
        print(f"seed {seed}; totals: {totals}")
    return 0 if totals["converged"] and totals["problems"] == 0 and totals["acknowledged_lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
