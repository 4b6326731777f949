"""Sync you can see: the badge counts records, "sync now" clears it, the province takes over when the
county hub is down, and bundles go out and come back with a reason for each refused envelope."""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import httpx
import pytest
from deskkit import DeskWorld, csrf_of
from test_register_card import ident, register

from node.sync.bundles import export_bundle
from node.domain import ops
from node.sandbox import Sandbox
from node.engine.store import Store


def badge(client: httpx.Client) -> int:
    return int(re.findall(r'<span id="unsynced">(\d+)</span>', client.get("/sync").text)[0])


def sync_now(client: httpx.Client) -> str:
    page = client.get("/sync")
    assert client.post("/sync/now", data={"csrf": csrf_of(page.text)}).status_code == 303
    return client.get("/sync").text


def test_the_badge_counts_records_not_field_changes_and_sync_clears_it(world: DeskWorld, client: httpx.Client) -> None:
    start = badge(client)
    r = register(client, id_number=ident(date(1992, 4, 4), 51), name="周一", phone="13800138000",
                 education="初中", skills="电工、焊工")
    assert badge(client) == start + 1  # one card of many fields is one record
    row = r.headers["location"].split("/")[2].split("?")[0]
    edit = client.get(f"/person/{row}/edit")
    client.post(f"/person/{row}/edit", data={"csrf": csrf_of(edit.text), "save": "1", "phone": "13800138009"})
    assert badge(client) == start + 1  # edited again: still one record
    register(client, id_number=ident(date(1993, 4, 4), 53), name="吴二")
    assert badge(client) == start + 2
    page = sync_now(client)
    assert badge(client) == 0
    assert "已与县级平台同步" in page
    county = world.county
    assert ops.get(county, "person", bytes.fromhex(row)) is not None


@pytest.fixture(scope="module")
def orphan(tmp_path_factory: pytest.TempPathFactory) -> DeskWorld:
    """A village whose county hub is down (its address answers nothing)."""
    w = DeskWorld(tmp_path_factory.mktemp("orphan"))
    cfg = w.node.config()
    w.node.save_config({**cfg, "hub": "http://127.0.0.1:9"})
    w.serve()
    yield w  # type: ignore[misc]
    w.close()


def test_when_the_county_hub_is_down_sync_falls_back_to_the_province(orphan: DeskWorld) -> None:
    assert orphan.desk is not None
    with httpx.Client(base_url=orphan.desk.url, follow_redirects=False, timeout=60) as c:
        orphan.login(c)
        register(c, id_number=ident(date(1980, 8, 8), 61), name="郑三")
        assert badge(c) == 1
        page = sync_now(c)
        assert "县级平台(http://127.0.0.1:9)连不上" in page and "已与省级平台同步" in page
        assert badge(c) == 0


def test_a_bundle_goes_out_as_a_download_and_foreign_envelopes_are_refused_with_a_reason(
        world: DeskWorld, client: httpx.Client, tmp_path: Path) -> None:
    register(client, id_number=ident(date(1975, 6, 6), 71), name="冯四")
    page = client.get("/sync")
    r = client.post("/sync/export", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 200 and r.headers["content-disposition"].startswith("attachment")
    assert r.content[:2] != b"<!"  # a bundle, not a page
    # A bundle from a village of another county's sandbox: its key chains to no root we pin.
    stranger = Sandbox.create("510000000000", seed="stranger")
    stranger.enroll("513225000000", "county", "510000000000")
    m = stranger.enroll("513225103201", "village", "513225000000")
    other = Store.create(str(tmp_path / "other.sqlite"), m.key, "513225103201", stranger.root.public,
                         [stranger.members["510000000000"].cert, stranger.members["513225000000"].cert, m.cert])
    ops.register_person(other, {"id_number": ident(date(1966, 1, 1), 81), "name": "外人"})
    other.seal()
    export_bundle(other, tmp_path / "foreign.laowu")
    other.close()
    r = client.post("/sync/import", data={"csrf": csrf_of(page.text)},
                    files={"file": ("foreign.laowu", (tmp_path / "foreign.laowu").read_bytes())})
    assert r.status_code == 303
    result = client.get("/sync").text.split('id="bundle-result"')[1]
    assert "未导入" in result or "未采用" in result
    assert "外人" not in client.get("/", params={"q": "外人"}).text.split("<tbody>")[1]
    r = client.post("/sync/import", data={"csrf": csrf_of(page.text)},
                    files={"file": ("cut.laowu", b"LAOWU-not-a-bundle")})
    assert "不是完整的同步包" in client.get("/sync").text
