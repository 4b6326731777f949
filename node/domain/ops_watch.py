"""The local write API of schema 2's records: brokers' training days, the monthly monitoring of
脱贫人口 and wage-arrears leads. Same shape as `ops.py`: check with the module's `clean_*`, then
write in the scope of the record it hangs on (the broker's or the person's village)."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from node.domain import arrears as arr
from node.domain import broker_login as blg
from node.domain import broker_training as btr
from node.domain import monitoring as mon
from node.domain.ops import _existing, _scope, _write, action, get
from node.engine.schema import new_row_id
from node.engine.store import Store
from protocol.errors import InvalidValue


@action
def add_broker_training(store: Store, fields: Mapping[str, Any], *, today: date | None = None) -> bytes:
    values = btr.clean_training(fields, today=today or date.today())
    broker = _existing(store, "broker", str(values["broker"]), "broker")
    row = new_row_id(broker["scope"])
    _write(store, "broker_training", row, values, broker["scope"])
    return row


@action
def record_login(store: Store, broker: str, day: date) -> bytes | None:
    """The broker's login-day, written in the broker's village (once a day: None when already there)."""
    found = _existing(store, "broker", broker, "broker")
    row = blg.login_row_id(found["scope"], broker, day)
    if get(store, "broker_login", row) is not None:
        return None
    _write(store, "broker_login", row, {"broker": broker, "day": day.isoformat()}, found["scope"])
    return row


@action
def record_check(store: Store, fields: Mapping[str, Any], *, today: date | None = None) -> bytes:
    """The month's status of one 脱贫人口 (one row per person and month: a second check overwrites)."""
    values = mon.clean_check(fields, today=today or date.today())
    person = _existing(store, "person", str(values["person"]), "person")
    if person.get("poverty_status") not in mon.WATCHED:
        raise InvalidValue("person", f"{person.get('name')}不是脱贫人口或监测对象,无需按月监测 / not a "
                           "poverty-alleviated person or monitored household: no monthly check is kept")
    row = mon.check_row_id(person["scope"], str(values["person"]), str(values["month"]))
    _write(store, "employment_check", row, values, person["scope"])
    return row


@action
def add_arrears_lead(store: Store, fields: Mapping[str, Any], *, scope: str | None = None,
                     today: date | None = None) -> bytes:
    values = arr.clean_lead(fields, today=today or date.today())
    where = _scope(store, scope)
    if values.get("person"):
        where = _existing(store, "person", str(values["person"]), "person")["scope"]
    row = new_row_id(where)
    _write(store, "wage_arrears", row, values, where)
    return row


@action
def update_arrears_lead(store: Store, row: bytes, fields: Mapping[str, Any], *, today: date | None = None) -> None:
    cur = _existing(store, "wage_arrears", row, "row")
    values = arr.clean_lead({**fields}, today=today or date.today(), creating=False)
    if values.get("status") == "已解决" and "resolved_on" not in values:
        values["resolved_on"] = (today or date.today()).isoformat()
    _write(store, "wage_arrears", row, values, cur["scope"])
