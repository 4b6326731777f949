"""`laowu-hub conflicts …` and `laowu-hub transfer …`: the county's side of one card per person.

    laowu-hub conflicts list --dir C [--all]                 the semantic-conflict queue (masked)
    laowu-hub conflicts show --dir C --key HEX               one conflict, both cards side by side (masked)
    laowu-hub conflicts resolve --dir C --key HEX --decision transfer|merge|different-people [--keep ROW]
    laowu-hub conflicts resolve --dir C --key HEX --decision follow|keep     (a transfer-edit)
    laowu-hub transfer list --dir C                          villages' transfer requests not yet decided
    laowu-hub transfer approve --dir C --request ROW         move the person, record the decision
    laowu-hub transfer refuse --dir C --request ROW --reason TEXT
    laowu-hub transfer move --dir C --person ROW --to VILLAGE   a county move without a request

The hub signs every decision with its own key, in the place of each record it changes, through its
store (`node.domain.identity`); it is in the log at once, served to the villages at their next pull
and relayed upstream with the next relay. Nothing here shows a whole ID number.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date
from typing import Any

import msgpack
from sqlalchemy import select

from node.engine import tables as t
from node.domain import identity, ops, transfers
from node.domain.privacy import mask_person
from node.engine.store import Store
from protocol import clock
from protocol.errors import ConfigError, InvalidValue

Open = Callable[[argparse.Namespace], Store]
SHOWN = ("id", "scope", "name", "id_number", "sex", "birth_date", "phone", "employment", "employer",
         "closed_on", "closed_reason", "successor", "needs_correction")


def row_id(text: str) -> bytes:
    """A row id as an operator types it (32 hex digits); the hub's one parser of them."""
    try:
        row = bytes.fromhex(text)
    except ValueError:
        row = b""
    if len(row) != 16:
        raise ConfigError(f"{text!r} 不是记录编号 / is not a row id (32 hex digits)")
    return row


def _conflict(store: Store, key: str) -> Any:
    try:
        raw = bytes.fromhex(key)
    except ValueError:
        raw = b""
    with store.engine.connect() as conn:
        found = [r for r in conn.execute(select(t.conflicts)) if r.key == raw or (len(key) >= 6 and r.key.hex().startswith(key))]
    if len(found) != 1:
        raise ConfigError(f"没有这条冲突 {key} / no such conflict here (see `laowu-hub conflicts list`)")
    return found[0]


def _card(store: Store, row: bytes) -> dict[str, Any]:
    found = ops.get(store, "person", row)
    if found is None:
        return {"id": row.hex(), "note": "本机没有此卡 / not held here"}
    return {k: v for k, v in mask_person(found).items() if k in SHOWN}


def _describe(r: Any) -> dict[str, Any]:
    return {"key": r.key.hex(), "kind": r.kind, "rows": [x.hex() for x in msgpack.unpackb(r.rows)], "detail": r.detail,
            "detected": clock.format_ms(r.detected), "resolved": clock.format_ms(r.resolved) if r.resolved else None,
            "resolution": r.resolution}


def cmd_conflicts(args: argparse.Namespace, open_store: Open) -> Any:
    store = open_store(args)
    if args.action == "list":
        with store.engine.connect() as conn:
            q = select(t.conflicts).order_by(t.conflicts.c.detected)
            if not args.all:
                q = q.where(t.conflicts.c.resolved.is_(None))
            return {"conflicts": [_describe(r) for r in conn.execute(q)]}
    if not args.key:
        raise ConfigError("请用 --key 指明冲突 / name the conflict with --key")
    r = _conflict(store, args.key)
    rows = list(msgpack.unpackb(r.rows))
    if args.action == "show":
        return {**_describe(r), "cards": [_card(store, x) for x in rows] if r.tbl == "person" else []}
    if r.resolved:
        raise ConfigError("此冲突已解决 / this conflict is already resolved")
    try:
        done = identity.settle(store, r.kind, rows, args.decision or "", row_id(args.keep) if args.keep else None,
                               on=date.today())
    except InvalidValue as exc:
        raise ConfigError(exc.message) from None
    decision = args.decision
    sealed = store.seal()
    return {"decision": decision, **done, "sealed": len(sealed),
            "next": "各村同步后生效,冲突随之在各副本关闭 / takes effect at each village's next sync; the conflict "
                    "closes on every replica that applies it"}


def cmd_transfer(args: argparse.Namespace, open_store: Open) -> Any:
    store = open_store(args)
    if args.action == "list":
        return {"requests": [{k: v for k, v in mask_person(r).items()} for r in transfers.pending(store)]}
    if args.action == "move":
        if not (args.person and args.to):
            raise ConfigError("请给出 --person 和 --to / give --person and --to")
        new = identity.transfer(store, row_id(args.person), args.to, on=date.today())
        out: dict[str, Any] = {"new card": new.hex(), "to": args.to}
    elif args.action == "approve":
        if not args.request:
            raise ConfigError("请给出 --request / give --request")
        new = transfers.approve(store, row_id(args.request), on=date.today())
        out = {"approved": args.request, "new card": new.hex()}
    else:
        if not (args.request and args.reason):
            raise ConfigError("请给出 --request 和 --reason / give --request and --reason")
        transfers.refuse(store, row_id(args.request), args.reason, on=date.today())
        out = {"refused": args.request}
    out["sealed"] = len(store.seal())
    return out


def register(cmd: Callable[[str, object, str], argparse.ArgumentParser], open_store: Open) -> None:
    """Add the two commands to `laowu-hub`'s parser (`cmd` is its subcommand factory)."""
    sp = cmd("conflicts", lambda a: cmd_conflicts(a, open_store), "the semantic-conflict queue: list, show, resolve")
    sp.add_argument("action", choices=("list", "show", "resolve"))
    sp.add_argument("--key", help="the conflict's key (hex, or its first 6+ digits)")
    sp.add_argument("--decision", help="transfer | merge | different-people (duplicate-id); follow | keep (transfer-edit)")
    sp.add_argument("--keep", help="the card that stays (duplicate-id; default the first); for different-people, "
                                   "the card whose ID number is right")
    sp.add_argument("--all", action="store_true", help="resolved ones too")
    sp = cmd("transfer", lambda a: cmd_transfer(a, open_store), "transfers: list, approve, refuse requests; move a person")
    sp.add_argument("action", choices=("list", "approve", "refuse", "move"))
    sp.add_argument("--request", help="a village's transfer request (row id)")
    sp.add_argument("--reason", help="why a request is refused")
    sp.add_argument("--person", help="the card to move (row id)")
    sp.add_argument("--to", help="the village it moves to (12-digit code)")
