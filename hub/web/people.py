"""People at the hub: a search by name within the scope, one card masked, the full view with a reason.

Lists show the ID number masked and phones cut (`node.web.masking`); a full view of a card needs a
reason typed by the operator and is written to the access log with it (`node.web.audit.full_view`),
which the access-log page searches by person and by operator.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from hub.web.app import hub_of
from hub.web.scoped import prefix, sees
from node.engine import schema
from node.web import audit
from node.web.accounts import Account
from node.web.app import back, page, render, root
from node.web.masking import FULL_FIELDS, mask_person, mask_phone
from node.web.notices import failure

SHOWN = ("name", "sex", "birth_date", "id_number", "phone", "scope", "employment", "region_class", "employer",
         "position", "monthly_pay", "health", "household_income", "poverty_status", "updated_on")


def routes() -> list[BaseRoute]:
    return [Route("/people", search), Route("/person/{row:str}", card, methods=["GET", "POST"])]


def _person() -> Any:
    return schema.TABLES["person"].__table__  # type: ignore[attr-defined]


@page("viewer")
async def search(request: Request, user: Account, form: FormData) -> Response:
    q = request.query_params.get("q", "").strip()
    p = _person()
    found: list[dict[str, Any]] = []
    if q:
        where = [p.c.scope.startswith(prefix(user))]
        where.append(p.c.id_number.endswith(q) if q.isdigit() and len(q) <= 6 else p.c.name.contains(q))
        with hub_of(request).store.engine.connect() as conn:
            rows = conn.execute(select(p).where(*where).order_by(p.c.scope, p.c.name).limit(100)).all()
        found = [dict(mask_person(dict(r._mapping)), phone=mask_phone(r.phone)) for r in rows]
    return render(request, "people.html", q=q, found=found)


NO_REASON = failure("没有显示完整信息", "查看完整的身份证号和手机号须写明原因(至少两个字),并记入访问记录",
                    "在“查看原因”框里写明原因(如:核对社保),再点“显示完整信息”。")


@page("viewer")
async def card(request: Request, user: Account, form: FormData) -> Response:
    p = _person()
    store = hub_of(request).store
    with store.engine.connect() as conn:
        r = conn.execute(select(p).where(p.c.id == request.path_params["row"])).first()
    if r is None or not sees(user, r.scope):
        raise HTTPException(404)
    values = dict(r._mapping)
    full = False
    if request.method == "POST":
        reason = str(form.get("reason") or "").strip()
        if len(reason) < 2:
            return back(request, f"/person/{values['id']}", alert=NO_REASON)
        audit.full_view(store.engine, user.name, "person", values["id"], FULL_FIELDS, reason)
        full = True
    shown = values if full else dict(mask_person(values), phone=mask_phone(values.get("phone")))
    return render(request, "person.html", row=values["id"], fields=[(k, shown.get(k)) for k in SHOWN if k in shown],
                  full=full, log_link=f"{root(request)}/audit?row={quote(values['id'])}")
