"""Broker points ranking (渝人社办〔2021〕277号 三(二)4: "平台登陆活跃度、信息系统更新率、任务完成率、
岗位匹配率"), the gold-broker candidate list, and the training shortfall list.

Each indicator is a rate in [0, 1] over the year, computed in the database per broker:

* 登录活跃度 login activity: distinct days (China time) with a login by the broker ÷ working days
  (Mon–Fri) of the year up to the filing date. The days come from the replicated `broker_login`
  record the village desk writes at a broker's own login (node/domain/broker_login.py), and from the
  hub's own audit log (`lw_audit`, action `login`, tbl `broker`) for logins at the hub; the larger
  count is taken (the same day may be in both). With no login of any broker, the column says 无数据;
* 信息更新率 register update rate (一年一更新): active cards of the broker's village updated in the
  year ÷ active cards of the village;
* 任务完成率 service-order completion: orders the broker accepted in the year that were completed or
  paid ÷ orders accepted in the year (an accepted order later cancelled counts as not completed);
* 岗位匹配率 job-match rate: the broker's placements planned in the year (by their start date) that
  led to work (started, ended, stable) ÷ all of them, revoked ones included.

Points = 100 × the mean of the indicators that have data (each weighs the same; an indicator without
data is left out rather than scored 0, and the row says so). Ranked by points, then transfers, then the
longer-filed broker.

Gold brokers (川人社规〔2023〕17号 五(二): the province picks 100 a year, 20,000 yuan each): the seed
gives no formula, so the candidates are the top 100 of this ranking among brokers still filed at the
end of the year, with at least one successful transfer; the province decides.
"""
from __future__ import annotations

from datetime import date, timedelta

from typing import Any

from sqlalchemy import Connection, case, false, func, select

from hub.filings.annex3 import standing, transfers
from hub.filings.common import T, Ctx, active, in_year, original
from hub.filings.names import names
from hub.filings.table import NO_DATA, Col, Table
from node.engine import tables as et
from node.domain.broker_training import MIN_DAYS_A_YEAR
from node.domain.placement import COUNTED

GOLD_A_YEAR = 100
GOLD_YUAN = 20_000
DAY_MS = 86_400_000
CHINA_MS = 8 * 3_600_000


def _workdays(ctx: Ctx) -> int:
    end = min(ctx.today, date(ctx.year, 12, 31))
    d, n = date(ctx.year, 1, 1), 0
    while d <= end:
        n += d.weekday() < 5
        d += timedelta(days=1)
    return max(n, 1)


def _ms(day: date) -> int:
    return (day - date(1970, 1, 1)).days * DAY_MS - CHINA_MS


def ranking(conn: Connection, ctx: Ctx) -> list[dict[str, object]]:
    b, p, od, pl = T("broker"), T("person"), T("service_order"), T("placement")
    brokers = [dict(r._mapping) for r in conn.execute(select(b).where(standing(ctx)).order_by(b.c.id))]
    au = et.audit
    lo, hi = _ms(date(ctx.year, 1, 1)), _ms(date(ctx.year + 1, 1, 1))
    day = (au.c.at + CHINA_MS) // DAY_MS
    logins = {r.row: int(r.n) for r in conn.execute(
        select(au.c.row, func.count(func.distinct(day)).label("n"))
        .where(au.c.action == "login", au.c.tbl == "broker", au.c.at >= lo, au.c.at < hi).group_by(au.c.row))}
    bl = T("broker_login")  # the desks' login-days, replicated (node/domain/broker_login.py)
    for lg in conn.execute(select(bl.c.broker, func.count(func.distinct(bl.c.day)).label("n"))
                           .where(in_year(bl.c.day, ctx)).group_by(bl.c.broker)):
        logins[lg.broker] = max(logins.get(lg.broker, 0), int(lg.n))
    villages = {str(r["scope"]) for r in brokers}
    upd = {r.scope: (int(r.n), int(r.u or 0)) for r in conn.execute(
        select(p.c.scope, func.count().label("n"), func.sum(case((in_year(p.c.updated_on, ctx), 1), else_=0)).label("u"))
        .where(p.c.scope.in_(sorted(villages)) if villages else false(), active(p)).group_by(p.c.scope))}
    orders = {r.broker: (int(r.n), int(r.done or 0)) for r in conn.execute(
        select(od.c.broker, func.count().label("n"),
               func.sum(case((od.c.stage.in_(("completed", "paid")), 1), else_=0)).label("done"))
        .where(od.c.broker.is_not(None), in_year(od.c.accepted_on, ctx)).group_by(od.c.broker))}
    match = {r.broker: (int(r.n), int(r.ok or 0)) for r in conn.execute(
        select(pl.c.broker, func.count().label("n"),
               func.sum(case((pl.c.stage.in_(sorted(COUNTED)), 1), else_=0)).label("ok"))
        .where(pl.c.broker.is_not(None), original(pl), in_year(pl.c.start_date, ctx)).group_by(pl.c.broker))}
    moved = {r.broker: int(r.n) for r in conn.execute(select(transfers(ctx)))}
    work = _workdays(ctx)
    named = names(conn, villages)
    out: list[dict[str, object]] = []
    for r in brokers:
        rid = str(r["id"])
        n_upd = upd.get(r["scope"])
        n_ord, n_match = orders.get(rid), match.get(rid)
        rates: dict[str, float | None] = {
            "login": min(1.0, logins[rid] / work) if rid in logins else (0.0 if logins else None),
            "update": n_upd[1] / n_upd[0] if n_upd and n_upd[0] else None,
            "orders": n_ord[1] / n_ord[0] if n_ord and n_ord[0] else None,
            "match": n_match[1] / n_match[0] if n_match and n_match[0] else None,
        }
        have = [v for v in rates.values() if v is not None]
        pts = round(100 * sum(have) / len(have), 1) if have else 0.0
        row: dict[str, object] = {"broker": rid, "village": named.get(r["scope"], r["scope"]), "name": r["name"],
                                  "stage": r["stage"], "transfers": moved.get(rid, 0), "points": pts,
                                  "filed_on": r["filed_on"], "id_number": r["id_number"],
                                  "missing": "、".join(k for k, v in zip(("登录", "更新", "订单", "匹配"), rates.values())
                                                      if v is None)}
        for k, v in rates.items():
            row[k] = NO_DATA if v is None else v
        out.append(row)
    # ties: the longer-filed broker first, then by ID number (data, not random row ids, decides)
    out.sort(key=lambda x: (-float(str(x["points"])), -int(str(x["transfers"])), str(x["filed_on"]),
                            str(x["id_number"]), str(x["broker"])))
    for i, x in enumerate(out, 1):
        x["rank"] = i
    return out


def _cols() -> list[Col]:
    g = "指标(年度)"
    return [Col("rank", "排名", kind="int", width=5), Col("village", "所在村(社区)", width=14), Col("name", "姓名", width=8),
            Col("login", "登录活跃度", g, "rate", 10), Col("update", "信息更新率", g, "rate", 10),
            Col("orders", "任务完成率", g, "rate", 10), Col("match", "岗位匹配率", g, "rate", 10),
            Col("transfers", "转移就业人次", kind="int", width=10, total=True), Col("points", "积分", width=7),
            Col("missing", "无数据指标", width=12)]


def build(conn: Connection, ctx: Ctx) -> Table:
    rows = ranking(conn, ctx)
    notes = ["积分=100×有数据指标的平均值(各指标等权;无数据的指标不计入,不按0分)。定义见 docs/filings.md。"]
    if all(r["login"] == NO_DATA for r in rows):
        notes.append("登录活跃度:本枢纽尚无经纪人登录记录(村服务台同步后才有),本期为“无数据”。")
    return Table("points", "劳务经纪人积分排名表", ctx.who, ctx.today.isoformat(), f"{ctx.year}年度", _cols(), rows,
                 notes, ctx.full)


def build_gold(conn: Connection, ctx: Ctx) -> Table:
    rows = [r for r in ranking(conn, ctx) if r["stage"] == "filed" and int(str(r["transfers"])) > 0][:GOLD_A_YEAR]
    for r in rows:
        r["award"] = GOLD_YUAN
    cols = [*_cols(), Col("award", "拟奖励(元)", kind="money", width=10, total=True)]
    notes = [f"川人社规〔2023〕17号:省农民工办每年选树{GOLD_A_YEAR}名金牌劳务经纪人,每人奖励{GOLD_YUAN}元。"
             "文件未规定评选公式:本名单按积分排名取前100名(年末仍在备案、至少1人次转移就业)作为候选,供人工评定。"]
    return Table("gold", "金牌劳务经纪人候选名单", ctx.who, ctx.today.isoformat(), f"{ctx.year}年度", cols, rows,
                 notes, ctx.full)


def build_training(conn: Connection, ctx: Ctx) -> Table:
    b, tr = T("broker"), T("broker_training")
    days = (select(tr.c.broker, func.sum(tr.c.days).label("days"), func.count().label("courses"))
            .where(in_year(tr.c.start_date, ctx), original(tr)).group_by(tr.c.broker).subquery())
    q = (select(b.c.scope, b.c.name, b.c.id_number, b.c.phone, days.c.days, days.c.courses)
         .select_from(b.outerjoin(days, days.c.broker == b.c.id))
         .where(standing(ctx), b.c.stage == "filed", func.coalesce(days.c.days, 0) < MIN_DAYS_A_YEAR)
         .order_by(b.c.scope, b.c.id))
    raw = [dict(r._mapping) for r in conn.execute(q)]
    named = names(conn, {r["scope"] for r in raw})
    rows = [{**r, "village": named.get(r["scope"], r["scope"]), "days": int(r["days"] or 0),
             "courses": int(r["courses"] or 0), "short": MIN_DAYS_A_YEAR - int(r["days"] or 0)} for r in raw]
    cols = [Col("village", "所在村(社区)", width=14), Col("name", "姓名", width=8),
            Col("id_number", "身份证号码", kind="id", width=20), Col("phone", "联系电话", kind="phone", width=13),
            Col("courses", "参训次数", kind="int", width=8), Col("days", "培训天数", kind="int", width=8, total=True),
            Col("short", "尚缺天数", kind="int", width=8, total=True)]
    notes = [f"渝人社办〔2021〕277号:劳务经纪人每年集中培育时间不少于{MIN_DAYS_A_YEAR}天;跨年的培训计入开班年度。"]
    return Table("broker-training", "劳务经纪人年度培训天数不足名单", ctx.who, ctx.today.isoformat(), f"{ctx.year}年度",
                 cols, rows, notes, ctx.full)
