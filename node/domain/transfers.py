"""Transfer requests: a village asks the county to move a person (DESIGN §4 "transferred").

A village key cannot move a person itself: the new card is written in the new village and the old
one closed in the old village, and a village key writes only its own place. So the old village (or
the new one, which cannot see the card and names the person by ID number) files a request in its
own place; the county (or a township covering both villages) approves it, which performs the
transfer (`identity.transfer`) and records the decision on the request, all as signed changes that
reach both villages at their next sync. A refusal is recorded the same way, with its reason.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from node.engine import schema

from node.domain import validate
from node.domain import identity, rules
from node.domain.forms import Form
from node.domain.ops import Row, _existing, _scope, _write, action, find
from node.engine.store import Store
from protocol import scope as scopes
from protocol.errors import InvalidValue, Malformed

@action
def request(store: Store, fields: Mapping[str, Any], *, today: date | None = None) -> bytes:
    """File a request in this village: `person` (a card here, to move out) or `id_number` (someone
    registered elsewhere who moved here), and `to_place`."""
    f = Form(fields)
    f.row("person")
    raw = f.raw("id_number")
    if raw is not None:
        f.out["id_number"] = validate.id_number(raw, today=today or date.today()).number
    f.text("to_place", need=True, max_len=12)
    f.text("reason", max_len=200)
    values = f.done()
    where = _scope(store, None, "village")
    to = str(values["to_place"])
    try:
        if scopes.level(scopes.check_code(to, "to_place")) != "village":
            raise InvalidValue("to_place", f"迁入地应为村(社区) / {to} is not a village")
    except Malformed:
        raise InvalidValue("to_place", "迁入地应为12位区划代码 / to_place must be a 12-digit division code") from None
    if bool(values.get("person")) == bool(values.get("id_number")):
        raise InvalidValue("person", "请给出本村的卡或迁入人员的身份证号(二选一) / give either a card of this "
                           "village or the ID number of the person moving here")
    if values.get("person"):
        card = _existing(store, "person", str(values["person"]), "person")
        if card.get("closed_on"):
            raise InvalidValue("person", "此卡已关闭 / this card is closed")
        if to == card["scope"]:
            raise InvalidValue("to_place", "迁入地与现所在村相同 / the person already lives there")
    elif to != where:
        raise InvalidValue("to_place", "按身份证号申请时,迁入地应为本村 / asking by ID number, the person moves "
                           "to this village")
    values.update(to_place=to, stage="requested", requested_on=(today or date.today()).isoformat())
    row = schema.new_row_id(where)
    _write(store, "transfer_request", row, values, where)
    return row


def pending(store: Store) -> list[Row]:
    return [r for r in find(store, "transfer_request", stage="requested")]


def _card_of(store: Store, req: Row) -> bytes:
    if req.get("person"):
        return bytes.fromhex(str(req["person"]))
    cards = [c for c in find(store, "person", id_number=req["id_number"])
             if rules.active_card(c) and c["scope"] != req["to_place"]]
    if len(cards) != 1:
        raise InvalidValue("id_number", f"找到{len(cards)}张有效的卡,无法确定迁出的卡 / {len(cards)} active "
                           "cards hold this ID number elsewhere: transfer one by its card id")
    return bytes.fromhex(cards[0]["id"])


@action
def approve(store: Store, row: bytes, *, on: date | None = None) -> bytes:
    """Approve a request: transfer the person, record the decision; the new card's id."""
    req = _existing(store, "transfer_request", row, "request")
    if req.get("stage") != "requested":
        raise InvalidValue("request", f"此申请已处理({req.get('stage')}) / this request was already decided")
    day = on or date.today()
    new = identity.transfer(store, _card_of(store, req), str(req["to_place"]), on=day)
    _write(store, "transfer_request", row, {"stage": "approved", "decided_on": day.isoformat(),
                                            "new_card": new.hex()}, req["scope"])
    return new


@action
def refuse(store: Store, row: bytes, reason: str, *, on: date | None = None) -> None:
    req = _existing(store, "transfer_request", row, "request")
    if not reason.strip():
        raise InvalidValue("reason", "不同意须说明原因 / a refusal needs a reason")
    _write(store, "transfer_request", row, {"stage": "refused", "refusal": reason.strip(),
                                            "decided_on": (on or date.today()).isoformat()}, req["scope"])
