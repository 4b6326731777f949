"""The county console in a real Chromium against a real county hub (uvicorn on loopback), one shared browser.

A county operator logs in, approves an enrollment request and downloads its certificate file,
releases a quarantined changeset, imports a USB bundle, resolves a duplicate-ID conflict (both cards
side by side) and sees the resolution arrive at both villages after sync, and downloads a filing. Screenshots of each page go to $LAOWU_SCREENSHOTS (docs/screenshots/ when regenerating
the README's pictures), else to the test's temporary directory.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browserkit import chromium, new_page
from consolekit import COUNTY_USER, PASSWORD, VILLAGE_A, VILLAGE_B, VILLAGE_C, VILLAGE_D, ConsoleWorld, ident
from playwright.sync_api import Page
from sqlalchemy import select

from node.engine import tables as t
from node.engine import schema
from node.engine.store import Store


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleWorld]:
    w = ConsoleWorld(tmp_path_factory.mktemp("console-browser")).with_work()
    yield w
    w.close()


@pytest.fixture(scope="module")
def page(world: ConsoleWorld) -> Iterator[Page]:
    with chromium() as browser:
        p = new_page(browser, world.server.url)
        yield p
        p.context.close()


def value(store: Store, row: bytes, name: str) -> object:
    tbl = schema.TABLES["person"].__table__  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        return conn.execute(select(tbl.c[name]).where(tbl.c.id == row.hex())).scalar_one()


def test_a_county_operator_works_through_the_console(page: Page, world: ConsoleWorld, shots: Path) -> None:
    page.goto("/")  # the hub's root leads to the console, which asks for the login first
    page.wait_for_url("**/console/login**")
    page.fill("#in-name", COUNTY_USER)
    page.fill("#in-password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/")
    assert page.locator("svg.chart").count() >= 2 and "同步情况" in page.content()
    page.screenshot(path=shots / "console-dashboard.png", full_page=True)

    # enrollment: a request file from a new laptop, approved; its certificate file downloaded
    request, key = world.request_file(VILLAGE_C)
    page.click("nav >> text=登记与密钥")
    page.set_input_files("#request-file", str(request))
    page.get_by_role("button", name="上传").click()
    row = page.locator("#requests tr", has_text=key.short)
    assert "待批准" in row.inner_text()
    row.get_by_role("button", name="批准", exact=True).click()
    with page.expect_download() as dl:
        page.click("#certs-download")
    assert dl.value.suggested_filename.startswith(f"certs-{VILLAGE_C}")
    assert key.public in world.county.trust.certs
    page.screenshot(path=shots / "console-enroll.png", full_page=True)
    page.fill("#revoke-key", world.node(VILLAGE_B).key.short)  # type: ignore[union-attr]
    page.get_by_role("button", name="吊销某个密钥…").click()
    assert "吊销后会保留" in page.content() and "确认吊销" in page.content()
    page.screenshot(path=shots / "console-revoke.png", full_page=True)
    page.get_by_role("link", name="取消").click()

    # quarantine: village D's clock two years ahead; released after checking
    page.click("nav >> text=隔离与等待")
    assert VILLAGE_D in page.inner_text("#blocked")
    page.screenshot(path=shots / "console-held.png", full_page=True)
    page.locator("#quarantine tr", has_text=VILLAGE_D).get_by_role("button", name="放行", exact=True).click()
    assert "已放行" in page.inner_text(".flash")
    with world.county.engine.connect() as conn:
        assert not conn.execute(select(t.quarantine.c.id)).all()

    # a USB bundle from village A
    bundle = world.bundle()
    page.click("nav >> text=U盘同步包")
    page.set_input_files("#bundle-file", str(bundle))
    page.get_by_role("button", name="导入").click()
    assert "已接收" in page.inner_text("#bundle-result")
    page.screenshot(path=shots / "console-bundle.png", full_page=True)

    # the conflict queue: one person registered in villages A and B; merged into A's card, the
    # resolution reaches both villages with their next sync
    page.click("nav >> text=冲突处理")
    page.locator("#open-conflicts tr", has_text="身份证号重复").locator("text=查看并处理").click()
    table = page.inner_text("#side-by-side")
    assert "13800000051" in table and "13800000052" in table and ident(51) not in page.content()
    page.screenshot(path=shots / "console-conflict.png", full_page=True)
    a_card, b_card = world.cards
    page.check("input[value=merge]")
    page.select_option("#in-keep", a_card.hex())
    page.fill("#in-note", "已电话核实:同一人,户籍在红岩村")
    page.get_by_role("button", name="确认处理").click()
    assert "已处理" in page.inner_text(".flash")
    world.sync(VILLAGE_A)
    world.sync(VILLAGE_B)
    assert value(world.node(VILLAGE_A), a_card, "household_address") == "红岩村三组"
    assert value(world.node(VILLAGE_B), b_card, "closed_reason") == "合并"
    assert value(world.node(VILLAGE_B), b_card, "successor") == a_card.hex()
    page.reload()
    assert "身份证号重复" not in page.inner_text("#open-conflicts")

    # a filing for the county
    page.click("nav >> text=报表下载")
    with page.expect_download() as dl:
        page.locator("a.dl[data-name=coverage]", has_text="xlsx").click()
    assert dl.value.suggested_filename.endswith(".xlsx")
    assert Path(dl.value.path()).read_bytes()[:2] == b"PK"
    page.screenshot(path=shots / "console-filings.png", full_page=True)

    page.click("nav >> text=访问记录")
    for action in ("批准登记", "放行", "导入", "处理冲突", "下载报表"):
        assert action in page.inner_text("table.list")
    page.screenshot(path=shots / "console-audit.png", full_page=True)
