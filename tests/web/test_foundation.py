"""The web foundation (node/web) as the desk and the console use it: accounts, sessions, CSRF, the access log."""
from __future__ import annotations

import httpx
from deskkit import PASSWORD, USER, DeskWorld, csrf_of
from sqlalchemy import select

from node.engine import tables as t
from node.web import accounts
from node.web.accounts import check_password, hash_password


def _audit(world: DeskWorld, action: str) -> list[tuple[str, str | None, str]]:
    store = world.node.store()
    try:
        with store.engine.connect() as conn:
            return [(r.actor, r.row, r.tbl) for r in conn.execute(select(t.audit).where(t.audit.c.action == action))]
    finally:
        store.close()


def test_passwords_are_scrypt_hashes_that_check_only_the_right_password() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("scrypt$16384$8$1$") and "correct horse" not in stored
    assert check_password("correct horse", stored)
    assert not check_password("correct hors", stored)
    assert hash_password("correct horse") != stored  # salted


def test_pages_need_a_login_and_a_wrong_password_is_refused_and_logged(world: DeskWorld) -> None:
    assert world.desk is not None
    with httpx.Client(base_url=world.desk.url, follow_redirects=False) as c:
        r = c.get("/")
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        page = c.get("/login")
        r = c.post("/login", data={"csrf": csrf_of(page.text), "name": USER, "password": "not-the-password"})
        assert r.status_code == 401 and "账号或密码不对" in r.text
        assert c.get("/").status_code == 303
    assert any(actor == USER for actor, _, _ in _audit(world, "login-failed"))


def test_a_login_is_recorded_with_the_broker_row_of_a_broker_account(world: DeskWorld) -> None:
    assert world.desk is not None
    store = world.node.store()
    broker_row = "ab" * 16
    accounts.create(store.engine, "broker1", "broker-pass-1", scope=world.place, broker=broker_row)
    store.close()
    with httpx.Client(base_url=world.desk.url, follow_redirects=False) as c:
        page = c.get("/login")
        assert c.post("/login", data={"csrf": csrf_of(page.text), "name": "broker1",
                                      "password": "broker-pass-1"}).status_code == 303
    assert ("broker1", broker_row, "broker") in _audit(world, "login")


def test_a_post_without_the_session_csrf_token_is_refused_and_writes_nothing(world: DeskWorld,
                                                                             client: httpx.Client) -> None:
    before = client.get("/?q=刘备").text.count('href="/person/')
    r = client.post("/person/new", data={"id_number": "110101199003074477", "name": "刘备"})
    assert r.status_code == 403 and "CSRF" in r.text and "Traceback" not in r.text
    r = client.post("/person/new", data={"csrf": "forged", "id_number": "110101199003074477", "name": "刘备"})
    assert r.status_code == 403
    assert client.get("/?q=刘备").text.count('href="/person/') == before


def test_a_viewer_may_look_but_not_save(world: DeskWorld) -> None:
    assert world.desk is not None
    store = world.node.store()
    accounts.create(store.engine, "viewer1", "viewer-pass-1", scope=world.place, role="viewer")
    store.close()
    with httpx.Client(base_url=world.desk.url, follow_redirects=False) as c:
        page = c.get("/login")
        c.post("/login", data={"csrf": csrf_of(page.text), "name": "viewer1", "password": "viewer-pass-1"})
        assert c.get("/").status_code == 200
        r = c.get("/person/new")
        assert r.status_code == 403 and "权限" in r.text


def test_logout_ends_the_session(world: DeskWorld) -> None:
    assert world.desk is not None
    with httpx.Client(base_url=world.desk.url, follow_redirects=False) as c:
        world.login(c)
        home = c.get("/")
        assert c.post("/logout", data={"csrf": csrf_of(home.text)}).status_code == 303
        assert c.get("/").status_code == 303


def test_an_unknown_page_is_a_chinese_404_without_a_traceback(client: httpx.Client) -> None:
    r = client.get("/no/such/page")
    assert r.status_code == 404 and "没有这个页面" in r.text and "Traceback" not in r.text
    r = client.get("/person/zz")
    assert r.status_code == 404


def test_password_is_required_to_be_long_enough(world: DeskWorld) -> None:
    store = world.node.store()
    try:
        try:
            accounts.create(store.engine, "shorty", "short", scope=world.place)
        except Exception as exc:  # InvalidValue: the message names the field and the rule
            assert "至少8位" in str(exc)
        else:
            raise AssertionError("a 5-character password was accepted")
    finally:
        store.close()
    assert PASSWORD  # the kit's own account meets the rule


def test_an_administrator_adds_a_broker_account_on_the_page_and_an_operator_may_not(world: DeskWorld,
                                                                                   client: httpx.Client) -> None:
    assert world.desk is not None
    assert client.get("/users").status_code == 403  # the kit's account is an operator
    store = world.node.store()
    accounts.create(store.engine, "admin1", "admin-pass-1", scope=world.place, role="administrator")
    store.close()
    with httpx.Client(base_url=world.desk.url, follow_redirects=False) as c:
        page = c.get("/login")
        c.post("/login", data={"csrf": csrf_of(page.text), "name": "admin1", "password": "admin-pass-1"})
        form = c.get("/users")
        r = c.post("/users", data={"csrf": csrf_of(form.text), "name": "zhangjj", "password": "short"})
        assert r.status_code == 422 and "至少8位" in r.text
        r = c.post("/users", data={"csrf": csrf_of(form.text), "name": "zhangjj", "password": "broker-pass-2",
                                   "display": "张经纪", "role": "operator"})
        assert r.status_code == 303 and "zhangjj" in c.get("/users").text
