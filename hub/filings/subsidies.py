"""Subsidy lists: who is owed what, each line with the evidence that qualifies it, and the total.

| list | rule (seed) | paid to | line per |
|---|---|---|---|
| sichuan300 | 川人社规〔2023〕17号 五(一): a broker places a 脱贫人口 with a labor contract of 12 months or more and social insurance: 300 | broker | person placed, started in the year |
| transport | 湘西 art. 20: a registered poor worker (脱贫人口 or 监测对象) transferred with a contract (labor contract or a contract length) and a fare receipt: the fare, at most 400 out of province, 200 in province outside the prefecture, 100 in the prefecture outside the county; nothing inside the county | worker | person, started in the year |
| brokerfee | 湘西 art. 23: a broker introduced a poor worker who stayed employed a year (stage 稳定就业1年) with a year of follow-up (a visit on or after the first anniversary of the start): 300 | broker | person, stable year confirmed in the year |
| employer | 湘西 art. 24: an employer in the prefecture (work 县内 or 市内县外) took on a local poor worker with a labor contract and social insurance, employed a year: 1,000 once | employer | person, stable year confirmed in the year |
| training | 湘西 art. 17: pre-employment skills training (就业技能培训) of a poor worker: 10 yuan a day attended | worker | course, started in the year |

No person is paid twice for the same thing: candidate lines are ranked per ID number (per ID number and
course for training) in the database, the earliest kept; a person qualifying through several
placements — above all two brokers' overlapping placements of one person — gives one line flagged
with how many others were set aside, for the county to check before paying. Transfer copies never
qualify (their originals do); revoked placements never qualify.

Across years (the seeds' "once"): the broker fee (300 per person introduced and kept a year) and the
employer's 一次性岗位补贴 (1,000 per person) are paid once per person, ever — a person who already met
the conditions in an earlier year (a stable year confirmed before this one, with the list's other
conditions) is not listed again, whatever new placement qualifies now. Sichuan's 300 (per person
organized into work with a contract of a year or more), the transport fare (一次性 per trip out) and the
training allowance (per course) pay for each new placement or course, so they are once per person
per year (per course for training).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Integer, String, and_, case, cast, func, literal, or_, select

from hub.filings.common import T, Ctx, in_year, inside, original
from hub.filings.names import names
from hub.filings.table import Col, Table
from node.domain.placement import (
    BROKER_FEE_YUAN,
    COUNTED,
    EMPLOYER_YUAN,
    IN_PREFECTURE,
    POOR,
    SUBSIDY_YUAN,
    TRANSPORT_CAP,
)
from node.domain.training import LIVING_ALLOWANCE_YUAN

TITLES = {
    "sichuan300": "乡村劳务经纪人就业创业服务补助名单(300元/人)",
    "transport": "建档立卡贫困劳动力转移就业交通路费补助名单",
    "brokerfee": "劳务经纪人中介和跟踪服务补贴名单(300元/人)",
    "employer": "企业吸纳贫困劳动力一次性岗位补贴名单(1000元/人)",
    "training": "贫困劳动力就业技能培训生活补贴名单(10元/天)",
}


def _contract(pl: Any) -> Any:
    c = pl.c
    return or_(c.labor_contract.is_(True), c.contract_months > 0)


ONCE_EVER = ("brokerfee", "employer")  # paid once per person, ever: a later year never lists them again


def _placement_lines(ctx: Ctx, kind: str, earlier: bool = False) -> Any:
    """The candidate lines of the year; `earlier`: those of every year before it (whose persons a
    once-ever list leaves out)."""
    pl, p, b, fu = T("placement"), T("person"), T("broker"), T("follow_up")

    def when(col: Any) -> Any:
        return col < ctx.first if earlier else in_year(col, ctx)

    amount: Any
    cols: list[Any]
    started = func.coalesce(pl.c.started_on, pl.c.start_date)
    cols = [p.c.name, p.c.id_number, p.c.phone, p.c.poverty_status, pl.c.scope, pl.c.id.label("placement"),
            pl.c.employer_name, pl.c.region_class, started.label("started"), pl.c.contract_months,
            pl.c.social_insurance, b.c.name.label("broker_name"), pl.c.stable_on, pl.c.fare_yuan, pl.c.fare_receipt]
    src = pl.join(p, p.c.id == pl.c.person).outerjoin(b, b.c.id == pl.c.broker)
    where = [original(pl), inside(pl.c.scope, ctx.scope)]
    if kind == "sichuan300":
        amount = literal(SUBSIDY_YUAN)
        where += [pl.c.broker.is_not(None), pl.c.stage.in_(sorted(COUNTED)), p.c.poverty_status == "脱贫人口",
                  pl.c.contract_months >= 12, pl.c.social_insurance.is_(True), in_year(started, ctx)]
        payee = b.c.name
    elif kind == "transport":
        cap = case(*((pl.c.region_class == k, v) for k, v in TRANSPORT_CAP.items()), else_=0)
        amount = case((pl.c.fare_yuan < cap, pl.c.fare_yuan), else_=cap)
        where += [pl.c.stage.in_(sorted(COUNTED)), p.c.poverty_status.in_(POOR), _contract(pl),
                  pl.c.fare_receipt.is_not(None), pl.c.fare_receipt != "", pl.c.fare_yuan > 0,
                  pl.c.region_class.in_(sorted(TRANSPORT_CAP)), in_year(started, ctx)]
        payee = p.c.name
    elif kind == "brokerfee":
        visits = (select(fu.c.placement, func.count().label("visits"), func.max(fu.c.visited_on).label("last_visit"))
                  .where(original(fu)).group_by(fu.c.placement).subquery())
        anniversary = cast(cast(func.substr(started, 1, 4), Integer) + 1, String) + func.substr(started, 5, 6)
        src = src.join(visits, visits.c.placement == pl.c.id)
        cols += [visits.c.visits, visits.c.last_visit]
        amount = literal(BROKER_FEE_YUAN)
        where += [pl.c.broker.is_not(None), pl.c.stage == "stable_1y", p.c.poverty_status.in_(POOR),
                  visits.c.last_visit >= anniversary, when(pl.c.stable_on)]
        payee = b.c.name
    elif kind == "employer":
        amount = literal(EMPLOYER_YUAN)
        where += [pl.c.stage == "stable_1y", p.c.poverty_status.in_(POOR), pl.c.region_class.in_(IN_PREFECTURE),
                  pl.c.social_insurance.is_(True), _contract(pl), when(pl.c.stable_on)]
        payee = pl.c.employer_name
    else:
        raise ValueError(kind)
    if kind in ONCE_EVER and not earlier:
        before = _placement_lines(ctx, kind, earlier=True)
        where.append(p.c.id_number.not_in(select(before.c.id_number).where(before.c.id_number.is_not(None))))
    rank = func.row_number().over(partition_by=p.c.id_number, order_by=(started, pl.c.id))
    many = func.count().over(partition_by=p.c.id_number)
    brokers = func.count(pl.c.broker).over(partition_by=p.c.id_number)
    return (select(*cols, amount.label("amount"), payee.label("payee"), rank.label("rk"), many.label("k"),
                   brokers.label("kb"))
            .select_from(src).where(and_(*where)).subquery())


def _training_lines(ctx: Ctx) -> Any:
    tr, p = T("training_record"), T("person")
    part = (p.c.id_number, tr.c.course, tr.c.start_date)
    return (select(p.c.name, p.c.id_number, p.c.phone, p.c.poverty_status, tr.c.scope, tr.c.course, tr.c.provider,
                   tr.c.start_date, tr.c.days, (tr.c.days * LIVING_ALLOWANCE_YUAN).label("amount"),
                   p.c.name.label("payee"),
                   func.row_number().over(partition_by=part, order_by=tr.c.id).label("rk"),
                   func.count().over(partition_by=part).label("k"), literal(0).label("kb"))
            .select_from(tr.join(p, p.c.id == tr.c.person))
            .where(original(tr), inside(tr.c.scope, ctx.scope), tr.c.subsidy_class == "就业技能培训",
                   p.c.poverty_status.in_(POOR), tr.c.days > 0, in_year(tr.c.start_date, ctx)).subquery())


def lines(conn: Connection, ctx: Ctx, kind: str) -> list[dict[str, object]]:
    sub = _training_lines(ctx) if kind == "training" else _placement_lines(ctx, kind)
    c = sub.c
    order = (c.scope, c.start_date) if kind == "training" else (c.scope, c.started)
    rows = [dict(r._mapping) for r in conn.execute(select(sub).where(c.rk == 1).order_by(*order, c.id_number))]
    for r in rows:
        k = int(r["k"])
        r["flag"] = ""
        if k > 1:
            r["flag"] = (f"同一人另有{k - 1}条符合条件的记录未重复计发" + ("(两名以上经纪人的重叠安置,请核实)"
                                                          if int(r["kb"]) > 1 else ""))
    return rows


def build(conn: Connection, ctx: Ctx, kind: str) -> Table:
    rows = lines(conn, ctx, kind)
    named = names(conn, {str(r["scope"]) for r in rows})
    for r in rows:
        r["village"] = named.get(str(r["scope"]), r["scope"])
    who = [Col("village", "所在村(社区)", width=14), Col("name", "姓名", width=8),
           Col("id_number", "身份证号码", kind="id", width=20), Col("poverty_status", "人员类别", width=12)]
    g = "资格依据"
    if kind == "training":
        ev = [Col("course", "培训项目", g, width=14), Col("provider", "培训机构", g, width=16),
              Col("start_date", "开班日期", g, "date", 11), Col("days", "到课天数", g, "int", 8, True)]
    else:
        ev = [Col("employer_name", "就业单位", g, width=22), Col("region_class", "就业地区", g, width=9),
              Col("started", "到岗日期", g, "date", 11), Col("contract_months", "合同(月)", g, "int", 7),
              Col("social_insurance", "社保", g, width=5)]
        if kind in ("sichuan300", "brokerfee"):
            ev.insert(0, Col("broker_name", "经纪人", g, width=8))
        if kind == "transport":
            ev += [Col("fare_receipt", "票据号", g, width=12), Col("fare_yuan", "票面金额", g, "money", 9, True)]
        if kind in ("brokerfee", "employer"):
            ev += [Col("stable_on", "稳定就业1年确认", g, "date", 12)]
        if kind == "brokerfee":
            ev += [Col("visits", "跟踪次数", g, "int", 7), Col("last_visit", "最近跟踪", g, "date", 11)]
    cols = [*who, *ev, Col("amount", "补贴金额(元)", kind="money", width=10, total=True),
            Col("payee", "领取对象", width=16), Col("flag", "备注", width=30)]
    notes = [_RULES[kind], "同一人同一事项只计发一次;迁移副本、作废记录不计。"]
    return Table(f"subsidy-{kind}", TITLES[kind], ctx.who, ctx.today.isoformat(), f"{ctx.year}年度", cols, rows,
                 notes, ctx.full)


_RULES = {
    "sichuan300": "依据:川人社规〔2023〕17号 五(一),组织脱贫人口就业、签订1年以上劳动合同并参加社会保险,300元/人。",
    "transport": "依据:湘西州劳务协作服务管理办法第二十条,凭劳动合同和交通费票据据实补助,省外≤400元、省内≤200元、州内县外≤100元。",
    "brokerfee": "依据:同办法第二十三条,介绍贫困劳动力就业并稳定就业1年以上、提供1年跟踪服务(周年日或之后有跟踪记录),300元/人。",
    "employer": "依据:同办法第二十四条,州内企业吸纳本州贫困劳动力、缴纳社保、签劳动合同、用工1年以上,1000元/人一次性。",
    "training": "依据:同办法第十七条,参加就业前技能培训,按实际到课天数每人每天10元生活补贴。",
}
