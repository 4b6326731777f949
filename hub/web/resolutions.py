"""Resolving a conflict from the console: the domain decides (`node.domain.identity.settle`), the console asks.

A duplicate ID number is settled by transfer, merge or "different people"; a card edited at its
old village after a transfer by following those edits or keeping the new card. The decision is
written by the hub's store under its write lock and sealed at once into one changeset signed by the
hub's key: it is in the log for the villages' next pull and the next relay upstream, and the conflict
closes itself on every replica that applies it.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from hub.web import conflicts
from hub.web.app import hub_of, write
from node.domain import identity
from node.engine.store import Store
from node.web import audit
from node.web.accounts import Account
from node.web.app import back, page
from node.web.notices import failure, plain
from protocol.errors import InvalidValue


def routes() -> list[BaseRoute]:
    return [Route("/conflicts/{key:str}/resolve", resolve, methods=["POST"])]


def _settle(store: Store, kind: str, rows: list[bytes], decision: str, keep: bytes | None) -> tuple[dict[str, Any], int]:
    done = identity.settle(store, kind, rows, decision, keep, on=date.today())
    return done, len(store.seal())


@page("operator")
async def resolve(request: Request, user: Account, form: FormData) -> Response:
    store = hub_of(request).store
    r, rows = conflicts.one(request, user)
    decision = str(form.get("resolution") or "")
    keep_hex = str(form.get("keep") or "")
    keep = bytes.fromhex(keep_hex) if len(keep_hex) == 32 and all(c in "0123456789abcdef" for c in keep_hex) else None
    try:
        done, sealed = await write(request, _settle, store, r.kind, [row for row, _ in rows], decision, keep)
    except InvalidValue as exc:
        return back(request, f"/conflicts/{r.key.hex()}", alert=failure(
            "未能处理这条冲突,没有写入任何记录。", plain(exc.message),
            "按原因改选处理方式(或保留的卡)后再提交;拿不准就先不处理,打电话与两村核实。"))
    label = dict(identity.RESOLUTIONS[r.kind])[decision].split(":")[0]
    note = str(form.get("note") or "").strip()
    audit.record(store.engine, user.name, "resolve", r.tbl, (keep or rows[0][0]).hex(),
                 f"处理冲突 / resolved {r.kind}: {decision} ({label}){';' + note if note else ''} "
                 f"[{', '.join(f'{k}={v}' for k, v in done.items())}], {sealed} 份签名记录 sealed")
    return back(request, "/conflicts", f"已处理:{label}。各村下次同步后生效,冲突随之关闭。")
