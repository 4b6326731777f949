"""The labor-service domain (DESIGN §9): replicated tables, their merge policies and their rules.

Importing this package registers every table with `node.engine.schema`. One module per concept:

    person     一人一卡, owned by its village (placed random ids); card.py checks its form; transfer
               requests; identity.py and transfers.py write transfers and the county's resolutions
    broker     乡村劳务经纪人: the filing workflow, eligibility, the two-year review
    employer   用人单位 and 用工信息 (job postings, gig work)
    placement  组织转移就业 and 跟踪服务 follow-up visits
    training   培训需求 and 培训记录
    returns    返乡登记
    station    村级就业服务站 and its service log
    order      服务订单: 线上接单、线下服务
    village    村情: population, broker coverage
    rules      semantic conflicts for the county's queue (`RULES`)
    broker_training  brokers' training days (Chongqing: 4 a year)
    broker_login     brokers' login-days (Chongqing points ranking: login activity)
    monitoring 脱贫人口 monthly employment monitoring (Jilin)
    arrears    wage-arrears leads (Jilin 根治欠薪, Chongqing 维权信息搜集)

`holidays.py` says when holidays fall, `workflow.py` holds the shape of a stage workflow, `forms.py`
the field checks; `ops.py` (and `ops_watch.py` for monitoring, wage arrears, broker training) is the
local write API and `privacy.py` the masking of personal data (they import the store, so they are
not imported here).
"""
from node.domain import (  # noqa: F401
    arrears,
    broker,
    broker_login,
    broker_training,
    employer,
    monitoring,
    order,
    person,
    placement,
    returns,
    station,
    training,
    village,
)
