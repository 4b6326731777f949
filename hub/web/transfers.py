"""Transfer requests from the villages (a person moving to another village), approved or refused at the county.

A village cannot move a person itself (it writes only its own place): it files a request, and the
county decides here. Approving performs the transfer (`node.domain.transfers.approve`: a new card in
the new village with the history filings need, the old card closed 迁出); refusing records why. Both
are sealed at once under the hub's key and reach both villages at their next sync.
"""
from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from hub.web.app import hub_of, write
from hub.web.scoped import sees
from node.domain import transfers
from node.engine.store import Store
from node.web import audit
from node.web.accounts import Account
from node.web.app import page, render, root
from node.web.masking import mask_id_number


def routes() -> list[BaseRoute]:
    return [Route("/transfers", listing), Route("/transfers/{row:str}/{decision:str}", decide, methods=["POST"])]


def visible(store: Store, user: Account) -> list[dict[str, Any]]:
    return [dict(r, id_number=mask_id_number(r.get("id_number"))) for r in transfers.pending(store)
            if sees(user, str(r.get("scope") or "")) or sees(user, str(r.get("to_place") or ""))]


@page("viewer")
async def listing(request: Request, user: Account, form: FormData) -> Response:
    return render(request, "transfers.html", requests=visible(hub_of(request).store, user),
                  flash=request.query_params.get("flash", ""))


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
    await write(request, _decide, store, bytes.fromhex(row), decision, reason)
    word = "同意" if decision == "approve" else "不同意"
    audit.record(store.engine, user.name, "resolve", "transfer_request", row,
                 f"迁移申请{word} / transfer {decision}d: {found[0].get('scope')} → {found[0].get('to_place')}"
                 f"{';' + reason if reason else ''}")
    return RedirectResponse(f"{root(request)}/transfers?flash={quote('已' + word + '迁移申请,各村下次同步后生效。')}",
                            status_code=303)
