"""Employers (用人单位) and their job postings (用工信息), including gig work (零工).

An employer is keyed by its unified social credit code (GB 32100): two offices entering the same
company offline end with one row. Credit codes are public, so the key is a plain hash. Employers
are normally entered at the county, whose feed every village receives.

A posting lives in the scope of whoever posts it: a county posting is in the county's scope, so
every village of the county receives it (DESIGN §2); a village station's gig-work posting (Guizhou
零工驿站, Jilin 零工信息) stays in the village. The seeds ask for true, current information
(川人社规 III(二) "真实有效用工信息"): every posting carries a valid-until date.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, ClassVar

from sqlmodel import Field

from conflict.lattice import Lattice
from node.domain import validate
from node.domain.forms import Form
from node.engine.schema import Record, derived_row_id, replicated
from protocol.changeset import Value
from protocol.errors import InvalidValue

MAX_POSITIONS = 10_000


@replicated
class Employer(Record, table=True):
    __tablename__ = "employer"
    __merge__: ClassVar[dict[str, str | Lattice]] = dict.fromkeys(
        ("uscc", "name", "region", "industry", "address", "contact_name", "contact_phone"), "lww")

    uscc: str = Field(index=True, max_length=18)
    name: str
    region: str | None = None  # 6-digit division code where it is (from the credit code by default)
    industry: str | None = None
    address: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None


@replicated
class JobPosting(Record, table=True):
    __tablename__ = "job_posting"
    __merge__: ClassVar[dict[str, str | Lattice]] = dict.fromkeys(
        ("employer", "title", "positions", "pay_low", "pay_high", "region_class", "industry", "gig",
         "posted_on", "valid_until", "requirements", "contact_phone", "closed"), "lww")

    employer: str | None = Field(default=None, index=True, max_length=32)
    title: str
    positions: int | None = None  # 招聘人数
    pay_low: int | None = None  # yuan a month (a day for gig work)
    pay_high: int | None = None
    region_class: str | None = None  # where the work is, seen from the posting's county
    industry: str | None = None
    gig: bool | None = None  # 零工: short, local, flexible
    posted_on: str | None = None
    valid_until: str | None = None
    requirements: str | None = None
    contact_phone: str | None = None
    closed: bool | None = None  # filled or withdrawn before it expired


def employer_row_id(place: str, uscc: str) -> bytes:
    """One employer record per place that registers it (owned there, `node.engine.ownership`); the USCC is
    a company's public code, not personal data."""
    return derived_row_id(place, b"employer", uscc.encode())


def clean_employer(fields: Mapping[str, Any], *, creating: bool = True) -> dict[str, Value]:
    f = Form(fields, creating=creating)
    raw = f.raw("uscc", True)
    if raw is not None:
        if not creating:
            raise InvalidValue("uscc", "信用代码是单位的编号,不能修改;请新建单位 / the credit code keys the "
                               "employer and cannot be edited: register the employer anew")
        f.out["uscc"] = code = validate.uscc(raw)
        f.fields.setdefault("region", code[2:8])
    f.text("name", need=True)
    region = f.text("region", max_len=12)
    if region is not None and not (region.isascii() and region.isdigit() and len(region) in (6, 12)):
        raise InvalidValue("region", f"地区应为6位或12位区划代码 / region must be a 6- or 12-digit "
                           f"division code, got {region!r}")
    f.text("industry", max_len=30)
    f.text("address", max_len=200)
    f.text("contact_name", max_len=30)
    f.mobile("contact_phone")
    return f.done()


def clean_posting(fields: Mapping[str, Any], *, today: date, creating: bool = True,
                  current: Mapping[str, Any] | None = None) -> dict[str, Value]:
    """Check a posting; `current` is the stored row on an edit, so pay and dates are checked together."""
    f = Form(fields, creating=creating)
    f.row("employer", need=True)
    f.text("title", need=True)
    f.number("positions", 1, MAX_POSITIONS, need=True)
    f.money("pay_low")
    f.money("pay_high")
    f.choice("region_class", validate.REGION_CLASS, need=True)
    f.text("industry", max_len=30)
    f.flag("gig")
    f.day("posted_on")
    if creating and "posted_on" not in f.out:
        f.out["posted_on"] = today.isoformat()
    f.day("valid_until", need=True)
    f.text("requirements", max_len=500)
    f.mobile("contact_phone")
    f.flag("closed")
    out = f.done()
    merged = {**(current or {}), **out}
    low, high = merged.get("pay_low"), merged.get("pay_high")
    if isinstance(low, int) and isinstance(high, int) and low > high:
        raise InvalidValue("pay_low", f"最低工资{low}元高于最高工资{high}元 / lowest pay {low} is above "
                           f"highest pay {high}")
    posted, until = merged.get("posted_on"), merged.get("valid_until")
    if isinstance(posted, str) and isinstance(until, str) and until < posted:
        raise InvalidValue("valid_until", f"有效期{until}早于发布日期{posted} / valid until {until} is "
                           f"before the posting date {posted}")
    return out


def is_open(posting: Mapping[str, Any], on: date) -> bool:
    """Shown to workers: not closed and not expired on `on`."""
    until = posting.get("valid_until")
    return not posting.get("closed") and isinstance(until, str) and until >= on.isoformat()
