"""A `Table` as UTF-8 CSV with a byte-order mark, so Excel on a Chinese Windows opens it as UTF-8.

The header is one row (a group's name joined to its column's: 2025年服务情况/转移就业人次); the title,
unit and date are not repeated in a CSV, which is for re-use, not for filing on paper.
"""
from __future__ import annotations

import csv
from pathlib import Path

from hub.filings.table import Table


def write(table: Table, out: Path) -> Path:
    with open(out, "w", newline="", encoding="utf-8-sig") as f:
        w = csv.writer(f)
        w.writerow(["序号", *(f"{c.group}/{c.label}" if c.group else c.label for c in table.cols)])
        w.writerows(table.records())
        if table.has_totals():
            w.writerow(table.total_row())
    return out
