"""A broker's login at the village desk reaches the hub's points ranking: the desk writes a replicated
login-day (node/domain/broker_login.py), the village syncs with a real county hub, and the hub's
ranking counts it (before: 无数据, the login having stayed in the laptop's audit table)."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from deskkit import COUNTY, PASSWORD, USER, VILLAGE, DeskWorld, csrf_of
from test_register_card import ident

from hub.filings.access import build
from hub.filings.common import Ctx
from node.domain import ops
from node.domain.broker_login import login_day
from node.web import accounts

BROKER, BROKER_PASSWORD = "jingjiren", "broker-pass-123"


@pytest.fixture()
def world(tmp_path: Path) -> Iterator[tuple[DeskWorld, str]]:
    w = DeskWorld(tmp_path)
    store = w.node.store()
    row = ops.broker_apply(store, {"id_number": ident(date(1975, 6, 1), 61), "name": "经纪人甲",
                                   "phone": "13912345678", "filed_on": "2021-03-01"}, scope=VILLAGE,
                           already_filed=True)
    accounts.create(store.engine, BROKER, BROKER_PASSWORD, scope=VILLAGE, display="经纪人甲", broker=row.hex())
    store.close()
    w.serve()
    yield w, row.hex()
    w.close()


def login(url: str, name: str, password: str) -> httpx.Client:
    c = httpx.Client(base_url=url, follow_redirects=False, timeout=30)
    page = c.get("/login")
    assert c.post("/login", data={"csrf": csrf_of(page.text), "name": name, "password": password}).status_code == 303
    return c


def test_a_desk_login_counts_in_the_hub_points_ranking_after_sync(world: tuple[DeskWorld, str]) -> None:
    w, broker = world
    assert w.desk is not None
    today = login_day()
    ctx = Ctx(COUNTY, today.year, None, today)
    for _ in range(2):  # the broker signs in at the desk, twice the same day
        login(w.desk.url, BROKER, BROKER_PASSWORD).close()
    op = login(w.desk.url, USER, PASSWORD)  # the operator syncs the village with the county hub
    page = op.get("/sync")
    assert op.post("/sync/now", data={"csrf": csrf_of(page.text)}).status_code == 303
    op.close()
    rows = {r["name"]: r for r in build(w.county, "points", ctx).rows}
    assert rows["经纪人甲"]["login"] != "无数据" and rows["经纪人甲"]["login"] > 0
    with w.county.engine.connect() as conn:
        days = [tuple(r) for r in conn.exec_driver_sql("SELECT broker, day FROM broker_login")]
    assert days == [(broker, today.isoformat())]  # two logins, one day: one row
