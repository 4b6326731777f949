"""The access log: every full view of personal data, every login, every save made on a screen.

Written to the engine's own `lw_audit` table, so the CLI's `person show --full` and the screens
log to one place and one audit page shows both. Times are stored as UTC milliseconds and shown
in local time (`messages.local_time`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, func, or_, select

from node.engine import tables as t

ACTIONS = {
    "view-full": "查看完整信息", "login": "登录", "login-failed": "登录失败", "logout": "退出",
    "save": "保存", "create": "新建", "import": "导入", "export": "导出", "sync": "同步",
    # the console's actions (hub.web)
    "approve": "批准登记", "refuse": "拒绝登记", "otp": "发放登记码", "revoke": "吊销密钥", "rekey": "更换密钥",
    "resolve": "处理冲突", "release": "放行", "decline": "拒绝放行", "download": "下载报表", "account": "账号",
}


@dataclass(frozen=True)
class Entry:
    at: int
    actor: str
    action: str
    table: str
    row: str | None
    detail: str

    @property
    def action_name(self) -> str:
        return ACTIONS.get(self.action, self.action)


def record(target: Engine | Connection, actor: str, action: str, table: str, row: str | None, detail: str,
           at: int | None = None) -> None:
    """One entry, in a transaction of its own (an engine) or in the caller's (a connection): a save on
    a screen writes its entry in the save's own unit (`Store.batch`), so the record and its audit line
    commit together with one fsync, and neither is kept without the other."""
    entry = {"at": at or int(time.time() * 1000), "actor": actor[:64], "action": action[:32], "tbl": table,
             "row": row, "detail": detail}
    if isinstance(target, Connection):
        target.execute(t.audit.insert(), entry)
        return
    with target.begin() as conn:
        conn.execute(t.audit.insert(), entry)


def full_view(engine: Engine, actor: str, table: str, row: str, fields: str, reason: str = "") -> None:
    """Log that `actor` saw `row` unmasked; the reason given, when the screen asks for one."""
    why = f";原因 reason: {reason}" if reason else ""
    record(engine, actor, "view-full", table, row, f"显示完整信息 / full view: {fields}{why}")


def entries(engine: Engine, *, actor: str | None = None, row: str | None = None, action: str | None = None,
            text: str | None = None, limit: int = 50, offset: int = 0) -> tuple[list[Entry], int]:
    """A page of the log, newest first, and how many entries match in all."""
    a = t.audit.c
    where = []
    if actor:
        where.append(a.actor == actor)
    if row:
        where.append(a.row == row)
    if action:
        where.append(a.action == action)
    if text:
        where.append(or_(a.detail.contains(text), a.actor.contains(text)))
    with engine.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(t.audit).where(*where)).scalar_one())
        rows = conn.execute(select(t.audit).where(*where).order_by(a.n.desc()).limit(limit).offset(offset))
        return [Entry(r.at, r.actor, r.action, r.tbl, r.row, r.detail) for r in rows], total


def logins(engine: Engine, since_ms: int = 0) -> dict[str, int]:
    """Logins per broker row id since `since_ms`: what the points ranking counts."""
    a = t.audit.c
    q = (select(a.row, func.count()).where(a.action == "login", a.tbl == "broker", a.at >= since_ms)
         .group_by(a.row))
    with engine.connect() as conn:
        return {r[0]: int(r[1]) for r in conn.execute(q) if r[0]}
