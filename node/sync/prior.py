"""What a sync reads from the node's database before it talks to the hub, in one transaction.

A sync used to look each of these up where it first needed it, each in a transaction of its own
(on SQLite every one a BEGIN IMMEDIATE): the cursors, the hub's two pins (docs/trust.md §9), our
feeds' heads, whether anything waits to be sealed, whether anything waits to be pushed. Read
together before the hello they cost one; what the sync learns is written after, in one
(`SyncClient._sync`).

Nothing here loosens a trust check. A pin read as set is set for good (pins are never removed), so
a sync that finds one set skips writing it again and refuses as before; a pin read as unset is
written when the hub first earns it, at once, as before, and an answer that would be refused only
if a pin were set (an unsigned answer, an address-bound token) reads the pin again from the
database before it is taken (`legacy.refusal`, `legacy.binds`): another sync may have set it since.
"""
from __future__ import annotations

from dataclasses import dataclass

from node.engine import synclog
from node.engine.store import Store
from node.sync import legacy


@dataclass(frozen=True)
class Prior:
    pull_cursor: int
    push_cursor: int
    signs: bool  # the hub key has signed an answer to us before (`legacy.pin`)
    binds: bool  # the hub key has bound a session token to our key before (`legacy.pin_binding`)
    heads: dict[str, int]  # our own feeds' heads: scope → seq
    open_changes: bool  # local changes wait to be sealed
    unpushed: bool  # something of our subtree lies past the push cursor


def read(store: Store, peer: str, hub: bytes) -> Prior:
    """Everything a sync with `peer` (hub key `hub`) needs before the network, in one transaction."""
    with store.reading() as conn:
        pull, push = synclog.cursors(store, peer, conn)
        return Prior(
            pull_cursor=pull,
            push_cursor=push,
            signs=legacy.signs(store, hub, conn),
            binds=legacy.binds(store, hub, conn),
            heads={sc: seq for sc, seq, _ in synclog.heads_of(store, store.author, conn)},
            open_changes=synclog.has_open(conn),
            unpushed=synclog.has_unpushed(store, push, conn),
        )
