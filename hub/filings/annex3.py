"""附件3 四川省乡村劳务经纪人备案信息表 (川人社规〔2023〕17号 六(三)): each prefecture's yearly table
of its filed brokers, due at the provincial migrant-worker office by 25 December.

Who is listed for year Y: every broker row of the scope whose filing stood at some point in Y — filed
(or entered as filed) on or before 31 December Y, and not cancelled before 1 January Y. A broker
cancelled during Y is listed with the cancellation date (a broker revoked mid-year still filed part
of the year). Figures per broker for Y, all counted in the database:

* 组织转移就业人次: placements the broker organised whose person started work in Y (stage started,
  ended or stable_1y; a start date stands in when the start was not recorded), transfer copies
  ignored — the same count the two-year review uses;
* 其中脱贫人口: those whose card says 脱贫人口 or 防止返贫监测对象;
* 培训天数: the broker's training days that started in Y (Chongqing asks 4 a year);
* 服务订单: service orders the broker completed in Y.

The province's file lists every prefecture, ordered by code; a prefecture's lists its own.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, case, func, or_, select

from hub.filings.common import T, Ctx, in_year, inside, original, up_to
from hub.filings.names import names
from hub.filings.table import Col, Table
from node.domain.broker import FILING
from node.domain.placement import COUNTED, POOR

TITLE = "四川省乡村劳务经纪人备案信息表"


def transfers(ctx: Ctx) -> Any:
    """Per broker: successful transfers started in the year, and how many of them were 脱贫人口."""
    pl, p = T("placement"), T("person")
    started = func.coalesce(pl.c.started_on, pl.c.start_date)
    return (select(pl.c.broker.label("broker"), func.count().label("n"),
                   func.sum(case((p.c.poverty_status.in_(POOR), 1), else_=0)).label("poor"))
            .select_from(pl.outerjoin(p, p.c.id == pl.c.person))
            .where(pl.c.broker.is_not(None), pl.c.stage.in_(sorted(COUNTED)), original(pl),
                   in_year(started, ctx))
            .group_by(pl.c.broker).subquery())


def standing(ctx: Ctx) -> Any:
    """Brokers whose filing stood during the year."""
    b = T("broker")
    return and_(inside(b.c.scope, ctx.scope), b.c.stage.in_(("filed", "revoked")), b.c.filed_on.is_not(None),
                b.c.filed_on <= ctx.last, or_(b.c.revoked_on.is_(None), b.c.revoked_on >= ctx.first))


def build(conn: Connection, ctx: Ctx) -> Table:
    b, tr, od = T("broker"), T("broker_training"), T("service_order")
    moved = transfers(ctx)
    days = (select(tr.c.broker, func.sum(tr.c.days).label("days")).where(in_year(tr.c.start_date, ctx), original(tr))
            .group_by(tr.c.broker).subquery())
    orders = (select(od.c.broker, func.count().label("n")).where(od.c.stage.in_(("completed", "paid")),
                                                                  in_year(od.c.completed_on, ctx))
              .group_by(od.c.broker).subquery())
    q = (select(b, moved.c.n, moved.c.poor, days.c.days, orders.c.n.label("orders"))
         .select_from(b.outerjoin(moved, moved.c.broker == b.c.id)
                      .outerjoin(days, days.c.broker == b.c.id).outerjoin(orders, orders.c.broker == b.c.id))
         .where(standing(ctx)).order_by(b.c.scope, b.c.filed_on, b.c.id))
    rows = [dict(r._mapping) for r in conn.execute(q)]
    named = names(conn, {c for r in rows for c in (up_to(r["scope"], "prefecture"), up_to(r["scope"], "county"), r["scope"])})
    out = []
    for r in rows:
        revoked = r["stage"] == "revoked"
        out.append({
            "prefecture": named.get(up_to(r["scope"], "prefecture"), up_to(r["scope"], "prefecture")[:4]),
            "county": named.get(up_to(r["scope"], "county"), up_to(r["scope"], "county")[:6]),
            "village": named.get(r["scope"], r["scope"]), "name": r["name"], "sex": r["sex"],
            "id_number": r["id_number"], "phone": r["phone"], "background": r["background"],
            "filed_on": r["filed_on"], "certificate_no": r["certificate_no"],
            "status": f"已取消备案({r['revoked_on']})" if revoked else FILING.labels["filed"],
            "transfers": int(r["n"] or 0), "poor": int(r["poor"] or 0), "days": int(r["days"] or 0),
            "orders": int(r["orders"] or 0),
        })
    g = f"{ctx.year}年服务情况"
    cols = [Col("prefecture", "市(州)", "所在地", width=10), Col("county", "县(市、区)", "所在地", width=10),
            Col("village", "村(社区)", "所在地", width=14), Col("name", "姓名", "基本信息", width=8),
            Col("sex", "性别", "基本信息", width=5), Col("id_number", "身份证号码", "基本信息", "id", 20),
            Col("phone", "联系电话", "基本信息", "phone", 13), Col("background", "人员类别", "基本信息", width=10),
            Col("filed_on", "备案日期", "备案情况", "date", 11), Col("certificate_no", "电子合格证编号", "备案情况", width=14),
            Col("status", "备案状态", "备案情况", width=12),
            Col("transfers", "组织转移就业人次", g, "int", 10, True), Col("poor", "其中脱贫人口", g, "int", 9, True),
            Col("days", "培训天数", g, "int", 8, True), Col("orders", "完成服务订单", g, "int", 9, True)]
    notes = [f"统计口径:{ctx.year}年内曾处于备案状态的经纪人;转移就业人次按到岗日期计,迁移副本不重复计入。",
             f"报送时限:{ctx.year}年12月25日前报省农民工办(川人社规〔2023〕17号)。"]
    return Table("annex3", TITLE, ctx.who, ctx.today.isoformat(), f"{ctx.year}年度", cols, out, notes, ctx.full)
