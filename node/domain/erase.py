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

**A person is every card they ever had** (`person_rows`): a transfer, or a duplicate settled as
transfer or merge, leaves the old card closed with `successor` → the kept card, and copies the history
next to the kept card (`origin`); a village asked for the move with a transfer request, which may name
the person by ID number. Erasing the person follows the successor chain both ways from any of its
cards and takes every card, every record naming one of them (history and its copies, the requests
naming a card) and the transfer requests carrying the ID number. The rows lie in several places, so
the erasure signs one record per place (`node.engine.redact.erase`), each travelling in its place's
feed. A village asking holds only its own card: the county that approves follows the chain from the
rows the request names.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import BindParameter, Select, bindparam, or_, select

from node.engine import tables as t
from node.engine import schema
from node.engine.redact import Erasure, RowKey, erase, written
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
    gone = {key for key in rows if getattr(store.row_state(*key), "deleted", False)}  # erased before
    with store.transaction() as conn:
        for table, row in rows:  # a township holds the cards of its villages: each deleted in its place
            if (table, row) not in gone:
                store._write(conn, table, row, [("*", "delete")], schema.row_place(row) or place)
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
    # The village named the rows it holds; the person's other cards (a transfer) are held here.
    rows = list(dict.fromkeys(found[0].rows + [r for tb, row in found[0].rows if tb == "person"
                                               for r in person_rows(store, row)]))
    return erase(store, rows, f"村申请 village request {req_row.hex()[:12]}: {found[0].reason}", actor=actor)


def erase_person(store: Store, person: bytes, reason: str, *, actor: str = "county") -> Erasure:
    """The county acting directly: the card and every record naming it."""
    return erase(store, person_rows(store, person), reason, actor=actor)


def person_rows(store: Store, row: bytes) -> list[RowKey]:
    """Every card of the person holding card `row` (`cards`) and every record that names one of them
    (placements, follow-ups, training, returns, their copies, transfer requests), and the transfer
    requests that name the person by ID number."""
    cards, numbers = cards_of(store, row)
    hexes = sorted(c.hex() for c in cards)
    out: list[RowKey] = [("person", c) for c in sorted(cards)]
    with store.engine.connect() as conn:
        for name, cls in sorted(schema.TABLES.items()):
            tbl = cls.__table__  # type: ignore[attr-defined]
            if name != "person" and "person" in tbl.c:
                out += [(name, bytes.fromhex(r.id)) for r in conn.execute(select(tbl.c.id).where(tbl.c.person.in_(hexes)))]
        req = schema.TABLES["transfer_request"].__table__  # type: ignore[attr-defined]
        asked = select(req.c.id).where(or_(req.c.new_card.in_(hexes), req.c.id_number.in_(sorted(numbers))))
        out += [("transfer_request", bytes.fromhex(r.id)) for r in conn.execute(asked)]
    return list(dict.fromkeys(out))


def cards_of(store: Store, row: bytes) -> tuple[set[bytes], set[str]]:
    """The cards of one person, and the ID numbers they held: the successor chain both ways from `row`.

    A held card gives its links from its row (`successor`, and the cards whose `successor` it is); a
    card already deleted here (its village asked for the erasure) keeps no value in the merge state,
    so its successor and ID number are read from the bodies that wrote them, which the erasure is about
    to redact."""
    cards: set[bytes] = set()
    seen: set[bytes] = set()
    numbers: set[str] = set()
    todo = {row}
    with store.engine.connect() as conn:
        while todo:
            cards |= todo
            seen |= todo
            hexes = sorted(c.hex() for c in todo)
            found: set[str] = set()
            held = set()
            for r in conn.execute(links(), {"cards": hexes}):
                found |= {r.id, r.successor or ""}
                held.add(r.id)
                if r.id in hexes and r.id_number:
                    numbers.add(r.id_number)
            for card in sorted(c for c in todo if c.hex() not in held):
                if not store._load_rows(conn, [("person", card)]):
                    cards.discard(card)  # a card of another place, or one whose creation never came
                    continue
                for name, value in written(conn, ("person", card), ("successor", "id_number")):
                    if name == "successor":
                        found.add(str(value))
                    else:
                        numbers.add(str(value))
            todo = {c for c in map(_row, found) if c is not None} - seen
    return cards, numbers


@functools.cache
def links() -> Select[Any]:
    """One step of a successor chain both ways: the cards `:cards` (hex ids), and the cards whose
    `successor` is one of them (the way back, served by `ix_person_successor`)."""
    person = schema.TABLES["person"].__table__  # type: ignore[attr-defined]
    cards: BindParameter[list[str]] = bindparam("cards", expanding=True)
    return select(person.c.id, person.c.successor, person.c.id_number).where(
        or_(person.c.id.in_(cards), person.c.successor.in_(cards)))


def _row(hexed: str) -> bytes | None:
    try:
        row = bytes.fromhex(hexed)
    except ValueError:
        return None
    return row if len(row) == 16 else None


def _erased_rows(store: Store) -> set[RowKey]:
    with store.engine.connect() as conn:
        return {row for r in conn.execute(select(t.redactions.c.raw)) for row in rd.decode(r.raw).rows}


def describe(req: Request) -> dict[str, object]:
    """A request as the CLIs print it: ids and reason, never a personal value."""
    return {"request": req.row.hex(), "place": req.place, "rows": [f"{tb}/{row.hex()}" for tb, row in req.rows],
            "reason": req.reason, "done": req.done}

