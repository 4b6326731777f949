"""`python -m bench [module ...]`: run the benchmark modules (all of `MODULES` by default), print the
table, the notes and issue 13's goals (`bench.goals`), and merge the figures into `bench/results.json`."""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import time

from bench import MODULES, Figure, goals, report, timing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("modules", nargs="*", metavar="module", help=f"any of {', '.join(MODULES)} (default: all)")
    parser.add_argument("--seconds", type=float, default=0.5, help="length of each timed run; a rate is the best of 3")
    parser.add_argument("--no-save", action="store_true", help="print only; leave results.json alone")
    parser.add_argument("--goals", action="store_true",
                        help=f"run only the modules issue 13's goals come from ({', '.join(goals.modules())})")
    args = parser.parse_args(argv)
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        parser.error(f"unknown benchmark module(s) {unknown}; known: {list(MODULES)}")
    modules = args.modules or (goals.modules() if args.goals else list(MODULES))

    figures: list[Figure] = []
    started = time.perf_counter()
    for name in modules:
        module = importlib.import_module(f"bench.{name}")
        t0 = time.perf_counter()
        got: list[Figure] = module.run(args.seconds)
        figures += got
        print(f"[{name}: {len(got)} figures in {time.perf_counter() - t0:.1f} s]", file=sys.stderr)

    share = timing.worst_cpu_share()
    method = (
        f"{timing.METHOD} of at least {args.seconds} s each, figure and baseline interleaved; "
        f"worst CPU share of a best run {share:.2f}"
    )
    print(report.table(figures))
    notes = [f"{f.name}: {f.note}" for f in figures if f.note]
    if notes:
        print(f"\nRates: {method}. Notes:")
        print("\n".join(f"  {n}" for n in notes))
    print(f"\nIssue 13 goals, this run (load average {os.getloadavg()[0]:.1f} at the end, {os.cpu_count()} cores):")
    print(goals.table(figures))
    if share < 0.9:
        print(f"\nwarning: the machine was busy; some best runs had only {share:.0%} of a CPU. Re-run when idle.")
    if not args.no_save:
        report.save(figures, modules, method)
        print(f"\n{len(figures)} figures merged into {report.RESULTS} ({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
