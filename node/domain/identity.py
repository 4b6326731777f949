"""One card per person across villages: transfers and the county's resolutions (docs/identity.md).

Every write here is an ordinary signed change, written in the place of the record it changes
(`node.engine.ownership`), so it converges on every replica like any other:

* **transfer** (`transfer`): a new card in the new village with the old card's current values, the
  history filings need copied next to it (placements, follow-ups, training, returns: new rows with
  `origin` = the original's id), and the old card closed (`closed_reason` 迁出, `closed_on`,
  `successor`). Only a key whose certificate covers both villages may do it (a township or the county);
  a village asks for one with a transfer request (`request_transfer`) that the county approves.
* **duplicate-id** resolutions (`resolve`): `transfer` keeps one card and closes the other as 重复,
  linking its history; `merge` first fills the kept card's empty fields and sets from the other, then
  closes it as 合并; `different-people` flags the card holding someone else's ID number
  (`needs_correction`) for its village to correct. Closed and flagged cards conflict with nothing, so the
  conflict closes itself on every replica once the resolution arrives (`Store` re-runs the rules).
* **edits that crossed a transfer.** The old village may edit the card offline while the county moves
  it. Those edits are not lost: they land on the old (closed) card, and the closing carries `copied`, a
  digest of what was handed over; a card whose values no longer match it is queued as `transfer-edit`
  (`rules.TransferEdit`) on every replica holding it, and the county settles it with `follow`
  (copy the named fields again into the new card) or `keep` (the new card's values stand).
  The digest leaves out the ID number, and is salted with the new card's id: it is never shown.

Each transfer and each resolution is one `ops.action`: the new card, every history copy and the
closing of the old card (or the fill, the history and the closing of a merge) are one transaction. A
failure half-way (a full disk, a refusal) leaves nothing of it, never a new card beside an old one
still open; and the caller seals it into one changeset per place with the rest of the open work.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from conflict.row import row_values
from node.engine import schema
from node.domain import rules
from node.domain.ops import Row, _existing, _scope, _write, action, find
from node.domain.person import DUPLICATE, MERGED, TRANSFERRED, copied_fields, digest
from node.engine.store import Store
from protocol import scope as scopes
from protocol.changeset import Value
from protocol.errors import InvalidValue

SETS = ("skills", "certificates")
# History a transfer copies, and the columns of each that point at other rows of the person's history.
HISTORY = {"placement": (), "follow_up": ("placement",), "training_need": (), "training_record": (),
           "return_registration": ()}
DECISIONS = ("transfer", "merge", "different-people")


def merged(store: Store, table: str, row: bytes) -> dict[str, Value]:
    """A row's merged values: what the rules see (materialized columns may drop unfit values)."""
    state = store.row_state(table, row)
    return {} if state is None or state.deleted else row_values(state, table, store.registry)


def _missing(src: Mapping[str, Value], dst: Mapping[str, Value], field: str) -> list[str]:
    """Elements of set `field` that `src` holds and `dst` does not."""
    have, want = dst.get(field), src.get(field)
    held = {str(e) for e in have} if isinstance(have, list) else set()
    return [str(e) for e in want if str(e) not in held] if isinstance(want, list) else []


def _check_covers(store: Store, *places: str) -> None:
    mine = store.trust.certs.get(store.author)
    for place in places:
        if not scopes.contains(store.home, place) or (mine is not None and not mine.may_write(place)):
            raise InvalidValue("scope", f"本机({store.home})无权修改{place}的记录,请由乡镇或县级办理 / this node "
                               f"({store.home}) may not write records of {place}: a township or the county does it")


def _open_card(store: Store, card: bytes) -> Row:
    cur = _existing(store, "person", card, "person")
    if cur.get("closed_on"):
        raise InvalidValue("person", f"此卡已于{cur['closed_on']}关闭({cur.get('closed_reason')}),去向 "
                           f"{cur.get('successor') or '-'} / this card was closed on {cur['closed_on']}")
    return cur


def _copy_card(store: Store, values: Mapping[str, Any], to: str) -> bytes:
    new = schema.new_row_id(to)
    plain = {k: v for k, v in copied_fields(values).items() if k not in SETS and v is not None}
    sets = {k: list(values.get(k) or []) for k in SETS}
    _write(store, "person", new, plain, to, sets)
    return new


@action
def copy_history(store: Store, old: bytes, new: bytes, to: str) -> int:
    """Copy the person's history rows next to the new card; each copy's `origin` names its original.
    A copy of a copy keeps the first original, so filings never count a row twice."""
    n = 0
    renamed: dict[str, str] = {}
    for table, links in HISTORY.items():
        for rec in find(store, table, person=old.hex()):
            values = merged(store, table, bytes.fromhex(rec["id"]))
            if not values:
                continue
            row = schema.new_row_id(to)
            renamed[rec["id"]] = row.hex()
            copy: dict[str, Value] = {k: v for k, v in values.items() if k != "scope"}
            copy.update(person=new.hex(), origin=values.get("origin") or rec["id"])
            for link in links:
                if isinstance(copy.get(link), str):
                    copy[link] = renamed.get(str(copy[link]), copy[link])
            sets = {k: v for k, v in copy.items() if isinstance(v, list)}
            plain = {k: v for k, v in copy.items() if k not in sets and v is not None}
            _write(store, table, row, plain, to, {k: [str(e) for e in v] for k, v in sets.items()})
            n += 1
    return n


def _close(store: Store, card: bytes, cur: Row, reason: str, successor: bytes, on: date,
           extra: Mapping[str, Value] | None = None) -> None:
    _write(store, "person", card, {"closed_on": on.isoformat(), "closed_reason": reason,
                                   "successor": successor.hex(), **(extra or {})}, cur["scope"])


@action
def transfer(store: Store, card: bytes, to_place: str, *, on: date | None = None) -> bytes:
    """Move a person to village `to_place`: the new card's id. Needs a key covering both villages."""
    cur = _open_card(store, card)
    to = _scope(store, to_place, "village")
    if to == cur["scope"]:
        raise InvalidValue("to", f"此人已在{to} / this person is already registered in {to}")
    _check_covers(store, cur["scope"], to)
    values = merged(store, "person", card)
    new = _copy_card(store, values, to)
    copy_history(store, card, new, to)
    _close(store, card, cur, TRANSFERRED, new, on or date.today(), {"copied": digest(values, new.hex())})
    return new


# -- the county's resolutions ---------------------------------------------------------------------


@action
def resolve_duplicate(store: Store, keep: bytes, other: bytes, decision: str, *, on: date | None = None) -> None:
    """Settle a duplicate-id conflict between cards `keep` and `other` (see the module docstring);
    for `different-people`, `other` is the card whose ID number is wrong."""
    if decision not in DECISIONS:
        raise InvalidValue("decision", f"处理方式应为 {'/'.join(DECISIONS)} / the decision is one of {', '.join(DECISIONS)}")
    a, b = _open_card(store, keep), _open_card(store, other)
    if a.get("id_number") != b.get("id_number"):
        raise InvalidValue("person", "两张卡的身份证号不同,不是重复卡 / the two cards hold different ID numbers")
    _check_covers(store, a["scope"], b["scope"])
    day = on or date.today()
    if decision == "different-people":
        _write(store, "person", other, {"needs_correction": True}, b["scope"])
        return
    if decision == "merge":
        kept, gone = merged(store, "person", keep), merged(store, "person", other)
        fill = {k: v for k, v in copied_fields(gone).items()
                if k not in SETS and v is not None and kept.get(k) is None}
        sets = {k: _missing(gone, kept, k) for k in SETS}
        _write(store, "person", keep, fill, a["scope"], sets)
    if a["scope"] != b["scope"]:
        copy_history(store, other, keep, a["scope"])
    _close(store, other, b, MERGED if decision == "merge" else DUPLICATE, keep, day)


RESOLUTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    # conflict kind → (decision, what an operator reads) offered for it; other kinds are settled on their records
    "duplicate-id": (("transfer", "迁移:保留选中的卡,另一张作为重复卡关闭,其记录归到保留的卡"),
                     ("merge", "合并:另一张卡的内容补进选中的卡,然后关闭另一张"),
                     ("different-people", "不是同一人:另一张卡的身份证号有误,标记为待更正,由其所在村改正")),
    "transfer-edit": (("follow", "采用迁出村后来的修改(复制到新卡)"), ("keep", "保留新卡现有内容")),
}


@action
def settle(store: Store, kind: str, rows: list[bytes], decision: str, keep: bytes | None = None,
           *, on: date | None = None) -> dict[str, Any]:
    """Apply the county's decision on a conflict of `kind` between `rows` (the conflict's cards); what was
    done. The caller seals the changes (one signed changeset for the decision)."""
    if kind not in RESOLUTIONS:
        raise InvalidValue("decision", f"{kind} 类冲突请在相关记录上处理 / resolve a {kind} on its records")
    if decision not in dict(RESOLUTIONS[kind]):
        raise InvalidValue("decision", f"处理方式应为 {'/'.join(dict(RESOLUTIONS[kind]))} / the decision is one of "
                           f"{', '.join(dict(RESOLUTIONS[kind]))}")
    if kind == "duplicate-id":
        kept = keep or rows[0]
        if kept not in rows:
            raise InvalidValue("keep", "保留的卡应为冲突中的一张 / keep names one of the conflict's cards")
        other = rows[1] if kept == rows[0] else rows[0]
        resolve_duplicate(store, kept, other, decision, on=on)
        return {"kept": kept.hex(), "other": other.hex()}
    # The card handed over to the other one: in a chain of transfers (A → B → C) the conflict of A's
    # edits names A and B, and both are closed as transferred; settling B would leave A's edits queued.
    hexes = {x.hex() for x in rows}
    old = next((x for x in rows if (v := merged(store, "person", x)).get("closed_reason") == TRANSFERRED
                and v.get("successor") in hexes - {x.hex()}), None)
    if old is None:
        raise InvalidValue("decision", "没有找到迁出的卡 / no transferred card in this conflict")
    fields = follow(store, old) if decision == "follow" else []
    if decision == "keep":
        keep_successor(store, old)
    return {"card": old.hex(), "copied fields": fields}


@action
def follow(store: Store, old: bytes, fields: Iterable[str] | None = None) -> list[str]:
    """Settle a transfer-edit: copy the old card's current values of `fields` (default: every field
    that differs) into its successor (the last card of the chain, if the person moved on since), and
    record the old card as handed over again."""
    cur = _existing(store, "person", old, "person")
    if cur.get("closed_reason") != TRANSFERRED or not cur.get("successor"):
        raise InvalidValue("person", "此卡不是迁出的卡 / this card was not transferred")
    new = bytes.fromhex(str(cur["successor"]))
    succ = _existing(store, "person", new, "person")
    seen = {old}
    while succ.get("closed_on") and succ.get("successor") and new not in seen:
        # The person moved on before the county decided (A → B → C): the edits go to the card they
        # hold now; written on B, closed, they would only queue B's own transfer-edit.
        seen.add(new)
        new = bytes.fromhex(str(succ["successor"]))
        succ = _existing(store, "person", new, "person")
    _check_covers(store, cur["scope"], succ["scope"])
    was, now = merged(store, "person", old), merged(store, "person", new)
    wanted = list(fields) if fields is not None else [
        k for k, v in copied_fields(was).items() if k != "id_number" and v is not None and v != now.get(k)]
    plain = {k: was[k] for k in wanted if k not in SETS and was.get(k) is not None}
    sets = {k: _missing(was, now, k) for k in wanted if k in SETS}
    if plain or any(sets.values()):
        _write(store, "person", new, plain, succ["scope"], sets)
    _write(store, "person", old, {"copied": digest(was, str(cur["successor"]))}, cur["scope"])
    return wanted


@action
def keep_successor(store: Store, old: bytes) -> None:
    """Settle a transfer-edit the other way: the new card's values stand as they are."""
    cur = _existing(store, "person", old, "person")
    succ = _existing(store, "person", bytes.fromhex(str(cur["successor"])), "person")
    _check_covers(store, cur["scope"], succ["scope"])
    _write(store, "person", old, {"copied": digest(merged(store, "person", old), str(cur["successor"]))},
           cur["scope"])


def duplicates_of(store: Store, card: bytes) -> list[Row]:
    """The other active cards holding this card's ID number (found through its index)."""
    cur = _existing(store, "person", card, "person")
    return [r for r in find(store, "person", id_number=cur["id_number"])
            if r["id"] != card.hex() and rules.active_card(r)]
