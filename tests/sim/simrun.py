"""Running schedules: one seed → one world, one schedule, healing, the verdict; and many of them.

A failing seed replays exactly: `LAOWU_SIM_SEED=<seed> .venv/bin/pytest tests/sim -k replay`
(add `LAOWU_SIM_VILLAGES=<n>` when the run chose the village count).
"""
from __future__ import annotations

import os
import random
import tempfile
import time
import types
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from unittest import mock

from hub.memory import Network
from node.sync import client as sync_client
from simevents import Schedule
from siminvariants import Verdict, check
from simworld import Shape, World, scratch_root


def shape_for(seed: int, villages: int | None = None, soak: bool = False) -> Shape:
    """Small worlds by default; a soak run makes some of them big (several counties, hundreds of villages)."""
    rng = random.Random(seed * 1_000_003 + 17)
    if not soak:
        v = villages or 6
        return Shape(counties=max(1, v // 40), townships=2, villages=v, days=2, steps=max(100, 12 * v))
    big = rng.random() < 0.03
    counties = rng.randint(2, 4) if big or rng.random() < 0.3 else 1
    v = villages or (rng.randint(100, 300) if big else rng.randint(3, 6 * counties + 6))
    return Shape(counties=counties, townships=rng.randint(1, 3), villages=v, days=rng.randint(1, 7),
                 steps=max(120, 8 * v) if big else rng.randint(100, 260))


def replay_command(seed: int, villages: int | None = None, soak: bool = False) -> str:
    env = f"LAOWU_SIM_SEED={seed}" + (f" LAOWU_SIM_VILLAGES={villages}" if villages else "") + (
        " LAOWU_SIM_SOAK=1" if soak else "")
    return f"{env} .venv/bin/pytest tests/sim -k replay"


def faults(rng: random.Random) -> Network:
    """This schedule's network: faults drawn per schedule, from mild to hostile."""
    level = rng.random()
    return Network(random.Random(rng.getrandbits(64)), drop=0.12 * level, lose=0.12 * level,
                   duplicate=0.06 * level, delay=0.05 * level)


def run_schedule(seed: int, shape: Shape | None = None, tamper: Callable[[World], None] | None = None) -> Verdict:
    """Run one schedule and heal it; `tamper` (tests of the checker) runs on the world before the check."""
    shape = shape or shape_for(seed)
    rng = random.Random(seed)
    urandom = random.Random(seed ^ 0x5EED)
    with ExitStack() as stack:
        # Randomness outside the seed's control: row ids (os.urandom) and round-trip times.
        stack.enter_context(mock.patch("os.urandom", lambda n: urandom.randbytes(n)))
        stack.enter_context(mock.patch.object(sync_client, "time", types.SimpleNamespace(monotonic=lambda: 0.0)))
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"laowu-sim-{seed}-", dir=scratch_root())))
        world = World(seed, shape, tmp, faults(rng))
        stack.callback(world.close)
        schedule = Schedule(world, rng)
        schedule.run()
        rounds = schedule.heal()
        if tamper is not None:
            tamper(world)
        verdict = check(world, rounds)
        if not verdict.converged and os.environ.get("LAOWU_SIM_TRACE"):
            print("\n".join(world.log))
        return verdict


@dataclass
class Summary:
    verdicts: list[Verdict]
    seconds: float

    def figures(self) -> dict[str, Any]:
        vs = self.verdicts
        per_day = [b for v in vs for b in v.bytes_per_day]
        ok = sum(1 for v in vs if v.converged)
        return {
            "schedules": len(vs),
            "converged": ok,
            "converged_rate": round(ok / len(vs), 4) if vs else None,
            "acknowledged_changes": sum(v.acked for v in vs),
            "acknowledged_changes_lost": sum(len(v.lost) for v in vs),
            "lost_with_stolen_or_restored_laptops": sum(v.lost_with_laptop for v in vs),
            "forks_reported": sum(v.forks for v in vs),
            "unreported_forks": sum(len(v.unreported_forks) for v in vs),
            "sibling_leaks": sum(len(v.leaks) for v in vs),
            "revoked_writes_accepted": sum(len(v.revoked) for v in vs),
            "cross_village_writes_landed": sum(len(v.cross) for v in vs),
            "sibling_writes_refused": sum(v.counts.get("sibling-write", 0) for v in vs) - sum(len(v.cross) for v in vs),
            "erased_rows": sum(v.counts.get("erased_rows", 0) for v in vs),
            "erased_values_found": sum(len(v.erased) for v in vs),
            "transfers": sum(v.counts.get("transfer", 0) for v in vs),
            "edits_crossing_a_transfer": sum(v.counts.get("edit-crossing-transfer", 0) for v in vs),
            "crossed_transfers_unqueued": sum(len(v.crossed) for v in vs),
            "divergent_replicas": sum(len(v.divergent) for v in vs),
            "merge_mismatches": sum(len(v.merge) for v in vs),
            "stuck_after_healing": sum(len(v.stuck) for v in vs),
            "hub_500s": sum(len(v.failures) for v in vs),
            "villages_max": max((v.villages for v in vs), default=0),
            "bytes_per_village_day_mean": round(sum(per_day) / len(per_day)) if per_day else 0,
            "bytes_per_village_day_max": round(max(per_day)) if per_day else 0,
            "heal_rounds_max": max((v.heal_rounds for v in vs), default=0),
            "events": _sum_counts(vs),
            "seconds": round(self.seconds, 1),
            "failing": [{"seed": v.seed, "problems": v.problems[:5]} for v in vs if not v.converged][:20],
        }


def _sum_counts(vs: list[Verdict]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in vs:
        for k, n in v.counts.items():
            out[k] = out.get(k, 0) + n
    return dict(sorted(out.items()))


def run_one(job: tuple[int, int | None, bool]) -> Verdict:
    """One schedule from (seed, villages, soak): what a worker process of `run.py` runs."""
    seed, villages, soak = job
    return run_schedule(seed, shape_for(seed, villages, soak))


def run_many(n: int, first_seed: int = 1, villages: int | None = None, soak: bool = False,
             progress: Any = None) -> Summary:
    started = time.perf_counter()
    out = []
    for seed in range(first_seed, first_seed + n):
        v = run_schedule(seed, shape_for(seed, villages, soak))
        out.append(v)
        if progress is not None:
            progress(seed, v)
    return Summary(out, time.perf_counter() - started)
