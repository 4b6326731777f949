"""Importing a register: CSV in GBK, GB18030 or UTF-8 (with or without BOM) and .xlsx, Chinese or
English headers, a preview that writes nothing, then a summary with counts."""
from __future__ import annotations

import io
import random
import re
from datetime import date

import httpx
import openpyxl
import pytest
from deskkit import csrf_of
from test_register_card import ident

from node.domain import importing
from node.domain.generate import people

HEAD_ZH = "身份证号,姓名,手机号码,文化程度,户籍地址"


def sheet(n: int, seed: int, bad_line: bool = True) -> list[list[str]]:
    rows = [[p["id_number"], p["name"], p.get("phone") or "", p.get("education") or "", p.get("household_address") or ""]
            for p in people(random.Random(seed), "513225103201", "新民村", n, county="九寨沟县", township="漳扎镇",
                            today=date(2026, 11, 1))]
    if bad_line:
        rows.insert(2, ["513225199001011235", "错号人", "", "", ""])
    return rows


def as_csv(rows: list[list[str]], head: str = HEAD_ZH) -> str:
    return "\n".join([head, *(",".join(r) for r in rows)]) + "\n"


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8", "utf-8-sig"])
def test_every_encoding_reads_back_the_same_names(encoding: str) -> None:
    rows = sheet(5, 1) + [[ident(date(1990, 1, 1), 3), "䶮䶮", "", "", ""]] * (encoding == "gb18030")
    table = importing.read(as_csv(rows).encode(encoding), "名单.csv")
    assert [cells["name"] for _, cells in table.rows] == [r[1] for r in rows]
    assert table.encoding.lower().replace("-", "").startswith(("gb18030", "utf8"))


def test_english_headers_and_xlsx_read_alike() -> None:
    rows = sheet(3, 2, bad_line=False)
    wb = openpyxl.Workbook()
    wb.active.append(["id_number", "name", "phone", "education", "address"])
    for r in rows:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    table = importing.read(buf.getvalue(), "list.xlsx")
    assert [c["id_number"] for _, c in table.rows] == [r[0] for r in rows]
    assert table.encoding == "xlsx"


def test_a_header_without_id_numbers_is_refused_in_plain_words() -> None:
    with pytest.raises(Exception, match="身份证号"):
        importing.read("姓名,手机\n张三,13800138000\n".encode("gbk"), "x.csv")


def test_a_gbk_csv_is_previewed_without_writing_then_imported_with_a_summary(client: httpx.Client) -> None:
    rows = sheet(8, 3)
    data = as_csv(rows).encode("gbk")
    page = client.get("/import")
    r = client.post("/import", data={"csrf": csrf_of(page.text)}, files={"file": ("名单.csv", data, "text/csv")})
    assert r.status_code == 200 and 'id="import-preview"' in r.text
    assert "可以导入 8 行" in r.text and "有问题 1 行" in r.text and "GB18030" in r.text
    assert "校验位错误" in r.text
    first = rows[0][1]
    assert first not in client.get("/", params={"q": first}).text.split("<tbody>")[1]  # nothing written yet
    token = re.findall(r'name="token" value="([0-9a-f]+)"', r.text)[0]
    done = client.post("/import/confirm", data={"csrf": csrf_of(r.text), "token": token, "name": "名单.csv"})
    assert 'id="import-summary"' in done.text and "登记 <b>8</b> 人" in done.text and "拒绝 <b>1</b> 行" in done.text
    assert first in client.get("/", params={"q": first}).text
    again = client.post("/import/confirm", data={"csrf": csrf_of(r.text), "token": token, "name": "名单.csv"})
    assert again.status_code == 400 and "预览已过期" in again.text  # the held file is gone: no double import
