"""The work pages, one list and one form per kind (`kinds.py`), and the workflow steps.

    /{kind}                 the list, newest first, paged; person names, stage names
    /{kind}/new             the form; a person is named as the register finds them
    /{kind}/{row}/step      one workflow step (a placement starts, an order is accepted, a broker is filed)
"""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from node.engine import schema
from node.domain import ops
from node.web import audit
from node.web.accounts import Account
from node.web.app import back, page, render
from node.web.notices import failure, plain
from node.web.desk import refs
from node.web.desk.kinds import EVENTS, EXTRA_EVENT_FIELDS, KINDS, Kind
from node.web.desk.state import Desk
from node.web.forms import FormState, collect, typed_values
from protocol.errors import InvalidValue

PAGE = 50
REF_KINDS = ("employer", "broker", "placement")


def _kind(request: Request) -> Kind:
    kind = KINDS.get(request.url.path.strip("/").split("/")[0])
    if kind is None:
        raise HTTPException(404)
    return kind


def rows_page(desk: Desk, kind: Kind, pg: int, where: dict[str, str] | None = None) -> tuple[list[dict[str, Any]], int]:
    t: Any = schema.TABLES[kind.table].__table__  # type: ignore[attr-defined]
    conds = [t.c[k] == v for k, v in (where or {}).items() if k in t.c]
    with desk.store.engine.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(t).where(*conds)).scalar_one())
        q = select(t).where(*conds).order_by(t.c[kind.order_by].desc().nulls_last(), t.c.id).limit(PAGE)
        rows = [dict(r._mapping) for r in conn.execute(q.offset((pg - 1) * PAGE))]
    engine = desk.store.engine
    people = refs.names(engine, "person", [r.get("person") for r in rows])
    brokers = refs.names(engine, "broker", [r.get("broker") for r in rows])
    employers = refs.names(engine, "employer", [r.get("employer") for r in rows]) if kind.table == "job_posting" else {}
    for r in rows:
        r["person_name"] = people.get(r.get("person") or "", "")
        r["broker_name"] = brokers.get(r.get("broker") or "", "")
        r["employer_label"] = employers.get(r.get("employer") or "", "")
        r["stage_name"] = kind.workflow.labels.get(r.get("stage") or "", "") if kind.workflow else ""
        r["steps"] = [(e, EVENTS.get(e, e)) for e in kind.workflow.allowed(r.get("stage"))] if kind.workflow else []
    return rows, total


@page()
async def listing(request: Request, user: Account, form: FormData) -> Response:
    desk: Desk = request.app.state.desk
    kind = _kind(request)
    raw = request.query_params.get("page", "1")
    pg = int(raw) if raw.isdigit() and int(raw) > 0 else 1
    who = request.query_params.get("person", "")
    rows, total = rows_page(desk, kind, pg, {"person": who} if who else None)
    mine = None
    if kind.key == "broker" and user.broker:  # a broker signed in with their own account sees where they stand
        own, _ = rows_page(desk, kind, 1, {"id": user.broker})
        mine = own[0] if own else None
    return render(request, "work_list.html", kind=kind, rows=rows, total=total, page=pg, mine=mine,
                  pages=max(1, -(-total // PAGE)), events=EVENTS, extra=EXTRA_EVENT_FIELDS,
                  brokers=refs.options(desk.store.engine, "broker") if kind.key == "orders" else [],
                  today=date.today().isoformat())


def _options(desk: Desk, kind: Kind, person_row: str | None) -> dict[str, list[tuple[str, str]]]:
    return {f.name: refs.options(desk.store.engine, f.kind, person_row) for f in kind.fields if f.kind in REF_KINDS}


@page("operator")
async def new(request: Request, user: Account, form: FormData) -> Response:
    desk: Desk = request.app.state.desk
    kind = _kind(request)
    if not kind.creatable:
        raise HTTPException(404)
    person_row = request.query_params.get("person") or None
    state = FormState()
    if person_row:
        state.values["person"] = refs.names(desk.store.engine, "person", [person_row]).get(person_row, "")
        state.values["person_row"] = person_row
    if request.method == "POST":
        state.values = typed_values(form, kind.fields)
        try:
            fields = collect(form, kind.fields, schema.TABLES[kind.table])
            for f in kind.fields:
                if f.kind == "person" and fields.get(f.name):
                    hidden = str(form.get("person_row") or "")
                    typed = str(fields[f.name])
                    same = hidden and refs.names(desk.store.engine, "person", [hidden]).get(hidden) == typed
                    fields[f.name] = hidden if same else refs.person(desk.store.engine, typed, f.name)
            with desk.store.batch() as unit:  # the record and its audit line: one transaction, one fsync
                row = kind.create(desk.store, fields)
                audit.record(unit.conn, user.name, "create", kind.table, row.hex(), f"新建{kind.title} / new {kind.table}")
        except InvalidValue as exc:
            return render(request, "work_form.html", status_code=422, kind=kind, state=state.fail(exc),
                          options=_options(desk, kind, person_row))
        return back(request, f"/{kind.key}", f"已保存新的{kind.title}。")
    return render(request, "work_form.html", kind=kind, state=state, options=_options(desk, kind, person_row))


@page("operator")
async def step(request: Request, user: Account, form: FormData) -> Response:
    """One workflow step; its date, reason and the event's own field come from the row's little form.
    Refused (no reason where one is needed, a date in the wrong form, a step the stage does not allow):
    back to the list saying so in red, what to do, and that the record did not change."""
    desk: Desk = request.app.state.desk
    kind = _kind(request)
    raw = request.path_params["row"]
    event = str(form.get("event") or "")
    label = EVENTS.get(event, event)
    try:
        row = _advance(desk, kind, raw, event, form)
    except InvalidValue as exc:
        return back(request, f"/{kind.key}", alert=failure(
            f"未能记录“{label}”,这条{kind.title}没有变化。",
            plain(exc.message).replace(f"“{event}”", f"“{label}”"), _then(exc.field, label)))
    audit.record(desk.store.engine, user.name, "save", kind.table, row.hex(), f"{label} / {event}")
    return back(request, f"/{kind.key}", f"{label}:已记录。")


def _advance(desk: Desk, kind: Kind, raw: str, event: str, form: FormData) -> bytes:
    """The step done on the row the URL names; InvalidValue, having written nothing, when it may not be."""
    if len(raw) != 32 or any(c not in "0123456789abcdef" for c in raw):
        raise InvalidValue("row", "没有这条记录 / no such record")
    row = bytes.fromhex(raw)
    on_text = str(form.get("on") or "").strip()
    reason = str(form.get("reason") or "").strip() or None
    try:
        on = date.fromisoformat(on_text) if on_text else None
    except ValueError:
        raise InvalidValue("on", "日期格式应为YYYY-MM-DD / a date is written YYYY-MM-DD") from None
    if kind.key == "placements":
        ops.placement_advance(desk.store, row, event, on=on, reason=reason)
    elif kind.key == "broker":
        ops.broker_advance(desk.store, row, event, on=on, reason=reason,
                           certificate_no=str(form.get("certificate_no") or "") or None)
    elif kind.key == "orders":
        b = str(form.get("broker") or "")
        items = str(form.get("completed_items") or "")
        ops.order_advance(desk.store, row, event, on=on, reason=reason,
                          broker=bytes.fromhex(b) if len(b) == 32 else None,
                          completed_items=int(items) if items.isdigit() else None)
    else:
        raise HTTPException(404)
    return row


def _then(field: str, label: str) -> str:
    """What to do after a refused step, by the field its check named."""
    if field == "reason":
        return f"在这一行的“原因”框里按要求填写(或清空)原因,再点“{label}”。"
    if field == "on":
        return f"日期按 年-月-日 填写,如 2026-03-01,再点“{label}”。"
    if field == "row":
        return "刷新本页,从列表里重新找到这条记录再操作。"
    return f"按原因改正这一行的填写,再点“{label}”;拿不准就先不操作,问一下县里劳务办。"


def routes() -> list[Route]:
    from node.web.desk import match

    out: list[Route] = [Route("/match/{row:str}", match.match_page)]
    for key in KINDS:
        out += [Route(f"/{key}", listing), Route(f"/{key}/new", new, methods=["GET", "POST"]),
                Route(f"/{key}/{{row:str}}/step", step, methods=["POST"])]
    return out
