"""Broker login-days (劳务经纪人平台登录): one row per broker per day (China time) with a login.

Chongqing's points ranking counts a broker's login activity (渝人社办〔2021〕277号 三(二)4 "平台登陆
活跃度"). Brokers log in at their village's desk, whose audit table stays on the laptop; this record
is what reaches the hub. It holds the day only (no time, no device): enough for the ranking, nothing
more about the person. The row id is derived from (broker, day), so a second login the same day, or
a login at another desk of the village, lands on the same row and merges instead of adding one.
"""
from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta, timezone
from typing import ClassVar

from sqlmodel import Field

from conflict.lattice import Lattice
from node.engine.schema import Record, replicated

CHINA = timezone(timedelta(hours=8))


@replicated
class BrokerLogin(Record, table=True):
    __tablename__ = "broker_login"
    __merge__: ClassVar[dict[str, str | Lattice]] = dict.fromkeys(("broker", "day"), "lww")

    broker: str = Field(index=True, max_length=32)
    day: str = Field(max_length=10)


def login_day(at: datetime | None = None) -> date:
    """The day in China of a login at `at` (now when None)."""
    return (at or datetime.now(timezone.utc)).astimezone(CHINA).date()


def login_row_id(place: str, broker: str, day: date) -> bytes:
    """Place (5 bytes, as every new row id) + 11 bytes of hash of (broker, day)."""
    tail = hashlib.sha256(f"broker_login\0{broker}\0{day.isoformat()}".encode()).digest()[:11]
    return int(place).to_bytes(5, "big") + tail
