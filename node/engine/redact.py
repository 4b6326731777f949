"""Erasure on a replica: rows deleted, and their values gone from every stored body (docs/erasure.md).

A row delete already purges the merge state and the materialized row; the values still sit in the
signed changeset bodies of the log, in open changes, in the conflict queue and the audit. `erase`
(a county, prefecture, province or township key) does, in one transaction:

* deletes each row (absorbing: nothing written later brings a value back);
* redacts every changeset held here that carried a value of those rows (log, quarantine, forks)
  and signs one redaction record naming them (`protocol.redaction`);
* writes that record as a change in the rows' place, in its own feed: it travels like any
  changeset, through hubs and USB bundles, to exactly the replicas that hold the rows;
* `apply_record`: rewrites the stored envelopes to `{body: redacted, sig, redaction: record}`,
  drops the rows' open changes, blanks conflict details and audit entries naming them and scrubs
  the erased text from the rest of the audit.

Every replica runs `apply_record` when the record arrives (`after_apply`, inside `Store.apply`'s
transaction), and when an original named by a record it holds arrives later (an old USB stick), it
is stored redacted. `forget` then makes the database itself forget: SQLite runs with
`secure_delete=ON` (`node.engine.db`), so freed bytes are zeroed, and its WAL is checkpointed and truncated;
a PostgreSQL hub runs VACUUM on the tables that held the values.
"""
from __future__ import annotations

import functools
import hashlib
import logging
import os
import time
from dataclasses import dataclass
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

import msgpack
from sqlalchemy import Connection, delete, inspect, select, text, update

from conflict.row import SALT
from node.engine import schema, widestate
from node.engine import tables as t
from protocol import redaction as rd
from protocol.changeset import (DELETE_FIELD, Change, Changeset, Value, body_changes, envelope_parts, open_envelope,
                                redacted_envelope)
from protocol import body2, clock, codec
from protocol.errors import ConfigError, Malformed, RemoteError

if TYPE_CHECKING:
    from node.engine.api import StoreCore as Store

log = logging.getLogger("laowu.redact")

RowKey = tuple[str, bytes]
ERASED = "（已删除 erased）"
SCRUBBED = "＊"
_VACUUM = ("lw_log", "lw_row", "lw_field", "lw_set", "lw_open", "lw_quarantine", "lw_fork", "lw_conflict", "lw_audit")


@functools.cache
def erasable_tables() -> frozenset[str]:
    """Tables whose rows an erasure may name: the card, and every table with a `person` column."""
    return frozenset(name for name, cls in schema.TABLES.items()
                     if name == "person" or "person" in cls.__table__.c)  # type: ignore[attr-defined]


def salted(table: str, items: list[tuple[str, Value]]) -> list[tuple[str, Value]]:
    """A local write's changes, with a fresh random salt when they carry a value of an erasable row.

    A redaction gives every value of an erased row in a body the value nil — this salt too. What a
    redacted changeset keeps of its original is its id (sha-256 of the original body: the feed's next
    changeset names it, so it cannot go) and its author's signature. Both confirm a guess of *every*
    erased value of the body at once; without the salt, a body whose only erased value is an ID number
    (a correction) gives the number back from ~10^7 guesses in its county. With 128 random bits that
    left no replica after the redaction, the id and the signature are hiding: no guess can be checked
    against them (docs/erasure.md "What the original id still reveals")."""
    if table not in erasable_tables() or all(f in (DELETE_FIELD, SALT, "scope") for f, _ in items):
        return items
    return [(f, v) for f, v in items if f != SALT] + [(SALT, os.urandom(16))]


@dataclass(frozen=True)
class Erasure:
    """What one erasure did: its records (one per place of the rows) and the counts."""

    records: tuple[bytes, ...]
    rows: int
    changesets: int

    @property
    def record(self) -> bytes:
        return self.records[0]


def erase(store: Store, rows: list[RowKey], reason: str, *, actor: str = "county") -> Erasure:
    """Delete `rows` and redact every stored body that carried their values; then forget.

    The rows may lie in several places (a person transferred from one village to another has a card
    in each): one record per place, each written in that place's feed so it reaches exactly the
    replicas holding those rows; all in one transaction, so a place this key may not write leaves
    nothing erased anywhere."""
    if store.key is None:
        raise ConfigError("这个数据库没有密钥，不能删除 / this store was opened without its key: it cannot erase")
    mine = store.trust.certs.get(store.author)
    if mine is None or mine.role not in rd.ISSUER_ROLES:
        raise ConfigError("只有县级（或覆盖该地的乡镇、市、省）可以删除个人信息 / only a county, or a key above "
                          "the place, may erase personal data: ask the county")
    if not reason.strip():
        raise ConfigError("请写明删除原因 / give the reason for the erasure")
    with store.transaction() as conn:
        done = [_erase_in(store, conn, part, reason, actor, place) for place, part in _by_place(store, conn, rows)]
    forget(store)
    return Erasure(tuple(r for d in done for r in d.records), sum(d.rows for d in done), sum(d.changesets for d in done))


def _by_place(store: Store, conn: Connection, rows: list[RowKey]) -> list[tuple[str, list[RowKey]]]:
    """`rows` grouped by the place that owns each: the place in its id, or (a 0.1.0 row) its scope."""
    out: dict[str, list[RowKey]] = {}
    for key in dict.fromkeys(rows):
        place = schema.row_place(key[1]) or _place(store, conn, [key], _holding(conn, [key]))
        out.setdefault(place, []).append(key)
    return sorted(out.items())


def written(conn: Connection, key: RowKey, fields: Sequence[str]) -> list[tuple[str, Value]]:
    """The values of `fields` of row `key` that the bodies held here carry (not yet redacted): what a
    row already deleted here wrote, its merge state keeping none."""
    return [(c.field, c.value) for cs in _holding(conn, [key]) for c in _all_changes(cs)
            if (c.table, c.row) == key and c.field in fields and c.value is not None]


def _erase_in(store: Store, conn: Connection, rows: list[RowKey], reason: str, actor: str,
              place: str | None = None) -> Erasure:
    """`erase` inside the caller's transaction (also run by a county on late values, see `after_apply`)."""
    assert store.key is not None
    mine = store.trust.certs.get(store.author)
    held = _holding(conn, rows)
    # Cumulative: every row erased here that these bodies carry, so a record matches whatever order
    # replicas apply records in, and one made after another issuer's covers both.
    touched = {(c.table, c.row) for cs in held for c in _all_changes(cs)}
    earlier = _erased(store, conn) & touched
    place = place or _place(store, conn, rows, held)
    if mine is None or not mine.may_write(place):
        raise ConfigError(f"本机证书不覆盖 {place} / our certificate does not cover {place}")
    erased = set(rows) | earlier
    items = []
    for cs in held:
        body, _ = envelope_parts(cs.envelope)
        new = rd.redact_body(body, erased)
        if new is not None:
            items.append(rd.Item(cs.id, cs.author, cs.scope, cs.seq, cs.prev, hashlib.sha256(new).digest()))
    # Our own delete of every row, even one deleted here already: the delete we hold may be another
    # feed's that never reaches some replica (a village's request on a branch of a forked feed, which
    # the province never applies), and the record alone purges no merge state. In the record's own
    # changeset, the delete goes wherever the record goes (simulator seed 12 of the soak).
    for table, row in rows:
        store._write(conn, table, row, [("*", "delete")], place)
    _drop_open(conn, set(rows))
    # Signed and sent even when no body here held a value yet: every replica learns the rows are
    # erased, and a county erases values that arrive later (`_county_redo`).
    raw = rd.make(store.key, place, sorted(erased), items, store.hlc.physical(), reason)
    rec = rd.decode(raw)
    store._write(conn, rd.TABLE, rd.row_id(place, rec.id), [(rd.FIELD, raw)], place)
    apply_record(store, conn, rec)
    for table, row in rows:
        conn.execute(t.audit.insert(), {"at": store.hlc.physical(), "actor": actor[:64], "action": "erase",
                                        "tbl": table, "row": row.hex(), "detail": f"{reason} (redaction {rec.id.hex()[:16]})"})
    return Erasure((raw,), len(rows), len(items))


def apply_record(store: Store, conn: Connection, rec: rd.Redaction) -> bool | None:
    """Apply a verified record inside `conn`'s transaction: True, or False if it was applied here
    before, or None if a body held here did not match it (another issuer's record redacted it first)."""
    if conn.execute(select(t.redactions.c.id).where(t.redactions.c.id == rec.id)).first() is not None:
        return False
    conn.execute(t.redactions.insert(), {"id": rec.id, "raw": rec.raw, "applied": store.hlc.physical()})
    for item in rec.items:
        conn.execute(delete(t.redacted).where(t.redacted.c.id == item.id))
        conn.execute(t.redacted.insert(), {"id": item.id, "record": rec.id})
    values, stale = _rewrite(conn, rec, [i.id for i in rec.items])
    erased = rec.row_set
    _drop_open(conn, erased)
    for cf in conn.execute(select(t.conflicts.c.key, t.conflicts.c.tbl, t.conflicts.c.rows)).all():
        if any((cf.tbl, row) in erased for row in msgpack.unpackb(cf.rows)):
            conn.execute(update(t.conflicts).where(t.conflicts.c.key == cf.key).values(detail=ERASED))
    hexes = [row.hex() for _, row in rec.rows]
    conn.execute(update(t.audit).where(t.audit.c.row.in_(hexes), t.audit.c.action != "erase").values(detail=ERASED))
    texts = {v for v in values if isinstance(v, str) and len(v) >= 2}
    for v in texts:
        for tbl in (t.audit, t.conflicts):
            conn.execute(update(tbl).where(tbl.c.detail.contains(v, autoescape=True))
                         .values(detail=_replace(tbl.c.detail, v)))
    _forget_local_indexes(conn, texts)
    return None if stale else True


def _forget_local_indexes(conn: Connection, texts: set[str]) -> None:
    """Local tables outside the engine that copy personal values: the desk's pinyin index is keyed
    by name (node/web/desk/search.py); a name no live card bears any more leaves it."""
    if texts and inspect(conn).has_table("desk_pinyin"):
        for name in texts:
            conn.execute(text("DELETE FROM desk_pinyin WHERE name = :name AND NOT EXISTS "
                              "(SELECT 1 FROM person WHERE person.name = :name)"), {"name": name})


def after_apply(store: Store, conn: Connection, applied: list[Changeset], logged: list[bytes],
                arrived: Sequence[Changeset] = ()) -> bool:
    """Inside `Store.apply`'s transaction: apply the records that arrived, in redacted envelopes or
    as changes, and redact originals named by a record held here. True if anything was redacted.
    `arrived` is every admitted changeset of the batch, however it was placed (applied, pending,
    quarantined, held back past a cut-off, reported as a fork): a county erases erased values wherever
    they are kept."""
    now = store.hlc.physical()
    records: dict[bytes, rd.Redaction] = {}
    for cs in applied:
        if cs.redaction is not None:
            records[cs.redaction.id] = cs.redaction
        for c in cs.changes:
            if c.table == rd.TABLE and c.field == rd.FIELD and isinstance(c.value, bytes):
                try:
                    rec = rd.decode(c.value)
                    rd.check_issuer(store.trust, rec, now)
                except RemoteError as exc:
                    log.warning("redaction in changeset %s ignored: %s", cs.id.hex()[:12], exc)
                    continue
                records[rec.id] = rec
    done = False
    stale: list[rd.Redaction] = []
    fresh: list[rd.Redaction] = []
    for rec in records.values():
        outcome = apply_record(store, conn, rec)
        done = done or outcome is not False
        if outcome is None:
            stale.append(rec)
        if outcome is not False:
            fresh.append(rec)
    late: dict[bytes, list[bytes]] = {}
    for i in range(0, len(logged), 500):
        q = select(t.redacted.c.id, t.redacted.c.record).where(t.redacted.c.id.in_(logged[i:i + 500]))
        for r in conn.execute(q):
            late.setdefault(r.record, []).append(r.id)
    for rec_id, ids in late.items():
        raw = conn.execute(select(t.redactions.c.raw).where(t.redactions.c.id == rec_id)).scalar_one()
        values, _ = _rewrite(conn, rd.decode(raw), ids)
        done = done or bool(values)
    return _county_redo(store, conn, list(applied) + list(arrived), stale, fresh) or done


def _county_redo(store: Store, conn: Connection, applied: list[Changeset], stale: list[rd.Redaction],
                 fresh: Sequence[rd.Redaction] = ()) -> bool:
    """At a county: erase again what an erasure left behind. Values a laptop wrote to an erased row
    before it heard of the erasure (merged away by the absorbing delete, but signed into their
    bodies), and bodies another issuer's record redacted first, so this one did not match: a new,
    cumulative record covers them, and every replica converges on bodies free of them.

    Any key that may erase (a township, the province too) does the same for the bodies it never
    serves — a revoked key's changesets held back past its cut-off, fork proofs: a thief's USB stick
    carried to the township reaches no county, so no county's record names them (soak seed 85). It
    checks them when a record or such a body arrives; what it serves reaches a county, which redoes."""
    mine = store.trust.certs.get(store.author)
    if store.key is None or mine is None or mine.role not in rd.ISSUER_ROLES:
        return False
    county = mine.role == "county"
    erased = _erased(store, conn)
    todo: dict[str, set[RowKey]] = {}
    hidden: dict[str, set[RowKey]] = {}
    for cs in applied if erased else ():  # nothing erased here: no change can land on an erased row
        rows = {(c.table, c.row) for c in cs.changes if not c.is_delete and (c.table, c.row) in erased}
        if rows and mine.may_write(cs.scope):
            (todo if county else hidden).setdefault(cs.scope, set()).update(rows)
    for rec in stale:
        if county and mine.may_write(rec.scope):
            todo.setdefault(rec.scope, set()).update(rec.rows)
    for rec in fresh:
        if mine.may_write(rec.scope):
            hidden.setdefault(rec.scope, set()).update(rec.rows)
    done: set[str] = set()
    reason = "擦除后到达的值 values that arrived after the erasure"
    for place, rows in sorted(todo.items()):
        # Only where a body held here still carries them: a duplicate of a redacted changeset, or
        # an original already stored redacted, needs no new record.
        if any(rd.redact_body(envelope_parts(cs.envelope)[0], rows) is not None for cs in _holding(conn, sorted(rows))):
            _erase_in(store, conn, sorted(rows), reason, "county", place)
            done.add(place)
    for place, rows in sorted(hidden.items()):
        if place not in done and any(rd.redact_body(envelope_parts(cs.envelope)[0], rows) is not None
                                     for cs in _unserved(conn, rows)):
            _erase_in(store, conn, sorted(rows | (todo.get(place) or set())), reason, mine.role, place)
            done.add(place)
    return bool(done)


def _unserved(conn: Connection, rows: set[RowKey]) -> list[Changeset]:
    """The bodies held here that are never served and name one of `rows`: a revoked key's changesets
    held back past its cut-off (at most 1,000 a feed) and fork proofs."""
    wanted = {row for _, row in rows}
    envs = [r.envelope for r in conn.execute(select(t.log.c.envelope).where(
        t.log.c.status == "revoked", t.log.c.envelope.is_not(None)))]
    envs += [env for r in conn.execute(select(t.forks.c.held, t.forks.c.incoming)) for env in r if env]
    found = [open_envelope(env) for env in envs]
    return [cs for cs in found if wanted & {c.row for c in _all_changes(cs)}]


def erased_rows(store: Store) -> set[RowKey]:
    """Every row erased by a redaction record this replica holds."""
    with store.engine.connect() as conn:
        return set(_erased(store, conn))


_ERASED: WeakKeyDictionary[Store, dict[bytes, frozenset[RowKey]]] = WeakKeyDictionary()


def _erased(store: Store, conn: Connection) -> set[RowKey]:
    """Every row erased by a record held here. Records are decoded once per store; which ones are
    held is read each time, so a rolled-back transaction leaves nothing behind in the cache."""
    known = _ERASED.setdefault(store, {})
    ids = [r.id for r in conn.execute(select(t.redactions.c.id))]
    missing = [i for i in ids if i not in known]
    for i in range(0, len(missing), 500):
        for r in conn.execute(select(t.redactions.c.id, t.redactions.c.raw).where(t.redactions.c.id.in_(missing[i:i + 500]))):
            known[r.id] = rd.decode(r.raw).row_set
    return set().union(*(known[i] for i in ids))


def forget(store: Store, *, full: bool = False) -> float:
    """Make the database files forget what was rewritten; return the seconds it took.

    SQLite: secure_delete (set on every connection) zeroed the freed bytes; the old pages still sit
    in the WAL until a checkpoint copies the new ones over them, and TRUNCATE then empties the WAL.
    PostgreSQL: plain VACUUM prunes the dead row versions and their TOAST chunks so the space is
    reused; their bytes stay in the data files until overwritten (docs/erasure.md says what more to do).
    `full` (an operator's choice, `laowu-hub erase --vacuum-full`): SQLite VACUUM rewrites the whole
    file, free pages left from before secure_delete (a 0.1.0 database) included; PostgreSQL VACUUM FULL
    rewrites the tables into new files, under an exclusive lock."""
    started = time.perf_counter()
    if store.engine.dialect.name == "sqlite":
        for attempt in range(50):
            raw = store.engine.raw_connection()  # outside any transaction: neither can run in one
            try:
                if full and attempt == 0:
                    raw.cursor().execute("VACUUM")
                busy = raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            finally:
                raw.close()
            if busy is None or not busy[0]:
                break
            time.sleep(0.05)  # a reader is mid-transaction (a pull being served): try again shortly
        else:
            log.warning("WAL checkpoint stayed busy: the erased pages leave the WAL at the next checkpoint")
    elif store.engine.dialect.name == "postgresql":
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # The wide merge-state tables (`node.engine.widestate`) held the erased rows' values as lw_field did.
            states = [f'"{widestate.name(tb)}"' for tb in sorted(widestate.current())]
            conn.execute(text(("VACUUM FULL " if full else "VACUUM ") + ", ".join([*_VACUUM, *states])))
    return time.perf_counter() - started


def verify_feeds(store: Store) -> int:
    """Admit every applied changeset held here again, feed by feed, and check each names its
    predecessor's id: redacted or not, every feed verifies end to end. How many; RemoteError if not."""
    from protocol.admit import admit

    n = 0
    prev: dict[tuple[bytes, str], bytes] = {}
    q = select(t.log.c.seq, t.log.c.envelope).where(t.log.c.status == "applied", t.log.c.envelope.is_not(None)
                                                   ).order_by(t.log.c.author, t.log.c.scope, t.log.c.seq)
    with store.engine.connect() as conn:
        for r in conn.execute(q):
            cs = admit(r.envelope, store.trust, store.hlc.physical(), clock.MAX_HLC)
            if cs.seq != r.seq or (cs.feed in prev and cs.prev != prev[cs.feed]):
                raise Malformed(f"feed {cs.author.hex()[:8]}/{cs.scope} breaks at seq {cs.seq}")
            prev[cs.feed] = cs.id
            n += 1
    return n


# -- inside --------------------------------------------------------------------------------------


def _holding(conn: Connection, rows: list[RowKey]) -> list[Changeset]:
    """Every changeset held here (log, quarantine, forks) whose body names one of `rows`.

    A v1 body holds each row id as it is, found by a byte search in SQL; a v2 body is compressed
    (docs/wire-format.md), so every v2 body held is a candidate, decoded and kept if it names a row.
    That is a pass over the v2 bodies per erasure: an index of rows by changeset would spare it."""
    found: dict[bytes, Changeset] = {}
    wanted = {row for _, row in rows}
    sources = [(t.log, t.log.c.envelope), (t.quarantine, t.quarantine.c.envelope),
               (t.forks, t.forks.c.held), (t.forks, t.forks.c.incoming)]
    for needle in [*sorted(wanted), _V2_MARK]:
        for tbl, col in sources:
            for r in conn.execute(select(col).where(col.is_not(None), _contains(conn, col, needle))):
                raw = r[0]
                if raw:
                    cs = open_envelope(raw)
                    if cs.id in found or (needle == _V2_MARK and not wanted & {c.row for c in _all_changes(cs)}):
                        continue
                    found[cs.id] = cs
    return sorted(found.values(), key=lambda cs: (cs.author, cs.scope, cs.seq))


_V2_MARK = codec.pack("schema") + codec.pack(body2.CARRIER_SCHEMA)  # in every v2 body, in no v1 one


def _contains(conn: Connection, col: Any, needle: bytes) -> Any:
    """SQL: the blob `col` contains `needle`. A row id is 16 random bytes: no false match in practice,
    and every candidate is decoded before anything is done to it."""
    if conn.dialect.name == "postgresql":
        return text(f"position(:needle_{needle.hex()} in {col.table.name}.{col.name}) > 0").bindparams(
            **{f"needle_{needle.hex()}": needle})
    return text(f"instr({col.table.name}.{col.name}, :needle_{needle.hex()}) > 0").bindparams(
        **{f"needle_{needle.hex()}": needle})


def _drop_open(conn: Connection, rows: set[RowKey] | frozenset[RowKey]) -> None:
    """Drop our unsealed changes of `rows` but their deletes: the delete absorbs them anyway."""
    for oc in conn.execute(select(t.open_changes.c.n, t.open_changes.c.change)).all():
        tb, row, fld, _, _ = msgpack.unpackb(oc.change)
        if (tb, row) in rows and fld != "*":
            conn.execute(delete(t.open_changes).where(t.open_changes.c.n == oc.n))


def _all_changes(cs: Changeset) -> list[Any]:
    """Every change of a body as held here, the nil values of rows a record erased included."""
    body, _ = envelope_parts(cs.envelope)
    return [Change(c[0], c[1], c[2], c[3], c[4]) for c in body_changes(body)[1]]


def _place(store: Store, conn: Connection, rows: list[RowKey], held: list[Changeset]) -> str:
    """The one place of `rows`: from their merge state, else from the feeds that wrote them."""
    places = set()
    for table, row in rows:
        state = store._load_rows(conn, [(table, row)]).get((table, row))
        sc = state.fields.get("scope") if state is not None else None
        if sc is not None:
            places.add(str(store.registry.policy(table, "scope").value(sc)))
            continue
        feeds = [cs.scope for cs in held if any((c.table, c.row) == (table, row) for c in cs.changes)]
        if feeds:
            places.add(feeds[0])
    if len(places) != 1:
        raise ConfigError(f"要删除的记录不在同一个地方或找不到 / the rows to erase are in {sorted(places) or 'no place'}: "
                          "erase one place at a time")
    return places.pop()


def _rewrite(conn: Connection, rec: rd.Redaction, ids: list[bytes]) -> tuple[list[Any], bool]:
    """Replace every stored copy of the changesets `ids` by its redacted form; the values removed,
    and whether a body held here did not match the record (left as it is, for a county to redo)."""
    values: list[Any] = []
    wanted = set(ids)
    stale = []

    def redo(envelope: bytes) -> bytes | None:
        body, sig = envelope_parts(envelope)
        item = rec.item(open_envelope(envelope).id)
        new = rd.redact_body(body, rec.row_set)
        if item is None or new is None:
            return None
        if hashlib.sha256(new).digest() != item.redacted:
            log.warning("redaction %s does not match changeset %s as held here: left for a county to redo",
                        rec.id.hex()[:12], item.id.hex()[:12])
            stale.append(item.id)
            return None
        values.extend(rd.values_of(body, rec.row_set))
        return redacted_envelope(new, sig, rec.raw)

    for tbl in (t.log, t.quarantine):
        for part in range(0, len(ids), 500):
            q = select(tbl.c.id, tbl.c.envelope).where(tbl.c.id.in_(ids[part:part + 500]), tbl.c.envelope.is_not(None))
            for r in conn.execute(q).all():
                new = redo(r.envelope)
                if new is not None:
                    conn.execute(update(tbl).where(tbl.c.id == r.id).values(envelope=new))
    for fk in conn.execute(select(t.forks.c.n, t.forks.c.held, t.forks.c.incoming)).all():
        for col in ("held", "incoming"):
            raw = getattr(fk, col)
            if raw and open_envelope(raw).id in wanted:
                new = redo(raw)
                if new is not None:
                    conn.execute(update(t.forks).where(t.forks.c.n == fk.n).values({col: new}))
    return values, bool(stale)


def _replace(col: Any, value: str) -> Any:
    from sqlalchemy import func

    return func.replace(col, value, SCRUBBED)
