"""Moving a person between two villages of a township, from the card (DESIGN §4 "transferred").

Only a township desk does it: its key covers both villages, so `identity.transfer` writes the new
card (with the person's history copied next to it) and closes the old one as 迁出 at once. Every check
(card still active, another village, inside this township, our certificate) runs before the first
write, so a refusal changes nothing. A village's key writes only its own village: its desk says to ask
the county (a transfer request, `laowu-node person transfer`), and this route refuses.
"""
from __future__ import annotations

from datetime import date

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from node.domain import identity
from node.web import audit
from node.web.accounts import Account
from node.web.app import Forbidden, back, page
from node.web.desk import places
from node.web.desk.card import _desk, _person, card_page
from protocol import scope as scopes
from protocol.errors import InvalidValue

ASK_COUNTY = ("村级工作台不能直接迁移人员:请向县级申请(命令行 laowu-node person transfer 提交申请),"
              "由县级或乡镇办理 / a village desk cannot move people: ask the county")


def _day(raw: str) -> date:
    try:
        day = date.fromisoformat(raw.strip()) if raw.strip() else date.today()
    except ValueError:
        raise InvalidValue("on", "迁移日期格式应为 年-月-日,如 2026-03-01 / the date is YYYY-MM-DD") from None
    if day > date.today():
        raise InvalidValue("on", "迁移日期不能晚于今天 / the transfer date cannot be in the future")
    return day


@page("operator")
async def move(request: Request, user: Account, form: FormData) -> Response:
    desk = _desk(request)
    row = request.path_params["row"]
    p = _person(desk, row)
    if scopes.level(desk.place) != "township":
        raise Forbidden(ASK_COUNTY)
    to = str(form.get("to") or "").strip()
    try:
        if not to:
            raise InvalidValue("to", "请选择迁入的村 / choose the village the person moves to")
        if to not in dict(places.villages(desk.store.engine, desk.place)) or not scopes.contains(desk.place, to):
            raise InvalidValue("to", f"{to} 不是本乡镇的村,不能迁入 / {to} is not a village of this township")
        new = identity.transfer(desk.store, bytes.fromhex(row), to, on=_day(str(form.get("on") or "")))
    except InvalidValue as exc:
        return card_page(request, desk, p, status_code=422, transfer_error=exc.message)
    audit.record(desk.store.engine, user.name, "save", "person", row,
                 f"迁出至 / transferred to {to},新卡 new card {new.hex()}")
    return back(request, f"/person/{new.hex()}", moved_from=str(p["scope"]))
