"""Wage-arrears leads (欠薪线索): Jilin's 根治欠薪 drive (吉人社联〔2023〕52号 (十二)) and Chongqing's
brokers' 维权信息搜集 (渝人社办〔2021〕277号 二(三)2).

A broker or station records a complaint — who is owed, by which employer, how much, for how many
months — and the county moves it along: 待核实 (reported) → 处理中 (being handled) → 已解决 (paid) or
已移交 (handed to labor inspection or arbitration). The county lists the open ones (not 已解决).
The status is last-writer-wins: a lead reopened after a wrong "solved" must be able to go back.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, ClassVar

from sqlmodel import Field

from conflict.lattice import Lattice
from node.domain.forms import Form
from node.engine.schema import Record, replicated
from protocol.changeset import Value
from protocol.errors import InvalidValue

STATUS = ("待核实", "处理中", "已移交", "已解决")
OPEN = ("待核实", "处理中", "已移交")


@replicated
class WageArrears(Record, table=True):
    __tablename__ = "wage_arrears"
    __merge__: ClassVar[dict[str, str | Lattice]] = dict.fromkeys(
        ("person", "claimant", "employer", "employer_name", "amount_yuan", "months", "broker",
         "reported_on", "status", "handled_by", "resolved_on", "note"), "lww")

    person: str | None = Field(default=None, index=True, max_length=32)  # None: not on file here
    claimant: str  # the worker owed (name as told)
    employer: str | None = Field(default=None, max_length=32)
    employer_name: str
    amount_yuan: int
    months: int  # months of pay owed
    broker: str | None = Field(default=None, max_length=32)  # who collected the lead
    reported_on: str | None = None
    status: str | None = None
    handled_by: str | None = None
    resolved_on: str | None = None
    note: str | None = None


def clean_lead(fields: Mapping[str, Any], *, today: date, creating: bool = True) -> dict[str, Value]:
    f = Form(fields, creating=creating)
    f.row("person")
    f.text("claimant", need=True, max_len=30)
    f.row("employer")
    f.text("employer_name", need=True, max_len=100)
    f.money("amount_yuan", need=True, hi=10_000_000)
    f.number("months", 1, 120, need=True)
    f.row("broker")
    reported = f.day("reported_on", hi=today)
    if creating and reported is None:
        f.out["reported_on"] = (reported := today).isoformat()
    status = f.choice("status", STATUS)
    if creating and status is None:
        f.out["status"] = status = "待核实"
    f.text("handled_by", max_len=30)
    solved = f.day("resolved_on", lo=reported, hi=today)
    if solved is not None and status not in (None, "已解决"):
        raise InvalidValue("resolved_on", "只有“已解决”的线索有解决日期 / only a solved lead has a resolution date")
    if status == "已解决" and solved is None and creating:
        f.out["resolved_on"] = today.isoformat()
    f.text("note", max_len=500)
    return f.done()
