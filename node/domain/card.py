"""Entering and editing a person card (一人一卡): the checks behind `ops.register_person`.

Sex and birth date are derived from the ID number, never typed: if a form sends them anyway they
must agree with it. "两后生" (Xiangxi art. 8: young people who stopped after 初中 or 高中 and did not
go on to further study) must be consistent with the card: education 初中 or 高中, and of the age of
a recent school leaver (15 to 22, the convention `node/domain/generate.py` shares) when the mark is set.
Every edit stamps `updated_on`, the date of the yearly update (一年一更新).
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from node.domain import validate
from node.domain.forms import Form
from node.domain.person import EMPLOYMENT
from node.domain.placement import SATISFACTION
from protocol.changeset import Value
from protocol.errors import InvalidValue

TWO_AFTER_EDUCATION = ("初中", "高中")
TWO_AFTER_AGES = (15, 22)


def clean_person(fields: Mapping[str, Any], *, today: date, creating: bool = True,
                 current: Mapping[str, Any] | None = None) -> tuple[dict[str, Value], list[str], list[str]]:
    """The card's values, its skills and its certificates (both `set` fields, written as adds)."""
    f = Form(fields, creating=creating)
    raw = f.raw("id_number", need=True)
    info = None
    if raw is not None:
        info = validate.id_number(raw, today=today)
        f.out.update(id_number=info.number, sex=info.sex, birth_date=info.birth.isoformat())
    for name in ("sex", "birth_date"):
        given = f.raw(name)
        if given is not None and (info is None or given != f.out[name]):
            raise InvalidValue(name, "性别和出生日期由身份证号得出,不能单独填写 / sex and birth date come "
                               "from the ID number and cannot be entered on their own")
    f.text("name", need=True, max_len=30)
    f.mobile("phone")
    f.choice("education", validate.EDUCATION)
    f.choice("health", validate.HEALTH)
    f.text("household_address", max_len=200)
    f.number("household_size", 1, 30)
    f.money("household_income")
    f.choice("poverty_status", validate.POVERTY)
    f.flag("two_after")
    f.choice("employment", EMPLOYMENT)
    f.choice("region_class", validate.REGION_CLASS)
    f.text("employer", max_len=100)
    f.text("position", max_len=50)
    f.money("monthly_pay", hi=100_000)
    f.choice("satisfaction", SATISFACTION)
    f.flag("willing_to_migrate")
    f.choice("intended_region", validate.REGION_CLASS)
    f.text("intended_industry", max_len=30)
    f.money("intended_pay", hi=100_000)
    skills = _words(f, "skills")
    certificates = _words(f, "certificates")
    f.out["updated_on"] = today.isoformat()
    out = f.done()
    _check_two_after({**(current or {}), **out}, "two_after" in out, today)
    return out, skills, certificates


def _words(f: Form, name: str) -> list[str]:
    raw = f.raw(name)
    if raw is None:
        return []
    if isinstance(raw, str) or not all(isinstance(x, str) for x in raw):
        raise InvalidValue(name, f"应为文字列表 / must be a list of words, got {raw!r}")
    words = sorted({x.strip() for x in raw if x.strip()})
    if any(len(w) > 30 for w in words):
        raise InvalidValue(name, "每项不能超过30字 / each entry is at most 30 characters")
    return words


def _check_two_after(card: Mapping[str, Any], setting: bool, today: date) -> None:
    if card.get("two_after") is not True:
        return
    if card.get("education") not in TWO_AFTER_EDUCATION:
        raise InvalidValue("two_after", f"“两后生”须为初中或高中学历,此卡为{card.get('education') or '未填'} / "
                           "两后生 means school stopped after 初中 or 高中; this card's education is "
                           f"{card.get('education') or 'not given'}")
    birth = card.get("birth_date")
    if setting and isinstance(birth, str):
        age = validate.age_on(date.fromisoformat(birth), today)
        lo, hi = TWO_AFTER_AGES
        if not lo <= age <= hi:
            raise InvalidValue("two_after", f"“两后生”应为{lo}至{hi}岁的毕业生,此人{age}岁 / 两后生 are "
                               f"school leavers aged {lo} to {hi}; this person is {age}")
