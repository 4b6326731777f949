"""The console's 放行 when a release would be refused, in Debian's Chromium against a real county hub
(uvicorn on loopback), a world of its own per case (docs/trust.md §6).

A village under a township seals a changeset while its laptop says 2099 and syncs: the county
quarantines it. While it waits, the village's certificate runs out (`expired`), or the township key
that certified it is revoked keeping nothing it signed (`revoked`). The held page warns that a
release would be refused; 放行 then says 未能放行 as an error, why in plain words, that no ruling was
signed and to click 拒绝, and the hub signs nothing; 拒绝 then takes it out of the quarantine.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from browserkit import chromium, signed_in
from consolekit import COUNTY, COUNTY_USER, PASSWORD, PROVINCE, ConsoleWorld, ident
from playwright.sync_api import Browser, Page
from sqlalchemy import select

from hub import review
from node.domain import ops
from node.engine import tables as t
from node.engine.store import Store
from node.sandbox import NOT_BEFORE
from protocol import certs, clock
from protocol import release as ruling

TOWNSHIP, VILLAGE = "513225105000", "513225105201"
Y2099_MS = 4_070_908_800_000  # 2099-01-01
LEFT_MS = 8_000  # the expiring certificate's life left when the village syncs
PLAIN = {"expired": "证书已过期", "revoked": "密钥已被吊销"}  # node.web.messages.REFUSAL_CODES
ERROR_RED = "rgb(192, 57, 43)"  # .error-summary in laowu.css; a success (.flash) is green


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture()
def world(tmp_path: Path) -> Iterator[ConsoleWorld]:
    w = ConsoleWorld(tmp_path)
    yield w
    w.close()


@pytest.fixture()
def page(browser: Browser, world: ConsoleWorld) -> Iterator[Page]:
    with signed_in(browser, world.server.url, COUNTY_USER, PASSWORD, root="/console") as p:
        yield p


def quarantined_then(world: ConsoleWorld, cause: str) -> bytes:
    """Village VILLAGE's 2099 changeset quarantined at the county through a real sync; since then its
    certificate (issued by the county, good for LEFT_MS more) ran out, or the township key that
    issued it was revoked, keeping nothing it signed. The changeset's id."""
    county, township = world.box.members[COUNTY], world.box.enroll(TOWNSHIP, "township", COUNTY)
    world.county.add_certificate(township.cert)
    if cause == "expired":
        village = world.box.enroll(VILLAGE, "village", COUNTY)
        until = clock.wall_ms() + LEFT_MS
        cert = certs.issue(county.key, village.key.public, "village", [VILLAGE], NOT_BEFORE, until, world.box.serial + 1)
        chain = [world.box.members[PROVINCE].cert, county.cert, cert]
    else:
        village = world.box.enroll(VILLAGE, "village", TOWNSHIP)
        chain = [world.box.members[PROVINCE].cert, county.cert, township.cert, village.cert]
    world.county.add_certificate(chain[-1])
    node = world.nodes[VILLAGE] = Store.create(str(world.tmp / "village.sqlite"), village.key, VILLAGE,
                                               world.box.root.public, chain, wall=lambda: Y2099_MS)
    ops.register_person(node, {"id_number": ident(61), "name": "罗秀珍", "phone": "13800000061", "education": "初中"},
                        today=date(2024, 6, 1))
    node.seal()
    assert world.sync(VILLAGE).counts.get("quarantined") == 1
    [q] = review.quarantined(world.county)
    if cause == "expired":
        assert clock.wall_ms() < until, "the sync took longer than the certificate had left: raise LEFT_MS"
        time.sleep((until - clock.wall_ms()) / 1000 + 1)
    else:
        world.county.add_revocation(certs.revoke(county.key, township.key.public, {}, clock.wall_ms(), "乡镇密钥被盗"))
    return q.id


def signed_by_the_hub(store: Store) -> tuple[list[bytes], list[bytes]]:
    """The county hub's own changesets and the release rulings it holds."""
    with store.engine.connect() as conn:
        own = list(conn.execute(select(t.log.c.id).where(t.log.c.author == store.author)).scalars())
        rulings = list(conn.execute(select(t.rows.c.row).where(t.rows.c.tbl == ruling.TABLE)).scalars())
    return own, rulings


@pytest.mark.parametrize("cause", ["expired", "revoked"])
def test_a_refused_release_says_so_as_an_error_signs_nothing_and_the_changeset_can_be_declined(
        cause: str, world: ConsoleWorld, page: Page, shots: Path) -> None:
    cs_id = quarantined_then(world, cause)
    page.click("nav >> text=隔离与等待")
    row = page.locator("#quarantine tr", has_text=VILLAGE)
    warned = row.locator(".release-refused").inner_text()  # said before anyone clicks
    assert "放行会被拒绝" in warned and PLAIN[cause] in warned, warned

    row.get_by_role("button", name="放行", exact=True).click()
    alert = page.locator(".alert")
    said = alert.inner_text()
    assert said.startswith("未能放行") and f"{VILLAGE}的第1号记录" in said, said
    assert PLAIN[cause] in said  # why, in plain words
    assert "未签署" in said  # no ruling
    assert "点“拒绝”" in said and "更换密钥" in said  # what to do instead
    assert alert.evaluate("e => getComputedStyle(e).backgroundColor") == ERROR_RED  # an error, not a success
    assert "已放行" not in page.content() and page.locator(".flash").count() == 0
    if cause == "expired":
        page.screenshot(path=shots / "console-held-refused.png", full_page=True)
    assert signed_by_the_hub(world.county) == ([], [])  # no ruling written, sealed or signed
    assert [q.id for q in review.quarantined(world.county)] == [cs_id]

    page.locator("#quarantine tr", has_text=VILLAGE).get_by_role("button", name="拒绝", exact=True).click()
    assert "已拒绝" in page.inner_text(".flash")
    assert review.quarantined(world.county) == []
    page.click("nav >> text=访问记录")
    assert "未能放行" in page.inner_text("table.list")  # the access log tells the truth too
