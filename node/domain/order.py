"""Service orders (线上接单、线下服务、线上线下结算): tasks the county posts, brokers take and do.

Chongqing's broker platform (seeds/001) pays brokers by workload per service item: updating the
labor-resource records, social-insurance qualification certification (社保认证), widening
insurance coverage, start-up loan services, organizing recruitment or training. The county posts
an order with a number of items and a price per item; a broker accepts it, serves offline, reports
how many items were done, and is paid `completed_items × pay_per_item`.

Stages: posted < accepted < completed < paid, and `cancelled` absorbs. An order the county
cancels is never paid through the system, even if a broker completed it offline meanwhile: the
county settles that case by hand, with both facts in front of it.

An order lives in the village where the service is delivered: the county's key may write there and
so may the village's (which a county-scoped row would not allow), so the broker's acceptance and
the county's payment are edits of one row. A county-wide drive is one order per village.
The accepting broker is last-writer-wins: two brokers accepting one order offline leave the later
acceptance standing.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, ClassVar

from sqlmodel import Field

from conflict.lattice import Lattice
from node.domain.forms import Form
from node.domain.workflow import Workflow
from node.engine.schema import Record, replicated
from protocol.changeset import Value

KINDS = ("台账更新", "社保认证", "参保扩面", "创业担保贷款", "招聘组织", "培训组织", "政策宣传")
STAGE = Lattice(("posted", "accepted", "completed", "paid"), absorbing="cancelled")
MAX_ITEMS = 100_000

STAGES = Workflow(
    name="服务订单 / service order",
    lattice=STAGE,
    transitions={
        (None, "post"): "posted",  # county
        ("posted", "accept"): "accepted",  # a broker takes it (线上接单)
        ("accepted", "complete"): "completed",  # served offline; items done reported
        ("completed", "pay"): "paid",  # county settles
        ("posted", "cancel"): "cancelled",
        ("accepted", "cancel"): "cancelled",
    },
    labels={"posted": "待接单", "accepted": "已接单", "completed": "已完成", "paid": "已结算",
            "cancelled": "已取消"},
    dates={"post": "posted_on", "accept": "accepted_on", "complete": "completed_on", "pay": "paid_on",
           "cancel": "cancelled_on"},
)
REASONS = {"cancel": ("cancelled_reason", True)}  # event → (field, required)


@replicated
class ServiceOrder(Record, table=True):
    __tablename__ = "service_order"
    __merge__: ClassVar[dict[str, str | Lattice]] = {
        **dict.fromkeys(("kind", "title", "items", "pay_per_item", "due_on", "broker", "completed_items",
                         "cancelled_reason", "note"), "lww"),
        **dict.fromkeys(STAGES.dates.values(), "lww"),
        "stage": STAGE,
    }

    kind: str
    title: str
    items: int  # service items ordered, e.g. 120 pensioners to certify
    pay_per_item: int | None = None  # yuan
    due_on: str | None = None
    stage: str | None = None
    broker: str | None = Field(default=None, index=True, max_length=32)
    completed_items: int | None = None
    posted_on: str | None = None
    accepted_on: str | None = None
    completed_on: str | None = None
    paid_on: str | None = None
    cancelled_on: str | None = None
    cancelled_reason: str | None = None
    note: str | None = None


def clean_order(fields: Mapping[str, Any], *, today: date) -> dict[str, Value]:
    f = Form(fields)
    f.choice("kind", KINDS, need=True)
    f.text("title", need=True)
    f.number("items", 1, MAX_ITEMS, need=True)
    f.money("pay_per_item", need=True, hi=10_000)
    f.day("due_on", lo=today)
    f.text("note", max_len=500)
    return f.done()


def amount(order: Mapping[str, Any]) -> int:
    """Yuan due for an order: the items done times the price of one; nothing once cancelled."""
    done, price = order.get("completed_items"), order.get("pay_per_item")
    if order.get("stage") == "cancelled" or not isinstance(done, int) or not isinstance(price, int):
        return 0
    return done * price
