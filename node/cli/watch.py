"""`laowu-node monitor|arrears|broker-training ...`: schema 2's records from the command line.

    monitor add --id-number P --month 2026-05 --status 已就业|未就业|就业不稳定 --by 李四 --method 电话|上门
    arrears add --claimant 王五 --employer 某建筑公司 --amount 12000 --months 3 [--id-number P] [--broker-id-number B]
    arrears update --row ROW --status 处理中|已移交|已解决 [--handled-by 张三]
    broker-training add --id-number BROKER --course 政策培训 --days 2 [--date 2026-04-01] [--kind 集中培育]

Every check is the domain's (`node.domain.ops_watch`): monthly monitoring is for 脱贫人口 and 监测对象
only, one row per person and month; training days belong to a broker's filing.
"""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from node.cli.view import find_person, given, mask
from node.cli.work import _group, find_broker
from node.domain import arrears as arr
from node.domain import broker_training as btr
from node.domain import monitoring as mon
from node.domain import ops_watch

if TYPE_CHECKING:
    from node.nodedir import Node


def cmd_monitor_add(args: argparse.Namespace, node: Node) -> dict[str, Any]:
    store = node.store()
    p = find_person(store, args.id_number)
    row = ops_watch.record_check(store, given(person=p["id"], month=args.month, status=args.status,
                                              checked_by=args.by, method=args.method, checked_on=args.date,
                                              note=args.note))
    return {"已监测 checked": f"{p['name']} {mask(p['id_number'])} {args.month}: {args.status}", "编号 row": row.hex()}


def cmd_arrears_add(args: argparse.Namespace, node: Node) -> dict[str, Any]:
    store = node.store()
    person = find_person(store, args.id_number)["id"] if args.id_number else None
    broker = find_broker(store, args.broker_id_number, None)["id"] if args.broker_id_number else None
    row = ops_watch.add_arrears_lead(store, given(person=person, claimant=args.claimant, employer_name=args.employer,
                                                  amount_yuan=args.amount, months=args.months, broker=broker,
                                                  reported_on=args.date, note=args.note))
    return {"已登记欠薪线索 lead": f"{args.claimant} ← {args.employer} {args.amount}元", "编号 row": row.hex()}


def cmd_arrears_update(args: argparse.Namespace, node: Node) -> dict[str, Any]:
    store = node.store()
    ops_watch.update_arrears_lead(store, bytes.fromhex(args.row), given(status=args.status, handled_by=args.handled_by,
                                                                       note=args.note))
    return {"已更新 updated": args.row, "状态 status": args.status}


def cmd_training_add(args: argparse.Namespace, node: Node) -> dict[str, Any]:
    store = node.store()
    b = find_broker(store, args.id_number, args.row)
    row = ops_watch.add_broker_training(store, given(broker=b["id"], course=args.course, kind=args.kind,
                                                     provider=args.provider, start_date=args.date, days=args.days))
    return {"已登记培训 trained": f"{b['name']} {args.course} {args.days}天", "编号 row": row.hex()}


def add_commands(sub: Any, add: Any) -> None:
    msub = _group(sub, "monitor", "脱贫人口就业监测 monthly employment monitoring")
    sp = add("add", cmd_monitor_add, "登记本月监测 record a month's status", msub)
    sp.add_argument("--id-number", required=True)
    sp.add_argument("--month", required=True, help="YYYY-MM")
    sp.add_argument("--status", required=True, help=" ".join(mon.STATUS))
    sp.add_argument("--by", required=True, help="who checked")
    sp.add_argument("--method", required=True, help=" ".join(mon.METHODS))
    sp.add_argument("--date", help="the day of the check, YYYY-MM-DD (default today)")
    sp.add_argument("--note")
    asub = _group(sub, "arrears", "欠薪线索 wage-arrears leads: add, update")
    sp = add("add", cmd_arrears_add, "登记欠薪线索 record a lead", asub)
    sp.add_argument("--claimant", required=True, help="the worker owed")
    sp.add_argument("--employer", required=True, help="the employer's name")
    sp.add_argument("--amount", required=True, help="yuan owed")
    sp.add_argument("--months", required=True, help="months of pay owed")
    sp.add_argument("--id-number", help="the worker's card, when on file here")
    sp.add_argument("--broker-id-number", help="the broker who collected it")
    sp.add_argument("--date", help="reported on, YYYY-MM-DD (default today)")
    sp.add_argument("--note")
    sp = add("update", cmd_arrears_update, "更新处理状态 move a lead along", asub)
    sp.add_argument("--row", required=True)
    sp.add_argument("--status", required=True, help=" ".join(arr.STATUS))
    sp.add_argument("--handled-by")
    sp.add_argument("--note")
    tsub = _group(sub, "broker-training", "经纪人培训 a broker's training days")
    sp = add("add", cmd_training_add, "登记培训 record training", tsub)
    sp.add_argument("--id-number", help="the broker's ID number")
    sp.add_argument("--row", help="the broker's row id, when one person has several applications")
    sp.add_argument("--course", required=True)
    sp.add_argument("--days", required=True)
    sp.add_argument("--date", required=True, help="start, YYYY-MM-DD")
    sp.add_argument("--kind", help=" ".join(btr.KINDS))
    sp.add_argument("--provider")
