"""Guizhou's village employment service stations (seeds/004): the service-effectiveness table per
station and period, due at the province by 20 September and 20 December, and the station directory
ranked by condition.

Periods (our reading; the seed names due dates, not periods): the September table covers 1 January
to 31 August, the December table 1 September to 30 November — the whole months before each due
date, so the two tables never count a service twice. `--month 9` or `--month 12` picks the table;
without it, the latest table whose period has ended.

The directory: "条件好、建设好的站点排序靠前" — ordered by grade (一类 first), then an electronic job
screen before a notice board, then floor area, then staff count, then code. Stations below the
20 m² floor are flagged.
"""
from __future__ import annotations

from sqlalchemy import Connection, case, func, select

from hub.filings.common import T, Ctx, inside, original
from hub.filings.table import Col, Table
from node.domain.station import GRADES, MIN_AREA_M2, SERVICES


def period(ctx: Ctx) -> tuple[str, str, str]:
    m = ctx.month or (12 if (ctx.today.year > ctx.year or ctx.today.month == 12) else 9)
    if m not in (9, 12):
        raise ValueError("服务成效表只有9月和12月两期 / the table is due in September (--month 9) or December (--month 12)")
    if m == 9:
        return f"{ctx.year}-01-01", f"{ctx.year}-08-31", f"{ctx.year}年1月1日至8月31日(9月20日前报送)"
    return f"{ctx.year}-09-01", f"{ctx.year}-11-30", f"{ctx.year}年9月1日至11月30日(12月20日前报送)"


def build_effect(conn: Connection, ctx: Ctx) -> Table:
    st, lg = T("service_station"), T("service_log")
    lo, hi, text = period(ctx)
    cells = []
    for i, s in enumerate(SERVICES):
        cells += [func.sum(case((lg.c.service == s, 1), else_=0)).label(f"s{i}"),
                  func.sum(case(((lg.c.service == s) & (lg.c.result == "已办结"), 1), else_=0)).label(f"d{i}")]
    agg = (select(lg.c.station, func.count().label("all"), *cells)
           .where(lg.c.served_on >= lo, lg.c.served_on <= hi, original(lg)).group_by(lg.c.station).subquery())
    q = (select(st.c.scope, st.c.name, agg).select_from(st.outerjoin(agg, agg.c.station == st.c.id))
         .where(inside(st.c.scope, ctx.scope)).order_by(st.c.scope))
    rows = []
    for r in conn.execute(q):
        d = dict(r._mapping)
        row = {"code": d["scope"], "name": d["name"], "all": int(d["all"] or 0)}
        for i in range(len(SERVICES)):
            row[f"s{i}"], row[f"d{i}"] = int(d[f"s{i}"] or 0), int(d[f"d{i}"] or 0)
        row["done"] = sum(row[f"d{i}"] for i in range(len(SERVICES)))
        rows.append(row)
    cols = [Col("code", "区划代码", width=14), Col("name", "服务站", width=20)]
    for i, s in enumerate(SERVICES):
        cols += [Col(f"s{i}", f"{s}·人次", s, "int", 7, True), Col(f"d{i}", f"{s}·办结", s, "int", 7, True)]
    cols = [*cols[:2], *[Col(c.key, c.label.split("·")[1], c.group, c.kind, c.width, c.total) for c in cols[2:]],
            Col("all", "服务总人次", kind="int", width=9, total=True), Col("done", "办结总数", kind="int", width=9, total=True)]
    notes = ["依据:贵州省村(居、社区)级就业公共服务平台建设试点通知,各市(州)于9月20日前、12月20日前报送服务成效表。"]
    return Table("station-effect", "村级就业公共服务站服务成效表", ctx.who, ctx.today.isoformat(), text, cols, rows,
                 notes, ctx.full)


def build_directory(conn: Connection, ctx: Ctx) -> Table:
    st = T("service_station")
    grade = case(*((st.c.grade == g, i) for i, g in enumerate(GRADES)), else_=len(GRADES))
    screen = case((st.c.has_screen.is_(True), 0), else_=1)
    q = (select(st).where(inside(st.c.scope, ctx.scope))
         .order_by(grade, screen, func.coalesce(st.c.area_m2, 0).desc(), st.c.scope))
    rows = []
    for r in conn.execute(q):
        d = dict(r._mapping)
        staff = d["staff"] if isinstance(d["staff"], list) else []
        rows.append({"code": d["scope"], "name": d["name"], "grade": d["grade"] or "未评定", "area": d["area_m2"],
                     "screen": "电子屏" if d["has_screen"] else "信息栏", "staff": len(staff),
                     "opened_on": d["opened_on"], "phone": d["phone"],
                     "flag": f"面积不足{MIN_AREA_M2}㎡" if (d["area_m2"] or 0) < MIN_AREA_M2 else "", "n": 1})
    cols = [Col("code", "区划代码", width=14), Col("name", "服务站名称", width=22), Col("grade", "条件等级", width=8),
            Col("area", "面积(㎡)", kind="int", width=8), Col("screen", "岗位信息发布", width=10),
            Col("staff", "工作人员数", kind="int", width=8), Col("opened_on", "设立日期", kind="date", width=11),
            Col("phone", "联系电话", kind="phone", width=13), Col("flag", "备注", width=12),
            Col("n", "站点数", kind="int", width=6, total=True)]
    notes = ["名录顺序按服务站基础条件、建设情况排列:条件等级、电子屏、面积、人员。"]
    return Table("station-directory", "村级就业公共服务站名录", ctx.who, ctx.today.isoformat(),
                 f"截至{ctx.today.isoformat()}", cols, rows, notes, ctx.full)
