"""Who erases a person, and how a village asks (docs/erasure.md).

Erasure (PIPL) is the county's act: it signs the redaction record, and redacting rewrites what a
village key signed, which is evidence in subsidy audits. So a village does not erase; it **asks**:
`request` deletes the card and every record naming it at once (the values leave the village's own
tables and merge state that moment) and writes a request into the village's feed, which reaches the
county at the next sync like any changeset. County staff see it in `pending` and approve it with
`approve`, which erases exactly the rows the request names (`node.engine.redact.erase`). The county may
also act directly, without a request (`erase_person`).

A request is a replicated row in `lw_erase_request` (kept in the merge state; no personal value in
it: row ids, the reason, who asked). It is done when redaction records held here cover its rows.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from node.engine import tables as t
from node.engine import schema
from node.engine.redact import Erasure, RowKey, erase
from protocol import redaction as rd
from protocol.errors import ConfigError

if TYPE_CHECKING:
    from node.engine.store import Store

TABLE = "lw_erase_request"


@dataclass(frozen=True)
class Request:
    row: bytes  # the request's own row id
    place: str
    rows: list[RowKey]
    reason: str
    done: bool


def request(store: Store, person: bytes, reason: str, *, actor: str = "") -> Request:
    """At the village: delete the card and what names it, and ask the county to erase them everywhere."""
    if not reason.strip():
        raise ConfigError("请写明删除原因 / give the reason for the erasure")
    rows = person_rows(store, person)
    state = store.row_state("person", person)
    if state is None or "scope" not in state.fields:
        raise ConfigError("找不到这张卡片，或已删除 / no such card here, or it was already deleted")
    place = str(store.registry.policy("person", "scope").value(state.fields["scope"]))
    req = schema.new_row_id(place)
    with store.transaction() as conn:
        for table, row in rows:
            store._write(conn, table, row, [("*", "delete")], place)
        store._write(conn, TABLE, req, [("scope", place), ("rows", [[tb, row.hex()] for tb, row in rows]),
                                        ("reason", reason), ("actor", actor[:64])], place)
        conn.execute(t.audit.insert(), {"at": store.hlc.physical(), "actor": actor[:64] or "village",
                                        "action": "erase-request", "tbl": "person", "row": person.hex(),
                                        "detail": reason})
    return Request(req, place, rows, reason, False)


def pending(store: Store, *, include_done: bool = False) -> list[Request]:
    """The erasure requests held here (for county staff), oldest first by row id."""
    erased = _erased_rows(store)
    out = []
    for (_, row), values in sorted(store.values(TABLE).items()):
        named = values.get("rows") if values else None
        if not values or not isinstance(named, list):
            continue
        try:
            rows = [(str(tb), bytes.fromhex(str(hx))) for tb, hx in named]
        except (TypeError, ValueError):
            continue  # a malformed request is shown nowhere rather than crash the list
        done = all(r in erased for r in rows)
        if include_done or not done:
            out.append(Request(row, str(values.get("scope", "")), rows, str(values.get("reason", "")), done))
    return out


def approve(store: Store, req_row: bytes, *, actor: str = "county") -> Erasure:
    """County staff approve a village's request: erase exactly the rows it names."""
    found = [r for r in pending(store, include_done=True) if r.row == req_row]
    if not found:
        raise ConfigError(f"没有这个删除申请 / no erasure request {req_row.hex()} here: sync with the village first")
    if found[0].done:
        raise ConfigError("这个申请已经处理 / this request was already carried out")
    return erase(store, found[0].rows, f"村申请 village request {req_row.hex()[:12]}: {found[0].reason}", actor=actor)


def erase_person(store: Store, person: bytes, reason: str, *, actor: str = "county") -> Erasure:
    """The county acting directly: the card and every record naming it."""
    return erase(store, person_rows(store, person), reason, actor=actor)


def person_rows(store: Store, row: bytes) -> list[RowKey]:
    """A person's card and every record that names it (placements, follow-ups, training, returns...)."""
    out: list[RowKey] = [("person", row)]
    with store.engine.connect() as conn:
        for name, cls in sorted(schema.TABLES.items()):
            tbl = cls.__table__  # type: ignore[attr-defined]
            if name != "person" and "person" in tbl.c:
                out += [(name, bytes.fromhex(r.id)) for r in conn.execute(select(tbl.c.id).where(tbl.c.person == row.hex()))]
    return out


def _erased_rows(store: Store) -> set[RowKey]:
    with store.engine.connect() as conn:
        return {row for r in conn.execute(select(t.redactions.c.raw)) for row in rd.decode(r.raw).rows}


def describe(req: Request) -> dict[str, object]:
    """A request as the CLIs print it: ids and reason, never a personal value."""
    return {"request": req.row.hex(), "place": req.place, "rows": [f"{tb}/{row.hex()}" for tb, row in req.rows],
            "reason": req.reason, "done": req.done}

