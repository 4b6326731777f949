"""Taking back what a revoked key wrote past its cut-off (DESIGN §3: "what it writes after is refused
everywhere").

A revocation can reach a replica after that replica already took changesets past the cut-off: a
township imported a village's USB stick the day before the laptop was stolen, and the county that
revoked it (at the heads *it* held) never saw them; or the laptop synced with the province while
its county hub was down. Refusing them from now on is not enough: that replica would keep them
while every other one refuses them, and never converge. So `retract` runs in the transaction that
stores the revocation:

* every changeset of the key past its cut-off, applied or waiting (pending, held, quarantined as
  early), gets the log status `revoked`: kept verbatim for the audit, never served, never applied,
  and a later copy of it is a duplicate;
* the feed's head steps back to the cut-off;
* every row those changesets touched is merged again from scratch from what stays applied (and
  our own open changes), and materialized again.

The rebuild reads the whole applied log once, which is fine for an event as rare as a stolen
laptop; it needs the envelopes, so log pruning (not implemented) must keep those of revocable keys.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import msgpack
from sqlalchemy import Connection, delete, select, update

from node.engine import release, rowstate
from node.engine import tables as t
from protocol.certs import Revocation
from protocol.changeset import Change, open_envelope

if TYPE_CHECKING:
    from node.engine.api import StoreCore as Store

RowKey = tuple[str, bytes]


def reconcile(store: Store, conn: Connection, subject: bytes, rev: Revocation | None) -> tuple[int, int]:
    """Bring `subject`'s changesets in line with the revocation now in force (None: none is):
    retract what is past it, and place again what an earlier, stricter one took but this allows
    (a revocation signed by a key since revoked without keeping it stops standing). Returns
    (retracted, restored)."""
    taken = retract(store, conn, rev) if rev is not None else 0
    q = select(t.log.c.id, t.log.c.scope, t.log.c.seq, t.log.c.envelope).where(
        t.log.c.author == subject, t.log.c.status == "revoked")
    back = [r for r in conn.execute(q) if r.envelope is not None and (rev is None or rev.allows(r.scope, r.seq))]
    if back:
        conn.execute(delete(t.log).where(t.log.c.id.in_([r.id for r in back])))
        store.reoffer(conn, [open_envelope(r.envelope) for r in back])
    return taken, len(back)


def retract(store: Store, conn: Connection, rev: Revocation) -> int:
    """Undo, inside `conn`'s transaction, what `rev`'s key wrote past its cut-off; how many changesets."""
    early = select(t.quarantine).where(t.quarantine.c.author == rev.subject)
    for r in [r for r in conn.execute(early) if not rev.allows(r.scope, r.seq)]:
        taken = conn.execute(select(t.log.c.id).where(t.log.c.author == r.author, t.log.c.scope == r.scope,
                                                      t.log.c.seq == r.seq)).first()
        if taken is None:
            conn.execute(t.log.insert(), {"id": r.id, "author": r.author, "scope": r.scope, "seq": r.seq,
                                          "status": "revoked", "envelope": r.envelope, "received": r.received,
                                          "pos": None})
        conn.execute(delete(t.quarantine).where(t.quarantine.c.id == r.id))
    q = select(t.log.c.id, t.log.c.scope, t.log.c.seq, t.log.c.status, t.log.c.envelope).where(
        t.log.c.author == rev.subject, t.log.c.status != "revoked")
    gone = [r for r in conn.execute(q) if not rev.allows(r.scope, r.seq)]
    if not gone:
        return 0
    conn.execute(update(t.log).where(t.log.c.id.in_([r.id for r in gone])).values(status="revoked"))
    for feed_scope in sorted({r.scope for r in gone}):
        cut = rev.cutoffs.get(feed_scope, 0)
        head = conn.execute(select(t.heads.c.seq).where(t.heads.c.author == rev.subject,
                                                         t.heads.c.scope == feed_scope)).first()
        if head is None or head.seq <= cut:
            continue
        at = conn.execute(select(t.log.c.id).where(t.log.c.author == rev.subject, t.log.c.scope == feed_scope,
                                                   t.log.c.seq == cut)).first() if cut else None
        where = (t.heads.c.author == rev.subject) & (t.heads.c.scope == feed_scope)
        if at is None:
            conn.execute(delete(t.heads).where(where))
        else:
            conn.execute(update(t.heads).where(where).values(seq=cut, id=at.id))
    touched = {(c.table, c.row) for r in gone if r.status == "applied" and r.envelope
               for c in open_envelope(r.envelope).changes}
    if touched:
        rebuild(store, conn, touched)
    return len(gone)


def rebuild(store: Store, conn: Connection, keys: set[RowKey]) -> None:
    """Merge `keys` again from every applied changeset and our open changes; materialize them."""
    changes: list[tuple[Sequence[Change], bytes, str]] = []
    applied = select(t.log.c.envelope).where(t.log.c.status == "applied").order_by(t.log.c.pos)
    rulings = release.held(store, conn)  # a released changeset merges capped (docs/trust.md §6)
    for r in conn.execute(applied):
        if r.envelope is None:
            continue
        cs = open_envelope(r.envelope)
        changes.append(([c for c in release.merged(rulings, cs) if (c.table, c.row) in keys], cs.author, cs.scope))
    for r in conn.execute(select(t.open_changes.c.scope, t.open_changes.c.change).order_by(t.open_changes.c.n)):
        tb, row, f, v, h = msgpack.unpackb(r.change)
        if (tb, row) in keys:
            changes.append(([Change(tb, row, f, v, h)], store.author, r.scope))
    rowstate.purge(conn, keys)
    store._merge(conn, changes)
    by_table: dict[str, list[bytes]] = {}
    for table, row in sorted(keys):
        by_table.setdefault(table, []).append(row)
    for table, rows in by_table.items():
        store._materialize(conn, table, rows)  # those with nothing left leave the tables
