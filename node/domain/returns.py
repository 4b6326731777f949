"""Return-home registration (返乡登记).

Guizhou's village stations register workers coming home, above all around 元旦, 春节 and the
other national holidays and minority festivals (seeds/004 三(四)), and offer those who need it
work or business start-up services; a holiday that does not fit the date (元旦 on 20 May) is refused
(`holidays.py` holds the windows); Sichuan's brokers help returned migrant workers find work
(seeds/000 三(四)). A registration records when and why the person came back, whether it is a
holiday visit, whether they mean to go out again, and what they need: the needs are a `set`, so
two staff adding needs on different machines both keep theirs.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, ClassVar

from sqlalchemy import JSON, Column
from sqlmodel import Field

from conflict.lattice import Lattice
from node.domain import holidays
from node.domain.forms import Form
from node.engine.schema import Record, replicated
from protocol.changeset import Value
from protocol.errors import InvalidValue

REASONS = ("节日探亲", "合同到期", "失业", "家庭原因", "健康原因", "返乡创业", "其他")
HOLIDAYS = ("元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节", "民族节庆")
NEEDS = ("就业岗位", "零工信息", "技能培训", "创业服务", "社保服务", "劳动维权", "政策咨询")


@replicated
class ReturnRegistration(Record, table=True):
    __tablename__ = "return_registration"
    __merge__: ClassVar[dict[str, str | Lattice]] = {
        **dict.fromkeys(("person", "returned_on", "reason", "holiday", "going_out_again", "leaving_on",
                         "note", "origin"), "lww"),
        "needs": "set",
    }

    person: str = Field(index=True, max_length=32)
    origin: str | None = Field(default=None, max_length=32)  # hex id of the row a transfer copied (filings skip it)
    returned_on: str
    reason: str | None = None
    holiday: str | None = None  # the holiday of a holiday return; None otherwise
    going_out_again: bool | None = None  # intends to go out to work again
    leaving_on: str | None = None  # when, if known
    needs: list[str] | None = Field(default=None, sa_column=Column(JSON))
    note: str | None = None


def clean_return(fields: Mapping[str, Any], *, today: date) -> tuple[dict[str, Value], list[str]]:
    """A registration's values and its needs (written as set adds)."""
    f = Form(fields)
    f.row("person", need=True)
    back = f.day("returned_on", hi=today)
    if back is None:
        f.out["returned_on"] = (back := today).isoformat()
    f.choice("reason", REASONS, need=True)
    holiday = f.choice("holiday", HOLIDAYS)
    if holiday is not None and not holidays.matches(holiday, back):
        before, after = holidays.WINDOWS[holiday]
        raise InvalidValue("holiday", f"{back}不在{holiday}前后(前{before}天至后{after}天)/ {back} is not "
                           f"around {holiday} ({before} days before to {after} days after): check the date "
                           "or the holiday")
    f.flag("going_out_again")
    f.day("leaving_on", lo=back)
    needs = f.tags("needs", NEEDS)
    f.text("note", max_len=500)
    return f.done(), needs
