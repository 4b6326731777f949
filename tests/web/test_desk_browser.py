"""The village desk in a real Chromium against a real desk server and a real county hub: what a
broker does on a morning, as the issue lists it, in one shared browser."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from browserkit import chromium
from deskkit import DeskWorld
from playwright.sync_api import Browser, Page
from test_import import as_csv, sheet
from test_register_card import ident



@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture()
def page(desk: Page) -> Page:
    """The operator's page (conftest's `desk`)."""
    return desk


def unsynced(page: Page) -> int:
    return int(page.inner_text("#unsynced"))


def test_register_fix_find_place_and_sync(page: Page, world: DeskWorld) -> None:
    before = unsynced(page)
    page.click("text=登记新人员")
    good = ident(date(1989, 10, 12), 17)
    page.fill("#in-id_number", good[:-1] + ("0" if good[-1] != "0" else "1"))  # a mistyped last digit
    page.fill("#in-name", "曾志伟")
    page.fill("#in-phone", "13800138000")
    page.fill("#in-skills", "电工、焊工")
    page.click("#save")
    message = page.locator("#field-id_number .error")
    assert "校验位错误" in message.inner_text()
    assert page.input_value("#in-name") == "曾志伟"  # nothing typed was lost
    page.fill("#in-id_number", good)
    page.click("#save")
    page.wait_for_url("**/person/*?said=*")
    assert "已保存" in page.inner_text("main")
    assert unsynced(page) == before + 1

    page.goto("/")
    page.fill("input[name=q]", "zzw")
    page.click("#search button")
    page.click("#register >> text=曾志伟")
    page.click("text=登记转移就业")
    page.fill("#in-employer_name", "九寨沟景区管理局")
    page.fill("#in-start_date", date.today().isoformat())
    page.select_option("#in-region_class", "县内")
    page.click("#save")
    page.wait_for_url("**/placements?said=*")
    assert "曾志伟" in page.inner_text("#work-list")
    assert unsynced(page) == before + 2

    page.click("#sync-badge")
    page.click("#sync-now")
    page.wait_for_url("**/sync")
    assert "已与县级平台同步" in page.inner_text("#sync-result")
    assert unsynced(page) == 0
    found = [r for r in world.county.values("person").values() if r and r.get("name") == "曾志伟"]
    assert found and found[0]["id_number"] == good


def test_import_a_gbk_csv_then_export_a_bundle(page: Page, tmp_path: Path) -> None:
    rows = sheet(6, 11)
    csv = tmp_path / "花名册.csv"
    csv.write_bytes(as_csv(rows).encode("gbk"))
    page.goto("/import")
    page.set_input_files("#import-file", str(csv))
    page.click("#preview-import")
    preview = page.inner_text("#import-preview")
    assert "可以导入 6 行" in preview and "有问题 1 行" in preview
    page.click("#confirm-import")
    assert "登记 6 人" in page.inner_text("#import-summary")
    page.goto("/?q=" + rows[0][1])
    assert rows[0][1] in page.inner_text("#register")

    page.goto("/sync")
    with page.expect_download() as dl:
        page.click("#export-bundle")
    saved = tmp_path / dl.value.suggested_filename
    dl.value.save_as(saved)
    assert saved.suffix == ".laowu" and saved.stat().st_size > 1000
