"""How rates are measured: `time.perf_counter` around a loop long enough to dwarf timer noise.

`rates` first finds how many calls of each function fill `seconds`, then times `RUNS` runs of each and
reports each one's best run (the run least disturbed by other processes, as `timeit` advises). A figure
and its baseline are timed in alternation, run by run, so a burst of load elsewhere on the machine hits
both and their ratio stays honest. The garbage collector stays on: the engine runs with it, and the
allocation-heavy merge paths should pay for it here too.

Each best run also records the share of its wall time the process spent on a CPU (`process_time` over
`perf_counter`); `worst_cpu_share()` below ~0.9 means other work on the machine descheduled us even in
the best run, and the rates are low by about that much.
"""
from __future__ import annotations

import math
import time
from typing import Callable

RUNS = 3
METHOD = f"best of {RUNS} timed runs"
_shares: list[float] = []

Case = tuple[Callable[[], object], int]  # a function, and how many items one call of it handles


def calls_for(fn: Callable[[], object], seconds: float) -> int:
    """How many calls of `fn` take about `seconds` (calibrated on a growing trial loop)."""
    n = 1
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min(0.05, seconds / 4):
            return max(1, math.ceil(n * seconds / elapsed))
        n *= 4


def rates(cases: list[Case], seconds: float) -> list[float]:
    """Items per second for each case: best of `RUNS` runs of at least `seconds`, cases interleaved."""
    counts = [calls_for(fn, seconds) for fn, _ in cases]
    best = [math.inf] * len(cases)
    share = [1.0] * len(cases)
    for _ in range(RUNS):
        for i, ((fn, _), n) in enumerate(zip(cases, counts)):
            cpu, start = time.process_time(), time.perf_counter()
            for _ in range(n):
                fn()
            wall = time.perf_counter() - start
            if wall < best[i]:
                best[i], share[i] = wall, (time.process_time() - cpu) / wall
    _shares.extend(share)
    return [n * per_call / t for (_, per_call), n, t in zip(cases, counts, best)]


def rate(fn: Callable[[], object], per_call: int, seconds: float) -> float:
    return rates([(fn, per_call)], seconds)[0]


def worst_cpu_share() -> float:
    """The lowest CPU share of any best run so far (1.0: never descheduled)."""
    return min(_shares, default=1.0)


Prepared = tuple[Callable[[], Callable[[], object]], int]  # an untimed setup giving the timed call; items


def once_rates(cases: list[Prepared], runs: int = RUNS) -> list[float]:
    """Items per second for work that cannot be repeated in place (applying envelopes a second time
    is a no-op): each run calls `setup()` untimed and times one call of what it returns. Best of
    `runs`, cases interleaved, CPU share recorded as in `rates`."""
    best = [math.inf] * len(cases)
    share = [1.0] * len(cases)
    for _ in range(runs):
        for i, (setup, _) in enumerate(cases):
            fn = setup()
            cpu, start = time.process_time(), time.perf_counter()
            fn()
            wall = time.perf_counter() - start
            if wall < best[i]:
                best[i], share[i] = wall, (time.process_time() - cpu) / wall
    _shares.extend(share)
    return [items / t for (_, items), t in zip(cases, best)]


def percentile(samples: list[float], q: float) -> float:
    """The `q`-th percentile (0-100) of `samples`, by the nearest-rank method."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]
