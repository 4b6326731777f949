"""Village employment service stations (村级就业公共服务站) and their service log.

From Guizhou's pilot (seeds/004): a station has at least 20 m² of space, one or two staff, a
service window, a job board (an electronic screen where it can), and doubles as the village's
零工驿站. It offers six services; the log of those services is what the Sept 20 and Dec 20
service-effectiveness tables count. The province's station directory is ranked by condition, so
each station carries a condition grade.

One station per village: its row id is derived from the village code, so the village and the
county entering it offline end with one row. Its staff are a `set`.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, ClassVar

from sqlalchemy import JSON, Column
from sqlmodel import Field

from conflict.lattice import Lattice
from node.domain.forms import Form
from node.engine.schema import Record, derived_row_id, replicated
from protocol.changeset import Value

SERVICES = ("政策咨询", "信息发布", "技能培训", "跟踪服务", "零工服务", "人社服务")
GRADES = ("一类", "二类", "三类")  # directory order: 一类 first (best condition and build)
RESULTS = ("已办结", "已转办", "未办结")
MIN_AREA_M2 = 20


@replicated
class ServiceStation(Record, table=True):
    __tablename__ = "service_station"
    __merge__: ClassVar[dict[str, str | Lattice]] = {
        **dict.fromkeys(("name", "area_m2", "has_screen", "grade", "opened_on", "phone"), "lww"),
        "staff": "set",
    }

    name: str  # **村人社便民服务站
    staff: list[str] | None = Field(default=None, sa_column=Column(JSON))
    area_m2: int | None = None
    has_screen: bool | None = None  # a screen for job information, else a notice board
    grade: str | None = None
    opened_on: str | None = None
    phone: str | None = None


@replicated
class ServiceLog(Record, table=True):
    __tablename__ = "service_log"
    __merge__: ClassVar[dict[str, str | Lattice]] = dict.fromkeys(
        ("station", "service", "person", "served_on", "result", "note"), "lww")

    station: str = Field(index=True, max_length=32)
    service: str
    person: str | None = Field(default=None, index=True, max_length=32)  # None: a walk-in not on file
    served_on: str | None = None
    result: str | None = None
    note: str | None = None


def station_row_id(village: str) -> bytes:
    return derived_row_id(village, b"service_station")


def clean_station(fields: Mapping[str, Any], *, creating: bool = True) -> tuple[dict[str, Value], list[str]]:
    f = Form(fields, creating=creating)
    f.text("name", need=True)
    f.number("area_m2", MIN_AREA_M2, 10_000)
    f.flag("has_screen")
    f.choice("grade", GRADES)
    f.day("opened_on")
    f.mobile("phone")
    staff = f.raw("staff")
    staff = [staff] if isinstance(staff, str) else staff or []
    names = sorted({str(s).strip() for s in staff if str(s).strip()})
    return f.done(), names


def clean_log(fields: Mapping[str, Any], *, today: date) -> dict[str, Value]:
    f = Form(fields)
    f.row("station", need=True)
    f.choice("service", SERVICES, need=True)
    f.row("person")
    f.day("served_on", hi=today)
    f.out.setdefault("served_on", today.isoformat())
    f.choice("result", RESULTS, need=True)
    f.text("note", max_len=500)
    return f.done()


def effectiveness(logs: list[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    """Per service: how many served, how many done (the rows of the service-effectiveness table)."""
    table = {s: {"served": 0, "done": 0} for s in SERVICES}
    for log in logs:
        row = table.get(str(log.get("service")))
        if row is not None:
            row["served"] += 1
            row["done"] += log.get("result") == "已办结"
    return table
