"""A township desk moves a person between two of its villages from the card, over HTTP against a real
desk server on a township node; refusals change nothing; a village's desk only says to ask the county."""
from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from deskkit import TOWNSHIP, DeskWorld, csrf_of
from test_register_card import ident

from hub.server import ServerThread
from node.domain.divisions import Divisions
from node.domain import ops
from node.web.desk.app import desk_app

FIXTURE = Path(__file__).parent.parent / "fixtures" / "divisions_513225.csv"
A, B = "513225103210", "513225103211"  # 中和村, 朝阳村 of 双河镇 (the fixture's division table)
ELSEWHERE = "513225101002"  # 荷叶社区 of 漳扎镇: another township's village


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DeskWorld, str]]:
    tmp = tmp_path_factory.mktemp("move")
    Divisions.from_csv(FIXTURE, tmp / "divisions.sqlite").close()
    was = os.environ.get("LAOWU_DIVISIONS")
    os.environ["LAOWU_DIVISIONS"] = str(tmp / "divisions.sqlite")
    w = DeskWorld(tmp, place=TOWNSHIP)
    store = w.node.store()
    card = ops.register_person(store, {"id_number": ident(date(1988, 8, 8), 11), "name": "迁人"}, scope=A)
    ops.add_return(store, {"person": card.hex(), "returned_on": "2025-02-01", "reason": "节日探亲"})
    store.close()
    w.serve()
    yield w, card.hex()
    w.close()
    if was is None:
        os.environ.pop("LAOWU_DIVISIONS")
    else:
        os.environ["LAOWU_DIVISIONS"] = was


def _db(w: DeskWorld) -> dict[str, int]:
    """What a refusal must leave unchanged: cards, returns and unsent changes."""
    with sqlite3.connect(w.node.dbfile) as db:
        return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("person", "return_registration", "lw_open")}


def _post(c: httpx.Client, row: str, **data: str) -> httpx.Response:
    page = c.get(f"/person/{row}")
    return c.post(f"/person/{row}/transfer", data={"csrf": csrf_of(page.text), **data})


def test_a_township_desk_moves_a_person_between_its_villages(town: tuple[DeskWorld, str]) -> None:
    w, old = town
    assert w.desk is not None
    with httpx.Client(base_url=w.desk.url, follow_redirects=False, timeout=30) as c:
        w.login(c)
        page = c.get(f"/person/{old}").text
        form = page.split('id="transfer"')[1].split("</form>")[0]
        assert "迁移到本乡镇其他村" in form and "朝阳村村民委员会" in form and f'value="{date.today()}"' in form
        assert f'<option value="{A}">' not in form and ELSEWHERE not in form  # not its own village, not outside
        r = _post(c, old, to=B, on="2026-03-01")
        assert r.status_code == 303, r.text[:800]
        new = r.headers["location"].split("/person/")[1].split("?")[0]
        shown = c.get(r.headers["location"]).text
        assert "中和村村民委员会的原卡已关闭(迁出至朝阳村村民委员会)" in shown
        closed = c.get(f"/person/{old}").text
        assert "2026-03-01 关闭(迁出)" in closed and f'href="/person/{new}"' in closed and 'id="transfer"' not in closed
    with sqlite3.connect(w.node.dbfile) as db:
        card = db.execute("SELECT closed_on, closed_reason, successor, scope FROM person WHERE id = ?",
                          (old,)).fetchone()
        assert card == ("2026-03-01", "迁出", new, A)
        moved = db.execute("SELECT scope, closed_on, name FROM person WHERE id = ?", (new,)).fetchone()
        assert moved == (B, None, "迁人")
        original = db.execute("SELECT id FROM return_registration WHERE person = ?", (old,)).fetchone()[0]
        copies = db.execute("SELECT origin, reason FROM return_registration WHERE person = ?", (new,)).fetchall()
        assert copies == [(original, "节日探亲")]  # the history copied next to the new card, naming its original


def test_a_township_desk_refuses_a_closed_card_its_own_village_and_another_township(
        town: tuple[DeskWorld, str]) -> None:
    w, first = town
    assert w.desk is not None
    with httpx.Client(base_url=w.desk.url, follow_redirects=False, timeout=30) as c:
        w.login(c)
        if "迁出" not in c.get(f"/person/{first}").text:
            r = _post(c, first, to=B)
            assert r.status_code == 303
        with sqlite3.connect(w.node.dbfile) as db:
            active = db.execute("SELECT id FROM person WHERE closed_on IS NULL").fetchone()[0]
        before = _db(w)
        cases = ((first, A, "关闭"), (active, B, "此人已在"), (active, ELSEWHERE, "不是本乡镇的村"),
                 (active, "", "请选择迁入的村"), (active, A, "迁移日期不能晚于今天"))
        for row, to, said in cases:
            extra = {"on": "2999-01-01"} if said.startswith("迁移日期") else {}
            r = _post(c, row, to=to, **extra)
            assert r.status_code == 422 and said in r.text.split('id="transfer-error"')[1].split("</p>")[0], (to, said)
        assert _db(w) == before


def test_a_village_desk_shows_no_transfer_and_its_route_refuses(town: tuple[DeskWorld, str]) -> None:
    w, _ = town
    village = w.make_node("513225103212")
    store = village.store()
    card = ops.register_person(store, {"id_number": ident(date(1979, 9, 9), 13), "name": "村人"}).hex()
    store.close()
    with ServerThread(desk_app(village, probe=False)) as desk, \
            httpx.Client(base_url=desk.url, follow_redirects=False, timeout=30) as c:
        w.login(c)
        page = c.get(f"/person/{card}").text
        assert "迁移到本乡镇其他村" not in page and "请向县级申请迁移" in page
        with sqlite3.connect(village.dbfile) as db:
            before = db.execute("SELECT count(*) FROM lw_open").fetchone()[0]
        r = c.post(f"/person/{card}/transfer", data={"csrf": csrf_of(page), "to": "513225103213"})
        assert r.status_code == 403 and "请向县级申请" in r.text
        with sqlite3.connect(village.dbfile) as db:
            assert db.execute("SELECT count(*) FROM lw_open").fetchone()[0] == before
            assert db.execute("SELECT closed_on FROM person").fetchall() == [(None,)]
