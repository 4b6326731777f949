"""The local write API: one function per thing a village or county operator does.

Each function checks what was typed (the domain module's `clean_*`; `InvalidValue` names the
field), refuses what the workflow or the semantic rules would not allow on this machine, then
writes through `Store.write` in the right scope. Each is an `action`: its checks and all its writes
are one `Store.batch()`, one transaction with one fsync (a card with its skills, a broker's review
with the revocation it causes, a transfer with its history copies); a refusal half-way writes nothing,
and what the checks read cannot change before the writes land:

* a new record goes in the scope given, or the node's home; it must lie inside the home
  (a village writes its own place; a county may write any village of the county);
* an edit goes in the scope of the record it edits, whoever makes it, so a county's correction to a
  village's card reaches that village and never lands in its sibling villages' feeds;
* `set` fields are written as add operations, one per element.

Reads are of the materialized tables, as the operator's screen shows them. Conflicts two machines
create offline are not refused here (neither can see the other): `rules.py` queues them.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import bindparam, select

from conflict.orset import add_op, remove_op
from conflict.semantic import Rule
from node.engine import schema
from node.domain import validate
from node.domain import broker as brk
from node.domain import card, rules
from node.domain import employer as emp
from node.domain import order as odr
from node.domain import placement as plc
from node.domain import returns as ret
from node.domain import station as stn
from node.domain import training as trn
from node.domain import village as vil
from node.domain.forms import Form
from node.domain.workflow import Workflow
from node.engine.rowview import SqlRowView
from node.engine.store import Store
from protocol import scope as scopes
from protocol.changeset import Value
from protocol.errors import InvalidValue, Malformed

Row = dict[str, Any]
P = ParamSpec("P")
R = TypeVar("R")

# -- reading and writing ---------------------------------------------------------------------------


def action(fn: Callable[Concatenate[Store, P], R]) -> Callable[Concatenate[Store, P], R]:
    """An operator action: its reads, checks and writes run in one `Store.batch()`, committed once
    when it returns, rolled back whole if it raises. An action called by another joins its batch."""
    @functools.wraps(fn)
    def run(store: Store, /, *args: P.args, **kw: P.kwargs) -> R:
        with store.batch():
            return fn(store, *args, **kw)
    return run


def get(store: Store, table: str, row: bytes) -> Row | None:
    """One materialized row as the screen shows it, or None."""
    with store.reading() as conn:
        found = conn.execute(_matching(table, ("id",)), {"id": row.hex()}).first()
    return dict(found._mapping) if found else None


def find(store: Store, table: str, **equals: Value) -> list[Row]:
    """Materialized rows whose columns equal `equals` (the ID number is indexed: duplicates are
    found through it)."""
    with store.reading() as conn:
        return [dict(r._mapping) for r in conn.execute(_matching(table, tuple(sorted(equals))), equals)]


@functools.lru_cache(maxsize=None)
def _matching(table: str, columns: tuple[str, ...]) -> Any:
    """SELECT of `table`'s rows whose `columns` equal bound values, built once: building and keying a
    fresh statement per save costs more than SQLite takes to run it."""
    tbl: Any = schema.TABLES[table].__table__  # type: ignore[attr-defined]
    return select(tbl).where(*(tbl.c[c] == bindparam(c) for c in columns))


def _existing(store: Store, table: str, row: bytes | str, field: str) -> Row:
    key = bytes.fromhex(row) if isinstance(row, str) else row
    found = get(store, table, key)
    if found is None:
        raise InvalidValue(field, f"本机没有这条记录 / no such {table} record here: {key.hex()}")
    return found


def _scope(store: Store, scope: str | None, level: str | None = None) -> str:
    where = scope or store.home
    try:
        at = scopes.level(scopes.check_code(where))
    except Malformed as exc:
        raise InvalidValue("scope", f"地点应为12位区划代码 / place must be a 12-digit division code: {exc}") from None
    if not scopes.contains(store.home, where):
        raise InvalidValue("scope", f"本机只能登记{store.home}辖区内的记录 / this node writes only inside "
                           f"{store.home}, not {where}")
    if level is not None and at != level:
        raise InvalidValue("scope", f"此类记录应属于村(社区),{where}是{at} / this record belongs to a "
                           f"village, and {where} is a {at}")
    return where


def _write(store: Store, table: str, row: bytes, values: Mapping[str, Value], scope: str,
           sets: Mapping[str, list[str]] | None = None, removes: Mapping[str, list[str]] | None = None) -> None:
    """One save is one transaction: plain values, then one add (or remove) change per set element."""
    pairs: list[tuple[str, Value]] = list(values.items())
    pairs += [(field, add_op(elem)) for field, elems in (sets or {}).items() for elem in elems]
    if removes:
        state = store.row_state(table, row)
        for field, elems in removes.items():
            held = state.fields.get(field) if state else None
            for elem in elems:
                if held is None or not held.tags_of(elem):
                    raise InvalidValue(field, f"没有“{elem}”这一项 / {elem!r} is not in {field}")
                pairs.append((field, remove_op(held, elem)))
    if pairs:
        store.write(table, row, pairs, scope=scope)


def _refuse(store: Store, rule: Rule, table: str, row: bytes, values: Mapping[str, Any], field: str) -> None:
    """Refuse a write the rule would queue as a conflict: on one machine it is simply a mistake."""
    with store.reading() as conn:
        found = rule.check(table, row, values, SqlRowView(conn))
    if found:
        raise InvalidValue(field, found[0].detail)


def _advance(store: Store, wf: Workflow, reasons: Mapping[str, tuple[str, bool]], table: str, row: bytes,
             event: str, on: date | None, reason: str | None, extra: Mapping[str, Value] | None = None) -> str:
    cur = _existing(store, table, row, "row")
    nxt = wf.next(cur.get("stage"), event)
    day = on or date.today()
    wf.check_date(cur, event, day.isoformat())
    values: dict[str, Value] = {"stage": nxt, wf.dates[event]: day.isoformat(), **(extra or {})}
    field, needed = reasons.get(event, ("", False))
    text = (reason or "").strip()
    if needed and not text:
        raise InvalidValue("reason", f"“{event}”必须填写原因 / {event} needs a reason")
    if text and not field:
        raise InvalidValue("reason", f"“{event}”不填写原因 / {event} takes no reason")
    if text:
        values[field] = text
    _write(store, table, row, values, cur["scope"])
    return nxt


@action
def add_tag(store: Store, table: str, row: bytes, field: str, elem: str) -> None:
    cur = _existing(store, table, row, "row")
    _write(store, table, row, {field: add_op(elem.strip())}, cur["scope"])


@action
def remove_tag(store: Store, table: str, row: bytes, field: str, elem: str) -> None:
    """Remove what this machine has seen of `elem`; an add made meanwhile elsewhere survives."""
    cur = _existing(store, table, row, "row")
    state = store.row_state(table, row)
    held = state.fields.get(field) if state else None
    if held is None or not held.tags_of(elem):
        raise InvalidValue(field, f"没有“{elem}”这一项 / {elem!r} is not in {field}")
    _write(store, table, row, {field: remove_op(held, elem)}, cur["scope"])


# -- people ----------------------------------------------------------------------------------------


@action
def register_person(store: Store, fields: Mapping[str, Any], *, scope: str | None = None,
                    today: date | None = None) -> bytes:
    """A new card in a village, under a fresh placed row id; an ID number an active card here already
    holds is refused (the county resolves what two machines register offline)."""
    values, skills, certificates = card.clean_person(fields, today=today or date.today())
    where = _scope(store, scope, "village")
    row = schema.new_row_id(where)
    if any(rules.active_card(c) for c in find(store, "person", id_number=values["id_number"])):
        raise InvalidValue("id_number", "此身份证号已登记,请修改原卡 / this ID number is already registered: "
                           "edit its card")
    _write(store, "person", row, values, where, {"skills": skills, "certificates": certificates})
    return row


@action
def edit_person(store: Store, row: bytes, fields: Mapping[str, Any], *, today: date | None = None,
                removes: Mapping[str, list[str]] | None = None) -> None:
    """Change fields of a card (a corrected ID number keeps the card's row id); `removes` takes
    skills or certificates off in the same transaction."""
    cur = _existing(store, "person", row, "row")
    if cur.get("closed_on"):
        raise InvalidValue("row", f"此卡已于{cur['closed_on']}关闭({cur.get('closed_reason')}),请修改新卡 "
                           f"{cur.get('successor') or ''} / this card was closed on {cur['closed_on']}: edit "
                           "the card it moved to")
    values, skills, certificates = card.clean_person(fields, today=today or date.today(), creating=False,
                                                     current=cur)
    if "id_number" in values:
        _refuse(store, rules.DuplicateId(), "person", row, {**cur, **values, "needs_correction": None}, "id_number")
        if cur.get("needs_correction") and values["id_number"] != cur.get("id_number"):
            values["needs_correction"] = False  # corrected, as the county asked
    _write(store, "person", row, values, cur["scope"], {"skills": skills, "certificates": certificates}, removes)


def add_skill(store: Store, row: bytes, skill: str) -> None:
    add_tag(store, "person", row, "skills", skill)


def remove_skill(store: Store, row: bytes, skill: str) -> None:
    remove_tag(store, "person", row, "skills", skill)


# -- brokers ---------------------------------------------------------------------------------------


@action
def broker_apply(store: Store, fields: Mapping[str, Any], *, scope: str | None = None,
                 today: date | None = None, already_filed: bool = False) -> bytes:
    """An application (or, `already_filed`, a broker filed before 2023-12-31) in a village."""
    values = brk.clean_application(fields, today=today or date.today(), already_filed=already_filed)
    where = _scope(store, scope, "village")
    values["stage"] = brk.FILING.next(None, "enter_filed" if already_filed else "apply")
    row = schema.new_row_id(where)
    _refuse(store, rules.BrokerTwice(), "broker", row, {**values, "scope": where}, "id_number")
    _write(store, "broker", row, values, where)
    return row


@action
def edit_broker(store: Store, row: bytes, fields: Mapping[str, Any]) -> None:
    """Contact details of a broker; identity and stage change only through the filing workflow."""
    cur = _existing(store, "broker", row, "row")
    f = Form(fields, creating=False)
    f.text("name", max_len=30)
    f.mobile("phone")
    f.choice("background", brk.BACKGROUND)
    f.row("person")
    _write(store, "broker", row, f.done(), cur["scope"])


@action
def broker_advance(store: Store, row: bytes, event: str, *, on: date | None = None, reason: str | None = None,
                   certificate_no: str | None = None) -> str:
    """One step of the filing workflow (`broker.FILING`); the new stage."""
    extra: dict[str, Value] = {}
    if event == "certify":
        if not (certificate_no or "").strip():
            raise InvalidValue("certificate_no", "须填写电子合格证编号 / the e-certificate number is required")
        extra["certificate_no"] = (certificate_no or "").strip()
    return _advance(store, brk.FILING, brk.REASONS, "broker", row, event, on, reason, extra)


@action
def broker_review(store: Store, row: bytes, year: int, transfers: int, *, on: date | None = None) -> str:
    """Record a year's successful transfers; judge the two-year rule, revoking the filing if it fails."""
    cur = _existing(store, "broker", row, "broker")
    if cur.get("stage") != "filed":
        raise InvalidValue("broker", "只复核已备案的经纪人 / only filed brokers are reviewed")
    count = validate.in_range("transfers", transfers, 0, 100_000)
    with store.reading() as conn:
        view = SqlRowView(conn)
        counts: dict[int, int] = {}
        for _, v in view.find("broker_review", broker=row.hex()):
            y, n = v.get("year"), v.get("transfers")
            if isinstance(y, int) and isinstance(n, int):
                counts[y] = n
    counts[year] = count
    filed = cur.get("filed_on")
    verdict = brk.review_verdict(counts, year, date.fromisoformat(filed) if filed else None)
    day = on or date.today()
    _write(store, "broker_review", brk.review_row_id(cur["scope"], row, year),
           {"broker": row.hex(), "year": year, "transfers": count, "outcome": verdict,
            "reviewed_on": day.isoformat()}, cur["scope"])
    if verdict == brk.CANCEL:
        broker_advance(store, row, "revoke", on=day, reason=brk.REVIEW_REASON)
    return verdict


# -- employers and jobs ----------------------------------------------------------------------------


@action
def register_employer(store: Store, fields: Mapping[str, Any], *, scope: str | None = None) -> bytes:
    values = emp.clean_employer(fields)
    where = _scope(store, scope)
    row = emp.employer_row_id(where, str(values["uscc"]))
    if get(store, "employer", row) is not None:
        raise InvalidValue("uscc", "此单位已登记 / this employer is already registered")
    _write(store, "employer", row, values, where)
    return row


@action
def post_job(store: Store, fields: Mapping[str, Any], *, scope: str | None = None,
             today: date | None = None) -> bytes:
    """A posting in `scope`: the county's own scope reaches every village of the county."""
    values = emp.clean_posting(fields, today=today or date.today())
    _existing(store, "employer", str(values["employer"]), "employer")
    where = _scope(store, scope)
    row = schema.new_row_id(where)
    _write(store, "job_posting", row, values, where)
    return row


@action
def edit_job(store: Store, row: bytes, fields: Mapping[str, Any], *, today: date | None = None) -> None:
    cur = _existing(store, "job_posting", row, "row")
    values = emp.clean_posting(fields, today=today or date.today(), creating=False, current=cur)
    _write(store, "job_posting", row, values, cur["scope"])


# -- placements and follow-up ----------------------------------------------------------------------


@action
def add_placement(store: Store, fields: Mapping[str, Any], *, event: str = "plan", on: date | None = None) -> bytes:
    """A placement of a person on this node, by a filed broker; `event` is plan, sign or start."""
    values = plc.clean_placement(fields)
    person = _existing(store, "person", str(values["person"]), "person")
    if values.get("broker"):
        b = _existing(store, "broker", str(values["broker"]), "broker")
        if b.get("stage") != "filed":
            raise InvalidValue("broker", f"经纪人尚未备案(当前:{brk.FILING.labels.get(b.get('stage') or '', '?')}) / "
                               f"the broker is not filed (stage {b.get('stage')})")
    if values.get("employer"):
        _existing(store, "employer", str(values["employer"]), "employer")
    values["stage"] = plc.STAGES.next(None, event)
    values[plc.STAGES.dates[event]] = (on or date.today()).isoformat()
    row = schema.new_row_id(person["scope"])
    _refuse(store, rules.PlacementOverlap(), "placement", row, values, "start_date")
    _write(store, "placement", row, values, person["scope"])
    return row


@action
def placement_advance(store: Store, row: bytes, event: str, *, on: date | None = None,
                      reason: str | None = None) -> str:
    if event == "confirm_stable":
        plc.check_stable(_existing(store, "placement", row, "row"), on or date.today())
    return _advance(store, plc.STAGES, plc.REASONS, "placement", row, event, on, reason)


@action
def add_followup(store: Store, fields: Mapping[str, Any], *, today: date | None = None) -> bytes:
    values, issues = plc.clean_followup(fields, today=today or date.today())
    p = _existing(store, "placement", str(values["placement"]), "placement")
    values["person"] = p["person"]
    row = schema.new_row_id(p["scope"])
    _write(store, "follow_up", row, values, p["scope"], {"issues": issues})
    return row


# -- training, returns, stations, orders, villages -------------------------------------------------


def _for_person(store: Store, table: str, values: dict[str, Value], sets: Mapping[str, list[str]] | None = None) -> bytes:
    person = _existing(store, "person", str(values["person"]), "person")
    row = schema.new_row_id(person["scope"])
    _write(store, table, row, values, person["scope"], sets)
    return row


@action
def add_training_need(store: Store, fields: Mapping[str, Any], *, today: date | None = None) -> bytes:
    return _for_person(store, "training_need", trn.clean_need(fields, today=today or date.today()))


@action
def add_training(store: Store, fields: Mapping[str, Any], *, today: date | None = None) -> bytes:
    return _for_person(store, "training_record", trn.clean_record(fields, today=today or date.today()))


@action
def add_return(store: Store, fields: Mapping[str, Any], *, today: date | None = None) -> bytes:
    values, needs = ret.clean_return(fields, today=today or date.today())
    return _for_person(store, "return_registration", values, {"needs": needs})


@action
def set_station(store: Store, fields: Mapping[str, Any], *, scope: str | None = None) -> bytes:
    """Create or update the village's station (one per village)."""
    where = _scope(store, scope, "village")
    row = stn.station_row_id(where)
    values, staff = stn.clean_station(fields, creating=get(store, "service_station", row) is None)
    _write(store, "service_station", row, values, where, {"staff": staff})
    return row


@action
def log_service(store: Store, fields: Mapping[str, Any], *, today: date | None = None) -> bytes:
    values = stn.clean_log(fields, today=today or date.today())
    s = _existing(store, "service_station", str(values["station"]), "station")
    if values.get("person"):
        _existing(store, "person", str(values["person"]), "person")
    row = schema.new_row_id(s["scope"])
    _write(store, "service_log", row, values, s["scope"])
    return row


@action
def post_order(store: Store, fields: Mapping[str, Any], *, scope: str, today: date | None = None) -> bytes:
    """A service order for one village (a county-wide drive posts one per village)."""
    day = today or date.today()
    values = odr.clean_order(fields, today=day)
    values.update(stage=odr.STAGES.next(None, "post"), posted_on=day.isoformat())
    where = _scope(store, scope, "village")
    row = schema.new_row_id(where)
    _write(store, "service_order", row, values, where)
    return row


@action
def order_advance(store: Store, row: bytes, event: str, *, on: date | None = None, broker: bytes | None = None,
                  completed_items: int | None = None, reason: str | None = None) -> str:
    cur = _existing(store, "service_order", row, "row")
    extra: dict[str, Value] = {}
    if event == "accept":
        if broker is None:
            raise InvalidValue("broker", "接单须指明经纪人 / accepting needs the broker")
        if _existing(store, "broker", broker, "broker").get("stage") != "filed":
            raise InvalidValue("broker", "只有已备案的经纪人可以接单 / only a filed broker accepts orders")
        extra["broker"] = broker.hex()
    if event == "complete":
        if completed_items is None:
            raise InvalidValue("completed_items", "须填写完成数量 / the number of items done is required")
        extra["completed_items"] = validate.in_range("completed_items", completed_items, 0, int(cur["items"]))
    return _advance(store, odr.STAGES, odr.REASONS, "service_order", row, event, on, reason, extra)


@action
def set_village_profile(store: Store, fields: Mapping[str, Any], *, scope: str | None = None,
                        today: date | None = None) -> bytes:
    where = _scope(store, scope, "village")
    row = vil.profile_row_id(where)
    values = vil.clean_profile(fields, today=today or date.today(), creating=get(store, "village_profile", row) is None)
    _write(store, "village_profile", row, values, where)
    return row
