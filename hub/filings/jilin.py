"""Jilin's lists (吉人社联〔2023〕52号): employed, unemployed and willing-to-migrate people ((四)
"就业人员清单、失业人员清单和有意愿外出人员清单"), the monthly monitoring table of 脱贫人口 ((十四)), and
the open wage-arrears leads ((十二)); plus Guizhou's return-home registrations by period and holiday.

Lists are of PERSONS: one line per ID number over the scope's active cards. An ID number held by
two active cards (an unresolved duplicate) is listed once, from the card updated last, and flagged.

* employed: employment 已就业, 灵活就业 or 自主创业; unemployed: 未就业; willing: 有外出意愿 (whatever
  their employment now: people at work locally may want to go out).
* monitoring for month M: every active 脱贫人口 / 防止返贫监测对象 card, with that month's check
  (status, who, how, when) or 未核查 when nobody checked.
* arrears: leads not 已解决, oldest first, with the days they have been open.
* returns: registrations whose return date falls in the year (or the month), optionally of one holiday.
"""
from __future__ import annotations

from datetime import date

from typing import Any

from sqlalchemy import Connection, func, select

from hub.filings.common import T, Ctx, active, duplicate_ids, duplicate_note, in_year, inside, original
from hub.filings.names import names
from hub.filings.table import Col, Table
from node.domain.arrears import OPEN
from node.domain.monitoring import WATCHED

WHICH = {
    "employed": ("就业人员清单", ("已就业", "灵活就业", "自主创业")),
    "unemployed": ("失业人员清单", ("未就业",)),
    "willing": ("有意愿外出人员清单", ()),
}


def persons(conn: Connection, ctx: Ctx, where: list[Any]) -> tuple[list[dict[str, object]], set[str]]:
    """Active cards of the scope matching `where`, one per ID number (the latest updated), and the
    duplicated ID numbers."""
    p = T("person")
    rank = func.row_number().over(partition_by=p.c.id_number,
                                  order_by=(func.coalesce(p.c.updated_on, "").desc(), p.c.id))
    sub = select(p, rank.label("rk")).where(inside(p.c.scope, ctx.scope), active(p), *where).subquery()
    rows = [dict(r._mapping) for r in conn.execute(select(sub).where(sub.c.rk == 1).order_by(sub.c.scope, sub.c.id_number))]
    dups = duplicate_ids(conn, ctx.scope)
    named = names(conn, {str(r["scope"]) for r in rows})
    for r in rows:
        r["village"] = named.get(str(r["scope"]), r["scope"])
        r["flag"] = "身份证号重复,待县级处理" if r["id_number"] in dups else ""
    return rows, dups


def _who() -> list[Col]:
    return [Col("village", "所在村(社区)", width=14), Col("name", "姓名", width=8), Col("sex", "性别", width=5),
            Col("id_number", "身份证号码", kind="id", width=20), Col("phone", "联系电话", kind="phone", width=13),
            Col("poverty_status", "人员类别", width=12)]


def build_list(conn: Connection, ctx: Ctx, which: str) -> Table:
    title, states = WHICH[which]
    p = T("person")
    where: list[Any] = [p.c.willing_to_migrate.is_(True)] if which == "willing" else [p.c.employment.in_(states)]
    rows, dups = persons(conn, ctx, where)
    for r in rows:
        r["n"] = 1
    g = "就业情况" if which != "willing" else "外出意愿"
    if which == "willing":
        more = [Col("employment", "目前就业状态", g, width=10), Col("intended_region", "意向地区", g, width=10),
                Col("intended_industry", "意向行业", g, width=10), Col("intended_pay", "期望月薪", g, "money", 9)]
    else:
        more = [Col("employment", "就业状态", g, width=9), Col("region_class", "就业地区", g, width=9),
                Col("employer", "就业单位", g, width=22), Col("position", "岗位", g, width=10)]
    cols = [*_who(), *more, Col("updated_on", "信息更新日期", kind="date", width=11), Col("flag", "备注", width=18),
            Col("n", "人数", kind="int", width=5, total=True)]
    notes = ["按人统计:有效卡(未迁出、未合并)上的身份证号各计一人。", *duplicate_note(dups, len(rows))]
    return Table(which, title, ctx.who, ctx.today.isoformat(), f"截至{ctx.today.isoformat()}", cols, rows, notes, ctx.full)


def build_monitoring(conn: Connection, ctx: Ctx) -> Table:
    month = f"{ctx.year}-{ctx.month or ctx.today.month:02d}"
    p, ec = T("person"), T("employment_check")
    rows, dups = persons(conn, ctx, [p.c.poverty_status.in_(WATCHED)])
    checks = {found.person: dict(found._mapping) for found in conn.execute(  # one read of the month's checks
        select(ec).where(ec.c.month == month, inside(ec.c.scope, ctx.scope), original(ec)))}
    tally = {"已就业": 0, "未就业": 0, "就业不稳定": 0, "未核查": 0}
    for r in rows:
        c = checks.get(str(r["id"]), {})
        r.update(status=c.get("status") or "未核查", checked_by=c.get("checked_by"), method=c.get("method"),
                 checked_on=c.get("checked_on"), note=c.get("note"))
        tally[str(r["status"])] = tally.get(str(r["status"]), 0) + 1
        r["n"] = 1
    g = f"{month}监测情况"
    cols = [*_who(), Col("status", "就业状态", g, width=10), Col("checked_by", "核查人", g, width=8),
            Col("method", "核查方式", g, width=8), Col("checked_on", "核查日期", g, "date", 11),
            Col("note", "备注", width=20), Col("n", "人数", kind="int", width=5, total=True)]
    notes = ["吉人社联〔2023〕52号(十四):定期电话联系、上门走访,按月更新。",
             "本月:" + ",".join(f"{k}{v}人" for k, v in tally.items()) + "。", *duplicate_note(dups, len(rows))]
    return Table("monitoring", "脱贫人口就业失业状态监测月报表", ctx.who, ctx.today.isoformat(), f"{month}", cols, rows,
                 notes, ctx.full)


def build_arrears(conn: Connection, ctx: Ctx) -> Table:
    wa, b = T("wage_arrears"), T("broker")
    q = (select(wa, b.c.name.label("broker_name")).select_from(wa.outerjoin(b, b.c.id == wa.c.broker))
         .where(inside(wa.c.scope, ctx.scope), wa.c.status.in_(OPEN), original(wa))
         .order_by(wa.c.reported_on, wa.c.id))
    rows = [dict(r._mapping) for r in conn.execute(q)]
    named = names(conn, {str(r["scope"]) for r in rows})
    for r in rows:
        r["village"] = named.get(str(r["scope"]), r["scope"])
        r["days_open"] = (ctx.today - date.fromisoformat(str(r["reported_on"]))).days if r["reported_on"] else None
    cols = [Col("village", "所在村(社区)", width=14), Col("claimant", "被欠薪人", width=8),
            Col("employer_name", "欠薪单位", width=24), Col("amount_yuan", "欠薪金额(元)", kind="money", width=11, total=True),
            Col("months", "欠薪月数", kind="int", width=8), Col("broker_name", "线索收集人", width=9),
            Col("reported_on", "登记日期", kind="date", width=11), Col("status", "处理状态", width=8),
            Col("handled_by", "承办人", width=8), Col("days_open", "已挂起天数", kind="int", width=9)]
    notes = ["未办结:待核实、处理中、已移交。吉人社联〔2023〕52号(十二) 根治欠薪。"]
    return Table("arrears", "欠薪线索未办结清单", ctx.who, ctx.today.isoformat(), f"截至{ctx.today.isoformat()}", cols,
                 rows, notes, ctx.full)


def build_returns(conn: Connection, ctx: Ctx) -> Table:
    rr, p = T("return_registration"), T("person")
    q = (select(rr, p.c.name, p.c.sex, p.c.id_number, p.c.phone, p.c.poverty_status)
         .select_from(rr.join(p, p.c.id == rr.c.person))
         .where(inside(rr.c.scope, ctx.scope), original(rr)))
    if ctx.month:
        q = q.where(func.substr(rr.c.returned_on, 1, 7) == f"{ctx.year}-{ctx.month:02d}")
        period = f"{ctx.year}年{ctx.month}月"
    else:
        q = q.where(in_year(rr.c.returned_on, ctx))
        period = f"{ctx.year}年度"
    if ctx.options.get("holiday"):
        q = q.where(rr.c.holiday == ctx.options["holiday"])
        period += f"({ctx.options['holiday']})"
    rows = [dict(r._mapping) for r in conn.execute(q.order_by(rr.c.returned_on, rr.c.id))]
    named = names(conn, {str(r["scope"]) for r in rows})
    for r in rows:
        r["village"] = named.get(str(r["scope"]), r["scope"])
        r["needs"] = "、".join(r["needs"] or []) if isinstance(r["needs"], list) else (r["needs"] or "")
        r["n"] = 1
    g = "返乡情况"
    cols = [*_who(), Col("returned_on", "返乡日期", g, "date", 11), Col("reason", "返乡原因", g, width=10),
            Col("holiday", "节日", g, width=8), Col("going_out_again", "是否再外出", g, width=8),
            Col("needs", "服务需求", g, width=20), Col("n", "人次", kind="int", width=5, total=True)]
    notes = ["贵州:常态化开展返乡登记,尤其在元旦、春节等法定节日及少数民族节庆期间。"]
    return Table("returns", "返乡劳动力登记名单", ctx.who, ctx.today.isoformat(), period, cols, rows, notes, ctx.full)
