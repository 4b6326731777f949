"""Fuzz every target in tests/fuzz/fuzz_decoders.py for a bounded time with atheris (libFuzzer).

    .venv/bin/python tests/fuzz/run.py --seconds 60 --json [--targets envelope,admit] [--work DIR]

Each target runs in its own process with -max_total_time=SECONDS, seeded from
tests/fixtures/fuzz-corpus/<target>/ (never written to: new inputs go to a working corpus, a
temporary directory unless --work keeps them between runs). A crash, hang (-timeout) or blown
memory limit stops that target; the input is copied to tests/fixtures/fuzz-crashers/<target>/, where
tests/fuzz/test_fuzz_crashers.py replays it on every run. Prints {targets, cpu_minutes, execs,
crashes} and exits 1 if anything crashed.
"""
from __future__ import annotations

import argparse
import json
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from fuzz_decoders import CORPUS, CRASHERS, TARGETS  # noqa: E402

HARNESS = HERE / "fuzz_decoders.py"
DICTIONARY = HERE / "msgpack.dict"
ARTIFACTS = ("crash-", "timeout-", "oom-", "leak-", "slow-unit-")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def fuzz(target: str, seconds: int, work: Path) -> dict[str, object]:
    corpus = work / "corpus" / target
    artifacts = work / "artifacts" / target
    corpus.mkdir(parents=True, exist_ok=True)
    artifacts.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, str(HARNESS), target, f"-max_total_time={seconds}", "-print_final_stats=1",
           f"-artifact_prefix={artifacts}/", f"-dict={DICTIONARY}", "-timeout=20", "-rss_limit_mb=2048",
           "-max_len=65536", str(corpus), str(CORPUS / target)]
    cpu, wall = children_cpu(), time.monotonic()
    # Margin for start-up and the final merge; a harness that outlives it is itself a hang.
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=seconds + 300)
    cpu, wall = children_cpu() - cpu, time.monotonic() - wall
    execs = re.findall(r"stat::number_of_executed_units: (\d+)", proc.stderr)
    found = []
    for art in sorted(artifacts.iterdir()):
        if art.name.startswith(ARTIFACTS):
            keep = CRASHERS / target / art.name
            keep.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(art, keep)
            found.append(str(keep.relative_to(HERE.parents[1])))
            art.unlink()
    crashed = proc.returncode != 0
    out: dict[str, object] = {"execs": int(execs[-1]) if execs else 0, "seconds": round(wall, 1),
                              "cpu_seconds": round(cpu, 1), "exit": proc.returncode, "crashes": found}
    if crashed:
        out["log"] = proc.stderr[-4000:]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=int, default=60, help="per target")
    ap.add_argument("--targets", default=",".join(TARGETS), help="comma-separated; default: all")
    ap.add_argument("--work", type=Path, help="keep the working corpora here between runs (default: a temp dir)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    names = [t for t in args.targets.split(",") if t]
    unknown = set(names) - set(TARGETS)
    if unknown:
        ap.error(f"unknown targets {sorted(unknown)}; known: {', '.join(TARGETS)}")
    try:
        import atheris  # noqa: F401
    except ImportError:
        sys.exit("atheris is not installed: `.venv/bin/pip install atheris` (make fuzz does it)")
    with tempfile.TemporaryDirectory(prefix="laowu-fuzz-") as tmp:
        work = args.work or Path(tmp)
        results = {t: fuzz(t, args.seconds, work) for t in names}
    crashes = [c for r in results.values() for c in r["crashes"]]  # type: ignore[attr-defined]
    failed = [t for t, r in results.items() if r["exit"] != 0]
    report = {
        "targets": results,
        "cpu_minutes": round(sum(float(r["cpu_seconds"]) for r in results.values()) / 60, 2),  # type: ignore[arg-type]
        "execs": sum(int(r["execs"]) for r in results.values()),  # type: ignore[call-overload]
        "crashes": len(crashes),
        "crash_files": crashes,
        "failed_targets": failed,
    }
    if args.json:
        print(json.dumps(report))  # one line: tests/soak.py reads the last line
    else:
        for t, r in results.items():
            print(f"{t:13} {r['execs']:>10} execs  {r['cpu_seconds']:>7}s cpu  exit {r['exit']}  {r['crashes'] or ''}")
        print(f"total {report['execs']} execs, {report['cpu_minutes']} cpu-minutes, {len(crashes)} crashes")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
