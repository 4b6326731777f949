"""Send N hostile inputs to a county hub on loopback and report what happened (for `make soak`).

    .venv/bin/python tests/hostile/run.py --count 10000 --json [--seed S]

Prints {tried, accepted, server_errors, hangs, dropped, wrong, by_category, state_unchanged,
growth, alive, seconds, failures} and exits 1 unless every input got the refusal its category
demands, nothing was accepted, nothing answered 5xx or hung, the hub's state is unchanged but for
the predicted growth, and the server still answers /v1/health. The same checks as
tests/hostile/test_hostile.py, at a count too large for `make test`.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hostile_drive import cases, drive  # noqa: E402
from hostilekit import HostileWorld  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("--json", action="store_true", help="print the report as JSON (default: a summary)")
    args = ap.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="laowu-hostile-") as tmp:
        w = HostileWorld(Path(tmp))
        try:
            before = w.snapshot()
            report = drive(w, cases(w, args.seed, args.count), args.seed)
            after = w.snapshot()
            alive = w.alive()
        finally:
            w.close()
    grew = {"log_pending": after.log_pending - before.log_pending, "quarantine": after.quarantine - before.quarantine,
            "forks": after.forks - before.forks}
    out = report.as_json()
    out.update(state_unchanged=after.fixed() == before.fixed(), growth=grew, growth_expected=vars(report.growth),
               alive=alive, seconds=round(time.monotonic() - started, 1), seed=args.seed)
    ok = (report.tried == args.count and report.wrong == 0 and report.accepted == 0 and report.server_errors == 0
          and out["state_unchanged"] and grew == vars(report.growth) and alive)
    if args.json:
        print(json.dumps(out, ensure_ascii=False))  # one line: tests/soak.py reads the last line
    else:
        print(f"{report.tried} hostile inputs in {out['seconds']}s: {report.accepted} accepted, "
              f"{report.server_errors} 5xx, {report.hangs} hangs, {report.wrong} wrong answers; "
              f"state unchanged: {out['state_unchanged']}, growth {grew}, alive: {alive}")
        for line in report.failures:
            print("  " + line)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
