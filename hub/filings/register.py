"""一人一卡 and 一村一册 (湘西 art. 8: "一人一卡、一村一册、一乡一柜、一县一库、一年一更新"): one person's
card and a village's register, printable (PDF, `pdf.py`) or as a table (.xlsx / .csv).

The register lists a place's active cards (normally a village; a township's register is its villages'
registers one after the other), one line per card, ordered by household address then name. Health,
income and pay are masked like ID numbers and phones unless a full export is asked for. The card is
one person's record: `--person` takes the card's row id or an ID number (the active card holding it).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from hub.filings.common import T, Ctx, active, duplicate_ids, duplicate_note, inside
from hub.filings.names import names
from hub.filings.table import Col, Table
from node.domain.privacy import MASK, mask_id_number, mask_phone
from protocol.errors import InvalidValue

CARD_FIELDS = (("name", "姓名"), ("sex", "性别"), ("birth_date", "出生日期"), ("id_number", "身份证号码"),
               ("phone", "联系电话"), ("education", "文化程度"), ("skills", "技能"), ("certificates", "证书"),
               ("health", "健康状况"), ("household_address", "户籍地址"), ("household_size", "家庭人口"),
               ("household_income", "家庭年收入(元)"), ("poverty_status", "人员类别"), ("two_after", "两后生"),
               ("employment", "就业状态"), ("region_class", "就业地区"), ("employer", "就业单位"),
               ("position", "岗位"), ("monthly_pay", "月工资(元)"), ("satisfaction", "就业满意度"),
               ("willing_to_migrate", "外出意愿"), ("intended_region", "意向地区"),
               ("intended_industry", "意向行业"), ("intended_pay", "期望月薪(元)"), ("updated_on", "信息更新日期"))
SECRET = ("health", "household_income", "monthly_pay", "intended_pay")


def _show(key: str, v: Any, full: bool) -> Any:
    if v is None:
        return ""
    if not full and key in SECRET:
        return MASK
    if not full and key == "id_number":
        return mask_id_number(str(v))
    if not full and key == "phone":
        return mask_phone(str(v))
    if not full and key == "birth_date":
        return str(v)[:4]
    if isinstance(v, list):
        return "、".join(str(x) for x in v)
    if isinstance(v, bool):
        return "是" if v else "否"
    return v


def build_register(conn: Connection, ctx: Ctx) -> Table:
    p = T("person")
    q = select(p).where(inside(p.c.scope, ctx.scope), active(p)).order_by(p.c.scope, p.c.household_address, p.c.name, p.c.id)
    raw = [dict(r._mapping) for r in conn.execute(q)]
    dups = duplicate_ids(conn, ctx.scope)
    named = names(conn, {r["scope"] for r in raw} | {ctx.scope})
    keys = ("name", "sex", "id_number", "phone", "education", "skills", "health", "poverty_status", "employment",
            "region_class", "employer", "willing_to_migrate", "updated_on")
    rows = []
    for r in raw:
        row = {k: _show(k, r[k], ctx.full) for k in keys}
        row["village"] = named.get(r["scope"], r["scope"])
        row["flag"] = "身份证号重复" if r["id_number"] in dups else ""
        rows.append(row)
    lab = dict(CARD_FIELDS)
    cols = [Col("village", "村(社区)", width=10), *(Col(k, lab[k], "就业情况" if k in ("employment", "region_class", "employer")
                                                          else None, width=8 if k not in ("id_number", "employer") else 18)
                                                  for k in keys), Col("flag", "备注", width=10)]
    notes = ["一村一册:本村有效卡,一年一更新。", *duplicate_note(dups, len(rows))]
    # masking already applied per field (health and income too), so the table is marked full
    return Table("register", f"{named.get(ctx.scope, ctx.scope)}劳动力资源信息册(一村一册)", ctx.who,
                 ctx.today.isoformat(), f"截至{ctx.today.isoformat()}", cols, rows, notes, full=True)


def find_card(conn: Connection, ctx: Ctx) -> dict[str, Any]:
    p = T("person")
    who = ctx.options.get("person", "").strip()
    if not who:
        raise InvalidValue("person", "请用 --person 指定行号或身份证号 / give --person ROW or an ID number")
    cond = p.c.id == who.lower() if len(who) == 32 else (p.c.id_number == who.upper())
    q = select(p).where(cond, inside(p.c.scope, ctx.scope))
    if len(who) != 32:
        q = q.where(active(p))
    found = conn.execute(q.order_by(p.c.id)).first()
    if found is None:
        raise InvalidValue("person", f"本辖区({ctx.scope})没有这张卡 / no such card in scope {ctx.scope}: {who[:6]}…")
    return dict(found._mapping)


def build_card(conn: Connection, ctx: Ctx) -> Table:
    card = find_card(conn, ctx)
    named = names(conn, {card["scope"]})
    rows = [{"field": "所在村(社区)", "value": named.get(card["scope"], card["scope"])}]
    rows += [{"field": label, "value": _show(k, card.get(k), ctx.full)} for k, label in CARD_FIELDS]
    cols = [Col("field", "项目", width=16), Col("value", "内容", width=40)]
    return Table("card", "劳动力资源信息卡(一人一卡)", ctx.who, ctx.today.isoformat(),
                 f"{card['name']} · 更新于{card.get('updated_on') or '—'}", cols, rows, [], full=True)
