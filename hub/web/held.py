"""What the hub holds back and why: quarantined changesets, fork proofs, feeds waiting behind a gap.

A village is *blocked* when its feed cannot advance here: a changeset of it is quarantined
(stamped too far ahead: a wrong laptop clock), forked (two different changesets for one seq: an
old backup restored), or waiting for an earlier one that never came (a gap), or written by a newer
release (held). The page lists each per village with the reason in plain words and what to do;
operators release a quarantined changeset, its stamps capped alike on every replica
(`hub.review.release_capped`), or decline it (`Store.decline_quarantine`).

A release can be refused for a reason that arose while the changeset waited (its village's
certificate ran out, the key that issued it was revoked): the list warns beforehand
(`hub.review.release_refusal`), and 放行 then signs nothing and says so as an error, 未能放行, with
why in plain words, whether a ruling was signed and what to do instead (decline it), as
`laowu-hub quarantine release` does (docs/trust.md §6).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from hub import review
from hub.web.app import hub_of, write
from hub.web.scoped import prefix, sees
from node.engine import tables as t
from node.engine.store import Store
from node.web import audit
from node.web.accounts import Account
from node.web.app import back, page, render
from node.web.notices import failure
from node.web.messages import refusal
from protocol.changeset import open_envelope
from protocol.errors import InvalidValue
from protocol.keys import short_id

WHY = {"clock-ahead": "时间超前(电脑时钟不准)", "fork": "分叉(同一序号两份不同记录,可能恢复了旧备份)",
       "pending": "缺号等待(前面的记录还没到)", "held": "新版本格式(本平台版本较旧,升级后处理)"}


def routes() -> list[BaseRoute]:
    return [Route("/held", overview), Route("/held/fork/{n:int}", fork),
            Route("/held/{id:str}/release", release, methods=["POST"]),
            Route("/held/{id:str}/decline", decline, methods=["POST"])]


def quarantined(store: Store, user: Account) -> list[dict[str, Any]]:
    q = t.quarantine.c
    with store.engine.connect() as conn:
        rows = conn.execute(select(q.id, q.author, q.scope, q.seq, q.code, q.reason, q.received)
                            .where(q.scope.startswith(prefix(user))).order_by(q.scope, q.seq)).all()
    return [{"id": r.id.hex(), "short": short_id(r.author), "scope": r.scope, "seq": r.seq, "code": r.code,
             "why": WHY.get(r.code, refusal(r.code)), "reason": r.reason, "received": r.received} for r in rows]


def waiting(store: Store, user: Account) -> list[dict[str, Any]]:
    """Feeds with changesets pending (a gap) or held (newer schema): per feed, how many and from which seq."""
    lg, hd = t.log.c, t.heads.c
    with store.engine.connect() as conn:
        rows = conn.execute(select(lg.author, lg.scope, lg.status, func.count(), func.min(lg.seq))
                            .where(lg.status != "applied", lg.scope.startswith(prefix(user)))
                            .group_by(lg.author, lg.scope, lg.status)).all()
        heads = {(r.author, r.scope): r.seq for r in conn.execute(select(hd.author, hd.scope, hd.seq))}
    return [{"short": short_id(r[0]), "scope": r[1], "code": r[2], "why": WHY.get(r[2], r[2]), "count": r[3],
             "first": r[4], "head": heads.get((r[0], r[1]), 0)} for r in rows]


def forks(store: Store, user: Account) -> list[dict[str, Any]]:
    f = t.forks.c
    with store.engine.connect() as conn:
        rows = conn.execute(select(f.n, f.author, f.scope, f.seq, f.detected).where(f.scope.startswith(prefix(user)))
                            .order_by(f.detected.desc()).limit(200)).all()
    return [{"n": r.n, "short": short_id(r.author), "scope": r.scope, "seq": r.seq, "detected": r.detected} for r in rows]


def blocked(quarantine: list[dict[str, Any]], wait: list[dict[str, Any]], fork: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Villages (feed scopes) whose feed cannot advance here, with every reason."""
    out: dict[str, set[str]] = {}
    for item in quarantine + wait + [dict(x, code="fork") for x in fork]:
        out.setdefault(item["scope"], set()).add(WHY.get(item["code"], item["code"]))
    return [{"scope": k, "why": sorted(v)} for k, v in sorted(out.items())]


@page("viewer")
async def overview(request: Request, user: Account, form: FormData) -> Response:
    store = hub_of(request).store
    qs, ws, fs = quarantined(store, user), waiting(store, user), forks(store, user)
    for q in qs:  # said before anyone clicks 放行, as `laowu-hub quarantine list` says it
        refused = review.release_refusal(store, bytes.fromhex(q["id"]))
        q["refused"] = refusal(refused["code"]) if refused else ""
    return render(request, "held.html", quarantine=qs, waiting=ws, forks=fs, blocked=blocked(qs, ws, fs))


def _one(request: Request, user: Account) -> dict[str, Any]:
    """The quarantined changeset the URL names; 404 when unknown or outside the account's scope."""
    store = hub_of(request).store
    found = [q for q in quarantined(store, user) if q["id"] == request.path_params["id"]]
    if not found:
        raise HTTPException(404)
    return found[0]


@page("operator")
async def release(request: Request, user: Account, form: FormData) -> Response:
    item = _one(request, user)
    store = hub_of(request).store
    cs_id = bytes.fromhex(item["id"])
    try:  # capped alike on every replica (hub.review.release_capped, docs/trust.md §6)
        cap, outcomes = await write(request, review.release_capped, store, cs_id)
    except InvalidValue as exc:
        return back(request, "/held", alert=failure(
            f"暂不能放行{item['scope']}的第{item['seq']}号记录。", exc.message,
            "先让该村同步,或先放行它前面的记录,再点“放行”;不该生效就点“拒绝”。"))
    refused = review.not_released(store, cs_id, outcomes, signed=cap is not None)
    if refused is not None:
        audit.record(store.engine, user.name, "release", "changeset", item["id"][:16],
                     f"未能放行 / release refused {item['scope']} #{item['seq']} ({item['short']}): "
                     f"{refused.code}: {refused.reason}; ruling {'signed' if refused.signed else 'none signed'}")
        return back(request, "/held", alert=not_released_words(item, refused))
    status = ", ".join(f"{o['status']}" + (f"({refusal(o.get('code'), o.get('reason'))})" if o.get("code") else "")
                       for o in outcomes) or "无"
    audit.record(store.engine, user.name, "release", "changeset", item["id"][:16],
                 f"放行 / released {item['scope']} #{item['seq']} ({item['short']}): {status}")
    return back(request, "/held", f"已放行{item['scope']}的第{item['seq']}号记录:{status}")


def not_released_words(item: dict[str, Any], refused: review.NotReleased) -> str:
    """What the page says when 放行 did not release: that it did not, why in plain words (the code and
    the technical reason after them, for the county), whether a ruling was signed, and what to do."""
    if refused.quarantined:
        then = "点“拒绝”拒绝这条记录。该村之后的记录仍会等待,需为该电脑更换密钥后才能送达。"
    else:
        then = "它已不在隔离区" + (",见本页“分叉证据”。" if refused.code == "fork" else "。")
    return failure(f"未能放行{item['scope']}的第{item['seq']}号记录。",
                   f"{refusal(refused.code)}({refused.code}: {refused.reason})", then,
                   "放行裁定:" + ("拒绝前已签署,留在本平台的记录里。" if refused.signed else "未签署,本平台没有写入任何记录。"))


@page("operator")
async def decline(request: Request, user: Account, form: FormData) -> Response:
    item = _one(request, user)
    store = hub_of(request).store
    if not await write(request, store.decline_quarantine, [bytes.fromhex(item["id"])]):
        return back(request, "/held", alert=failure(  # released or declined by someone else meanwhile
            f"未能拒绝{item['scope']}的第{item['seq']}号记录。", "它已不在隔离区:刚才已有人放行或拒绝了它。",
            "看本页现在的列表,这条无需再处理。在“访问记录”里可查是谁、何时处理的。"))
    audit.record(store.engine, user.name, "decline", "changeset", item["id"][:16],
                 f"拒绝放行 / declined {item['scope']} #{item['seq']} ({item['short']}): {item['code']}")
    return back(request, "/held", f"已拒绝{item['scope']}的第{item['seq']}号记录。该村之后的记录会等待,需为该电脑更换密钥。")


@page("viewer")
async def fork(request: Request, user: Account, form: FormData) -> Response:
    store = hub_of(request).store
    with store.engine.connect() as conn:
        r = conn.execute(select(t.forks).where(t.forks.c.n == request.path_params["n"])).first()
    if r is None or not sees(user, r.scope):
        raise HTTPException(404)
    sides = []
    for label, env in (("本平台已有 held here", r.held), ("后来收到 arrived later", r.incoming)):
        try:
            cs = open_envelope(env)
            sides.append({"label": label, "id": cs.id.hex(), "prev": cs.prev.hex() if cs.prev else "",
                          "changes": len(cs.changes), "tables": sorted({c.table for c in cs.changes}), "ok": True})
        except Exception as exc:  # a proof we cannot open is still shown, with why
            sides.append({"label": label, "id": "", "prev": "", "changes": 0, "tables": [], "ok": False, "error": str(exc)})
    return render(request, "fork.html", f=r, short=short_id(r.author), sides=sides)
