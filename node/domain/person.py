"""Person (一人一卡): one card per rural worker, owned by the village that registered it.

The card's row id is placed and random (`node.schema.new_row_id`): it says which village owns the
card and nothing about the person. The ID number is an attribute, indexed: two cards holding one
number (two villages registering offline, a correction that collides) stay two cards and become a
`duplicate-id` conflict for the county (`node.domain.rules`, docs/identity.md).
"""
from __future__ import annotations

from typing import ClassVar

from sqlalchemy import JSON, Column
from sqlmodel import Field

from conflict.lattice import Lattice
from node.schema import Record, replicated

from node.validate import EDUCATION, HEALTH, POVERTY, REGION_CLASS  # noqa: F401  (re-exported vocabularies)

EMPLOYMENT = ("未就业", "已就业", "灵活就业", "自主创业")


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
