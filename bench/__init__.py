"""Benchmarks: `make bench` (or `python -m bench [module ...]`) runs them and updates `bench/results.json`.

Theory of operation. A benchmark module is a file in this package with a `run(seconds) -> list[Figure]`
function, listed in `MODULES` below; `__main__` runs the listed (or the named) modules, prints one
table and merges their figures into `results.json` by name, so re-running one module leaves the other
modules' figures alone. Figure names start with the module's name (`sync_core.seal`), which is how a
re-run also drops figures a module no longer produces.

A figure is one number with its unit and, where there is something fair to compare with, a baseline
(another implementation, or the floor set by the cryptography alone) and `ratio = value / baseline`.
Rates are measured by `bench.timing.rate`: best of 3 runs of at least `seconds` each. Work that cannot
be repeated in place (applying the same changesets twice is a no-op) is timed as a fixed workload on
fresh databases by `bench.timing.once_rates`, and ignores `seconds`: `store` and `hub`, which share
their datasets through `bench.datasets` (built once per run).

To add a benchmark: write `bench/<name>.py` with `run`, and add `<name>` to `MODULES`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MODULES: tuple[str, ...] = ("sync_core", "store", "hub", "scale", "province_hub", "filings", "desk", "erasure")


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str | None = None
    note: str = ""  # what is measured, in one line; kept in results.json for whoever reads it later

    @property
    def ratio(self) -> float | None:
        return self.value / self.baseline if self.baseline else None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "value": _round(self.value), "unit": self.unit}
        if self.baseline is not None:
            out["baseline"] = _round(self.baseline)
            out["baseline_name"] = self.baseline_name
            out["ratio"] = round(self.ratio or 0.0, 4)
        if self.note:
            out["note"] = self.note
        return out


def _round(x: float) -> float:
    """Four significant digits: more is noise for a rate, and byte counts stay exact below 10,000."""
    return float(f"{x:.4g}") if abs(x) < 10_000 else round(x)
