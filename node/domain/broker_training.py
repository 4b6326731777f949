"""Broker training days (劳务经纪人培育): Chongqing asks for at least 4 days of concentrated training a
year per broker (渝人社办〔2021〕277号 三(一)3 "每年集中培育时间不少于4天").

A record belongs to a broker's filing row, not to a Person card: brokers' training is a duty of the
filing, and the shortfall list (brokers under 4 days in a year) is a filing of its own. A course that
spans New Year counts in the year it started. The record lives in the broker's village, so the
village, its township and its county may all enter it.
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

MIN_DAYS_A_YEAR = 4
KINDS = ("集中培育", "线上培训", "外出学习", "以会代训", "能力提升培训")


@replicated
class BrokerTraining(Record, table=True):
    __tablename__ = "broker_training"
    __merge__: ClassVar[dict[str, str | Lattice]] = dict.fromkeys(
        ("broker", "course", "kind", "provider", "start_date", "days"), "lww")

    broker: str = Field(index=True, max_length=32)
    course: str
    kind: str | None = None
    provider: str | None = None
    start_date: str | None = None
    days: int | None = None


def clean_training(fields: Mapping[str, Any], *, today: date) -> dict[str, Value]:
    f = Form(fields)
    f.row("broker", need=True)
    f.text("course", need=True, max_len=100)
    f.choice("kind", KINDS)
    f.text("provider", max_len=100)
    f.day("start_date", need=True, hi=today)
    f.number("days", 1, 60, need=True)
    return f.done()


def shortfall(days_in_year: int) -> int:
    """Days a broker still lacks for the year (0 when the 4 days are done)."""
    return max(0, MIN_DAYS_A_YEAR - days_in_year)
