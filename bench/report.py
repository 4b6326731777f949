"""The printed table and `results.json`: `{"machine": {...}, "method": "...", "figures": [...]}`, merged by
figure name. `machine` and `method` describe the latest run, which may have re-measured only some modules."""
from __future__ import annotations

import datetime
import json
import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable

from bench import MODULES, Figure

RESULTS = Path(__file__).with_name("results.json")
_LIBRARIES = ("msgpack", "cryptography", "pycrdt")


def machine() -> dict[str, Any]:
    versions: dict[str, str | None] = {}
    for lib in _LIBRARIES:
        try:
            versions[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            versions[lib] = None
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "loadavg_1min": round(os.getloadavg()[0], 2),  # other work on the machine skews every rate
        "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "libraries": versions,
    }


def merge(old: list[dict[str, Any]], new: list[Figure], modules: Iterable[str]) -> list[dict[str, Any]]:
    """Old entries, minus those the modules just run own (by name prefix) or re-measured, plus the new ones."""
    prefixes = tuple(f"{m}." for m in modules)
    fresh = {f.name for f in new}
    kept = [e for e in old if e.get("name") not in fresh and not str(e.get("name", "")).startswith(prefixes)]
    return sorted(kept + [f.as_json() for f in new], key=_module_rank)


def _module_rank(entry: dict[str, Any]) -> int:
    """Figures stay grouped in `MODULES` order however many partial re-runs merged them."""
    module = str(entry.get("name", "")).split(".", 1)[0]
    return MODULES.index(module) if module in MODULES else len(MODULES)


def save(new: list[Figure], modules: list[str], method: str, path: Path = RESULTS) -> None:
    old: list[dict[str, Any]] = []
    if path.exists():
        try:
            old = list(json.loads(path.read_text(encoding="utf-8")).get("figures", []))
        except (ValueError, AttributeError):
            print(f"warning: {path} is not a results file; starting a new one", file=sys.stderr)
    doc = {"machine": machine(), "method": method, "figures": merge(old, new, modules)}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _num(x: float | None) -> str:
    if x is None:
        return ""
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.3g}" if abs(x) < 10 else f"{x:.1f}"


def table(figures: list[Figure]) -> str:
    rows = [("name", "value", "unit", "baseline", "ratio")]
    for f in figures:
        base = f"{_num(f.baseline)} ({f.baseline_name})" if f.baseline is not None else ""
        ratio = f"{f.ratio:.3f}" if f.ratio is not None else ""
        rows.append((f.name, _num(f.value), f.unit, base, ratio))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    right = (False, True, False, False, True)
    lines = []
    for j, r in enumerate(rows):
        cells = [c.rjust(w) if ra else c.ljust(w) for c, w, ra in zip(r, widths, right)]
        lines.append("  ".join(cells).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
