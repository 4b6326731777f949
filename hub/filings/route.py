"""`GET /v1/filing/{name}?scope=&year=&month=&format=xlsx|csv|pdf[&full=1]`: a filing downloaded from a
running hub, for authorized keys only.

The caller proves its key with the sync protocol's hello and sends the session token it got back in
the `x-laowu-token` header (hex). Allowed: a county, prefecture or province key, for a scope inside
its certificate's scopes and inside this hub's home — a county sees its subtree, the province all.
Everything else is refused with the reason (401 no or bad session, 403 role or scope, 400 a bad
request), in the sync protocol's error body. A full export (`full=1`) is logged with the key's id.
"""
from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from hub.filings.access import export
from hub.filings.common import Ctx
from hub.refusals import Unauthorized, client_of, status_for
from protocol import messages
from protocol import scope as scopes
from protocol.errors import InvalidValue, NotAllowed, RemoteError
from protocol.keys import short_id

ROLES = ("county", "prefecture", "province")
TYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "csv": "text/csv; charset=utf-8", "pdf": "application/pdf"}


class BadRequest(RemoteError):
    code = "bad-request"


def _int(raw: str | None, what: str) -> int | None:
    if raw in (None, ""):
        return None
    assert raw is not None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 4):
        raise BadRequest(f"{what} 应为数字 / {what} must be a number, got {raw[:10]!r}")
    return int(raw)


def _make(hub: Any, request: Request) -> tuple[bytes, str, str]:
    raw = request.headers.get("x-laowu-token", "")
    try:
        token = bytes.fromhex(raw)
    except ValueError:
        token = b""
    if not token:
        raise Unauthorized("没有会话令牌:请先 hello / no session token: say hello first and send it as x-laowu-token")
    author, _ = hub.session(token, hub.store.hlc.physical(), client_of(request))
    cert = hub._check_key(author)
    q = request.query_params
    name = request.path_params["name"]
    where = q.get("scope") or (cert.scopes[0] if cert.scopes else "")
    if cert.role not in ROLES:
        raise NotAllowed(f"报表由县级及以上下载,{cert.role}密钥不能下载 / filings are for county, prefecture and "
                         f"province keys; a {cert.role} key may not download them")
    try:
        scopes.check_code(where)
    except Exception:
        raise BadRequest(f"scope 应为12位区划代码 / scope must be a 12-digit division code, got {where[:20]!r}") from None
    if not cert.may_write(where):
        raise NotAllowed(f"密钥{short_id(author)}只管辖{','.join(cert.scopes)},不含{where} / this key covers "
                         f"{','.join(cert.scopes)}, not {where}")
    fmt = q.get("format", "xlsx")
    if fmt not in TYPES:
        raise BadRequest(f"format 应为 xlsx、csv 或 pdf / format must be xlsx, csv or pdf, got {fmt[:10]!r}")
    year = _int(q.get("year"), "year") or date.today().year
    opts = {k: q[k] for k in ("broker", "person", "holiday") if q.get(k)}
    ctx = Ctx(where, year, _int(q.get("month"), "month"), date.today(), "", q.get("full") == "1", opts)
    with tempfile.TemporaryDirectory(prefix="laowu-filing-") as d:
        out = Path(d) / f"{name}.{fmt}"
        try:
            export(hub.store, name, ctx, out, f"key {short_id(author)}")
        except InvalidValue as exc:
            raise BadRequest(str(exc)) from None
        return out.read_bytes(), TYPES[fmt], f"{name}-{where}-{year}.{fmt}"


def filing_endpoint(hub: Any) -> Any:
    async def run(request: Request) -> Response:
        try:
            data, media, filename = await run_in_threadpool(_make, hub, request)
        except RemoteError as exc:
            status = 400 if isinstance(exc, BadRequest) else status_for(exc)
            return Response(messages.error_body(exc.code, str(exc)), status_code=status, media_type=messages.CONTENT_TYPE)
        return Response(data, media_type=media, headers={"content-disposition": f'attachment; filename="{filename}"'})

    return run
