"""Person (一人一卡): one card per rural worker, owned by the village that registered it.

The card's row id is placed and random (`node.engine.schema.new_row_id`): it says which village owns the
card and nothing about the person. The ID number is an attribute, indexed: two cards holding one
number (two villages registering offline, a correction that collides) stay two cards and become a
`duplicate-id` conflict for the county (`node.domain.rules`, docs/identity.md).
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, ClassVar

from sqlalchemy import JSON, Column
from sqlmodel import Field

from conflict.lattice import Lattice
from node.engine.schema import Record, replicated

from node.domain.validate import EDUCATION, HEALTH, POVERTY, REGION_CLASS  # noqa: F401  (re-exported vocabularies)

EMPLOYMENT = ("未就业", "已就业", "灵活就业", "自主创业")
TRANSFERRED, DUPLICATE, MERGED = "迁出", "重复", "合并"
CLOSED_REASONS = (TRANSFERRED, DUPLICATE, MERGED)
# Card fields that are the card's own and never copied: who it is, where, and how it was closed.
NOT_COPIED = ("id", "scope", "closed_on", "closed_reason", "successor", "copied", "needs_correction")


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
    # Closing a card (node/domain/identity.py): a transfer, a duplicate or a merge closes it; a closed
    # card stays as a reference in its village and counts nowhere (filings count active cards).
    closed_on: str | None = Field(default=None, index=True)  # ISO date; None = an active card
    closed_reason: str | None = None  # CLOSED_REASONS
    # hex id of the card it moved to / merged into; indexed: an erasure follows the chain back (`erase.cards_of`)
    successor: str | None = Field(default=None, index=True, max_length=32)
    copied: str | None = Field(default=None, max_length=64)  # digest of what a transfer copied (see identity.py)
    needs_correction: bool | None = None  # a county found this card's ID number belongs to someone else


# An approval has moved the person: it absorbs a refusal made at the same time on another machine.
REQUEST_STAGE = Lattice(("requested", "refused"), absorbing="approved")


@replicated
class TransferRequest(Record, table=True):
    __tablename__ = "transfer_request"
    __merge__: ClassVar[dict[str, str | Lattice]] = {
        **dict.fromkeys(("person", "id_number", "to_place", "reason", "requested_on", "decided_on",
                         "refusal", "new_card"), "lww"),
        "stage": REQUEST_STAGE,
    }

    person: str | None = Field(default=None, index=True, max_length=32)  # the card, when asked where it is
    id_number: str | None = Field(default=None, index=True, max_length=18)  # when asked at the new village
    to_place: str = Field(max_length=12)
    reason: str | None = None
    requested_on: str | None = None
    stage: str | None = None
    decided_on: str | None = None
    refusal: str | None = None
    new_card: str | None = Field(default=None, max_length=32)


def copied_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k not in NOT_COPIED and k in Person.model_fields}


def digest(values: Mapping[str, Any], successor: str) -> str:
    """What a transfer handed over, as a digest salted with the new card's id (ID number left out)."""
    shown = {k: (sorted(v) if isinstance(v, list) else v) for k, v in copied_fields(values).items()
             if k != "id_number" and v is not None}
    raw = json.dumps(shown, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(successor.encode() + b"\0" + raw.encode()).hexdigest()
