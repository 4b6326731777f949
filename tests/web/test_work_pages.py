"""The work pages over HTTP: each kind has a form and a list; workflow steps move a record on;
matching ranks open postings by the person's intentions at the four levels."""
from __future__ import annotations

import re
from datetime import date, timedelta

import httpx
from deskkit import DeskWorld, csrf_of
from test_register_card import ident, register

from node.domain import ops
from node.web import accounts
from node.domain.generate import credit_code
from node.web.desk.match import rank


def post(client: httpx.Client, path: str, **fields: str) -> httpx.Response:
    page = client.get(path)
    assert page.status_code == 200, page.text[:300]
    return client.post(path, data={"csrf": csrf_of(page.text), **fields})


def row_of(r: httpx.Response) -> str:
    return r.headers["location"].split("/")[2].split("?")[0]


def test_matching_ranks_within_each_level_by_intentions() -> None:
    person = {"willing_to_migrate": False, "intended_industry": "建筑", "skills": ["电工"], "intended_pay": 4000}
    jobs = [{"title": "电工", "region_class": "县内", "industry": "建筑", "pay_high": 5000, "id": "a"},
            {"title": "保洁", "region_class": "县内", "industry": "服务", "pay_high": 3000, "id": "b"},
            {"title": "电工", "region_class": "省外", "industry": "建筑", "pay_high": 9000, "id": "c"}]
    levels = rank(person, jobs)
    assert [j["id"] for j in levels["县内"]] == ["a", "b"]
    assert levels["省外"][0]["score"] < levels["县内"][0]["score"]  # not willing to go out
    assert list(levels) == ["省外", "省内市外", "市内县外", "县内"]


def test_a_day_of_work_through_the_forms_and_lists(client: httpx.Client) -> None:
    import random
    uscc = credit_code(random.Random(5), "513225")
    assert post(client, "/employers/new", uscc=uscc, name="九寨建工有限公司", industry="建筑").status_code == 303
    employers = client.get("/employers").text
    assert "九寨建工有限公司" in employers
    emp_id = re.findall(r'<option value="([0-9a-f]{32})">九寨建工有限公司</option>', client.get("/jobs/new").text)[0]
    until = (date.today() + timedelta(days=30)).isoformat()
    r = post(client, "/jobs/new", employer=emp_id, title="电工", positions="3", region_class="县内", industry="建筑",
             valid_until=until, pay_high="5000")
    assert r.status_code == 303, r.text[:500]
    bad = post(client, "/jobs/new", employer=emp_id, title="焊工", positions="0", region_class="县内", valid_until=until)
    assert bad.status_code == 422 and "应在1到" in bad.text.split('id="field-positions"')[1].split("</div>")[0]

    person = row_of(register(client, id_number=ident(date(1990, 9, 9), 91), name="单小军", skills="电工",
                             willing_to_migrate="0"))
    match = client.get(f"/match/{person}").text
    county_level = match.split('data-level="县内"')[1].split("</table>")[0]
    assert "电工" in county_level and "技能对口" in county_level

    r = post(client, f"/placements/new?person={person}", person="单小军", person_row=person, employer_name="九寨建工",
             start_date=date.today().isoformat(), region_class="县内", monthly_pay="4800")
    assert r.status_code == 303, r.text[:800]
    listing = client.get("/placements").text
    assert "单小军" in listing and "已到岗" in listing
    placement = re.findall(r'action="/placements/([0-9a-f]{32})/step"', listing)[0]

    r = post(client, "/followups/new", placement=placement, method="电话", still_employed="1", issues="工资待遇")
    assert r.status_code == 303, r.text[:800]
    assert "工资待遇" in client.get("/followups").text
    r = post(client, "/returns/new", person="sxj", reason="节日探亲", holiday="春节",
             returned_on="2026-02-10")
    assert r.status_code == 303, r.text[:800]
    assert "春节" in client.get("/returns").text
    r = post(client, "/training/new", person="单小军", course="电工上岗证", start_date=date.today().isoformat(),
             days="5", subsidy_class="就业技能培训")
    assert r.status_code == 303, r.text[:800]
    r = post(client, "/arrears/new", claimant="单小军", employer_name="某劳务公司", amount_yuan="6000", months="2")
    assert r.status_code == 303 and "某劳务公司" in client.get("/arrears").text

    page = client.get("/placements")
    r = client.post(f"/placements/{placement}/step", data={"csrf": csrf_of(page.text), "event": "end", "reason": "合同到期"})
    assert r.status_code == 303 and "已离职" in client.get("/placements").text


def test_a_person_named_ambiguously_is_asked_for_more(client: httpx.Client) -> None:
    register(client, id_number=ident(date(1971, 1, 1), 93), name="何平")
    register(client, id_number=ident(date(1972, 1, 1), 95), name="何萍")
    r = post(client, "/returns/new", person="heping", reason="失业")
    assert r.status_code == 422 and "找到2人" in r.text


def test_the_broker_applies_and_the_filing_moves_on(client: httpx.Client) -> None:
    number = ident(date(1980, 3, 3), 97)
    r = post(client, "/broker/new", name="罗经纪", id_number=number, phone="13800138000", background="网格员")
    assert r.status_code == 303, r.text[:600]
    listing = client.get("/broker").text
    assert "罗经纪" in listing and "村推荐" in listing
    row = re.findall(r'action="/broker/([0-9a-f]{32})/step"', listing)[0]
    r = client.post(f"/broker/{row}/step", data={"csrf": csrf_of(listing), "event": "recommend"})
    assert r.status_code == 303
    assert "县初审合格" in client.get("/broker").text


def test_a_service_order_is_accepted_by_a_filed_broker_and_completed(world: DeskWorld, client: httpx.Client) -> None:
    store = world.node.store()
    try:
        broker = ops.broker_apply(store, {"name": "石接单", "id_number": ident(date(1982, 2, 2), 99),
                                          "phone": "13800138000"}, already_filed=True)
        ops.post_order(store, {"kind": "台账更新", "title": "更新一村一册", "items": 20, "pay_per_item": 5},
                       scope=world.place)
    finally:
        store.close()
    listing = client.get("/orders").text
    assert "更新一村一册" in listing and "待接单" in listing
    row = re.findall(r'action="/orders/([0-9a-f]{32})/step"', listing)[0]
    r = client.post(f"/orders/{row}/step", data={"csrf": csrf_of(listing), "event": "accept", "broker": broker.hex()})
    assert r.status_code == 303
    listing = client.get("/orders").text
    assert "已接单" in listing and "石接单" in listing
    r = client.post(f"/orders/{row}/step", data={"csrf": csrf_of(listing), "event": "complete", "completed_items": "25"})
    refused = client.get(r.headers["location"]).text  # more than the order holds: refused in plain words, in red
    assert r.status_code == 303 and "0到20之间" in refused.split('role="alert"')[1].split("</div>")[0]
    r = client.post(f"/orders/{row}/step", data={"csrf": csrf_of(listing), "event": "complete", "completed_items": "18"})
    assert r.status_code == 303 and "已完成" in client.get("/orders").text


def test_a_broker_signed_in_with_their_own_account_sees_where_their_filing_stands(world: DeskWorld) -> None:
    assert world.desk is not None
    store = world.node.store()
    try:
        row = ops.broker_apply(store, {"name": "许自己", "id_number": ident(date(1984, 4, 4), 89), "phone": "13800138000"})
        accounts.create(store.engine, "xuziji", "broker-pass-3", scope=world.place, broker=row.hex())
    finally:
        store.close()
    with httpx.Client(base_url=world.desk.url, follow_redirects=False) as c:
        page = c.get("/login")
        c.post("/login", data={"csrf": csrf_of(page.text), "name": "xuziji", "password": "broker-pass-3"})
        mine = c.get("/broker").text.split('id="my-filing"')[1].split("</div>")[0]
        assert "许自己" in mine and "已申请" in mine and "村推荐" in mine
