"""The two-year review (川人社规〔2023〕17号 四(三)) and the cancellation list.

Every two years the county reviews its filed brokers: fewer than 10 successful transfers a year in
two consecutive years cancels the filing; false job information or subsidy fraud cancels it too.
Reviewed at the end of year Y, over Y-1 and Y. The yearly counts are computed from the placements
the replica holds (the same count as 附件3), never typed in.

A year with no data: when the replica holds no placement at all, of any broker, started in that
year in the broker's county, the year is shown as 无数据 — the county's records for it were never
entered, which is not the same as a broker who placed nobody. A year without data cannot count
against a broker, so the verdict is 保留备案 with the reason written out; the county decides by hand.
Verdicts otherwise are `node.domain.broker.review_verdict` (not due while the broker has not been
filed two whole calendar years).

The cancellation list: brokers whose filing the review cancels (verdict 取消备案, still to be
executed) and brokers cancelled during Y, with the reason recorded: 复核未达标 when it is the
review's own reason, else false information or subsidy fraud as entered.
"""
from __future__ import annotations

from datetime import date

from typing import Any

from sqlalchemy import Connection, func, select

from hub.filings.annex3 import standing
from hub.filings.common import T, Ctx, original
from hub.filings.names import names
from hub.filings.table import NO_DATA, Col, Table
from node.domain.broker import CANCEL, KEEP, MIN_TRANSFERS, NOT_DUE, REVIEW_REASON, review_verdict
from node.domain.placement import COUNTED

TITLE = "乡村劳务经纪人两年复核评估名单"
CANCELLED = "已取消备案"


def _counts(conn: Connection, ctx: Ctx) -> tuple[dict[tuple[str, int], int], set[tuple[str, int]]]:
    """(broker, year) → successful transfers; and which (county, year) hold any placement at all."""
    pl = T("placement")
    started = func.coalesce(pl.c.started_on, pl.c.start_date)
    yr = func.substr(started, 1, 4)
    lo, hi = f"{ctx.year - 1}-01-01", ctx.last
    q = (select(pl.c.broker, yr.label("y"), func.count().label("n"))
         .where(pl.c.broker.is_not(None), pl.c.stage.in_(sorted(COUNTED)), original(pl), started >= lo, started <= hi)
         .group_by(pl.c.broker, yr))
    counts = {(r.broker, int(r.y)): int(r.n) for r in conn.execute(q)}
    county = func.substr(pl.c.scope, 1, 6)
    seen = {(r.c, int(r.y)) for r in conn.execute(
        select(county.label("c"), yr.label("y")).where(started >= lo, started <= hi).group_by(county, yr))}
    return counts, seen


def reviewed(conn: Connection, ctx: Ctx) -> list[dict[str, object]]:
    b = T("broker")
    counts, seen = _counts(conn, ctx)
    rows = [dict(r._mapping) for r in conn.execute(select(b).where(standing(ctx)).order_by(b.c.scope, b.c.id))]
    named = names(conn, {r["scope"] for r in rows})
    out: list[dict[str, object]] = []
    for r in rows:
        years = {}
        for y in (ctx.year - 1, ctx.year):
            years[y] = counts.get((r["id"], y), 0) if (r["scope"][:6], y) in seen else None
        filed = date.fromisoformat(r["filed_on"])
        if r["stage"] == "revoked":
            verdict, reason = CANCELLED, f"{r['revoked_on']} {r['revoked_reason'] or ''}".strip()
        else:
            verdict = review_verdict({y: n for y, n in years.items() if n is not None}, ctx.year, filed)
            missing = [str(y) for y, n in years.items() if n is None]
            if verdict == NOT_DUE:
                reason = f"{r['filed_on']}备案,未满两个完整年度 / filed {r['filed_on']}: not two whole years yet"
            elif missing:
                verdict = KEEP
                reason = f"{'、'.join(missing)}年无数据,不能判定为低于{MIN_TRANSFERS}人次的年份,请人工核实"
            elif verdict == CANCEL:
                reason = REVIEW_REASON
            else:
                good = [str(y) for y, n in years.items() if (n or 0) >= MIN_TRANSFERS]
                reason = f"{'、'.join(good)}年达到{MIN_TRANSFERS}人次"
        out.append({"village": named.get(r["scope"], r["scope"]), "broker": r["id"], "name": r["name"],
                    "id_number": r["id_number"], "filed_on": r["filed_on"],
                    "y1": NO_DATA if years[ctx.year - 1] is None else years[ctx.year - 1],
                    "y2": NO_DATA if years[ctx.year] is None else years[ctx.year],
                    "verdict": verdict, "reason": reason, "revoked_reason": r["revoked_reason"]})
    return out


def _cols(ctx: Ctx) -> list[Col]:
    g = "组织转移就业成功人次"
    return [Col("village", "所在村(社区)", width=14), Col("name", "姓名", width=8),
            Col("id_number", "身份证号码", kind="id", width=20), Col("filed_on", "备案日期", kind="date", width=11),
            Col("y1", f"{ctx.year - 1}年", g, "int", 9), Col("y2", f"{ctx.year}年", g, "int", 9),
            Col("verdict", "复核结论", width=11), Col("reason", "原因", width=50)]


def build(conn: Connection, ctx: Ctx) -> Table:
    rows = reviewed(conn, ctx)
    notes = [f"规则:连续两年组织转移就业成功人数低于{MIN_TRANSFERS}人次/年的取消备案(川人社规〔2023〕17号)。",
             "“无数据”:本县该年没有任何转移就业记录,不等于0人次,不作为低于标准的年份。",
             f"结论统计:{CANCEL}{sum(r['verdict'] == CANCEL for r in rows)}人,{KEEP}{sum(r['verdict'] == KEEP for r in rows)}人,"
             f"{NOT_DUE}{sum(r['verdict'] == NOT_DUE for r in rows)}人,{CANCELLED}{sum(r['verdict'] == CANCELLED for r in rows)}人。"]
    return Table("review", TITLE, ctx.who, ctx.today.isoformat(), f"{ctx.year - 1}—{ctx.year}年度", _cols(ctx), rows,
                 notes, ctx.full)


def build_cancellations(conn: Connection, ctx: Ctx) -> Table:
    rows = []
    for r in reviewed(conn, ctx):
        if r["verdict"] == CANCEL:
            rows.append({**r, "kind": "复核未达标(待执行)"})
        elif r["verdict"] == CANCELLED:
            why = str(r["revoked_reason"] or "")
            rows.append({**r, "kind": "复核未达标" if why == REVIEW_REASON else "虚假信息或骗取补贴等"})
    cols = [*_cols(ctx)[:6], Col("kind", "取消类别", width=18), Col("reason", "取消日期及原因", width=50)]
    notes = ["取消情形:连续两年低于10人次/年;提供虚假用工信息或材料、骗取套取补贴资金(川人社规〔2023〕17号)。"]
    return Table("cancellations", "乡村劳务经纪人取消备案名单", ctx.who, ctx.today.isoformat(), f"{ctx.year}年度",
                 cols, rows, notes, ctx.full)
