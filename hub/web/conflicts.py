"""The semantic-conflict queue: duplicate ID numbers, one person placed by two brokers, one broker filed twice.

Each conflict names its rows (`lw_conflict.rows`); the page shows them side by side, field by
field, masked (`node.web.masking`), the differing fields marked. The resolutions are the domain's
(`node.domain.identity.RESOLUTIONS`: for a duplicate ID number transfer, merge, different people),
applied by `hub.web.resolutions`: each is a change signed by this hub's key that reaches every replica with the next sync, and once it lands
the conflict closes itself wherever it was queued (the rule no longer finds it).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from hub.web.app import hub_of
from hub.web.scoped import sees
from node.engine import tables as t
from node.engine import schema
from node.domain import identity
from node.engine.store import Store
from node.web.accounts import Account
from node.web.app import page, render
from node.web.masking import mask_person
from protocol import codec

KINDS = {"duplicate-id": "身份证号重复(一人两卡)", "placement-overlap": "一人由两名经纪人安置", "broker-twice": "经纪人重复备案"}
HIDDEN = {"id"}
FIELD_NAMES = {"stage": "阶段", "filed_on": "备案日期", "applied_on": "申请日期", "hukou": "户籍地", "background": "背景",
               "certificate_no": "证书编号", "start_date": "开始日期", "employer_name": "单位", "contract_months": "合同(月)",
               "closed_on": "关闭日期", "closed_reason": "关闭原因", "needs_correction": "待更正"}


def routes() -> list[BaseRoute]:
    return [Route("/conflicts", queue), Route("/conflicts/{key:str}", show, methods=["GET"])]


def rows_of(store: Store, table: str, raw_rows: bytes) -> list[tuple[bytes, dict[str, Any] | None]]:
    """The conflict's rows as materialized here (None for a row deleted since)."""
    ids = [bytes(r) for r in codec.unpack(raw_rows, max_bytes=4096, what="conflict rows")]
    cls = schema.TABLES.get(table)
    if cls is None:
        return [(r, None) for r in ids]
    tbl: Any = cls.__table__  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        found = {r.id: dict(r._mapping) for r in conn.execute(select(tbl).where(tbl.c.id.in_([i.hex() for i in ids])))}
    return [(i, found.get(i.hex())) for i in ids]


def visible(user: Account, rows: list[tuple[bytes, dict[str, Any] | None]]) -> bool:
    return any(v is not None and sees(user, str(v.get("scope") or "")) for _, v in rows)


def queue_for(store: Store, user: Account, *, resolved: bool = False) -> list[dict[str, Any]]:
    c = t.conflicts.c
    q = select(t.conflicts).where(c.resolved.is_not(None) if resolved else c.resolved.is_(None)).order_by(c.detected.desc())
    out = []
    with store.engine.connect() as conn:
        items = conn.execute(q.limit(500)).all()
    for r in items:
        rows = rows_of(store, r.tbl, r.rows)
        if not visible(user, rows):
            continue
        places = sorted({str(v.get("scope")) for _, v in rows if v})
        out.append({"key": r.key.hex(), "kind": r.kind, "kind_name": KINDS.get(r.kind, r.kind), "places": places,
                    "detected": r.detected, "detail": r.detail.split(" / ")[0], "resolution": r.resolution})
    return out


@page("viewer")
async def queue(request: Request, user: Account, form: FormData) -> Response:
    store = hub_of(request).store
    return render(request, "conflicts.html", open=queue_for(store, user), done=queue_for(store, user, resolved=True)[:50])


def side_by_side(rows: list[tuple[bytes, dict[str, Any] | None]]) -> list[tuple[str, list[Any], bool]]:
    """(field, [value per row], differs) for every field any row has, masked as lists show them."""
    masked = [mask_person(v) if v else {} for _, v in rows]
    names: list[str] = []
    for m in masked:
        names += [k for k in m if k not in names and k not in HIDDEN]
    out = []
    for name in names:
        vals = [m.get(name) for m in masked]
        if all(v in (None, "", []) for v in vals):
            continue  # a field no side has filled says nothing about the conflict
        out.append((name, vals, len({repr(v) for v in vals}) > 1))
    return out


def one(request: Request, user: Account) -> tuple[Any, list[tuple[bytes, dict[str, Any] | None]]]:
    """The conflict the URL names and its rows; 404 when unknown or outside the account's scope."""
    store = hub_of(request).store
    try:
        key = bytes.fromhex(request.path_params["key"])
    except ValueError:
        raise HTTPException(404) from None
    with store.engine.connect() as conn:
        r = conn.execute(select(t.conflicts).where(t.conflicts.c.key == key)).first()
    if r is None:
        raise HTTPException(404)
    rows = rows_of(store, r.tbl, r.rows)
    if not visible(user, rows):
        raise HTTPException(404)
    return r, rows


@page("viewer")
async def show(request: Request, user: Account, form: FormData) -> Response:
    r, rows = one(request, user)
    key = r.key
    return render(request, "conflict.html", c=r, kind_name=KINDS.get(r.kind, r.kind), rows=rows,
                  fields=side_by_side(rows), names=FIELD_NAMES, choices=list(identity.RESOLUTIONS.get(r.kind, ())), key=key.hex())
