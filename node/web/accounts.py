"""Operator accounts on one machine: who may use the desk or the console, and in what role.

Passwords are hashed with scrypt (memory-hard: 16 MiB per try), from the standard library, so a
copied laptop database does not give its passwords away cheaply. Every login is written to the
engine's audit table (`lw_audit`, action "login") with the account and, for a broker's own
account, the broker's row id: the points ranking counts a broker's logins from there.

Roles: `viewer` reads, `operator` also writes, `administrator` also manages accounts. `scope` is
the place code whose records the account may see (a village, a township, a county, the province).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import time
from dataclasses import dataclass

from sqlalchemy import Engine, func, select, update

from node.web import audit, tables
from protocol.errors import InvalidValue

ROLES = ("viewer", "operator", "administrator")
ROLE_NAMES = {"viewer": "查看", "operator": "经办", "administrator": "管理员"}
MIN_PASSWORD = 8
_N, _R, _P = 2**14, 8, 1
_NAME = re.compile(r"^[A-Za-z0-9_.\-\u4e00-\u9fff]{2,32}$")


@dataclass(frozen=True)
class Account:
    name: str
    display: str
    role: str
    scope: str
    broker: str | None

    def may(self, role: str) -> bool:
        """Whether this account holds `role` or a stronger one."""
        return ROLES.index(self.role) >= ROLES.index(role)


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, maxmem=64 << 20, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             maxmem=64 << 20, dklen=32)
    except ValueError:
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


def _row(r: object) -> Account:
    m = r._mapping  # type: ignore[attr-defined]
    return Account(m["name"], m["display"], m["role"], m["scope"], m["broker"])


def create(engine: Engine, name: str, password: str, *, scope: str, role: str = "operator",
           display: str | None = None, broker: str | None = None) -> Account:
    """A new account; refuses a taken name, a short password or an unknown role, in plain words."""
    tables.ensure(engine)
    name = name.strip()
    if not _NAME.match(name):
        raise InvalidValue("name", "账号名应为2到32个字母、数字或汉字 / an account name is 2 to 32 letters, digits "
                           "or Chinese characters")
    if len(password) < MIN_PASSWORD:
        raise InvalidValue("password", f"密码至少{MIN_PASSWORD}位 / the password needs at least {MIN_PASSWORD} "
                           "characters")
    if role not in ROLES:
        raise InvalidValue("role", f"角色应为{'、'.join(ROLES)}之一 / role must be one of {', '.join(ROLES)}")
    with engine.begin() as conn:
        if conn.execute(select(tables.accounts.c.name).where(tables.accounts.c.name == name)).first():
            raise InvalidValue("name", f"账号“{name}”已存在 / the account {name!r} already exists")
        conn.execute(tables.accounts.insert(), {
            "name": name, "display": (display or name).strip(), "password": hash_password(password),
            "role": role, "scope": scope, "broker": broker, "created": int(time.time() * 1000)})
    return Account(name, (display or name).strip(), role, scope, broker)


def count(engine: Engine) -> int:
    tables.ensure(engine)
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(tables.accounts)
                                .where(tables.accounts.c.disabled.is_(None))).scalar_one())


def get(engine: Engine, name: str) -> Account | None:
    with engine.connect() as conn:
        r = conn.execute(select(tables.accounts).where(tables.accounts.c.name == name,
                                                       tables.accounts.c.disabled.is_(None))).first()
    return _row(r) if r else None


def listing(engine: Engine) -> list[Account]:
    with engine.connect() as conn:
        return [_row(r) for r in conn.execute(select(tables.accounts).order_by(tables.accounts.c.name))]


def link_broker(engine: Engine, name: str, broker: str | None) -> None:
    with engine.begin() as conn:
        conn.execute(update(tables.accounts).where(tables.accounts.c.name == name).values(broker=broker))


def login(engine: Engine, name: str, password: str) -> Account | None:
    """The account if the password is right, with the login (or the failed try) in the audit table."""
    with engine.connect() as conn:
        r = conn.execute(select(tables.accounts).where(tables.accounts.c.name == name.strip(),
                                                       tables.accounts.c.disabled.is_(None))).first()
    if r is None or not check_password(password, r._mapping["password"]):
        audit.record(engine, name.strip()[:64] or "?", "login-failed", "web_account", None, "登录失败 / wrong "
                     "account name or password")
        return None
    acct = _row(r)
    audit.record(engine, acct.name, "login", "broker" if acct.broker else "web_account", acct.broker,
                 f"登录 / login ({acct.role})")
    return acct
