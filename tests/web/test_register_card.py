"""The register (一村一册) and the card (一人一卡) over HTTP against a real desk server."""
from __future__ import annotations

import re
from datetime import date

import httpx
from deskkit import DeskWorld, csrf_of
from sqlalchemy import event
from stdnum.cn import ric

from node.web.desk.search import readings


def ident(birth: date, seq: int, region: str = "513225") -> str:
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


def register(client: httpx.Client, **fields: str) -> httpx.Response:
    page = client.get("/person/new")
    return client.post("/person/new", data={"csrf": csrf_of(page.text), **fields})


def names(html: str) -> list[str]:
    return re.findall(r'<td><a href="/person/[0-9a-f]{32}">([^<]+)</a></td>', html)


def test_polyphonic_surnames_are_found_by_their_surname_reading_and_the_common_one() -> None:
    assert "zengxiaoming" in readings("曾小明")[0] and "cengxiaoming" in readings("曾小明")[0]
    assert "sxd" in readings("单晓东")[1] and "xiefang" in readings("解芳")[0]
    assert "lvqiang" in readings("吕强")[0] and "luqiang" in readings("吕强")[0]


def test_a_bad_id_number_is_shown_at_its_field_and_nothing_is_saved(client: httpx.Client) -> None:
    r = register(client, id_number="513225199001011234", name="错号人", phone="1380013800", household_size="99")
    assert r.status_code == 422
    field = r.text.split('id="field-id_number"')[1].split("</div>")[0]
    assert "校验位错误" in field and 'value="513225199001011234"' in field  # kept, not lost
    assert "11位" in r.text.split('id="field-phone"')[1].split("</div>")[0]  # every bad field says so at once
    assert "1到30之间" in r.text.split('id="field-household_size"')[1].split("</div>")[0]
    assert 'class="error"' not in r.text.split('id="field-name"')[1].split("</div>")[0]
    assert "错号人" not in names(client.get("/?q=错号人").text)


def test_search_by_name_pinyin_initials_phone_and_id_tail(client: httpx.Client) -> None:
    number = ident(date(1988, 5, 6), 71)
    r = register(client, id_number=number, name="单田芳", phone="13912345678")
    assert r.status_code == 303
    for q in ("单田芳", "shantianfang", "stf", "dtf", "12345678", number[-4:]):
        assert "单田芳" in names(client.get("/", params={"q": q}).text), q
    assert "单田芳" not in names(client.get("/", params={"q": "zzz"}).text)


def test_a_similar_name_with_the_same_birth_date_is_warned_before_saving(client: httpx.Client) -> None:
    born = date(1979, 3, 9)
    assert register(client, id_number=ident(born, 11), name="张珊").status_code == 303
    r = register(client, id_number=ident(born, 13), name="张山")  # same pinyin, another ID number
    assert r.status_code == 200 and 'id="duplicate-warning"' in r.text and "出生日期相同" in r.text
    assert names(client.get("/", params={"q": "张山"}).text) == []
    r = register(client, id_number=ident(born, 13), name="张山", confirm="1")
    assert r.status_code == 303


def test_filters_and_the_yearly_worklist(client: httpx.Client) -> None:
    assert register(client, id_number=ident(date(1990, 2, 2), 21), name="赵就业", employment="已就业",
                    poverty_status="脱贫人口").status_code == 303
    assert register(client, id_number=ident(date(1991, 2, 2), 23), name="钱待业", employment="未就业",
                    willing_to_migrate="1").status_code == 303
    emp = names(client.get("/?f=employed").text)
    assert "赵就业" in emp and "钱待业" not in emp
    assert names(client.get("/?f=unemployed&f=willing").text) == ["钱待业"]
    assert "赵就业" in names(client.get("/?f=poverty").text)
    assert "赵就业" not in client.get("/worklist").text  # registered today: updated this year


def test_an_edit_writes_only_what_changed_and_the_history_says_who(world: DeskWorld, client: httpx.Client) -> None:
    number = ident(date(1985, 7, 1), 31)
    r = register(client, id_number=number, name="解红", skills="电工、焊工", phone="13800138000")
    row = r.headers["location"].split("/")[2].split("?")[0]
    edit = client.get(f"/person/{row}/edit")
    r = client.post(f"/person/{row}/edit", data={"csrf": csrf_of(edit.text), "save": "1", "id_number": number,
                                                 "name": "解红", "skills": "电工", "phone": "13800138001"})
    assert r.status_code == 303
    store = world.node.store()
    try:
        state = store.row_state("person", bytes.fromhex(row))
        assert state is not None
        assert [e for e, _ in state.fields["skills"].adds] == ["电工"]
        assert state.fields["name"].hlc < state.fields["phone"].hlc  # the unchanged name was not rewritten
    finally:
        store.close()
    card = client.get(f"/person/{row}").text
    assert "手机:13800138001" in card and "账号 wangfang" in card and number not in card


def test_a_full_view_needs_a_reason_and_is_in_the_access_log(client: httpx.Client) -> None:
    number = ident(date(1970, 1, 20), 41)
    row = register(client, id_number=number, name="孙全").headers["location"].split("/")[2].split("?")[0]
    page = client.get(f"/person/{row}")
    assert number not in page.text
    refused = client.post(f"/person/{row}", data={"csrf": csrf_of(page.text)})
    assert refused.status_code == 303 and number not in client.get(refused.headers["location"]).text
    full = client.post(f"/person/{row}", data={"csrf": csrf_of(page.text), "reason": "核对补贴"})
    assert number in full.text
    log = client.get("/audit", params={"action": "view-full"}).text
    assert "核对补贴" in log and row[:8] in log


def test_a_new_card_and_its_audit_line_commit_in_one_transaction(world: DeskWorld, client: httpx.Client) -> None:
    """The desk's save writes the card (its open changes) and the access-log line in the same unit: no
    commit falls between them, so a crash keeps both or neither, and the save costs one fsync."""
    assert world.desk is not None
    engine = world.desk.server.config.app.state.desk.store.engine
    seen: list[str] = []

    def statement(_c: object, _cur: object, sql: str, *_: object) -> None:
        for table in ("lw_open", "lw_audit"):
            if sql.lstrip().upper().startswith(f"INSERT INTO {table.upper()}"):
                seen.append(table)

    def commit(_c: object) -> None:
        seen.append("commit")

    page = client.get("/person/new")
    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    try:
        r = client.post("/person/new", data={"csrf": csrf_of(page.text), "id_number": ident(date(1991, 2, 3), 57),
                                             "name": "一次存"})
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)
    assert r.status_code == 303
    first, audit_at = seen.index("lw_open"), seen.index("lw_audit")
    assert "commit" not in seen[first:audit_at] and "commit" in seen[audit_at:], seen
