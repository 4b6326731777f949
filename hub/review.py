"""The review queue of revocations (docs/trust.md §2): what a revocation held back, and taking it back in.

A revocation never destroys a changeset: those of the revoked key past its cut-off stay in the log,
verbatim, with the status `revoked` — never served, never merged. They are the review queue. When
county staff find that some of them were good (the laptop synced with the province or a township
before the county revoked it, at heads that did not include them), the county signs a new revocation
of the same key with the cut-off raised: each revoking key's latest revocation is the one in force
(`protocol.certs`), every replica that receives it places those changesets again (`node.engine.retract`).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from node.engine import tables as t
from node.engine.store import Store
from protocol import certs
from protocol.changeset import open_envelope
from protocol.errors import ConfigError, InvalidValue
from protocol.keys import short_id


@dataclass(frozen=True)
class HeldBack:
    author: bytes
    scope: str
    seq: int
    received: int
    changes: int  # how many field changes it carries (read from the verbatim envelope)


def held_back(store: Store) -> list[HeldBack]:
    """Changesets a revocation held back here, by key and feed position."""
    q = select(t.log.c.author, t.log.c.scope, t.log.c.seq, t.log.c.received, t.log.c.envelope).where(
        t.log.c.status == "revoked").order_by(t.log.c.author, t.log.c.scope, t.log.c.seq)
    with store.engine.connect() as conn:
        rows = list(conn.execute(q))
    return [HeldBack(r.author, r.scope, r.seq, r.received, len(open_envelope(r.envelope).changes) if r.envelope else 0)
            for r in rows]


def count_held_back(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(t.log).where(t.log.c.status == "revoked")).scalar_one())


@dataclass(frozen=True)
class Deleted:
    table: str
    row: bytes
    hlc: int
    author: bytes


def deleted_rows(store: Store) -> list[Deleted]:
    """Every row deleted here, with who deleted it and when it says: a delete absorbs later edits,
    so county staff must be able to see each one (docs/trust.md §7)."""
    q = select(t.rows.c.tbl, t.rows.c.row, t.rows.c.tomb_hlc, t.rows.c.tomb_author).where(
        t.rows.c.tomb_hlc.is_not(None)).order_by(t.rows.c.tomb_hlc.desc())
    with store.engine.connect() as conn:
        return [Deleted(r.tbl, r.row, r.tomb_hlc, r.tomb_author or b"") for r in conn.execute(q)]


@dataclass(frozen=True)
class Quarantined:
    id: bytes
    author: bytes
    scope: str  # the village (or place) whose feed is blocked
    seq: int
    stamped: int  # the changeset's highest stamp (HLC)
    reason: str
    waiting: int  # later changesets of the same feed waiting behind it here


def quarantined(store: Store) -> list[Quarantined]:
    """Which feeds are blocked by a changeset stamped too far ahead, and how much waits behind it."""
    with store.engine.connect() as conn:
        rows = list(conn.execute(select(t.quarantine).order_by(t.quarantine.c.scope, t.quarantine.c.seq)))
        out = []
        for r in rows:
            waiting = conn.execute(select(func.count()).select_from(t.log).where(
                t.log.c.author == r.author, t.log.c.scope == r.scope, t.log.c.seq > r.seq,
                t.log.c.status == "pending")).scalar_one()
            out.append(Quarantined(r.id, r.author, r.scope, r.seq, open_envelope(r.envelope).max_hlc, r.reason,
                                   int(waiting)))
    return out


def keep_upto(store: Store, subject: bytes, feed_scope: str, seq: int, reason: str) -> bytes:
    """Sign a revocation of `subject` by this hub with the cut-off of `feed_scope` raised to `seq`:
    what a review found good comes back, everywhere the new revocation goes."""
    if store.key is None:
        raise ConfigError("this hub was opened without its key: cannot sign")
    mine = [certs.decode_revocation(r) for r in store.revocations()]
    ours = [r for r in mine if r.subject == subject and r.issuer == store.key.public]
    if not ours:
        raise InvalidValue("key", f"本平台没有撤销过密钥 {short_id(subject)} / this hub never revoked key "
                           f"{short_id(subject)}: only the hub that revoked it raises its cut-off")
    latest = max(ours, key=lambda r: (r.at, r.digest))
    if seq <= latest.cutoffs.get(feed_scope, 0):
        raise InvalidValue("upto", f"截止点已是 {latest.cutoffs.get(feed_scope, 0)} / the cut-off of {feed_scope} is "
                           f"already {latest.cutoffs.get(feed_scope, 0)}: nothing to take back")
    cutoffs = dict(latest.cutoffs)
    cutoffs[feed_scope] = seq
    raw = certs.revoke(store.key, subject, cutoffs, max(store.hlc.physical(), latest.at + 1), reason, latest.kept)
    store.add_revocation(raw)
    return raw
