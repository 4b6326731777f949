"""Person (一人一卡): one card per rural worker, keyed by a keyed hash of the ID number.

Two villages registering the same person offline compute the same row id and so end with one
record; the hash is keyed with the province's person key so row ids do not reveal ID numbers.
"""
from __future__ import annotations

import hashlib
import hmac
from typing import ClassVar

from sqlalchemy import JSON, Column
from sqlmodel import Field

from conflict.lattice import Lattice
from node.schema import Record, replicated

from node.validate import EDUCATION, HEALTH, POVERTY, REGION_CLASS  # noqa: F401  (re-exported vocabularies)

EMPLOYMENT = ("未就业", "已就业", "灵活就业", "自主创业")


def person_row_id(person_key: bytes, id_number: str) -> bytes:
    return hmac.new(person_key, id_number.upper().encode(), hashlib.sha256).digest()[:16]


@replicated
class Person(Record, table=True):
    __tablename__ = "person"
    __merge__: ClassVar[dict[str, str | Lattice]] = {"skills": "set", "certificates": "set"}

    id_number: str = Field(index=True, max_length=18)
    name: str
    sex: str | None = None
    birth_date: str | None = None  # ISO date, derived from the ID number
    phone: str | None = None
    education: str | None = None
    skills: list[str] | None = Field(default=None, sa_column=Column(JSON))
    certificates: list[str] | None = Field(default=None, sa_column=Column(JSON))
    health: str | None = None
    household_address: str | None = None
    household_size: int | None = None
    household_income: int | None = None  # yuan per year
    poverty_status: str | None = None
    two_after: bool | None = None  # 两后生
    employment: str | None = None
    region_class: str | None = None
    employer: str | None = None
    position: str | None = None
    monthly_pay: int | None = None
    satisfaction: str | None = None
    willing_to_migrate: bool | None = None
    intended_region: str | None = None
    intended_industry: str | None = None
    intended_pay: int | None = None
    updated_on: str | None = None  # last yearly update (一年一更新)
