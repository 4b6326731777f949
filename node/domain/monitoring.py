"""Monthly employment monitoring of 脱贫人口 (吉人社联〔2023〕52号 (十四)).

Jilin asks counties to track every poverty-alleviated person's work by month ("定期开展电话联系、
上门走访,准确掌握就业失业状态……按月更新相关数据"): for each person and month, a status — employed,
unemployed, or unstable work (就业不稳) — who checked and how (by phone or a home visit).

One row per person and month, whoever records it: the row id is the village's place followed by a
hash of (person, month), so the village and the township checking the same person offline converge
on one row (last writer wins on each field) instead of listing the person twice in the month's table.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, ClassVar

from sqlmodel import Field

from conflict.lattice import Lattice
from node.domain.forms import Form
from node.engine.schema import Record, derived_row_id, replicated
from protocol.changeset import Value
from protocol.errors import InvalidValue

STATUS = ("已就业", "未就业", "就业不稳定")
METHODS = ("电话", "上门")
WATCHED = ("脱贫人口", "防止返贫监测对象")  # the seed's 脱贫人口 includes 监测对象 ("含……下同")


@replicated
class EmploymentCheck(Record, table=True):
    __tablename__ = "employment_check"
    __merge__: ClassVar[dict[str, str | Lattice]] = dict.fromkeys(
        ("person", "month", "status", "checked_by", "method", "checked_on", "note"), "lww")

    person: str = Field(index=True, max_length=32)
    month: str = Field(index=True, max_length=7)  # YYYY-MM
    status: str | None = None
    checked_by: str | None = None  # the staff member or broker who checked
    method: str | None = None
    checked_on: str | None = None
    note: str | None = None


def check_row_id(place: str, person: str, month: str) -> bytes:
    """One check per person (row id) and month, owned by the person's place."""
    return derived_row_id(place, b"employment_check", person.encode(), month.encode())


def month_of(raw: Any) -> str:
    text = str(raw or "").strip()
    try:
        day = date.fromisoformat(text + "-01") if len(text) == 7 else None
    except ValueError:
        day = None
    if day is None:
        raise InvalidValue("month", f"月份应为YYYY-MM,例如2026-05 / month must be YYYY-MM, got {raw!r}")
    return text


def clean_check(fields: Mapping[str, Any], *, today: date) -> dict[str, Value]:
    f = Form(fields)
    f.row("person", need=True)
    month = month_of(f.raw("month", need=True))
    if month > today.isoformat()[:7]:
        raise InvalidValue("month", f"{month}尚未到来 / {month} has not come yet")
    f.out["month"] = month
    f.choice("status", STATUS, need=True)
    f.text("checked_by", need=True, max_len=30)
    f.choice("method", METHODS, need=True)
    day = f.day("checked_on", hi=today)
    if day is None:
        f.out["checked_on"] = (day := today).isoformat()
    if day.isoformat()[:7] < month:
        raise InvalidValue("checked_on", f"核查日期{day}早于所核查的月份{month} / checked on {day}, before the "
                           f"month {month} it reports")
    f.text("note", max_len=500)
    return f.done()
