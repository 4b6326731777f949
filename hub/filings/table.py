"""What every filing produces: a `Table` — title, reporting unit and date, a two-row header of
columns (some grouped under a merged heading), the rows, a 合计 row and notes — independent of the
format it is written in (`xlsx.py`, `csvout.py`, `pdf.py`).

A filing's query does the counting in the database; the `Table` only carries the result. Columns
say what they hold (`kind`), so personal data is masked in one place whatever the format: `id` and
`phone` columns are masked unless the export was asked for in full (and logged, `access.py`).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from node.domain.privacy import mask_id_number, mask_phone

NO_DATA = "无数据"
NUMERIC = ("int", "money")  # kinds written as numbers (summed in 合计, right-aligned)


@dataclass(frozen=True)
class Col:
    key: str
    label: str
    group: str | None = None  # a merged heading above consecutive columns of the same group
    kind: str = "text"  # text | int | money | id | phone | date | rate
    width: int = 10
    total: bool = False  # summed in the 合计 row


@dataclass
class Table:
    name: str  # the filing's command name, e.g. annex3
    title: str  # 四川省乡村劳务经纪人备案信息表
    unit: str  # 填报单位: the scope's name or code
    filed_on: str  # 填报日期, ISO
    period: str  # shown under the title: 2026年度, 2026年5月 …
    cols: list[Col]
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # rule readings, flags, "无数据" explanations
    full: bool = False  # ID numbers and phones shown whole

    def totals(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for c in self.cols:
            if c.total:
                out[c.key] = sum(int(r.get(c.key) or 0) for r in self.rows if isinstance(r.get(c.key), int | float))
        return out

    def has_totals(self) -> bool:
        return any(c.total for c in self.cols)

    def cell(self, row: dict[str, Any], col: Col) -> Any:
        """The value as written: masked personal data, rates as percentages, None as blank."""
        return self.converter(col)(row.get(col.key))

    def converter(self, col: Col) -> Callable[[Any], Any]:
        """The function turning one column's stored values into what is written, chosen once per
        column (not decided again for every cell: a province's subsidy list has a million cells)."""
        if col.kind == "id" and not self.full:
            return lambda v: "" if v is None else mask_id_number(str(v))
        if col.kind == "phone" and not self.full:
            return lambda v: "" if v is None else mask_phone(str(v))
        if col.kind == "rate":
            return lambda v: "" if v is None else f"{v * 100:.1f}%" if isinstance(v, float) else _text(v)
        return _plain if col.kind in NUMERIC else _text

    def records(self) -> Iterator[list[Any]]:
        """Rows as written, 序号 first, one at a time (the writers stream them)."""
        convs = [(c.key, self.converter(c)) for c in self.cols]
        for i, r in enumerate(self.rows, 1):
            yield [i, *(f(r.get(k)) for k, f in convs)]

    def total_row(self) -> list[Any]:
        t = self.totals()
        return ["合计", *(t.get(c.key, "") for c in self.cols)]


def _plain(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "是" if v else "否"
    return v


def _text(v: Any) -> str:
    """A text column's value as a string (a number kept in a text column stays text in a sheet)."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "是" if v else "否"
    return v if isinstance(v, str) else str(v)


def header_rows(cols: Sequence[Col]) -> tuple[list[str], list[str]]:
    """The two header rows: groups (or the column's own label) above, labels below; '' where merged."""
    top = ["序号", *(c.group or c.label for c in cols)]
    bottom = ["", *(c.label if c.group else "" for c in cols)]
    return top, bottom


def two_rows(cols: Sequence[Col]) -> bool:
    return any(c.group for c in cols)
