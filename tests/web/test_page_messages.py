"""What a page says after an action, in Debian's Chromium against a real desk and a real county hub
(uvicorn on loopback): a refused action says so in red (`role="alert"`) with why and what to do, never
in the green box; a done one in green, once, to the session that did it; and a hand-made link that
carries words of its own (`?flash=已放行`) shows none of them (node.web.notices)."""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from browserkit import login, new_page, signed_in
from consolekit import COUNTY_USER, PASSWORD, VILLAGE_A, VILLAGE_B, ConsoleWorld, ident
from deskkit import PASSWORD as DESK_PASSWORD
from deskkit import USER, DeskWorld
from playwright.sync_api import Browser, Page
from test_register_card import ident as desk_ident
from test_register_card import register
from test_work_pages import post, row_of

from node.domain import ops, transfers

ERROR_RED = "rgb(192, 57, 43)"  # .error-summary in laowu.css
FORGED = "flash=已放行,一切正常&alert=已放行&said=0000000000000-forged"


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleWorld]:
    w = ConsoleWorld(tmp_path_factory.mktemp("console"))
    yield w
    w.close()


@pytest.fixture()
def console(browser: Browser, county: ConsoleWorld) -> Iterator[Page]:
    with signed_in(browser, county.server.url, COUNTY_USER, PASSWORD, root="/console") as p:
        yield p


def placement(client: httpx.Client, seq: int) -> tuple[str, str]:
    """A person and their placement started today, made through the desk's own forms: (card, placement)."""
    person = row_of(register(client, id_number=desk_ident(date(1991, 4, 4), seq), name=f"测试{seq}", confirm="1"))
    r = post(client, f"/placements/new?person={person}", person=f"测试{seq}", person_row=person,
             employer_name="九寨建工", start_date=date.today().isoformat(), region_class="县内")
    assert r.status_code == 303, r.text[:500]
    found = re.findall(r'action="/placements/([0-9a-f]{32})/step"', client.get("/placements").text)
    return person, found[0]


def transfer_request(county: ConsoleWorld, seq: int) -> str:
    """A village's request to move a person to another village, synced to the county; its row."""
    a = county.node(VILLAGE_A)
    card = ops.register_person(a, {"id_number": ident(seq), "name": "刘芳", "phone": "13800000061", "education": "高中"},
                               today=date(2024, 6, 1))
    asked = transfers.request(a, {"person": card.hex(), "to_place": VILLAGE_B, "reason": "婚嫁"})
    a.seal()
    county.sync(VILLAGE_A)
    return asked.hex()


def says_error(page: Page, *words: str) -> None:
    """The page says, in the red box and nowhere green, each of `words` and what to do next."""
    alert = page.locator(".alert[role=alert]")
    text = alert.inner_text()
    assert all(w in text for w in words) and "下一步:" in text, text
    assert alert.evaluate("e => getComputedStyle(e).backgroundColor") == ERROR_RED
    assert page.locator(".flash").count() == 0


def test_a_step_the_desk_refuses_says_so_in_red_with_why_and_what_to_do(desk: Page, client: httpx.Client) -> None:
    _, row = placement(client, 71)
    desk.goto("/placements")
    desk.click(f'form[action="/placements/{row}/step"]:has(input[value=revoke]) button')  # 作废, no reason typed
    desk.wait_for_url("**/placements?said=*")
    says_error(desk, "未能记录“作废”", "“作废”必须填写原因", "“原因”框")
    assert "已记录" not in desk.content()
    assert "已到岗" in desk.inner_text(f'tr:has(form[action="/placements/{row}/step"])')  # nothing changed


def test_a_hand_made_link_shows_no_message_on_the_desk(desk: Page, client: httpx.Client) -> None:
    person, _ = placement(client, 72)
    for url in (f"/placements?{FORGED}", f"/person/{person}?{FORGED}&saved=1&from=513225103202"):
        desk.goto(url)
        assert desk.locator(".flash, .alert, #moved").count() == 0, url
        assert "已放行" not in desk.content() and "已保存" not in desk.content()


def test_a_done_step_says_so_in_green_once_and_only_to_the_session_that_did_it(
        desk: Page, client: httpx.Client, browser: Browser, world: DeskWorld) -> None:
    _, row = placement(client, 73)
    desk.goto("/placements")
    step = f'form[action="/placements/{row}/step"]:has(input[value=end])'
    desk.fill(f"{step} input[name=reason]", "合同到期")
    desk.click(f"{step} button")
    desk.wait_for_url("**/placements?said=*")
    assert "离职:已记录" in desk.inner_text(".flash") and desk.locator(".alert").count() == 0
    said = desk.url
    other = new_page(browser, world.desk.url if world.desk else "")
    try:
        login(other, USER, DESK_PASSWORD)  # the same account, another session
        other.goto(said)
        assert other.locator(".flash").count() == 0
    finally:
        other.context.close()
    desk.reload()
    assert desk.locator(".flash").count() == 0  # shown once


def test_a_refusal_without_a_reason_on_the_console_says_so_in_red(console: Page, county: ConsoleWorld) -> None:
    row = transfer_request(county, 81)
    console.goto("/console/transfers")
    console.click(f'form[action="/console/transfers/{row}/refuse"] button')  # 不同意, no reason typed
    console.wait_for_url("**/console/transfers?said=*")
    says_error(console, "迁移申请没有处理", "不同意须说明原因", "写明不同意的原因")
    assert row in console.content()  # still waiting for a decision


def test_a_hand_made_link_shows_no_message_on_the_console(console: Page) -> None:
    for url in (f"/console/held?{FORGED}", f"/console/transfers?{FORGED}",
                f"/console/enroll?{FORGED}&otp=12345678&download={'ab' * 32}"):
        console.goto(url)
        assert console.locator(".flash, .alert, #otp-issued, #certs-download").count() == 0, url
        assert "已放行" not in console.content()


def test_a_decision_on_the_console_says_so_in_green_once(console: Page, county: ConsoleWorld) -> None:
    row = transfer_request(county, 82)
    console.goto("/console/transfers")
    console.click(f'form[action="/console/transfers/{row}/approve"] button')
    console.wait_for_url("**/console/transfers?said=*")
    assert "已同意迁移申请" in console.inner_text(".flash") and console.locator(".alert").count() == 0
    console.reload()
    assert console.locator(".flash").count() == 0


def test_a_one_time_code_shows_once(console: Page, tmp_path: Path) -> None:
    console.goto("/console/enroll")
    console.fill("input[name=place]", "513225103299")
    console.click('form[action="/console/enroll/otp"] button')
    console.wait_for_url("**/console/enroll?said=*")
    assert re.search(r"\S{6,}", console.inner_text("#otp-issued"))
    assert "生成一次性登记码" in console.inner_text(".flash[role=status]")
    assert "otp=" not in console.url
    console.reload()
    assert console.locator("#otp-issued").count() == 0


def test_a_bundle_upload_without_a_file_on_the_console_says_so_in_red(console: Page) -> None:
    console.goto("/console/bundles")
    console.click("form[enctype='multipart/form-data'] button")
    console.wait_for_url("**/console/bundles?said=*")
    says_error(console, "同步包没有导入", "没有选择文件", "选U盘里的同步包")


def test_revoking_a_key_the_console_does_not_know_says_how_to_name_one(console: Page) -> None:
    console.goto("/console/enroll")
    console.fill("#revoke-key", "zzzzzzzz")
    console.click("form[action='/console/keys/revoke'] button")
    console.wait_for_url("**/console/enroll?said=*")
    says_error(console, "没有打开吊销页面", "本平台不认识密钥", "8位密钥编号")


def test_a_full_view_without_a_reason_says_so_in_red_and_shows_nothing_unmasked(desk: Page, client: httpx.Client) -> None:
    person, _ = placement(client, 74)
    desk.goto(f"/person/{person}")
    desk.click("#full-view button")
    desk.wait_for_url(f"**/person/{person}?said=*")
    says_error(desk, "没有显示完整信息", "须写明原因", "写明原因")
    assert desk_ident(date(1991, 4, 4), 74) not in desk.content()
