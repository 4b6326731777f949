"""What every filing query shares: the request (`Ctx`), the tables, and the SQL pieces that carry the
shared decisions (COORDINATION.md), so each filing states them the same way:

* scope: a row is inside a scope when its place starts with the scope's significant digits;
* persons are counted as distinct ID numbers over active cards (`closed_on IS NULL`); an ID number
  held by more than one active card is an unresolved duplicate and is flagged, not counted twice;
* history copied into a new village by a transfer carries `origin` and is ignored: the original
  rows (kept with the closed card of the old village) are the ones counted, so nothing counts twice;
* dates are ISO strings, so a year is a string range and the same SQL runs on SQLite and PostgreSQL.

Active cards and unresolved duplicates are `node.domain.register`'s (one definition for filings and
screens); until a database has `closed_on` and `origin`, every card is active and every row original.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, func, true

from node.engine import schema
from node.domain.register import active, duplicate_ids  # noqa: F401  (the one definition of a person, used by the filings)
from protocol import scope as scopes


@dataclass(frozen=True)
class Ctx:
    scope: str
    year: int
    month: int | None = None
    today: date = field(default_factory=date.today)
    unit: str = ""  # 填报单位; the scope code when empty
    full: bool = False  # ID numbers and phones whole (logged)
    options: dict[str, str] = field(default_factory=dict)

    @property
    def first(self) -> str:
        return f"{self.year}-01-01"

    @property
    def last(self) -> str:
        return f"{self.year}-12-31"

    @property
    def who(self) -> str:
        return self.unit or self.scope


def T(name: str) -> Table:
    return schema.TABLES[name].__table__  # type: ignore[attr-defined]


def inside(col: Any, scope: str) -> ColumnElement[bool]:
    return col.like(scopes.prefix(scope) + "%")


def original(tbl: Table) -> ColumnElement[bool]:
    """Not a transfer's copy."""
    return tbl.c.origin.is_(None) if "origin" in tbl.c else true()


def in_year(col: Any, ctx: Ctx) -> ColumnElement[bool]:
    return and_(col >= ctx.first, col <= ctx.last)


def year_of(col: Any) -> Any:
    return func.substr(col, 1, 4)


def duplicate_note(dups: set[str], shown: int) -> list[str]:
    if not dups:
        return []
    return [f"注:{len(dups)}个身份证号码在本辖区有两张以上有效卡(重复待处理),每人只列一次、只计一次;"
            f"本表列出其中{shown}人 / {len(dups)} ID numbers hold more than one active card "
            "(unresolved duplicates): listed and counted once"]


def level_name(code: str) -> str:
    return {"province": "省", "prefecture": "市(州)", "county": "县(市、区)", "township": "乡镇(街道)",
            "village": "村(社区)"}[scopes.level(code)]


def up_to(code: str, level: str) -> str:
    """The code of the place at `level` that holds `code` (a village's prefecture: 5132 → 513200000000)."""
    width = {"province": 2, "prefecture": 4, "county": 6, "township": 9, "village": 12}[level]
    return code[:width].ljust(12, "0")
