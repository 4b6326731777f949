"""Broker coverage per village (渝人社办〔2021〕277号 三(二)1) and the villages short of brokers.

The reading (node/domain/village.py, restated in docs/filings.md): every village needs at least one
broker; "5000人以下" includes 5,000; one more for each *full* further 5,000 — needed =
max(1, population // 5000): 9,999 → 1, 10,000 → 2, 15,000 → 3. The population is the larger of the
registered and resident counts in the village's profile. A village with people on file but no
profile is listed with 无数据 and needs at least one. Brokers counted: filed (not cancelled) brokers
whose place is the village.
"""
from __future__ import annotations

from sqlalchemy import Connection, func, select, union

from hub.filings.common import T, Ctx, active, inside
from hub.filings.names import names
from hub.filings.table import NO_DATA, Col, Table
from node.domain.village import PER_BROKER, brokers_needed


def build(conn: Connection, ctx: Ctx, short_only: bool = False) -> Table:
    vp, b, p = T("village_profile"), T("broker"), T("person")
    places = union(select(vp.c.scope).where(inside(vp.c.scope, ctx.scope)),
                   select(p.c.scope).where(inside(p.c.scope, ctx.scope), active(p)).distinct(),
                   select(b.c.scope).where(inside(b.c.scope, ctx.scope), b.c.stage == "filed").distinct()).subquery()
    filed = (select(b.c.scope, func.count().label("n")).where(inside(b.c.scope, ctx.scope), b.c.stage == "filed")
             .group_by(b.c.scope).subquery())
    q = (select(places.c.scope, vp.c.name, vp.c.registered_population, vp.c.resident_population, filed.c.n)
         .select_from(places.outerjoin(vp, vp.c.scope == places.c.scope).outerjoin(filed, filed.c.scope == places.c.scope))
         .order_by(places.c.scope))
    rows = []
    raw = [dict(r._mapping) for r in conn.execute(q)]
    named = names(conn, {r["scope"] for r in raw})
    for r in raw:
        if r["scope"].endswith("000"):
            continue  # not a village
        reg, res = r["registered_population"], r["resident_population"]
        pop = max(int(reg or 0), int(res or 0)) if reg is not None or res is not None else None
        need = brokers_needed(pop) if pop is not None else 1
        have = int(r["n"] or 0)
        gap = max(0, need - have)
        if short_only and gap == 0:
            continue
        rows.append({"code": r["scope"], "village": r["name"] or named.get(r["scope"], ""),
                     "registered": reg if reg is not None else NO_DATA, "resident": res if res is not None else NO_DATA,
                     "need": need, "have": have, "gap": gap, "ok": "达标" if gap == 0 else "不足"})
    g = "人口"
    cols = [Col("code", "区划代码", width=14), Col("village", "村(社区)", width=14),
            Col("registered", "户籍人口", g, "int", 9), Col("resident", "常住人口", g, "int", 9),
            Col("need", "应配经纪人", kind="int", width=9, total=True), Col("have", "已备案经纪人", kind="int", width=10, total=True),
            Col("gap", "缺口", kind="int", width=6, total=True), Col("ok", "配备情况", width=8)]
    notes = [f"规则:每村至少1名;{PER_BROKER}人以下配1名,每增加{PER_BROKER}人增配1名,即应配=max(1, 人口÷{PER_BROKER}取整);"
             "人口取户籍人口与常住人口中较大者;无村情数据的村按至少1名计。"]
    title = "劳务经纪人配备不足的村(社区)名单" if short_only else "各村(社区)劳务经纪人配备情况表"
    return Table("coverage-short" if short_only else "coverage", title, ctx.who, ctx.today.isoformat(),
                 f"截至{ctx.today.isoformat()}", cols, rows, notes, ctx.full)
