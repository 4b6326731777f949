"""`make soak`: the long fault campaigns, one after another, and the figures they prove.

Each campaign is a runner script that prints one JSON object; this collects them, prints a table
and writes `bench/soak.json` so the README can quote it. Counts come from the environment:
LAOWU_SOAK_SCHEDULES (default 1000), LAOWU_SOAK_HOSTILE (10000), LAOWU_SOAK_FAULT_POINTS (40),
LAOWU_SOAK_FUZZ_SECONDS (120 per target).
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
    out = subprocess.run([sys.executable, str(ROOT / script), *args, "--json"], cwd=ROOT,
                         capture_output=True, text=True)
    if out.returncode != 0:
        print(out.stdout[-4000:], out.stderr[-4000:], sep="\n", file=sys.stderr)
        raise SystemExit(f"soak campaign {name} failed (exit {out.returncode})")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(result, ensure_ascii=False, indent=2), flush=True)
    return dict(result)


def main() -> None:
    env = os.environ.get
    results = {
        "simulator": campaign("simulated province", "tests/sim/run.py", "--schedules", env("LAOWU_SOAK_SCHEDULES", "1000")),
        "processes": campaign("real-process kills and proxy faults", "tests/faults/run.py",
                              "--points", env("LAOWU_SOAK_FAULT_POINTS", "40")),
        "hostile": campaign("hostile input against a running hub", "tests/hostile/run.py",
                            "--count", env("LAOWU_SOAK_HOSTILE", "10000")),
        "fuzz": campaign("coverage-guided fuzzing", "tests/fuzz/run.py", "--seconds", env("LAOWU_SOAK_FUZZ_SECONDS", "120")),
    }
    out = ROOT / "bench" / "soak.json"
    out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    print(f"\nwritten {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
