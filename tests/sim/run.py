"""Run many simulated schedules and print the figures (DESIGN: "Proving it under faults").

    .venv/bin/python tests/sim/run.py --schedules 1000 --json            # the soak: mixed shapes
    .venv/bin/python tests/sim/run.py --schedules 20 --small             # what `make test` runs
    .venv/bin/python tests/sim/run.py --schedules 50 --villages 200      # big worlds only
    .venv/bin/python tests/sim/run.py --schedules 1000 --out soak.json   # figures so far, every 10 schedules

Schedule i uses seed S+i (`--seed S`, default 1). Without `--small` the shapes are mixed: mostly one
county and a few villages, a third several counties, about one in a hundred hundreds of villages.
Failing seeds are printed with the command that replays each one; the exit status is 1 if any.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from simrun import Summary, replay_command, run_one  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--schedules", type=int, default=int(os.environ.get("LAOWU_SIM_SCHEDULES", "200")))
    p.add_argument("--seed", type=int, default=1, help="the first schedule's seed")
    p.add_argument("--villages", type=int, default=None, help="villages in every schedule")
    p.add_argument("--small", action="store_true", help="the small shape of `make test` (1 county, 6 villages)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="schedules run in parallel")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    p.add_argument("--out", type=Path, default=None,
                   help="also write the figures so far to this file every --every schedules (a long soak cut short "
                        "still says what it proved)")
    p.add_argument("--every", type=int, default=10)
    args = p.parse_args(argv)
    soak = not args.small
    jobs = [(seed, args.villages, soak) for seed in range(args.seed, args.seed + args.schedules)]
    import time

    started = time.perf_counter()
    verdicts = []
    with multiprocessing.get_context("spawn").Pool(max(1, args.jobs)) as pool:
        for i, v in enumerate(pool.imap(run_one, jobs), 1):
            verdicts.append(v)
            if not v.converged:
                print(f"seed {v.seed} FAILED: {v.problems[:3]}\n  replay: {replay_command(v.seed, args.villages, soak)}",
                      file=sys.stderr, flush=True)
            if i % 50 == 0:
                print(f"{i}/{len(jobs)} schedules, {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
            if args.out is not None and (i % max(1, args.every) == 0 or i == len(jobs)):
                so_far = Summary(verdicts, time.perf_counter() - started).figures()
                args.out.write_text(json.dumps({**so_far, "planned": len(jobs)}, ensure_ascii=False, indent=2) + "\n")
    figures = Summary(verdicts, time.perf_counter() - started).figures()
    figures["replay"] = [replay_command(v.seed, args.villages, soak) for v in verdicts if not v.converged][:20]
    print(json.dumps(figures, ensure_ascii=False, indent=None if args.json else 2))
    return 0 if figures["converged"] == figures["schedules"] else 1


if __name__ == "__main__":
    sys.exit(main())
