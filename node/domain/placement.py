"""Organized transfer into work (组织转移就业) and its follow-up visits (跟踪服务).

A placement is one person going to one job, usually organized by a broker. Its stage moves
planned → signed (contract) → started (at work) → stable_1y (稳定就业1年, what Xiangxi's 300-yuan
broker fee rests on). Two ways out:

* `ended`: the person left a job they had started, before a year was up. It ranks between
  `started` and `stable_1y`: ending is progress past starting, but if one replica confirms a year of
  stable work (say from the social-insurance record) while another records an end, the year of
  stable work stands and the end date is still kept in `ended_on`. A job left after a stable year
  stays `stable_1y` with `ended_on` set.
* `revoked` (absorbing): the placement is void: it fell through before the person started, it was
  entered in error, or it was false. Revoked placements count for nothing and conflict with nothing.

A placement belongs to the person's village (the scope of their Person row), so the village, its
township and its county all see it.
"""
from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, ClassVar

from sqlalchemy import JSON, Column
from sqlmodel import Field

from conflict.lattice import Lattice
from node.domain import validate
from node.domain.forms import Form
from node.domain.workflow import Workflow
from node.engine.schema import Record, replicated
from protocol.changeset import Value
from protocol.errors import InvalidValue

STAGE = Lattice(("planned", "signed", "started", "ended", "stable_1y"), absorbing="revoked")
COUNTED = frozenset({"started", "ended", "stable_1y"})  # a successful transfer (成功转移就业)
STABLE_MONTHS = 12
SUBSIDY_YUAN = 300  # 川人社规 V(一): per 脱贫人口 placed with a 1-year+ contract and social insurance
# Xiangxi (seeds/002): art. 20 transport by destination, on the receipt; art. 23 broker fee; art. 24 employer
TRANSPORT_CAP = {"省外": 400, "省内市外": 200, "市内县外": 100}  # 县内: nothing
BROKER_FEE_YUAN = 300  # a poor worker employed stably a year, with a year of follow-up
EMPLOYER_YUAN = 1000  # once, an employer in the prefecture, contract, insurance, a year employed
IN_PREFECTURE = ("县内", "市内县外")  # destination classes inside the person's prefecture (州内)
POOR = ("脱贫人口", "防止返贫监测对象")  # 建档立卡贫困劳动力 as the registers hold them today

STAGES = Workflow(
    name="转移就业 / placement",
    lattice=STAGE,
    transitions={
        (None, "plan"): "planned",
        (None, "sign"): "signed",
        (None, "start"): "started",  # entered after the person arrived at work
        ("planned", "sign"): "signed",
        ("planned", "start"): "started",  # some employers sign on arrival
        ("signed", "start"): "started",
        ("started", "confirm_stable"): "stable_1y",
        ("started", "end"): "ended",
        ("stable_1y", "end"): "stable_1y",  # left after a stable year: the year still counts
        **{(s, "revoke"): "revoked" for s in ("planned", "signed", "started", "ended", "stable_1y")},
    },
    labels={"planned": "计划输出", "signed": "已签合同", "started": "已到岗", "ended": "已离职",
            "stable_1y": "稳定就业1年", "revoked": "已作废"},
    dates={"plan": "planned_on", "sign": "signed_on", "start": "started_on", "confirm_stable": "stable_on",
           "end": "ended_on", "revoke": "revoked_on"},
)
REASONS = {"end": ("end_reason", False), "revoke": ("revoked_reason", True)}  # event → (field, required)

METHODS = ("电话", "上门", "微信", "视频")
SATISFACTION = ("满意", "基本满意", "不满意")
ISSUES = ("工作环境", "工资待遇", "生活情况", "欠薪", "转岗需求", "子女入学", "家属随行", "其他")


@replicated
class Placement(Record, table=True):
    __tablename__ = "placement"
    __merge__: ClassVar[dict[str, str | Lattice]] = {
        **dict.fromkeys(("person", "broker", "employer", "employer_name", "position", "start_date",
                         "contract_months", "social_insurance", "region_class", "monthly_pay",
                         "end_reason", "revoked_reason", "labor_contract", "fare_yuan", "fare_receipt", "origin"), "lww"),
        **dict.fromkeys(STAGES.dates.values(), "lww"),
        "stage": STAGE,
    }

    person: str = Field(index=True, max_length=32)
    origin: str | None = Field(default=None, max_length=32)  # hex id of the row a transfer copied (filings skip it)
    broker: str | None = Field(default=None, index=True, max_length=32)
    employer: str | None = Field(default=None, max_length=32)
    employer_name: str | None = None
    position: str | None = None
    start_date: str  # contract (or planned) start: the interval the overlap rule uses
    contract_months: int | None = None  # None: open-ended
    social_insurance: bool | None = None
    region_class: str | None = None
    monthly_pay: int | None = None
    stage: str | None = None
    planned_on: str | None = None
    signed_on: str | None = None
    started_on: str | None = None
    stable_on: str | None = None
    ended_on: str | None = None
    end_reason: str | None = None
    revoked_on: str | None = None
    revoked_reason: str | None = None
    # Schema 2 — the facts Xiangxi's subsidies rest on (seeds/002 arts. 20, 24):
    labor_contract: bool | None = None  # 签有劳动合同 (contract_months None may mean open-ended)
    fare_yuan: int | None = None  # the fare on the travel receipt (交通费票据), yuan
    fare_receipt: str | None = None  # the receipt's number; no number, no transport subsidy


@replicated
class FollowUp(Record, table=True):
    __tablename__ = "follow_up"
    __merge__: ClassVar[dict[str, str | Lattice]] = {
        **dict.fromkeys(("placement", "person", "visited_on", "method", "still_employed", "monthly_pay",
                         "satisfaction", "note", "origin"), "lww"),
        "issues": "set",
    }

    placement: str = Field(index=True, max_length=32)
    person: str | None = Field(default=None, index=True, max_length=32)
    origin: str | None = Field(default=None, max_length=32)  # hex id of the row a transfer copied (filings skip it)
    visited_on: str | None = None
    method: str | None = None
    still_employed: bool | None = None
    monthly_pay: int | None = None
    satisfaction: str | None = None
    issues: list[str] | None = Field(default=None, sa_column=Column(JSON))
    note: str | None = None


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def interval(p: Mapping[str, Any]) -> tuple[date, date] | None:
    """[start, end) of a placement: the contract, cut short by an end date; None without a start."""
    if not isinstance(p.get("start_date"), str):
        return None
    start = date.fromisoformat(p["start_date"])
    months = p.get("contract_months")
    end = add_months(start, months) if isinstance(months, int) and months > 0 else date.max
    if isinstance(p.get("ended_on"), str):
        end = min(end, date.fromisoformat(p["ended_on"]))
    return start, end


def overlaps(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    ia, ib = interval(a), interval(b)
    return ia is not None and ib is not None and ia[0] < ib[1] and ib[0] < ia[1]


def check_stable(p: Mapping[str, Any], on: date) -> None:
    """A year of stable work is confirmed no earlier than 12 months after the start."""
    iv = interval({**p, "contract_months": None, "ended_on": None})
    if iv is None or on < add_months(iv[0], STABLE_MONTHS):
        raise InvalidValue("stage", f"到岗未满{STABLE_MONTHS}个月,不能确认稳定就业1年 / fewer than "
                           f"{STABLE_MONTHS} months since the start: cannot confirm a stable year yet")


def transfers_by_year(placements: Iterable[Mapping[str, Any]], broker: str) -> dict[int, int]:
    """Successful transfers a broker organized, by the year the person started (for the review)."""
    out: dict[int, int] = {}
    for p in placements:
        when = p.get("started_on") or p.get("start_date")
        if p.get("broker") == broker and p.get("stage") in COUNTED and isinstance(when, str):
            out[int(when[:4])] = out.get(int(when[:4]), 0) + 1
    return out


def service_subsidy(p: Mapping[str, Any], poverty_status: str | None) -> int:
    """Yuan due to the broker for this placement under 川人社规 V(一): a 脱贫人口 at work with a
    contract of a year or more and social insurance earns 300; anything else earns nothing."""
    ok = (p.get("broker") and p.get("stage") in COUNTED and poverty_status == "脱贫人口"
          and (p.get("contract_months") or 0) >= 12 and p.get("social_insurance") is True)
    return SUBSIDY_YUAN if ok else 0


def transport_subsidy(p: Mapping[str, Any], poverty_status: str | None) -> int:
    """Yuan of Xiangxi's transport subsidy for one placement (art. 20): a poor worker at work with a
    contract and a fare receipt gets the fare, capped by the destination class; else nothing.
    `hub/filings/subsidies.py` applies the same rule in SQL over a whole scope."""
    cap = TRANSPORT_CAP.get(str(p.get("region_class")), 0)
    contract = p.get("labor_contract") is True or (p.get("contract_months") or 0) > 0
    fare = p.get("fare_yuan")
    if (poverty_status not in POOR or p.get("stage") not in COUNTED or not contract or not p.get("fare_receipt")
            or not isinstance(fare, int) or fare <= 0):
        return 0
    return min(fare, cap)


def clean_placement(fields: Mapping[str, Any], *, creating: bool = True) -> dict[str, Value]:
    f = Form(fields, creating=creating)
    if not creating and ("person" in fields or "broker" in fields):
        raise InvalidValue("person", "人员和经纪人不能修改,请作废后重新登记 / person and broker cannot "
                           "be changed: revoke this placement and enter a new one")
    f.row("person", need=True)
    f.row("broker")
    f.row("employer")
    f.text("employer_name", need=True)
    f.text("position", max_len=50)
    f.day("start_date", need=True)
    f.number("contract_months", 0, 120)
    f.flag("social_insurance")
    f.choice("region_class", validate.REGION_CLASS)
    f.money("monthly_pay", hi=100_000)
    f.text("end_reason", max_len=200)
    f.flag("labor_contract")
    f.money("fare_yuan", hi=20_000)
    f.text("fare_receipt", max_len=50)
    out = f.done()
    months = out.get("contract_months")
    if isinstance(months, int) and months > 0 and "labor_contract" not in out:
        out["labor_contract"] = True  # a contract length is a contract
    return out


def clean_followup(fields: Mapping[str, Any], *, today: date) -> tuple[dict[str, Value], list[str]]:
    """A visit's values and its issue tags (a `set` field, written as adds)."""
    f = Form(fields)
    f.row("placement", need=True)
    f.day("visited_on", hi=today)
    f.out.setdefault("visited_on", today.isoformat())
    f.choice("method", METHODS, need=True)
    f.flag("still_employed", need=True)
    f.money("monthly_pay", hi=100_000)
    f.choice("satisfaction", SATISFACTION)
    issues = f.tags("issues", ISSUES)
    f.text("note", max_len=500)
    return f.done(), issues
