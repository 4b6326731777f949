"""The county console over HTTP against a real county hub (uvicorn on loopback, console at /console).

Scope is checked on the server: a village account asks for another place's conflict, quarantined
changeset and person card by URL and gets 404, and its lists do not show them. Roles: a viewer's
release is refused. Enrollment, revocation by short id with its preview, release of a quarantined
changeset, bundle import and the logged full view each change what the hub holds, checked in its store.
"""
from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from datetime import date

import httpx
import pytest
from consolekit import (COUNTY_USER, VIEWER, VILLAGE_A, VILLAGE_B, VILLAGE_C, VILLAGE_D, VILLAGE_USER, YEAR_MS, ConsoleWorld,
                        csrf_of, ident)
from sqlalchemy import select

from hub import enroll
from node.engine import tables as t
from node.engine import schema
from node.domain import ops, transfers
from protocol import clock, codec, messages
from protocol.keys import KeyPair, short_id


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleWorld]:
    w = ConsoleWorld(tmp_path_factory.mktemp("console")).with_work()
    yield w
    w.close()


@contextlib.contextmanager
def client(world: ConsoleWorld, name: str = COUNTY_USER) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=world.url, timeout=30) as c:
        world.login(c, name)
        yield c


def conflict_keys(html: str) -> list[str]:
    return re.findall(r'/console/conflicts/([0-9a-f]{32})"', html)


def quarantine_ids(html: str) -> list[str]:
    return re.findall(r'/console/held/([0-9a-f]{64})/release', html)


def test_signed_out_requests_go_to_the_login(world: ConsoleWorld) -> None:
    with httpx.Client(base_url=world.url, timeout=30) as c:
        r = c.get("/held")
        assert r.status_code == 303 and r.headers["location"].startswith("/console/login")
        assert "登录" in c.get("/login").text


def test_a_village_account_sees_nothing_of_other_places(world: ConsoleWorld) -> None:
    with client(world) as county:
        keys = conflict_keys(county.get("/conflicts").text)
        ids = quarantine_ids(county.get("/held").text)
    with world.county.engine.connect() as conn:
        person = conn.execute(select(schema.TABLES["person"].__table__.c.id)).first()  # type: ignore[attr-defined]
    assert keys and ids and person is not None
    with client(world, VILLAGE_USER) as village:
        assert not conflict_keys(village.get("/conflicts").text)
        assert not quarantine_ids(village.get("/held").text)
        assert village.get(f"/conflicts/{keys[0]}").status_code == 404
        assert village.get(f"/person/{person[0]}").status_code == 404
        csrf = csrf_of(village.get("/held").text)
        assert village.post(f"/held/{ids[0]}/release", data={"csrf": csrf}).status_code == 404
        assert VILLAGE_D not in village.get("/").text
    with world.county.engine.connect() as conn:
        assert conn.execute(select(t.quarantine.c.id)).all(), "the village account's release must not have happened"


def test_a_viewer_may_look_but_not_release(world: ConsoleWorld) -> None:
    with client(world, VIEWER) as viewer:
        page = viewer.get("/held").text
        ids = re.findall(r'<td>(\d{12})</td><td>\w{8}</td><td>1</td>', page)
        assert VILLAGE_D in page and ids
        with client(world) as county:
            qid = quarantine_ids(county.get("/held").text)[0]
        r = viewer.post(f"/held/{qid}/release", data={"csrf": csrf_of(page)})
        assert r.status_code == 403 and "权限" in r.text


def test_post_without_the_session_csrf_token_is_refused(world: ConsoleWorld) -> None:
    with client(world) as county:
        qid = quarantine_ids(county.get("/held").text)[0]
        r = county.post(f"/held/{qid}/release", data={"csrf": "forged"})
        assert r.status_code == 403
        assert qid in county.get("/held").text


def test_enrollment_request_approved_then_revoked_by_short_id_with_a_preview(world: ConsoleWorld) -> None:
    path, key = world.request_file(VILLAGE_C)
    with client(world) as county:
        csrf = csrf_of(county.get("/enroll").text)
        r = county.post("/enroll/upload", data={"csrf": csrf}, files={"file": (path.name, path.read_bytes())})
        assert r.status_code == 303
        page = county.get("/enroll").text
        assert key.short in page and VILLAGE_C in page
        r = county.post(f"/enroll/{key.public.hex()}/approve", data={"csrf": csrf})
        assert r.status_code == 303 and f"/enroll/{key.public.hex()}/certs" in county.get(r.headers["location"].removeprefix("/console")).text
        assert world.county.trust.certs[key.public].scopes == (VILLAGE_C,) or VILLAGE_C in world.county.trust.certs[key.public].scopes
        certs = county.get(f"/enroll/{key.public.hex()}/certs")
        assert certs.status_code == 200 and len(certs.content) > 100
        preview = county.get("/keys/revoke", params={"key": key.short})
        assert preview.status_code == 200 and "确认吊销" in preview.text and key.public not in world.county.trust.revocations
        r = county.post("/keys/revoke", data={"csrf": csrf, "key": key.short, "confirm": "1", "reason": "电脑被盗"})
        assert r.status_code == 303
        assert world.county.trust.revocations[key.public].reason == "电脑被盗"
        log = county.get("/audit", params={"actor": COUNTY_USER}).text
        assert "批准登记" in log and "吊销密钥" in log


def test_a_damaged_request_file_is_refused_in_red_with_what_to_do(world: ConsoleWorld) -> None:
    with client(world) as county:
        before = county.get("/enroll").text
        r = county.post("/enroll/upload", data={"csrf": csrf_of(before)}, files={"file": ("enroll-request.laowu", b"\x93not")})
        assert r.status_code == 303
        page = county.get(r.headers["location"].removeprefix("/console")).text
        alert = page.split('role="alert"')[1].split("</div>")[0]
        assert "没有收到登记申请" in alert and "内容不完整或已损坏" in alert and "下一步:" in alert
        assert 'class="flash"' not in page
        assert before.count("待批准</td>") == page.count("待批准</td>")  # nothing was added


def test_find_key_takes_the_short_id_and_says_when_it_is_unknown(world: ConsoleWorld) -> None:
    author = world.node(VILLAGE_A).author
    assert enroll.find_key(world.county, short_id(author)) == author
    assert enroll.find_key(world.county, author.hex()) == author
    with pytest.raises(Exception, match="8位编号"):
        enroll.find_key(world.county, "zzzzzzzz")


def test_release_of_a_quarantined_changeset_applies_it(world: ConsoleWorld) -> None:
    with client(world) as county:
        page = county.get("/held").text
        qid = quarantine_ids(page)[0]
        r = county.post(f"/held/{qid}/release", data={"csrf": csrf_of(page)})
        assert r.status_code == 303
        assert qid not in county.get("/held").text
    with world.county.engine.connect() as conn:
        assert conn.execute(select(t.log.c.status).where(t.log.c.id == bytes.fromhex(qid))).scalar_one() == "applied"


def test_bundle_import_shows_each_outcome(world: ConsoleWorld) -> None:
    path = world.bundle()
    with client(world) as county:
        csrf = csrf_of(county.get("/bundles").text)
        r = county.post("/bundles", data={"csrf": csrf}, files={"file": (path.name, path.read_bytes())})
        assert r.status_code == 200 and "已接收" in r.text
        again = county.post("/bundles", data={"csrf": csrf}, files={"file": (path.name, path.read_bytes())})
        assert "已有(重复)" in again.text and "已接收" not in again.text.split("bundle-result")[1]
        bad = county.post("/bundles", data={"csrf": csrf}, files={"file": ("x.laowu", b"not a bundle")})
        assert bad.status_code == 400 and "Traceback" not in bad.text


def test_full_view_needs_a_reason_and_is_logged(world: ConsoleWorld) -> None:
    tbl = schema.TABLES["person"].__table__  # type: ignore[attr-defined]
    with world.county.engine.connect() as conn:
        row, number = conn.execute(select(tbl.c.id, tbl.c.id_number)).first()  # type: ignore[misc]
    with client(world) as county:
        page = county.get(f"/person/{row}").text
        assert number not in page
        assert "没有显示完整信息" in county.post(f"/person/{row}", data={"csrf": csrf_of(page), "reason": ""},
                                            follow_redirects=True).text
        full = county.post(f"/person/{row}", data={"csrf": csrf_of(page), "reason": "核实补贴"})
        assert number in full.text
        log = county.get("/audit", params={"row": row}).text
        assert "核实补贴" in log and COUNTY_USER in log


def test_filing_downloads_for_the_scope_only(world: ConsoleWorld) -> None:
    with client(world) as county:
        assert "coverage" in county.get("/filings").text
        r = county.get("/filings/coverage", params={"format": "xlsx"})
        assert r.status_code == 200 and r.content[:2] == b"PK"
        assert "下载报表" in county.get("/audit", params={"action": "download"}).text
    with client(world, VILLAGE_USER) as village:
        r = village.get("/filings/coverage", params={"scope": "513225000000"})
        assert r.status_code == 400 and "不在您的范围" in r.text


def test_an_online_request_without_a_code_waits_for_the_console_then_gets_its_certificate(world: ConsoleWorld) -> None:
    key = KeyPair.generate()
    body = messages.EnrollRequest.make(key, "513225104202", "village", "李会计", clock.wall_ms()).encode()

    def ask() -> httpx.Response:
        return httpx.post(world.server.url + "/v1/enroll", content=body,
                          headers={"content-type": messages.CONTENT_TYPE}, timeout=30)

    first = ask()
    assert first.status_code == 401 and key.short in codec.unpack(first.content, max_bytes=1 << 16, what="answer")["reason"]
    assert key.public not in world.county.trust.certs
    with client(world) as county:
        page = county.get("/enroll").text
        assert key.short in page and "在线" in page
        assert county.post(f"/enroll/{key.public.hex()}/approve", data={"csrf": csrf_of(page)}).status_code == 303
    second = ask()
    assert second.status_code == 200
    assert codec.unpack(second.content, max_bytes=1 << 16, what="answer")["cert"] == world.county.trust.certs[key.public].raw


def test_the_dashboard_draws_its_charts_and_the_sync_health_of_each_village(world: ConsoleWorld) -> None:
    with client(world) as county:
        page = county.get("/").text
    assert page.count("<svg") >= 3 and "cdn" not in page.lower()
    health = page.split('id="sync-health"')[1].split("</table>")[0]
    row = health.split(VILLAGE_A)[1].split("</tr>")[0]
    assert row.count("20") >= 2, "a village that synced shows when its work arrived and when it last spoke"
    assert VILLAGE_D in health


def test_a_restored_laptop_is_re_keyed_by_its_old_short_id(world: ConsoleWorld) -> None:
    old = world.node(VILLAGE_D).author
    path, new = world.request_file(VILLAGE_D)
    with client(world) as county:
        csrf = csrf_of(county.get("/enroll").text)
        r = county.post("/keys/rekey", data={"csrf": csrf, "old": short_id(old)},
                        files={"file": (path.name, path.read_bytes())})
        assert r.status_code == 303 and f"/enroll/{new.public.hex()}/certs" in county.get(r.headers["location"].removeprefix("/console")).text
    assert world.county.trust.certs[new.public].succeeds == old
    assert old in world.county.trust.revocations
    with client(world, VIEWER) as viewer:
        assert viewer.post("/keys/rekey", data={"csrf": csrf_of(viewer.get("/enroll").text), "old": short_id(old)},
                           files={"file": (path.name, path.read_bytes())}).status_code == 403


def test_a_declined_changeset_is_never_applied(world: ConsoleWorld) -> None:
    ahead = world.node("513225103204", wall=lambda: clock.wall_ms() + 3 * YEAR_MS)
    ops.register_person(ahead, {"id_number": ident(41), "name": "孙丽", "phone": "13800000004", "education": "初中"},
                        today=date(2024, 6, 1))
    ahead.seal()
    world.sync("513225103204")
    with client(world) as county:
        page = county.get("/held").text
        qid = [q for q in quarantine_ids(page)][0]
        r = county.post(f"/held/{qid}/decline", data={"csrf": csrf_of(page)})
        assert r.status_code == 303
        assert qid not in county.get("/held").text
        assert "拒绝放行" in county.get("/audit", params={"action": "decline"}).text
    with world.county.engine.connect() as conn:
        assert conn.execute(select(t.log.c.id).where(t.log.c.id == bytes.fromhex(qid))).first() is None


def test_only_an_operator_inside_the_scope_resolves_a_conflict(world: ConsoleWorld) -> None:
    with client(world) as county:
        page = county.get("/conflicts").text
    key = re.findall(r'身份证号重复.*?/console/conflicts/([0-9a-f]{32})"', page, re.S)[0]
    form = {"resolution": "merge", "keep": world.cards[0].hex()}
    with client(world, VIEWER) as viewer:
        r = viewer.post(f"/conflicts/{key}/resolve", data={**form, "csrf": csrf_of(viewer.get("/conflicts").text)})
        assert r.status_code == 403
    with client(world, VILLAGE_USER) as village:
        r = village.post(f"/conflicts/{key}/resolve", data={**form, "csrf": csrf_of(village.get("/conflicts").text)})
        assert r.status_code == 404
    with world.county.engine.connect() as conn:
        assert conn.execute(select(t.conflicts.c.resolved).where(t.conflicts.c.key == bytes.fromhex(key))).scalar_one() is None


def test_a_village_transfer_request_approved_in_the_console_moves_the_person(world: ConsoleWorld) -> None:
    a, b = world.node(VILLAGE_A), world.node(VILLAGE_B)
    card = ops.register_person(a, {"id_number": ident(61), "name": "刘芳", "phone": "13800000061", "education": "高中"},
                               today=date(2024, 6, 1))
    asked = transfers.request(a, {"person": card.hex(), "to_place": VILLAGE_B, "reason": "婚嫁"})
    a.seal()
    world.sync(VILLAGE_A)
    with client(world) as county:
        page = county.get("/transfers").text
        assert asked.hex() in page and "婚嫁" in page
        r = county.post(f"/transfers/{asked.hex()}/approve", data={"csrf": csrf_of(page)})
        assert r.status_code == 303 and asked.hex() not in county.get("/transfers").text
    world.sync(VILLAGE_A)
    world.sync(VILLAGE_B)
    person = schema.TABLES["person"].__table__  # type: ignore[attr-defined]
    with a.engine.connect() as conn:
        closed = conn.execute(select(person.c.closed_reason, person.c.successor).where(person.c.id == card.hex())).one()
    assert closed.closed_reason == "迁出"
    with b.engine.connect() as conn:
        moved = conn.execute(select(person.c.name, person.c.scope).where(person.c.id == closed.successor)).one()
    assert moved.name == "刘芳" and moved.scope == VILLAGE_B
