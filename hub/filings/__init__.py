"""Consolidated filings (issue 10): the official tables and subsidy lists, computed from a hub's
merged replica for any scope it holds (a county its subtree, the province everything).

Each filing is a query + a `Table` (`table.py`); the formats are `xlsx.py`, `csvout.py` and `pdf.py`;
`access.py` runs one for the CLI (`laowu-hub filing`) and the hub's download route, masks personal
data unless a full export is asked for, and logs full exports. `common.py` carries the shared
counting decisions. The rule readings are in docs/filings.md.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import partial

from sqlalchemy import Connection

from hub.filings import annex2, annex3, coverage, jilin, points, register, review, stations, subsidies
from hub.filings.common import Ctx
from hub.filings.table import Table

Builder = Callable[[Connection, Ctx], Table]

FILINGS: dict[str, tuple[str, Builder]] = {
    "annex3": ("附件3 乡村劳务经纪人备案信息表 (yearly, per prefecture, due Dec 25)", annex3.build),
    "annex2": ("附件2 乡村劳务经纪人组织转移就业人员信息表 (per broker; --broker ROW for one)", annex2.build),
    "review": ("两年复核评估名单: cancel / keep / not due, with reasons and yearly counts", review.build),
    "cancellations": ("取消备案名单: review failures and false information or subsidy fraud", review.build_cancellations),
    **{f"subsidy-{k}": (f"补贴名单 {subsidies.TITLES[k]}", partial(subsidies.build, kind=k))
       for k in subsidies.TITLES},
    "broker-training": ("经纪人培训天数不足名单 (Chongqing: 4 days a year)", points.build_training),
    "coverage": ("各村劳务经纪人配备情况 (1 per village, 1 per 5,000 residents)", coverage.build),
    "coverage-short": ("经纪人配备不足的村", partial(coverage.build, short_only=True)),
    "points": ("劳务经纪人积分排名 (Chongqing: login, updates, orders, job match)", points.build),
    "gold": ("金牌劳务经纪人候选名单 (Sichuan: 100 a year, from the points ranking)", points.build_gold),
    "employed": ("就业人员清单 (Jilin)", partial(jilin.build_list, which="employed")),
    "unemployed": ("失业人员清单 (Jilin)", partial(jilin.build_list, which="unemployed")),
    "willing": ("有意愿外出人员清单 (Jilin)", partial(jilin.build_list, which="willing")),
    "monitoring": ("脱贫人口就业监测月报 (Jilin, --month MM)", jilin.build_monitoring),
    "arrears": ("欠薪线索未办结清单 (open wage-arrears leads)", jilin.build_arrears),
    "returns": ("返乡登记名单 (by period; --month MM, --holiday 春节)", jilin.build_returns),
    "station-effect": ("服务站服务成效表 (Guizhou, due Sept 20 and Dec 20; --month 9 or 12)", stations.build_effect),
    "station-directory": ("服务站名录 (ranked by condition)", stations.build_directory),
    "register": ("一村一册 (a village's register; .pdf or .xlsx)", register.build_register),
    "card": ("一人一卡 (one person's card, --person ROW or ID number; .pdf)", register.build_card),
}
