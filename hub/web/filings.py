"""Filings for the account's scope, downloaded from the console: rendered by `hub.filings`, never here.

The page lists every filing `hub.filings.FILINGS` knows; a download builds it for the account's
own scope (or a place inside it) through `hub.filings.access.export`, masked as filings are by
default, and writes the download to the access log. The scope is the account's: a village account
cannot file for its county, whatever the URL says.
"""
from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from hub.filings import FILINGS
from hub.filings.access import export
from hub.filings.common import Ctx
from hub.web.app import hub_of
from hub.web.scoped import sees
from node.web import audit
from node.web.accounts import Account
from node.web.app import page, render
from protocol.errors import InvalidValue

TYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "csv": "text/csv; charset=utf-8",
         "pdf": "application/pdf"}


def routes() -> list[BaseRoute]:
    return [Route("/filings", listing), Route("/filings/{name:str}", download)]


@page("viewer")
async def listing(request: Request, user: Account, form: FormData) -> Response:
    return render(request, "filings.html", filings=[(k, v[0]) for k, v in FILINGS.items() if k != "card"],
                  year=date.today().year, month=date.today().month)


def _number(raw: str | None, what: str) -> int | None:
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 4):
        raise InvalidValue(what, f"{what} 应为数字 / {what} must be a number")
    return int(raw)


@page("viewer")
async def download(request: Request, user: Account, form: FormData) -> Response:
    q = request.query_params
    name = request.path_params["name"]
    where = q.get("scope") or user.scope
    if not sees(user, where):
        raise InvalidValue("scope", f"{where}不在您的范围{user.scope}内 / {where} is outside your scope {user.scope}")
    fmt = q.get("format", "xlsx") if q.get("format", "xlsx") in TYPES else "xlsx"
    ctx = Ctx(where, _number(q.get("year"), "year") or date.today().year, _number(q.get("month"), "month"))
    store = hub_of(request).store
    with tempfile.TemporaryDirectory(prefix="laowu-filing-") as d:
        out = Path(d) / f"{name}.{fmt}"
        await run_in_threadpool(export, store, name, ctx, out, user.name)
        data = out.read_bytes()
    audit.record(store.engine, user.name, "download", "filing", None,
                 f"下载报表 / filing downloaded: {name} {where} {ctx.year}{'-' + str(ctx.month) if ctx.month else ''}.{fmt}")
    filename = f"{name}-{where}-{ctx.year}.{fmt}"
    return Response(data, media_type=TYPES[fmt], headers={"content-disposition": f'attachment; filename="{filename}"'})
