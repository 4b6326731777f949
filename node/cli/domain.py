"""The domain commands of `laowu-node`, added to its parser by `node.cli.main.parser()`.

    person     add, edit, show, list, import          node/cli/person.py
    broker     apply, advance, list                   node/cli/work.py
    job        post, list
    placement  add, advance, list
    followup   add
    return     add (返乡登记)
    monitor    add (脱贫人口 monthly monitoring)          node/cli/watch.py
    arrears    add, update (wage-arrears leads)
    broker-training  add (a broker's training days)
    conflicts  the semantic conflict queue (a person placed by two brokers, one broker filed twice, ...)

Every command writes through `node.domain.ops`, which checks what was typed: a refused value is
printed as "错误 error: field: message" and the command exits with 2, having written nothing.
"""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

import msgpack
from sqlalchemy import select

from node.cli import desk as cli_desk, person as cli_person, watch as cli_watch, work as cli_work
from node.engine import tables as t
from protocol import clock

if TYPE_CHECKING:
    from node.nodedir import Node


def cmd_conflicts(args: argparse.Namespace, node: Node) -> Any:
    q = select(t.conflicts).order_by(t.conflicts.c.detected)
    if not args.all:
        q = q.where(t.conflicts.c.resolved.is_(None))
    with node.store().engine.connect() as conn:
        found = conn.execute(q).all()
    if args.json:
        return [{"kind": r.kind, "table": r.tbl, "rows": [row.hex() for row in msgpack.unpackb(r.rows)],
                 "detail": r.detail, "detected": r.detected, "resolved": r.resolved, "resolution": r.resolution}
                for r in found]
    lines = []
    for i, r in enumerate(found, 1):
        done = f",已处理 resolved {clock.format_ms(r.resolved)}: {r.resolution}" if r.resolved else ""
        lines.append(f"{i}. {r.kind} ({r.tbl}) 发现于 detected {clock.format_ms(r.detected)}{done}\n   {r.detail}")
    return lines


def add_domain_commands(sub: Any, add: Any) -> None:
    cli_person.add_commands(sub, add)
    cli_work.add_commands(sub, add)
    cli_watch.add_commands(sub, add)
    cli_desk.add_commands(sub, add)
    sp = add("conflicts", cmd_conflicts, "待处理冲突 the semantic conflict queue")
    sp.add_argument("--all", action="store_true", help="resolved ones too")
