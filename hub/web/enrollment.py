"""Enrollment and keys: requests to approve or refuse, one-time codes, re-keying, revocation with a preview.

Every key field takes the 8-character short id the node shows (or the whole hex id), resolved by
`hub.enroll.find_key`. A revocation is two steps: the preview page shows what the revocation at
this hub's heads keeps and what it would cut (`hub.enroll.revoke_preview`), then a confirmation
posts it. Each action is written to the access log under the operator's account.
"""
from __future__ import annotations

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from hub import enroll, requests
from node.sync.client import SyncClient
from hub.web.app import hub_of, write
from hub.web.scoped import prefix, require, sees
from node.engine import tables as t
from node.web import audit
from node.web.accounts import Account
from node.web.app import back, page, render, said
from node.web.notices import failure, plain
from protocol import codec, messages
from protocol import scope as scopes
from protocol.errors import DecodeError, InvalidValue, LaowuError
from protocol.keys import short_id

MAX_REQUEST_FILE = 64 << 10
ROLES = {"village": "村", "township": "乡镇", "county": "县"}


def routes() -> list[BaseRoute]:
    return [Route("/enroll", overview), Route("/enroll/upload", upload, methods=["POST"]),
            Route("/enroll/otp", otp, methods=["POST"]),
            Route("/enroll/{pub:str}/approve", approve, methods=["POST"]),
            Route("/enroll/{pub:str}/refuse", refuse, methods=["POST"]),
            Route("/enroll/{pub:str}/certs", certs_file),
            Route("/keys/revoke", revoke, methods=["GET", "POST"]),
            Route("/keys/rekey", rekey, methods=["POST"])]


def keys_in_scope(request: Request, user: Account) -> list[dict[str, object]]:
    """The certified keys inside the account's scope, as the key list shows them."""
    store = hub_of(request).store
    out = []
    for subject, cert in store.trust.certs.items():
        if not any(sees(user, s) for s in cert.scopes):
            continue
        rev = store.trust.revocations.get(subject)
        out.append({"short": short_id(subject), "hex": subject.hex(), "role": cert.role, "scopes": list(cert.scopes),
                    "until": cert.not_after, "revoked": rev.reason if rev else None})
    return sorted(out, key=lambda k: (str(k["scopes"]), str(k["short"])))


def codes_in_scope(request: Request, user: Account) -> list[dict[str, object]]:
    """One-time codes not yet used, without the codes themselves (only who they are for and until when)."""
    store = hub_of(request).store
    with store.engine.connect() as conn:
        rows = conn.execute(select(t.meta.c.key, t.meta.c.value).where(t.meta.c.key.startswith("otp/"))).all()
    out = []
    for r in rows:
        item = codec.unpack(r.value, max_bytes=256, what="otp")
        if isinstance(item, list) and item and sees(user, str(item[0])):
            out.append({"place": item[0], "role": item[1], "expires": item[2] if len(item) > 2 else None,
                        "tail": r.key[-4:]})
    return out


@page("viewer")
async def overview(request: Request, user: Account, form: FormData) -> Response:
    store = hub_of(request).store
    shown = said(request).extra  # the one-time code and the download, kept with the message (node.web.notices)
    return render(request, "enroll.html", requests=requests.listing(store, prefix(user)),
                  keys=keys_in_scope(request, user), codes=codes_in_scope(request, user), roles=ROLES,
                  issued=shown.get("otp", ""), download=shown.get("download", ""))


NAME_THE_KEY = "在下面“密钥”表里找到要吊销的那台电脑,点它那一行的“吊销…”;或输入该电脑显示的8位密钥编号。"


def _refused(request: Request, what: str, exc: LaowuError, then: str) -> Response:
    """Back to the page saying, in red, what was not done, why in plain Chinese and what to do."""
    return back(request, "/enroll", alert=failure(what, plain(exc.message if isinstance(exc, InvalidValue) else str(exc)),
                                                  then))


def _decode(raw: bytes) -> messages.EnrollRequest:
    try:
        return messages.EnrollRequest.decode(raw)
    except DecodeError:
        raise InvalidValue("file", "这不是节点生成的登记申请文件(内容不完整或已损坏)/ not an enrollment request") from None


async def _request_file(form: FormData, what: str) -> bytes:
    f = form.get("file")
    if not isinstance(f, UploadFile) or not f.filename:
        raise InvalidValue("file", f"没有选择文件:请选择{what}生成的登记申请文件(enroll-request.laowu)/ choose the request file")
    raw = await f.read(MAX_REQUEST_FILE + 1)
    if len(raw) > MAX_REQUEST_FILE:
        raise InvalidValue("file", "这不是登记申请文件(太大)/ not an enrollment request (too large)")
    return raw


@page("operator")
async def upload(request: Request, user: Account, form: FormData) -> Response:
    try:
        raw = await _request_file(form, "节点")
        req = _decode(raw)
        if not sees(user, req.code):
            raise InvalidValue("file", f"申请的地点{req.code}不在您的范围内 / the request is for {req.code}, outside your scope")
        got = await write(request, requests.add, hub_of(request).store, raw, "file")
    except LaowuError as exc:
        return _refused(request, "没有收到登记申请,没有写入任何记录。", exc,
                        "选该村电脑生成的登记申请文件(enroll-request.laowu)再上传;仍不行,请该村重新生成申请文件。")
    audit.record(hub_of(request).store.engine, user.name, "create", "enroll_request", got.short,
                 f"收到登记申请 / request received: {got.code} {got.role},密钥 key {got.short}")
    return back(request, "/enroll", f"已收到{got.code}的登记申请,密钥编号 {got.short}。请核对后批准。")


def _pending(request: Request, user: Account) -> requests.Pending:
    try:
        pub = bytes.fromhex(request.path_params["pub"])
    except ValueError:
        raise HTTPException(404) from None
    found = requests.get(hub_of(request).store, pub)
    if found is None:
        raise HTTPException(404)
    require(user, found.code)
    return found


@page("operator")
async def approve(request: Request, user: Account, form: FormData) -> Response:
    req = _pending(request, user)
    store = hub_of(request).store
    try:
        await write(request, requests.approve, store, req.pub, user.name)
    except LaowuError as exc:
        return _refused(request, f"未能批准{req.code}的申请(密钥 {req.short}),没有签发证书。", exc,
                        "看本页现在的列表:已批准或已拒绝的申请无需再处理;仍待批准的,电话核对后再点“批准”。")
    audit.record(store.engine, user.name, "approve", "enroll_request", req.short,
                 f"批准登记 / approved: {req.code} {req.role},密钥 key {req.short}")
    return back(request, "/enroll", f"已批准{req.code}(密钥 {req.short})。请下载证书文件交给该节点安装。", download=req.pub.hex())


@page("operator")
async def refuse(request: Request, user: Account, form: FormData) -> Response:
    req = _pending(request, user)
    note = str(form.get("note") or "").strip() or "未说明 / no reason given"
    store = hub_of(request).store
    try:
        await write(request, requests.refuse, store, req.pub, user.name, note)
    except LaowuError as exc:
        return _refused(request, f"未能拒绝{req.code}的申请(密钥 {req.short})。", exc,
                        "看本页现在的列表:已批准或已拒绝的申请无需再处理;已批准而不该批准的,请吊销它的密钥。")
    audit.record(store.engine, user.name, "refuse", "enroll_request", req.short, f"拒绝登记 / refused: {req.code}:{note}")
    return back(request, "/enroll", f"已拒绝{req.code}的申请(密钥 {req.short})。")


@page("viewer")
async def certs_file(request: Request, user: Account, form: FormData) -> Response:
    req = _pending(request, user)
    chain = requests.chain_of(hub_of(request).store, req.pub)
    if chain is None:
        raise HTTPException(404)
    return Response(chain, media_type="application/octet-stream",
                    headers={"content-disposition": f'attachment; filename="certs-{req.code}-{req.short}.laowu"'})


@page("operator")
async def otp(request: Request, user: Account, form: FormData) -> Response:
    place = str(form.get("place") or "").strip()
    try:
        hours = _otp_for(user, place, str(form.get("hours") or "24"))
    except InvalidValue as exc:
        return _refused(request, "没有生成登记码。", exc,
                        "地点代码填本平台范围内的12位代码,有效期填小时数(如 24),再点“生成登记码”。")
    store = hub_of(request).store
    code = enroll.new_otp()
    await write(request, enroll.add_otp, store, code, place, scopes.level(place), int(hours * 3600_000))
    audit.record(store.engine, user.name, "otp", "enroll_code", place, f"发放登记码 / one-time code for {place}, "
                 f"{hours:g} 小时内有效 (…{code[-4:]})")
    return back(request, "/enroll", f"已为{place}生成一次性登记码,{hours:g}小时内有效。请电话告知该村操作员。", otp=code)


def _otp_for(user: Account, place: str, hours: str) -> float:
    """The hours a one-time code for `place` is good for; InvalidValue for a place or hours it may not have."""
    if not (place.isdigit() and len(place) == 12):
        raise InvalidValue("place", "地点代码应为12位数字 / a place code is 12 digits")
    if not sees(user, place):
        raise InvalidValue("place", f"{place}不在您的范围内 / {place} is outside your scope")
    try:
        return float(hours)
    except ValueError:
        raise InvalidValue("hours", "有效期应为小时数,如 24 / the hours are a number, e.g. 24") from None


@page("operator")
async def revoke(request: Request, user: Account, form: FormData) -> Response:
    store = hub_of(request).store
    typed = str((form.get("key") if request.method == "POST" else request.query_params.get("key")) or "")
    try:
        subject = enroll.find_key(store, typed)
    except InvalidValue as exc:
        return _refused(request, "没有打开吊销页面,没有吊销任何密钥。", exc, NAME_THE_KEY)
    cert = store.trust.certs.get(subject)
    if cert is None or not any(sees(user, s) for s in cert.scopes):
        return _refused(request, "没有打开吊销页面,没有吊销任何密钥。", InvalidValue(
            "key", f"密钥“{typed}”不在您的范围内 / key {typed!r} is outside your scope"), NAME_THE_KEY)
    local = (form.get("local") if request.method == "POST" else request.query_params.get("local")) == "1"
    upstream = None if local else upstream_client(request)
    try:
        if request.method == "POST" and form.get("confirm") == "1":
            reason = str(form.get("reason") or "").strip()
            if not reason:
                return back(request, f"/keys/revoke?key={short_id(subject)}{'&local=1' if local else ''}",
                            alert=failure(f"密钥 {short_id(subject)} 没有吊销。", "没有写吊销原因",
                                          "在“吊销原因”框写明原因(如:电脑被盗),再点“确认吊销”。"))
            await write(request, enroll.revoke, store, subject, reason, upstream=upstream)
            audit.record(store.engine, user.name, "revoke", "key", short_id(subject),
                         f"吊销密钥 / revoked {short_id(subject)} ({cert.describe()}):{reason}")
            return back(request, "/enroll", f"密钥 {short_id(subject)} 已吊销。它以后写的记录一律拒收。")
        preview = await run_in_threadpool(enroll.revoke_preview, store, subject, upstream)
    except LaowuError as exc:  # refused (most often: the hub above could not be asked): nothing was revoked
        return _refused(request, f"密钥 {short_id(subject)} 没有吊销。", exc,
                        "检查本平台到上级平台的网络,恢复后再点该密钥的“吊销…”;急需吊销又联系不上时,请电话告知市(州)里。")
    finally:
        if upstream is not None:
            upstream.close()
    return render(request, "revoke.html", preview=preview, short=short_id(subject), local=local, asked=upstream is not None,
                  reason=request.query_params.get("reason", ""))


def upstream_client(request: Request) -> SyncClient | None:
    """A client of the hub above, when this hub relays to one: a revocation first learns what it holds, so
    the cut-off covers what the province acknowledged (`hub.enroll.ask_upstream`)."""
    relay = hub_of(request).upstream
    client = getattr(relay, "client", None)
    if not isinstance(client, SyncClient):
        return None
    return SyncClient(hub_of(request).store, client.url, client.hub)


@page("administrator")
async def rekey(request: Request, user: Account, form: FormData) -> Response:
    store = hub_of(request).store
    try:
        old = enroll.find_key(store, str(form.get("old") or ""))
        cert = store.trust.certs.get(old)
        if cert is None or not any(sees(user, s) for s in cert.scopes):
            raise InvalidValue("old", "旧密钥不在您的范围内 / the old key is outside your scope")
        raw = await _request_file(form, "恢复后的电脑")
        req = _decode(raw)
        await write(request, requests.rekey, store, old, raw, user.name)
    except LaowuError as exc:
        return _refused(request, "未能更换密钥,没有写入任何记录。", exc,
                        "旧密钥填该电脑原来的8位编号,文件选恢复后的电脑新生成的登记申请文件,再点“更换密钥”。")
    audit.record(store.engine, user.name, "rekey", "key", short_id(old),
                 f"更换密钥 / re-keyed {short_id(old)} → {short_id(req.pub)} ({req.code})")
    return back(request, "/enroll", f"已为{req.code}更换密钥:{short_id(old)} → {short_id(req.pub)}。请下载证书文件。", download=req.pub.hex())
