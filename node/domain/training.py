"""Training needs (培训需求登记) and training taken (培训记录).

Guizhou's stations register the training people ask for and steer them to courses; Xiangxi
(art. 17) subsidises training by class: pre-employment skills training, on-the-job upgrading,
and for registered poor workers a living allowance of 10 yuan a day of attendance during
pre-employment training. The subsidy class is recorded per course so the county can list who is
owed what; amounts other than the living allowance depend on the course's standard rate, which the
county holds, not the village.
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

MODES = ("线上", "线下", "均可")
SUBSIDY_CLASS = ("就业技能培训", "岗位技能提升培训", "创业培训", "农业实用技术培训", "无补贴")
LIVING_ALLOWANCE_YUAN = 10  # a day, pre-employment training, registered poor workers (Xiangxi art. 17)
MAX_DAYS = 365


@replicated
class TrainingNeed(Record, table=True):
    __tablename__ = "training_need"
    __merge__: ClassVar[dict[str, str | Lattice]] = dict.fromkeys(
        ("person", "course", "mode", "registered_on", "note", "met", "origin"), "lww")

    person: str = Field(index=True, max_length=32)
    origin: str | None = Field(default=None, max_length=32)  # hex id of the row a transfer copied (filings skip it)
    course: str  # the skill or trade wanted, e.g. 电工, 家政服务
    mode: str | None = None
    registered_on: str | None = None
    note: str | None = None
    met: bool | None = None  # a course was found and taken


@replicated
class TrainingRecord(Record, table=True):
    __tablename__ = "training_record"
    __merge__: ClassVar[dict[str, str | Lattice]] = dict.fromkeys(
        ("person", "course", "provider", "start_date", "days", "certificate_obtained", "certificate_name",
         "subsidy_class", "origin"), "lww")

    person: str = Field(index=True, max_length=32)
    origin: str | None = Field(default=None, max_length=32)  # hex id of the row a transfer copied (filings skip it)
    course: str
    provider: str | None = None  # the school or training body
    start_date: str | None = None
    days: int | None = None  # days attended
    certificate_obtained: bool | None = None
    certificate_name: str | None = None  # e.g. 电工职业资格证书(初级)
    subsidy_class: str | None = None


def clean_need(fields: Mapping[str, Any], *, today: date) -> dict[str, Value]:
    f = Form(fields)
    f.row("person", need=True)
    f.text("course", need=True, max_len=50)
    f.choice("mode", MODES)
    f.day("registered_on", hi=today)
    f.out.setdefault("registered_on", today.isoformat())
    f.text("note", max_len=500)
    f.flag("met")
    return f.done()


def clean_record(fields: Mapping[str, Any], *, today: date) -> dict[str, Value]:
    f = Form(fields)
    f.row("person", need=True)
    f.text("course", need=True, max_len=50)
    f.text("provider", max_len=100)
    f.day("start_date", need=True, hi=today)
    f.number("days", 1, MAX_DAYS, need=True)
    got = f.flag("certificate_obtained")
    name = f.text("certificate_name", max_len=100)
    f.choice("subsidy_class", SUBSIDY_CLASS, need=True)
    if name and got is False:
        raise InvalidValue("certificate_name", "未取得证书却填写了证书名称 / a certificate is named but "
                           "marked as not obtained")
    if name:
        f.out["certificate_obtained"] = True
    return f.done()


def living_allowance(record: Mapping[str, Any], poverty_status: str | None) -> int:
    """Yuan owed for attendance: 10 a day of pre-employment training, registered poor workers only."""
    if record.get("subsidy_class") != "就业技能培训" or poverty_status not in ("脱贫人口", "防止返贫监测对象"):
        return 0
    days = record.get("days")
    return LIVING_ALLOWANCE_YUAN * days if isinstance(days, int) else 0
