"""What county staff review (docs/trust.md §2, §6, §7): what a revocation held back and taking it back
in; every delete; quarantined changesets, the village each blocks, and releasing one capped.

A revocation never destroys a changeset: those of the revoked key past its cut-off stay in the log,
verbatim, with the status `revoked` — never served, never merged. They are the review queue. When
county staff find that some of them were good (the laptop synced with the province or a township
before the county revoked it, at heads that did not include them), the county signs a new revocation
of the same key with the cut-off raised: each revoking key's latest revocation is the one in force
(`protocol.certs`), every replica that receives it places those changesets again (`node.engine.retract`).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from node.engine import tables as t
from node.engine import release as releases
from node.engine.store import Outcome, Store
from node.sync.verdict import REFUSED
from protocol import certs, clock
from protocol import release as ruling
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


@dataclass(frozen=True)
class Choices:
    """What county staff are shown for one quarantined changeset before they choose."""

    cap: int | None  # the stamp a release would cap it at; None: it cannot be released yet
    release: str
    decline: str


def choices(store: Store, q: Quarantined) -> Choices:
    """Which village is blocked, why, and what releasing or declining would do, in plain words."""
    blocked = (f"村 {q.scope} 被阻塞 blocked: #{q.seq} stamped {clock.format_hlc(q.stamped)} (its laptop clock was "
               f"ahead); {q.waiting} later changesets wait behind it")
    try:
        cap = release_cap(store, q.id)
    except InvalidValue as exc:
        return Choices(None, f"{blocked}. 暂不能放行 cannot release yet: {exc}", _declined(q))
    refused = release_refusal(store, q.id)
    if refused is not None:
        return Choices(None, f"{blocked}. 放行会被拒绝 a release would be refused ({refused['code']}: "
                             f"{refused['reason']}); 请拒绝 decline it", _declined(q))
    return Choices(cap, f"{blocked}. 放行 release: applied with its stamps capped at {clock.format_hlc(cap)} (just "
                        "after the village's previous changeset), alike on every replica: its values beat nothing "
                        f"written since, later edits by anyone win, and the {q.waiting} waiting changesets land",
                   _declined(q))


def _declined(q: Quarantined) -> str:
    return (f"拒绝 decline: #{q.seq} is never applied here, and the {q.waiting} later changesets of {q.scope} keep "
            "waiting: re-key the laptop (laowu-hub rekey) after its clock is fixed")


def release_cap(store: Store, changeset_id: bytes) -> int:
    """The stamp a release caps the quarantined changeset at (protocol.release): just after its
    feed's previous changeset as merged here, or the start of its author's certificate for a feed's
    first. InvalidValue when that changeset is not applied here yet (it must be released or arrive
    first: the cap is decided from it)."""
    with store.engine.connect() as conn:
        cs = open_envelope(_quarantined(conn, changeset_id))
        if cs.prev is None:
            cert = store.trust.certs.get(cs.author)
            if cert is None:
                raise InvalidValue("id", f"no certificate of {short_id(cs.author)} here")
            return clock.pack(cert.not_before)
        prev = conn.execute(select(t.log.c.envelope, t.log.c.status).where(t.log.c.id == cs.prev)).first()
        if prev is None or prev.status != "applied" or prev.envelope is None:
            where = "在隔离区,请先放行 is quarantined too: release it first" if conn.execute(
                select(t.quarantine.c.id).where(t.quarantine.c.id == cs.prev)).first() else \
                "还未到达或未应用 has not arrived or is not applied here yet: sync the village first"
            raise InvalidValue("id", f"#{cs.seq - 1} {where}")
        return ruling.greatest(releases.merged(releases.held(store, conn), open_envelope(prev.envelope))) + 1


def release_refusal(store: Store, changeset_id: bytes) -> dict[str, object] | None:
    """Why a release of the quarantined changeset would be refused now (as an outcome of `Store.apply`),
    or None: the store's own dry run of a release (`Store.release_refusal`: the checks `apply` runs, the
    clock bound lifted, against the trust and records held here now). Its author's certificate can run
    out, a key above it be revoked, or a 0.1.0 record it names be placed elsewhere, while it waits
    (docs/trust.md §6)."""
    with store.engine.connect() as conn:
        envelope = _quarantined(conn, changeset_id)
    refused = store.release_refusal(envelope)
    return None if refused is None else {**refused, "id": changeset_id}


def _quarantined(conn: Connection, changeset_id: bytes) -> bytes:
    raw = conn.execute(select(t.quarantine.c.envelope).where(t.quarantine.c.id == changeset_id)).scalar_one_or_none()
    if raw is None:
        raise InvalidValue("id", f"{changeset_id.hex()[:16]} 不在隔离区 is not quarantined here")
    return bytes(raw)


def release_capped(store: Store, changeset_id: bytes) -> tuple[int | None, list[dict[str, object]]]:
    """Release a quarantined changeset with its stamps capped, alike on every replica: sign a ruling
    (protocol.release) in this hub's feed, in the village's place, then apply the changeset here under
    it. The ruling travels like any changeset, so every replica caps alike, whatever it held first.
    A release that would be refused signs nothing: (None, [the refusal]) (`release_refusal`)."""
    if store.key is None:
        raise ConfigError("this hub was opened without its key: cannot sign a release")
    cap = release_cap(store, changeset_id)
    refused = release_refusal(store, changeset_id)
    if refused is not None:
        return None, [refused]
    with store.engine.connect() as conn:
        scope = conn.execute(select(t.quarantine.c.scope).where(t.quarantine.c.id == changeset_id)).scalar_one()
    store.write(ruling.TABLE, ruling.row_id(scope, changeset_id),
                {ruling.CHANGESET: changeset_id, ruling.CAP: cap}, scope=scope)
    store.seal()
    return cap, store.release_quarantine([changeset_id])


@dataclass(frozen=True)
class NotReleased:
    """A release that did not happen (docs/trust.md §6), as `laowu-hub quarantine release` and the
    console's 放行 both tell it: the code and reason that refused it, whether a ruling was signed
    first, and whether the changeset is still quarantined here (to be declined) or left the
    quarantine (found to be a fork when applied, say)."""

    code: str
    reason: str
    signed: bool
    quarantined: bool


def not_released(store: Store, changeset_id: bytes, outcomes: list[Outcome], signed: bool) -> NotReleased | None:
    """What refused a release of the quarantined changeset (`release_capped`, or
    `Store.release_quarantine` as stamped), or None when it was released; `signed`: a ruling was."""
    refused = [o for o in outcomes if o.get("status") in REFUSED]
    if not refused:
        return None
    with store.engine.connect() as conn:
        still = conn.execute(select(t.quarantine.c.id).where(t.quarantine.c.id == changeset_id)).first() is not None
    return NotReleased(str(refused[0].get("code") or refused[0]["status"]), str(refused[0].get("reason") or ""),
                       signed, still)
