"""Transfer requests from the villages (a person moving to another village), approved or refused at the county.

A village cannot move a person itself (it writes only its own place): it files a request, and the
county decides here. Approving performs the transfer (`node.domain.transfers.approve`: a new card in
the new village with the history filings need, the old card closed 迁出); refusing records why. Both
are sealed at once under the hub's key and reach both villages at their next sync.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from hub.web.app import hub_of, write
from hub.web.scoped import sees
from node.domain import transfers
from node.engine.store import Store
from node.web import audit
from node.web.accounts import Account
from node.web.app import back, page, render
from node.web.masking import mask_id_number
from node.web.notices import failure, plain
from protocol.errors import InvalidValue


def routes() -> list[BaseRoute]:
    return [Route("/transfers", listing), Route("/transfers/{row:str}/{decision:str}", decide, methods=["POST"])]


def visible(store: Store, user: Account) -> list[dict[str, Any]]:
    return [dict(r, id_number=mask_id_number(r.get("id_number"))) for r in transfers.pending(store)
            if sees(user, str(r.get("scope") or "")) or sees(user, str(r.get("to_place") or ""))]


@page("viewer")
async def listing(request: Request, user: Account, form: FormData) -> Response:
    return render(request, "transfers.html", requests=visible(hub_of(request).store, user))


def _decide(store: Store, row: bytes, decision: str, reason: str) -> int:
    if decision == "approve":
        transfers.approve(store, row, on=date.today())
    else:
        transfers.refuse(store, row, reason, on=date.today())
    return len(store.seal())


@page("operator")
async def decide(request: Request, user: Account, form: FormData) -> Response:
    store = hub_of(request).store
    row, decision = request.path_params["row"], request.path_params["decision"]
    found = [r for r in visible(store, user) if r["id"] == row]
    if not found or decision not in ("approve", "refuse"):
        raise HTTPException(404)
    reason = str(form.get("reason") or "")
    word = "同意" if decision == "approve" else "不同意"
    try:
        await write(request, _decide, store, bytes.fromhex(row), decision, reason)
    except InvalidValue as exc:
        then = ("在“不同意”按钮左边的框里写明不同意的原因,再点“不同意”。" if exc.field == "reason" else
                "看本页现在的列表:已处理的申请不再列出;仍在列的,核实后再试。")
        return back(request, "/transfers", alert=failure(
            f"{found[0].get('scope')}的迁移申请没有处理(“{word}”未生效),没有写入任何记录。", plain(exc.message), then))
    audit.record(store.engine, user.name, "resolve", "transfer_request", row,
                 f"迁移申请{word} / transfer {decision}d: {found[0].get('scope')} → {found[0].get('to_place')}"
                 f"{';' + reason if reason else ''}")
    return back(request, "/transfers", f"已{word}迁移申请,各村下次同步后生效。")
