"""`make soak`: the long fault campaigns, one after another, and the figures they prove.

Each campaign is a runner script that prints one JSON object; this collects them, prints a table
and writes `bench/soak.json` so the README can quote it. Counts come from the environment:
LAOWU_SOAK_SCHEDULES (default 1000), LAOWU_SOAK_HOSTILE (10000), LAOWU_SOAK_FAULT_POINTS (40),
LAOWU_SOAK_FUZZ_SECONDS (120 per target). LAOWU_SOAK_CAMPAIGNS names the campaigns to run (default all:
simulator,processes,hostile,fuzz); the figures of the others already in `bench/soak.json` are kept, so
campaigns measured on different days (or by different people) sit side by side. Each entry records
when it was measured and the machine's load average (1, 5, 15 min) before and after: the machine
is shared, and a figure means little without it.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def campaign(name: str, script: str, *args: str) -> dict[str, object]:
    print(f"== {name}: {script} {' '.join(args)}", flush=True)
    started = time.monotonic()
    load_before = [round(x, 2) for x in os.getloadavg()]
    out = subprocess.run([sys.executable, str(ROOT / script), *args, "--json"], cwd=ROOT,
                         capture_output=True, text=True)
    if out.returncode != 0:
        print(out.stdout[-4000:], out.stderr[-4000:], sep="\n", file=sys.stderr)
        raise SystemExit(f"soak campaign {name} failed (exit {out.returncode})")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["seconds"] = round(time.monotonic() - started, 1)
    result["measured"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    result["load"] = {"before": load_before, "after": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count()}
    print(json.dumps(result, ensure_ascii=False, indent=2), flush=True)
    return dict(result)


def main() -> None:
    env = os.environ.get
    campaigns = {
        "simulator": lambda: campaign("simulated province", "tests/sim/run.py", "--schedules",
                                      env("LAOWU_SOAK_SCHEDULES", "1000")),
        "processes": lambda: campaign("real-process kills and proxy faults", "tests/faults/run.py",
                                      "--points", env("LAOWU_SOAK_FAULT_POINTS", "40")),
        "hostile": lambda: campaign("hostile input against a running hub", "tests/hostile/run.py",
                                    "--count", env("LAOWU_SOAK_HOSTILE", "10000")),
        "fuzz": lambda: campaign("coverage-guided fuzzing", "tests/fuzz/run.py", "--seconds",
                                 env("LAOWU_SOAK_FUZZ_SECONDS", "120")),
    }
    wanted = [c.strip() for c in env("LAOWU_SOAK_CAMPAIGNS", ",".join(campaigns)).split(",") if c.strip()]
    unknown = set(wanted) - set(campaigns)
    if unknown:
        raise SystemExit(f"LAOWU_SOAK_CAMPAIGNS: unknown {sorted(unknown)}; known: {', '.join(campaigns)}")
    out = ROOT / "bench" / "soak.json"
    for name in wanted:
        result = campaigns[name]()
        # Read again just before writing: two soaks of different campaigns may run side by side.
        results = json.loads(out.read_text()) if out.exists() else {}
        results[name] = result
        out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")  # each campaign kept as it ends
    print(f"\nwritten {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
