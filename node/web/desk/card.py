"""The person card (一人一卡): entry with per-field messages, edit, full view, history, print, and
the yearly re-confirmation worklist (一年一更新).

Checks are the domain's (`ops.register_person` / `ops.edit_person` → `card.clean_person` →
`node.domain.validate`); this module only maps what the form posts onto them and their `InvalidValue`
back onto the field. An edit writes only the fields that changed, so it never overwrites what
the county corrected meanwhile in another field. A save is one transaction (`ops._write`).
Opening a card unmasked (to see or to edit) asks for a reason and is written to the access log.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from node.domain import validate
from node.domain import card, ops
from node.domain.person import EMPLOYMENT, Person
from node.domain.placement import SATISFACTION
from node.web import audit, messages
from node.web.accounts import Account
from node.web.app import back, page, render, said
from node.web.desk import dupes, places, search
from node.web.desk.history import history
from node.web.desk.state import Desk
from node.web.forms import Field, FormState, all_errors, as_inputs, collect, typed_values
from node.web.masking import FULL_FIELDS, mask_person
from node.web.notices import failure
from protocol import scope as scopes
from protocol.errors import InvalidValue

L = messages.LABELS
FIELDS = (
    Field("id_number", "身份证号", required=True, hint="18位;出生日期和性别由它得出"),
    Field("name", "姓名", required=True),
    Field("phone", "手机号"),
    Field("education", "学历", "choice", validate.EDUCATION),
    Field("health", "健康状况", "choice", validate.HEALTH),
    Field("household_address", "户籍地址"),
    Field("household_size", "家庭人口", "number"),
    Field("household_income", "家庭年收入(元)", "number"),
    Field("poverty_status", "脱贫状态", "choice", validate.POVERTY),
    Field("two_after", "两后生", "flag"),
    Field("employment", "就业状态", "choice", EMPLOYMENT),
    Field("region_class", "就业地域", "choice", validate.REGION_CLASS),
    Field("employer", "就业单位"),
    Field("position", "岗位"),
    Field("monthly_pay", "月收入(元)", "number"),
    Field("satisfaction", "满意度", "choice", SATISFACTION),
    Field("willing_to_migrate", "外出务工意愿", "flag"),
    Field("intended_region", "意向地域", "choice", validate.REGION_CLASS),
    Field("intended_industry", "意向行业"),
    Field("intended_pay", "期望月薪(元)", "number"),
    Field("skills", "技能", "tags", hint="用顿号或空格分开,如:电工、焊工"),
    Field("certificates", "证书", "tags", hint="用顿号或空格分开"),
)
SETS = ("skills", "certificates")


def _desk(request: Request) -> Desk:
    desk: Desk = request.app.state.desk
    return desk


def _person(desk: Desk, row: str) -> dict[str, Any]:
    try:
        found = ops.get(desk.store, "person", bytes.fromhex(row))
    except ValueError:
        found = None
    if found is None:
        raise HTTPException(404)
    return found


@page("operator")
async def new(request: Request, user: Account, form: FormData) -> Response:
    desk = _desk(request)
    state = FormState()
    similar: list[dict[str, Any]] = []
    if request.method == "POST":
        state.values = {**typed_values(form, FIELDS), "village": str(form.get("village") or "")}
        row = None
        try:
            fields = collect(form, FIELDS, Person)
            # The duplicate reads, the card and its audit line: one transaction, one fsync (docs/engine.md).
            with desk.store.batch() as unit:
                similar = dupes.candidates(unit.conn, fields)
                if not similar or form.get("confirm") == "1":
                    row = ops.register_person(desk.store, fields, scope=_village(desk, form))
                    audit.record(unit.conn, user.name, "create", "person", row.hex(), "登记新卡 / new card")
        except InvalidValue as exc:
            state.errors = _all(form, exc)
            return render(request, "card_form.html", status_code=422, fields=FIELDS, state=state,
                          similar=similar, person=None, villages=_villages(desk))
        if row is None:  # rendered after the unit: the page reads on connections of its own
            return render(request, "card_form.html", fields=FIELDS, state=state, similar=similar, person=None,
                          villages=_villages(desk))
        return back(request, f"/person/{row.hex()}", "已保存。")
    return render(request, "card_form.html", fields=FIELDS, state=state, similar=[], person=None,
                  villages=_villages(desk))


def _villages(desk: Desk) -> list[str]:
    """The villages a township (or county) desk registers into: those in its register; empty on a village's."""
    return [] if scopes.level(desk.place) == "village" else [v for v in search.villages(desk.store.engine)
                                                               if scopes.level(v) == "village"]


def _all(form: FormData, exc: InvalidValue) -> dict[str, str]:
    """The message of every field the card's own check refuses, each shown at its field."""
    try:
        fields = collect(form, FIELDS, Person)
    except InvalidValue:
        return {exc.field: exc.message}  # a value that cannot even be typed (是/否): that one first
    # Again without each refused field, as an edit (nothing required): what is given is checked.
    return all_errors(lambda f: card.clean_person(f, today=date.today(), creating=False), fields, exc)


def _village(desk: Desk, form: FormData) -> str | None:
    """A township desk registers into one of its villages (the form names it)."""
    v = str(form.get("village") or "").strip()
    return v or None


NO_REASON = failure("没有显示完整信息", "查看完整的身份证号和手机号须写明原因,并记入访问记录",
                    "在“显示完整信息”左边的框里写明原因(如:核对社保),再点“显示完整信息”。")


@page()
async def show(request: Request, user: Account, form: FormData) -> Response:
    desk = _desk(request)
    row = request.path_params["row"]
    p = _person(desk, row)
    full = request.method == "POST"
    if full:
        reason = str(form.get("reason") or "").strip()
        if not reason:
            return back(request, f"/person/{row}", alert=NO_REASON)
        audit.full_view(desk.store.engine, user.name, "person", row, FULL_FIELDS, reason)
    return card_page(request, desk, p, full=full, moved_from=_moved_from(request))


def card_page(request: Request, desk: Desk, p: dict[str, Any], *, full: bool = False, status_code: int = 200,
              **extra: Any) -> Response:
    """The card, with what a transfer needs: the township's other villages for an active card, where a
    closed card went, and on a village's desk the hint that the county moves people."""
    level = scopes.level(desk.place)
    moves = [v for v in places.villages(desk.store.engine, desk.place) if v[0] != p.get("scope")] \
        if level == "township" and not p.get("closed_on") else []
    went = None
    if p.get("closed_on") and p.get("successor"):
        succ = ops.get(desk.store, "person", bytes.fromhex(str(p["successor"])))
        went = {"id": p["successor"], "village": places.name(succ["scope"]) if succ else ""}
    extra.setdefault("transfer_error", "")
    return render(request, "card.html", status_code=status_code, p=p if full else mask_person(p), full=full,
                  fields=FIELDS, history=history(desk, str(p["id"])), print_view=False, moves=moves,
                  village_desk=level == "village", went=went, today=date.today().isoformat(),
                  here=places.name(str(p.get("scope"))), **{"moved_from": "", **extra})


def _moved_from(request: Request) -> str:
    """The village a person was just moved from (the transfer's message names it: `transfer.move`)."""
    code = said(request).extra.get("moved_from", "")
    return places.name(code) if len(code) == 12 and code.isdigit() else ""


@page()
async def printable(request: Request, user: Account, form: FormData) -> Response:
    desk = _desk(request)
    p = _person(desk, request.path_params["row"])
    return render(request, "card_print.html", p=mask_person(p), fields=FIELDS, today=date.today().isoformat())


@page("operator")
async def edit(request: Request, user: Account, form: FormData) -> Response:
    desk = _desk(request)
    row = request.path_params["row"]
    cur = _person(desk, row)
    state = FormState(values=as_inputs(cur))
    if request.method == "POST" and form.get("save") == "1":
        state.values = typed_values(form, FIELDS)
        try:
            fields = collect(form, FIELDS, Person)
            changed, removes = _changes(cur, fields)
            names = "、".join(L.get(k, k) for k in [*changed, *removes]) or "无变化,已确认"
            with desk.store.batch() as unit:  # the edit and its audit line commit together
                ops.edit_person(desk.store, bytes.fromhex(row), changed, removes=removes)
                audit.record(unit.conn, user.name, "save", "person", row, f"修改 / edited: {names}")
        except InvalidValue as exc:
            state.errors = _all(form, exc)
            return render(request, "card_form.html", status_code=422, fields=FIELDS, state=state, similar=[],
                          person=cur, villages=[])
        return back(request, f"/person/{row}", "已保存。")
    # Opening the edit form shows the card whole: that is a full view, logged like one.
    audit.full_view(desk.store.engine, user.name, "person", row, FULL_FIELDS, "修改卡片 / editing the card")
    return render(request, "card_form.html", fields=FIELDS, state=state, similar=[], person=cur, villages=[])


def _changes(cur: dict[str, Any], fields: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Only what differs from the card; set fields as elements added (in `changed`) and removed."""
    changed: dict[str, Any] = {}
    removes: dict[str, list[str]] = {}
    for k, v in fields.items():
        if k in SETS:
            now, was = set(v), set(cur.get(k) or [])
            if now - was:
                changed[k] = sorted(now - was)
            if was - now:
                removes[k] = sorted(was - now)
        elif str(cur.get(k)) != str(v) and not (k == "id_number" and str(v).upper() == cur.get(k)):
            changed[k] = v
    for k in SETS:  # a set field emptied on the form: everything on it is removed
        if k not in fields and cur.get(k):
            removes[k] = sorted(cur[k])
    return changed, removes


@page("operator")
async def confirm(request: Request, user: Account, form: FormData) -> Response:
    """一年一更新: checked with the person, nothing changed; stamps this year's update."""
    desk = _desk(request)
    row = request.path_params["row"]
    _person(desk, row)
    with desk.store.batch() as unit:
        ops.edit_person(desk.store, bytes.fromhex(row), {})
        audit.record(unit.conn, user.name, "save", "person", row, "年度核实,无变化 / yearly check, unchanged")
    nxt = str(form.get("next") or "/worklist")
    return RedirectResponse(nxt if nxt.startswith("/") and not nxt.startswith("//") else "/worklist", status_code=303)


@page()
async def worklist(request: Request, user: Account, form: FormData) -> Response:
    desk = _desk(request)
    today = date.today()
    people = search.stale(desk.store.engine, today)
    return render(request, "worklist.html", people=[mask_person(p) for p in people], year=today.year)
