"""附件2 四川省乡村劳务经纪人组织转移就业人员信息表 (川人社规〔2023〕17号 四(三)): per broker, the
people the broker placed — the evidence behind the two-year review's yearly counts.

One line per successful transfer (the placement started, ended or was confirmed stable) whose
person started work in the year, for every broker of the scope, or one broker with `--broker ROW`.
Transfer copies are ignored; a revoked placement counts for nothing and is not listed.
"""
from __future__ import annotations

from sqlalchemy import Connection, func, select

from hub.filings.annex3 import standing
from hub.filings.common import T, Ctx, in_year, original
from hub.filings.table import Col, Table
from node.domain.placement import COUNTED, STAGES

TITLE = "四川省乡村劳务经纪人组织转移就业人员信息表"


def build(conn: Connection, ctx: Ctx) -> Table:
    pl, p, b = T("placement"), T("person"), T("broker")
    started = func.coalesce(pl.c.started_on, pl.c.start_date)
    q = (select(b.c.name.label("broker_name"), b.c.id.label("broker_id"), p.c.name, p.c.sex, p.c.id_number,
                p.c.phone, p.c.poverty_status, pl.c.employer_name, pl.c.position, pl.c.region_class,
                started.label("started"), pl.c.contract_months, pl.c.social_insurance, pl.c.monthly_pay,
                pl.c.stage)
         .select_from(pl.join(b, b.c.id == pl.c.broker).outerjoin(p, p.c.id == pl.c.person))
         .where(standing(ctx), pl.c.stage.in_(sorted(COUNTED)), original(pl), in_year(started, ctx))
         .order_by(b.c.scope, b.c.id, started, pl.c.id))
    if ctx.options.get("broker"):
        q = q.where(b.c.id == ctx.options["broker"])
    rows = []
    for r in conn.execute(q):
        d = dict(r._mapping)
        d["stage"] = STAGES.labels.get(d["stage"], d["stage"])
        d["n"] = 1
        rows.append(d)
    g = "转移就业情况"
    cols = [Col("broker_name", "经纪人", width=8), Col("name", "姓名", "务工人员", width=8),
            Col("sex", "性别", "务工人员", width=5), Col("id_number", "身份证号码", "务工人员", "id", 20),
            Col("phone", "联系电话", "务工人员", "phone", 13), Col("poverty_status", "人员类别", "务工人员", width=12),
            Col("employer_name", "就业单位", g, width=24), Col("position", "岗位", g, width=10),
            Col("region_class", "就业地区", g, width=9), Col("started", "到岗日期", g, "date", 11),
            Col("contract_months", "合同期限(月)", g, "int", 8), Col("social_insurance", "参加社保", g, width=7),
            Col("monthly_pay", "月工资(元)", g, "money", 9), Col("stage", "状态", g, width=10),
            Col("n", "人次", g, "int", 5, True)]
    notes = ["口径:到岗日期在本年度、已到岗(含离职、稳定就业1年)的组织转移就业;作废记录和迁移副本不列。"]
    return Table("annex2", TITLE, ctx.who, ctx.today.isoformat(), f"{ctx.year}年度", cols, rows, notes, ctx.full)
