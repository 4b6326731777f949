"""Sessions and CSRF: a random cookie, its sha-256 in the database, one CSRF token per session.

The cookie is HttpOnly and SameSite=Strict; the database keeps only its digest, so a copied
database opens no session. Every POST carries the session's CSRF token in a hidden `csrf` field
(`app.page` checks it before a handler runs). Forms shown before login (the login form itself)
use a double-submit token: a random cookie that the form must repeat.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from sqlalchemy import Engine, delete, select, update
from starlette.requests import Request
from starlette.responses import Response

from node.web import accounts, tables
from node.web.accounts import Account

COOKIE = "laowu_session"
PRE_COOKIE = "laowu_pre"
IDLE_MS = 8 * 3600 * 1000  # a working day: a laptop left open overnight asks for the password again


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> int:
    return int(time.time() * 1000)


def open_session(engine: Engine, account: Account, response: Response) -> str:
    """Start a session for `account`; sets the cookie on `response`, returns the CSRF token."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    with engine.begin() as conn:
        conn.execute(tables.sessions.insert(), {"digest": _digest(token), "account": account.name, "csrf": csrf,
                                                "created": _now(), "seen": _now()})
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/")
    return csrf


def current(engine: Engine, request: Request) -> tuple[Account, str] | None:
    """The signed-in account and its CSRF token, or None (no cookie, unknown, idle too long)."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    s = tables.sessions.c
    with engine.connect() as conn:
        r = conn.execute(select(tables.sessions).where(s.digest == _digest(token))).first()
    if r is None or _now() - r.seen > IDLE_MS:
        return None
    acct = accounts.get(engine, r.account)
    if acct is None:
        return None
    if _now() - r.seen > 60_000:  # one write a minute at most, not one per page
        with engine.begin() as conn:
            conn.execute(update(tables.sessions).where(s.digest == r.digest).values(seen=_now()))
    return acct, r.csrf


def digest(request: Request) -> str:
    """The digest of this request's session cookie ("" without one): what a page's message is bound to
    (`node.web.notices`), never the cookie itself."""
    token = request.cookies.get(COOKIE)
    return _digest(token) if token else ""


def close_session(engine: Engine, request: Request, response: Response) -> None:
    token = request.cookies.get(COOKIE)
    if token:
        with engine.begin() as conn:
            conn.execute(delete(tables.sessions).where(tables.sessions.c.digest == _digest(token)))
    response.delete_cookie(COOKIE, path="/")


def pre_token(request: Request) -> str:
    """The double-submit token of a form shown before login (reuses the cookie when there is one)."""
    return request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(24)


def set_pre_token(response: Response, token: str) -> None:
    response.set_cookie(PRE_COOKIE, token, httponly=True, samesite="strict", path="/")


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))
