"""A replica on a database: local writes, sealing, applying remote envelopes (DESIGN §7).

Every public operation is one transaction. A local write stamps an HLC, merges, updates the
materialized row and appends to the open changes; `batch()` makes several writes (one operator
action: a card and its skills, a transfer) one transaction with one fsync. `seal()` turns all open
changes into signed changesets when the node syncs or exports a bundle: one per scope, split only
where a changeset would pass the wire's limits (`seal_parts`). `apply()` admits envelopes (signature, chain, scope, revocation,
clock), places them on their feed, merges, writes rows, logs the verbatim envelopes and advances
heads, all at once: a crash leaves either all of it or none, and applying twice changes nothing.

The hot path uses SQLAlchemy Core with executemany, not ORM objects.
"""
from __future__ import annotations

import functools
import hashlib
import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, Callable

import msgpack
from sqlalchemy import Connection, Engine, bindparam, delete, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError

from conflict.registry import Registry
from conflict.row import RowState, check_values, row_values
from conflict.semantic import Rule
from node import domain  # noqa: F401  (registers the replicated tables before any registry is built)
from node.engine import tables as t
from node import logs, migrations
from node.engine import gcpause, ownership, rowstate, schema
from node.engine.db import StorageFull, begin_write, checkpoint, executemany, is_full, make_engine, upsert
from node.engine.redact import after_apply, erased_rows, forget, salted
from node.engine import release as releases
from node.engine.retract import rebuild, reconcile
from node.engine.rowview import SqlRowView
from node.engine.stats import Statistics
from protocol import body2, certs, clock, codec
from protocol import scope as scopes
from protocol.admit import admit, opened
from protocol.certs import Revocation, Trust, issuing_order
from protocol.changeset import (
    BODIES,
    DELETE_FIELD,
    DELETE_VALUE,
    MAX_CHANGES,
    MAX_ENVELOPE_BYTES,
    Change,
    Changeset,
    FeedKey,
    Value,
    open_envelope,
    seal,
)
from protocol.errors import ClockAhead, ConfigError, NotAllowed, PastCutoff, RemoteError, TooLarge
from protocol.feed import Head, Placement, Vector, lacking, place
from protocol.keys import KeyPair

log = logging.getLogger("laowu.store")
MAX_HELD_BACK = 1_000  # changesets per feed kept for review past a revocation's cut-off (a thief's are bounded)
# What one sealed changeset may hold: the wire's limits (the envelope, and a v2 body's payload before
# compression), less room for the body's other keys and the signature (a few hundred bytes; `seal`
# splits again if an encoding ever needs more).
SEAL_CHANGES = MAX_CHANGES
SEAL_BYTES = min(MAX_ENVELOPE_BYTES, body2.MAX_PAYLOAD_BYTES) - 4096

Outcome = dict[str, Any]  # {"id", "status", "code", "reason"}: what /v1/push answers per envelope


@dataclass(frozen=True)
class Status:
    home: str
    author: bytes
    open_changes: int
    feeds: int
    pending: int
    quarantined: int
    forks: int
    conflicts: int


class Store:
    """One replica's database. Not shared across threads; open one per process.

    What a peer can make a store keep without it being applied is bounded per feed: changesets
    waiting for earlier ones (pending, or held for a newer schema) and changesets quarantined for a
    clock ahead. Past the bound the next one is refused with a reason that says what to do."""

    max_waiting_per_feed = 10_000
    max_quarantined_per_feed = 1_000

    def __init__(
        self,
        engine: Engine,
        key: KeyPair | None,
        *,
        wall: Callable[[], int] = clock.wall_ms,
        rules: Sequence[Rule] = (),
        registry: Registry | None = None,
    ) -> None:
        self.engine = engine
        self.key = key
        self.rules = list(rules)
        self.registry = registry or schema.registry()
        m = self._meta_all()
        if "home" not in m:
            raise ConfigError("this database was never initialised: run `laowu-node init`")
        self.home: str = m["home"]
        self.author: bytes = m["author"]
        if key is not None and key.public != self.author:
            raise ConfigError("the key given is not the key this database was created with")
        last, offset = m.get("hlc", [0, 0])
        self.hlc = clock.HLC(wall, last=last, offset_ms=offset)
        self._units = threading.local()  # the unit of writes open on each thread (`batch`)
        self.trust = Trust(m["root"])
        self.statistics = Statistics(engine, int(m.get("pos", 0)))
        # The body format sealed here: v2 once the hub this replica syncs with said it reads v2
        # (docs/wire-format.md "Rollout"); v1 until then, so that hub never has to hold what we write.
        self.body: int = _body_for(m.get("bodies", [1]))
        self._trust_mark = m.get("trust")  # bumped with every certificate or revocation written (reload_trust)
        with engine.connect() as conn:
            stored = {r.subject: r.raw for r in conn.execute(select(t.cert_store))}
            revs = [r.raw for r in conn.execute(select(t.revocation_store.c.raw))]
        self._stored_certs = stored  # subject → the certificate lw_cert holds
        self._load_trust(list(stored.values()), revs)

    # -- lifecycle --------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        target: str | Any,
        key: KeyPair | None,
        home: str,
        root: bytes,
        certs: Iterable[bytes],
        *,
        author: bytes | None = None,
        **kw: Any,
    ) -> Store:
        """Create the tables and record who we are; `certs` must include our own chain.

        A hub making a snapshot for a new node passes `key=None` and the node's `author`."""
        scopes.check_code(home, "home")
        if key is not None:
            author = key.public
        if author is None:
            raise ConfigError("a store needs its author: give a key or an author id")
        engine = target if isinstance(target, Engine) else make_engine(target, **kw.pop("engine_kw", {}))
        t.create_all(engine)
        with engine.begin() as conn:
            if not migrations.current(conn):
                migrations.stamp_head(conn)  # made from today's models: at the newest revision
            for k, v in {"home": home, "author": author, "root": root,
                         "schema": schema.SCHEMA_VERSION}.items():
                conn.execute(upsert(engine, t.meta, ["key"]), {"key": k, "value": codec.pack(v)})
        store = cls(engine, key, **kw)
        for raw in certs:
            store.add_certificate(raw)
        return store

    @classmethod
    def open(cls, target: str | Any, key: KeyPair | None, **kw: Any) -> Store:
        """Open a database, upgrading it in place first if an earlier release made it."""
        engine = target if isinstance(target, Engine) else make_engine(target, **kw.pop("engine_kw", {}))
        try:
            migrations.upgrade(engine)
        except Exception:
            if engine is not target:
                engine.dispose()
            raise
        store = cls(engine, key, **kw)
        store.release_held()
        return store

    def close(self) -> None:
        self.engine.dispose()

    def _meta_all(self) -> dict[str, Any]:
        try:
            with self.engine.connect() as conn:
                return {r.key: msgpack.unpackb(r.value) for r in conn.execute(select(t.meta))}
        except OperationalError as exc:
            raise ConfigError(f"cannot read the database: {exc.orig}") from exc

    def learn_bodies(self, bodies: Sequence[int]) -> None:
        """Remember the body formats the hub we sync with reads (its hello answer says)."""
        body = _body_for(bodies)
        if body != self.body:
            with self.transaction() as conn:
                conn.execute(_upsert(conn.dialect.name, t.meta, ("key",)),
                             {"key": "bodies", "value": codec.pack(sorted(set(bodies)))})
            logs.event(log, "wire.body", body=body)
            self.body = body

    def _save_clock(self, conn: Connection) -> None:
        conn.execute(_upsert(conn.dialect.name, t.meta, ("key",)),
                     {"key": "hlc", "value": codec.pack([self.hlc.last, self.hlc.offset_ms])})

    def transaction(self) -> AbstractContextManager[Connection]:
        """A write transaction that turns a full disk into StorageFull; nothing partial is kept.
        Inside `batch()` it is the batch's own transaction (a second one would wait for the first's
        write lock forever): what it writes commits, or rolls back, with the batch."""
        unit = self._open_unit()
        return _tx(self.engine) if unit is None else nullcontext(unit.conn)

    def reading(self) -> AbstractContextManager[Connection]:
        """A connection to read with: inside `batch()` the batch's own, so a check sees the writes
        the action made so far and runs in the transaction that writes after it (a duplicate ID
        number checked and the card written at once); else a fresh one."""
        unit = self._open_unit()
        return self.engine.connect() if unit is None else nullcontext(unit.conn)

    def _open_unit(self) -> Writes | None:
        unit: Writes | None = getattr(self._units, "open", None)
        return unit

    # -- trust --------------------------------------------------------------------------------

    def add_certificate(self, raw: bytes, now_ms: int | None = None, *, endorsed: str | None = None) -> None:
        """Hold a certificate whose chain reaches our root (`protocol.certs.Trust.add_certificate`);
        the one in force per key is stored, so reopening needs no endorsement again."""
        before = dict(self.trust.revocations)
        cert = self.trust.add_certificate(raw, now_ms, endorsed=endorsed)
        if cert.raw != raw:
            return
        if self._stored_certs.get(cert.subject) == raw and self.trust.revocations == before:
            return  # held and in force already (every hello carries its chain): nothing to write
        with self.transaction() as conn:
            conn.execute(_upsert(conn.dialect.name, t.cert_store, ("subject",)), {"subject": cert.subject, "raw": cert.raw})
            self._reconcile(conn, before)
            self._mark_trust(conn)
        self._stored_certs[cert.subject] = raw

    def learn_certificates(self, raws: Sequence[bytes], envelopes: Sequence[bytes] = (), *,
                           endorsed: tuple[bytes, str] | None = None) -> list[RemoteError]:
        """Learn certificates a peer sent, judged at our clock; return why any were refused.

        A certificate of a key another issuer already certified is taken only when the key itself
        endorses it: `endorsed` (author, place) from a signed hello, or a changeset among
        `envelopes` that the key signed for a place only the new certificate covers."""
        now = self.hlc.physical()
        refused: list[RemoteError] = []
        for raw in issuing_order_lenient(raws):
            try:
                try:
                    self.add_certificate(raw, now)
                except NotAllowed:
                    place = _endorsement(raw, envelopes, endorsed)
                    if place is None:
                        raise
                    self.add_certificate(raw, now, endorsed=place)
            except RemoteError as exc:
                refused.append(exc)
        return refused

    def add_revocation(self, raw: bytes, now_ms: int | None = None) -> None:
        """Keep a revocation, and take back what its key wrote past the cut-off (`node.engine.retract`);
        a revocation that stops another standing brings back what that one took."""
        if self.trust.knows_revocation(raw):
            return
        before = dict(self.trust.revocations)
        self.trust.add_revocation(raw, now_ms)
        with self.transaction() as conn:
            conn.execute(_insert_ignore(conn, t.revocation_store, ["digest"]),
                         {"digest": hashlib.sha256(raw).digest(), "subject": certs.decode_revocation(raw).subject,
                          "raw": raw})
            self._reconcile(conn, before)
            self._mark_trust(conn)

    def _reconcile(self, conn: Connection, before: dict[bytes, Revocation]) -> None:
        after = self.trust.revocations
        for subject in sorted({*before, *after}):
            old, new = before.get(subject), after.get(subject)
            if (old and (old.cutoffs, old.kept)) != (new and (new.cutoffs, new.kept)):
                reconcile(self, conn, subject, new)

    def _mark_trust(self, conn: Connection) -> None:
        """Bump the trust mark in lw_meta with a certificate or revocation written, in its transaction."""
        r = conn.execute(_TRUST_MARK).first()
        prev = msgpack.unpackb(r.value) if r else None
        mark = (prev or 0) + 1
        conn.execute(_upsert(conn.dialect.name, t.meta, ("key",)), {"key": "trust", "value": codec.pack(mark)})
        if prev == self._trust_mark:  # else another process wrote since we loaded: the next reload takes it in
            self._trust_mark = mark

    def reload_trust(self, conn: Connection | None = None) -> bool:
        """Take in certificates and revocations another process (the CLI) wrote to our database:
        a revocation made while a hub serves takes effect at once. Every request of a hub asks, so
        it costs one lookup of the trust mark when nothing changed (counting lw_cert and
        lw_revocation, as before, read a province's tens of thousands of certificates each time)."""
        with self.engine.connect() if conn is None else nullcontext(conn) as conn:  # a request's own (synclog.reading)
            r = conn.execute(_TRUST_MARK).first()
            mark = msgpack.unpackb(r.value) if r else None
            if mark == self._trust_mark:
                return False
            stored = {r.subject: r.raw for r in conn.execute(select(t.cert_store))}
            revs_raw = [r.raw for r in conn.execute(select(t.revocation_store.c.raw))]
        self._load_trust(list(stored.values()), revs_raw)
        self._stored_certs, self._trust_mark = stored, mark
        return True

    def _load_trust(self, certs_raw: list[bytes], revs_raw: list[bytes]) -> None:
        """Take in certificates and revocations checked when they were first learnt."""
        for raw in issuing_order(certs_raw):
            try:
                self.trust.add_certificate(raw)
            except RemoteError:
                pass  # superseded or under a key revoked since: kept for the audit, not in force
        for raw in revs_raw:
            if not self.trust.knows_revocation(raw):
                self.trust.load_revocation(raw)

    def reoffer(self, conn: Connection, changesets: list[Changeset]) -> list[Outcome]:
        """Place changesets again inside `conn`'s transaction (a revocation that stopped standing)."""
        batch = _Batch(self, conn, releases.held(self, conn))
        out = [batch.offer(cs) for cs in sorted(changesets, key=lambda c: (c.feed, c.seq))]
        batch.finish()
        return out

    def revocations(self) -> list[bytes]:
        """The revocations we hold, verbatim, to hand on to peers."""
        return self.trust.all_revocations()

    # -- local writes -------------------------------------------------------------------------

    @contextmanager
    def batch(self) -> Iterator[Writes]:
        """One unit of local writes: everything written inside it (with `Writes.write`, or with
        `write`/`delete` on this store from the same thread) commits together with one fsync when
        the block ends, or nothing of it does if the block raises. An operator's action (a card and
        its skills, a transfer with its history copies and closed card) is one unit. A `batch()`
        opened inside another joins it: only the outermost one commits.

        Units are per thread; a store is still not to be shared across threads while a unit is open."""
        if self.key is None:
            raise ConfigError("this store was opened read-only (no key)")
        unit = self._open_unit()
        if unit is not None:
            yield unit
            return
        with _tx(self.engine) as conn:
            unit = Writes(self, conn)
            self._units.open = unit
            try:
                yield unit
                if unit.count:
                    self._save_clock(conn)
            finally:
                self._units.open = None

    def write(
        self,
        table: str,
        row: bytes,
        values: dict[str, Value] | Sequence[tuple[str, Value]],
        *,
        scope: str | None = None,
    ) -> None:
        """Set fields of one row in one transaction (or in the open `batch()`). `values` may repeat
        a field as (field, value) pairs (several set adds at once). Changes are written in the row's
        own place (`node.engine.ownership`: the place in its id, or a 0.1.0 row's `scope`); a `scope` naming
        another place is refused. A 0.1.0-style id this replica does not hold is placed in `scope`
        (default: home)."""
        with self.batch() as unit:
            unit.write(table, row, values, scope=scope)

    def _write(self, conn: Connection, table: str, row: bytes, items: list[tuple[str, Value]], scope: str | None,
               *, save_clock: bool = True) -> None:
        """`write` inside the caller's transaction (an erasure writes its deletes and record at once).
        Every check runs before anything is written, so a refused write adds nothing to the unit."""
        current = self._load_rows(conn, [(table, row)]).get((table, row))
        if current is not None and current.deleted:
            # The delete absorbs every edit on every replica; kept out of the feed, an erased row's
            # values are never signed into a body after its erasure (docs/erasure.md).
            items = [(f, v) for f, v in items if f == DELETE_FIELD]
            if not items:
                return
        items = salted(table, items)  # nothing of an erased value survives a redaction (node.engine.redact)
        placed = self._placed_at(table, current)
        owner = ownership.owner_of(table, row, lambda tb, r: placed)
        feed_scope = owner or scope or self.home
        if scope is not None and scope != feed_scope:
            # Sealed, every replica would refuse it (`node.engine.ownership`): refused before it is written.
            raise ConfigError(f"{table} {row.hex()[:8]} belongs to {feed_scope}: it cannot be written in "
                              f"scope {scope} (records never move; transfer a person instead)")
        mine = self.trust.certs.get(self.author)
        if mine is not None and not mine.may_write(feed_scope):
            # Sealed, it would be refused by every peer while staying applied here: a silent divergence.
            raise ConfigError(f"our certificate {mine.describe()} may not write scope {feed_scope}")
        if mine is not None:
            self.hlc.floor(mine.not_before)  # stamps before it would be refused everywhere
        if current is None and table in schema.TABLES and all(f != "scope" for f, _ in items):
            items.insert(0, ("scope", feed_scope))
        changes = [Change(table, row, f, v, self.hlc.now()) for f, v in items]
        why = ownership.refusal(feed_scope, changes, lambda tb, r: placed)
        if why is not None:
            raise ConfigError(why)
        self._merge(conn, [(changes, self.author, feed_scope)])
        conn.execute(_OPEN_INSERT, [{"scope": feed_scope, "change": codec.pack(c.as_wire())} for c in changes])
        if save_clock:
            self._save_clock(conn)

    def delete(self, table: str, row: bytes, *, scope: str | None = None) -> None:
        """Delete a row everywhere: values purged, a tombstone stays, concurrent edits lose."""
        with self.batch() as unit:
            unit.delete(table, row, scope=scope)

    def restamp_ahead(self) -> int:
        """Give fresh stamps to open (unsigned) changes stamped beyond our clock plus the drift bound:
        written offline while the laptop's clock said 2099, after a hub's time corrected the clock.
        Sealed as they were, every hub would quarantine them and the village's later work would
        wait behind them; unsigned, they are ours to re-stamp. The rows they touch are merged again.
        Returns how many changes were re-stamped (docs/trust.md §6)."""
        limit = self.hlc.physical() + self.hlc.max_ahead_ms
        erased = erased_rows(self)  # an erased row keeps only its delete: nothing of it to merge again
        with self.transaction() as conn:
            ahead = [(r.n, msgpack.unpackb(r.change)) for r in conn.execute(_OPEN)]
            ahead = [(n, ch) for n, ch in ahead if clock.physical_ms(ch[4]) > limit and (ch[0], ch[1]) not in erased]
            for n, (tb, row, f, v, _) in ahead:
                conn.execute(update(t.open_changes).where(t.open_changes.c.n == n).values(
                    change=codec.pack([tb, row, f, v, self.hlc.now()])))
            if ahead:
                rebuild(self, conn, {(ch[0], ch[1]) for _, ch in ahead})
                self._save_clock(conn)
        return len(ahead)

    def seal(self) -> list[Changeset]:
        """Sign every open change, in one transaction: one changeset per scope, in the order written,
        split only where one would pass the wire's limits (`seal_parts`). Called when the node syncs
        or exports a bundle, so a day's work travels as one changeset per place written, not one per
        save: one signature, one log row and one head move for the lot (docs/engine.md).

        Combining saves loses nothing a refusal could have spared: every open change passed the
        ownership and certificate checks of `_write` before it was recorded, so a village's own
        changeset is all-owned; and a changeset refused anywhere stops its feed from that seq on,
        whether its saves were sealed apart or together."""
        if self.key is None:
            return []
        with self.transaction() as conn:
            pending = conn.execute(_OPEN).all()
            if not pending:
                return []
            by_scope: dict[str, list[tuple[Change, int]]] = {}
            for r in pending:
                tb, row, f, v, h = msgpack.unpackb(r.change)
                by_scope.setdefault(r.scope, []).append((Change(tb, row, f, v, h), len(r.change)))
            out = []
            for feed_scope, sized in by_scope.items():
                for part in seal_parts(sized):
                    out += self._seal_part(conn, feed_scope, part)
            conn.execute(_OPEN_CLEAR, {"upto": pending[-1].n})
        if self._open_unit() is None:  # committed: the saves' WAL goes back into the file here, not at a save
            checkpoint(self.engine)
        return out

    def _seal_part(self, conn: Connection, feed_scope: str, changes: list[Change]) -> list[Changeset]:
        """Sign `changes` as the feed's next changeset; halved again if the encoding outgrows the
        envelope limit after all (a change is at most MAX_VALUE_BYTES, so halving ends)."""
        head = self._head(conn, (self.author, feed_scope))
        assert self.key is not None
        try:
            # Stamped with the schema this build writes: an older replica holds it until it upgrades.
            cs = seal(self.key, feed_scope, head.seq + 1 if head else 1, head.id if head else None, changes,
                      schema=schema.SCHEMA_VERSION, body=self.body)
        except TooLarge:
            if len(changes) < 2:
                raise
            half = len(changes) // 2
            return self._seal_part(conn, feed_scope, changes[:half]) + self._seal_part(conn, feed_scope, changes[half:])
        self._log(conn, [cs], "applied")
        self._set_head(conn, cs)
        return [cs]

    # -- remote envelopes ---------------------------------------------------------------------

    @gcpause.pausing
    def apply(
        self,
        envelopes: Sequence[bytes | Changeset],
        *,
        release: bool = False,
        carrier: str | None = None,
        also: Callable[[Connection], None] | None = None,
    ) -> list[Outcome]:
        """Admit, place and merge a batch of envelopes in one transaction; one outcome each.

        `release=True` is the county operator releasing quarantined changesets: the clock bound
        is lifted, every other check stays. `carrier` is the home of the peer that handed them
        over: it may only carry feeds of its own subtree. `also` runs inside the same transaction
        (a sync cursor saved with the data it covers). An envelope may come already opened by a
        hub's verify worker (`hub.verify`): a Changeset, not opened again.
        """
        now = self.hlc.physical()
        bound = clock.MAX_HLC if release else self.hlc.max_ahead_ms
        admitted: list[tuple[int, Changeset]] = []
        outcomes: list[Outcome] = [{} for _ in envelopes]
        early: list[tuple[int, Changeset, ClockAhead]] = []
        back: list[tuple[int, Changeset, PastCutoff]] = []
        for i, env in enumerate(envelopes):
            why: ClockAhead | PastCutoff | None = None
            try:
                cs = admit(env, self.trust, now, bound)
            except (ClockAhead, PastCutoff) as exc:
                cs, why = opened(env), exc
            except RemoteError as exc:
                outcomes[i] = {"id": None, "status": "refused", "code": exc.code, "reason": str(exc)}
                continue
            if not scopes.visible_to(self.home, cs.scope):
                outcomes[i] = _refused(cs, "out-of-scope", f"scope {cs.scope} is not visible to {self.home}")
                continue
            if carrier is not None and not scopes.contains(carrier, cs.scope):
                outcomes[i] = _refused(cs, "out-of-scope", f"a peer of {carrier} may not hand over scope {cs.scope}")
                continue
            alone = self._judged_alone(cs)
            if alone is not None:
                outcomes[i] = alone
                continue
            if isinstance(why, PastCutoff):  # genuine, past a revocation's cut-off: held back for review
                back.append((i, cs, why))
                continue
            if why is not None:  # genuine and ours to hold, only early: quarantined after the scope and ownership checks
                early.append((i, cs, why))
                continue
            admitted.append((i, cs))
        with self.transaction() as conn:
            # Early ones a release ruling names (held here or arriving now) are let in, capped (docs/trust.md §6).
            before = releases.held(self, conn)
            rulings = {**before, **releases.arriving(cs for _, cs in admitted)}
            if rulings:
                admitted += [(i, cs) for i, cs, _ in early if releases.cap_of(rulings, cs) is not None]
                early = [(i, cs, why) for i, cs, why in early if releases.cap_of(rulings, cs) is None]
                admitted += [(-1, cs) for cs in releases.named_in_quarantine(self, conn, rulings)]
            batch = _Batch(self, conn, rulings)
            for i, cs in admitted:
                outcome = batch.offer(cs)
                if i >= 0:
                    outcomes[i] = outcome
            for i, cs, why in early:
                outcomes[i] = batch.hold_early(cs, why)
            for i, cs, cut in back:
                outcomes[i] = batch.hold_back(cs, cut)
            batch.finish()
            again = releases.to_merge_again(self, conn, before, rulings, batch.applied)
            if again:
                rebuild(self, conn, again)
            redacted = after_apply(self, conn, batch.applied, [o["id"] for o in outcomes if o.get("id")],
                                   [cs for _, cs in admitted] + [cs for _, cs, _ in early] + [cs for _, cs, _ in back])
            # Released by staff, or arrived again once time caught up: now held in the log or the fork table.
            settled = [o["id"] for o in outcomes if o.get("status") in ("accepted", "duplicate", "pending", "held", "fork")]
            settled += [cs.id for i, cs in admitted if i < 0]  # released here by a ruling that just arrived
            for part in _chunks(settled, 500):
                conn.execute(delete(t.quarantine).where(t.quarantine.c.id.in_(part)))
            self._save_clock(conn)
            if also is not None:
                also(conn)
        if redacted:
            forget(self)  # the rewritten pages leave the WAL (SQLite) or are vacuumed (PostgreSQL)
        self.statistics.wrote(sum(1 for o in outcomes if o.get("status") == "accepted") + sum(
            o.get("released", 0) for o in outcomes))
        return outcomes

    def _judged_alone(self, cs: Changeset) -> Outcome | None:
        """The refusal of an admitted changeset judged on itself alone (values, who may carry a release
        ruling), so every replica refuses alike whatever it holds; None when it passes."""
        try:
            check_values(cs.changes, self.registry)
        except RemoteError as exc:
            return _refused(cs, exc.code, str(exc))
        not_issuer = releases.refusal(cs, self.trust)
        return None if not_issuer is None else _refused(cs, NotAllowed.code, not_issuer)

    def release_refusal(self, envelope: bytes) -> Outcome | None:
        """How `apply(..., release=True)` would refuse this quarantined envelope now, or None: admission
        with the clock bound lifted, the checks on it alone, and ownership against the records held
        here now, without applying anything (a hub checks before it signs a release ruling). Its
        feed's scope was judged against this replica's place when it was quarantined."""
        try:
            cs = admit(envelope, self.trust, self.hlc.physical(), clock.MAX_HLC)
        except RemoteError as exc:
            return {"id": None, "status": "refused", "code": exc.code, "reason": str(exc)}
        alone = self._judged_alone(cs)
        if alone is not None:
            return alone
        with self.engine.connect() as conn:
            why = self._not_owner(conn, cs, {})
        return None if why is None else _refused(cs, ownership.CODE, why)

    def release_held(self) -> list[Outcome]:
        """Apply the changesets held for a newer schema that this build now knows (after an upgrade of
        the binary): they were verified when they arrived and are verified again now; in one
        transaction they leave the log's held state and are placed as if they had just arrived, so a
        feed they blocked goes on. Those still too new, or refused now, stay held: never dropped."""
        with self.engine.connect() as conn:
            held = conn.execute(select(t.log.c.id, t.log.c.envelope).where(t.log.c.status == "held")
                                .order_by(t.log.c.author, t.log.c.scope, t.log.c.seq)).all()
        now = self.hlc.physical()
        ready: list[Changeset] = []
        for r in held:
            try:
                cs = admit(r.envelope, self.trust, now, clock.MAX_HLC)
            except RemoteError:
                continue
            if cs.schema <= schema.SCHEMA_VERSION:
                ready.append(cs)
        if not ready:
            return []
        with self.transaction() as conn:
            for part in _chunks([cs.id for cs in ready], 500):
                conn.execute(delete(t.log).where(t.log.c.id.in_(part), t.log.c.status == "held"))
            batch = _Batch(self, conn, releases.held(self, conn))
            outcomes = [batch.offer(cs) for cs in ready]
            batch.finish()
            self._save_clock(conn)
        logs.event(log, "held.released", changesets=len(ready), schema=schema.SCHEMA_VERSION)
        return outcomes

    def release_quarantine(self, ids: Sequence[bytes] | None = None, *, due_only: bool = False) -> list[Outcome]:
        """Apply quarantined changesets: those named (staff decision), or those whose time has come."""
        with self.engine.connect() as conn:
            q = select(t.quarantine.c.id, t.quarantine.c.envelope)
            rows = conn.execute(q).all()
        envs = []
        for r in rows:
            if ids is not None and r.id not in ids:
                continue
            if due_only and clock.is_ahead(open_envelope(r.envelope).max_hlc, self.hlc.physical(), self.hlc.max_ahead_ms):
                continue
            envs.append(r.envelope)
        return self.apply(envs, release=True) if envs else []

    def decline_quarantine(self, ids: Sequence[bytes]) -> int:
        """Drop quarantined changesets a county operator refused (a value stamped in 2099 must not win every
        later edit): they are never applied here. The feed keeps a gap at their seq, so its later
        changesets wait until the village is re-keyed; the console says so before confirming."""
        with self.transaction() as conn:
            n = 0
            for part in _chunks(list(ids), 500):
                n += conn.execute(delete(t.quarantine).where(t.quarantine.c.id.in_(part))).rowcount or 0
        return n

    # -- merging (shared by local and remote paths) --------------------------------------------

    def _merge(self, conn: Connection, changes: list[tuple[Sequence[Change], bytes, str]]) -> None:
        """Merge `(changes, author, feed scope)` groups and materialize the rows they touch, in SQL
        (`node.engine.rowstate`: a few set-based statements per table, whatever the batch's size)."""
        for table, rows in rowstate.merge(conn, self.registry, changes).items():
            self._materialize(conn, table, rows)

    def _materialize(self, conn: Connection, table: str, rows: list[bytes]) -> None:
        """Write `rows` of `table` from their merge state, then run the semantic rules on them."""
        cls = schema.TABLES.get(table)
        if cls is None:
            return  # a table from a newer schema: its merge state is kept, nothing to show yet
        rowstate.materialize(conn, table, rows)
        rules = [rule for rule in self.rules if table in rule.tables]
        if not rules:
            return
        live = []
        for part in _chunks([r.hex() for r in rows], 500):
            live += [dict(r._mapping) for r in conn.execute(_rows_by_id(table), {"ids": part})]
        view = SqlRowView(conn)
        found = []
        for rule in rules:
            for rec in live:
                found += rule.check(table, bytes.fromhex(rec["id"]), rec, view)
        if found:
            conn.execute(_queue_conflicts(conn),
                         [{"key": c.key, "kind": c.kind, "tbl": c.table, "rows": codec.pack(list(c.rows)),
                           "detail": c.detail, "detected": self.hlc.physical(), "resolved": None,
                           "resolution": None} for c in found])
        # Every row judged, deleted ones too: a conflict whose card was deleted or erased is settled
        # when its other rows no longer make it (no open conflict left that nobody can decide).
        self._settle(conn, table, set(rows), {c.key for c in found})

    def _settle(self, conn: Connection, table: str, checked: set[bytes], still: set[bytes]) -> None:
        """Mark resolved the open conflicts of `checked` rows that their rules no longer find: rules
        judge merged state, so a signed resolution (a card closed or flagged by the county) settles
        the conflict on every replica that applies it, in whatever order changesets arrive."""
        kinds = [k for r in self.rules if table in r.tables and (k := getattr(r, "kind", None))]
        if not kinds:
            return
        open_ = [(r.key, set(msgpack.unpackb(r.rows))) for r in conn.execute(_OPEN_CONFLICTS, {"tbl": table, "kinds": kinds})]
        maybe = [(key, rows) for key, rows in open_ if key not in still and checked & rows]
        # A rule may find a conflict from one of its rows only (a transfer-edit, from the old card):
        # judge the conflict's other rows too before calling it settled, or an edit of the new card
        # alone would settle the old card's conflict.
        others = {row for _, rows in maybe for row in rows} - checked
        if others:
            tbl = schema.TABLES[table].__table__  # type: ignore[attr-defined]
            view = SqlRowView(conn)
            for rec in conn.execute(select(tbl).where(tbl.c.id.in_([r.hex() for r in others]))):
                for rule in self.rules:
                    if table in rule.tables:
                        still = still | {c.key for c in rule.check(table, bytes.fromhex(rec.id), dict(rec._mapping), view)}
        done = [key for key, _ in maybe if key not in still]
        if done:
            conn.execute(update(t.conflicts).where(t.conflicts.c.key.in_(done)).values(
                resolved=self.hlc.physical(), resolution="已由签名的处理结果解决 / settled by a signed change"))

    def _placed_at(self, table: str, state: RowState | None) -> str | None:
        """The replicated `scope` a row holds (a 0.1.0 row's place), or None."""
        placed = state.fields.get("scope") if state else None
        return None if placed is None else str(self.registry.policy(table, "scope").value(placed))

    def _not_owner(self, conn: Connection, cs: Changeset, claimed: dict[tuple[str, bytes], str]) -> str | None:
        """Why `cs` may not change the records it names (`node.engine.ownership`), or None."""
        named: dict[tuple[str, bytes], None] = {}
        table, row = None, None
        for c in cs.changes:
            if c.row != row or c.table != table:  # a row's changes come together: one key per row
                table, row = c.table, c.row
                named[(table, row)] = None
        legacy = [k for k in named if schema.row_place(k[1]) is None and k not in claimed]
        states = self._load_rows(conn, legacy) if legacy else {}

        def held(table: str, row: bytes) -> str | None:
            return claimed.get((table, row)) or self._placed_at(table, states.get((table, row)))
        return ownership.refusal(cs.scope, cs.changes, held)

    def _load_rows(self, conn: Connection, keys: list[tuple[str, bytes]]) -> dict[tuple[str, bytes], RowState]:
        return rowstate.load(conn, self.registry, keys)

    # -- feeds and log ------------------------------------------------------------------------

    def _head(self, conn: Connection, feed: FeedKey) -> Head | None:
        r = conn.execute(_HEAD, {"feed_author": feed[0], "feed_scope": feed[1]}).first()
        return Head(r.seq, r.id) if r else None

    def _set_head(self, conn: Connection, cs: Changeset) -> None:
        conn.execute(_upsert(conn.dialect.name, t.heads, ("author", "scope")),
                     {"author": cs.author, "scope": cs.scope, "seq": cs.seq, "id": cs.id})

    def _log(self, conn: Connection, items: list[Changeset], status: str) -> None:
        now = self.hlc.physical()
        first = self._allocate_pos(conn, len(items)) if status == "applied" else None
        conn.execute(_LOG_INSERT, [{"id": cs.id, "author": cs.author, "scope": cs.scope, "seq": cs.seq,
                                       "status": status, "envelope": cs.envelope, "received": now,
                                       "pos": None if first is None else first + i} for i, cs in enumerate(items)])

    def _allocate_pos(self, conn: Connection, n: int) -> int:
        """Reserve `n` log positions. The counter row stays locked to commit, so positions become
        visible to readers in order (PostgreSQL); SQLite's BEGIN IMMEDIATE already serializes writers."""
        r = conn.execute(_POS).first()
        first = (msgpack.unpackb(r.value) if r else 0) + 1
        conn.execute(_upsert(conn.dialect.name, t.meta, ("key",)), {"key": "pos", "value": codec.pack(first + n - 1)})
        return first

    # -- reading ------------------------------------------------------------------------------

    def vector(self) -> Vector:
        with self.engine.connect() as conn:
            return {(r.author, r.scope): r.seq for r in conn.execute(select(t.heads))}

    def envelopes_for(self, their_vector: Vector, their_home: str, budget: int = 1 << 62) -> tuple[list[bytes], bool]:
        """What the other side lacks and may see, in feed order, up to `budget` bytes; and `more`."""
        out: list[bytes] = []
        used = 0
        with self.engine.connect() as conn:
            for feed, (lo, hi) in sorted(lacking(self.vector(), their_vector).items()):
                if not scopes.visible_to(their_home, feed[1]):
                    continue
                q = (select(t.log.c.envelope).where(
                    t.log.c.author == feed[0], t.log.c.scope == feed[1], t.log.c.seq >= lo, t.log.c.seq <= hi,
                    t.log.c.status == "applied").order_by(t.log.c.seq))
                for r in conn.execute(q):
                    if r.envelope is None:
                        continue
                    if out and used + len(r.envelope) > budget:
                        return out, True
                    out.append(r.envelope)
                    used += len(r.envelope)
        return out, False

    def row_state(self, table: str, row: bytes) -> RowState | None:
        """One row's merge state: what a set remove must name (`conflict.orset.remove_op`)."""
        with self.reading() as conn:
            return self._load_rows(conn, [(table, row)]).get((table, row))

    def values(self, table: str | None = None) -> dict[tuple[str, bytes], dict[str, Value] | None]:
        """Every row's merged values (None for a tombstone), for comparing replicas."""
        with self.engine.connect() as conn:
            return {key: None if st.deleted else row_values(st, key[0], self.registry)
                    for key, st in rowstate.load_all(conn, self.registry, table or None).items()}

    def status(self) -> Status:
        with self.engine.connect() as conn:
            def count(tbl: Any, *where: Any) -> int:
                return int(conn.execute(select(func.count()).select_from(tbl).where(*where)).scalar_one())
            return Status(
                home=self.home, author=self.author,
                open_changes=count(t.open_changes),
                feeds=count(t.heads),
                pending=count(t.log, t.log.c.status == "pending"),
                quarantined=count(t.quarantine),
                forks=count(t.forks),
                conflicts=count(t.conflicts, t.conflicts.c.resolved.is_(None)),
            )

    def audit(self, actor: str, action: str, table: str, row: str | None, detail: str) -> None:
        with self.transaction() as conn:
            conn.execute(t.audit.insert(), {"at": self.hlc.physical(), "actor": actor, "action": action,
                                            "tbl": table, "row": row, "detail": detail})


class Writes:
    """The open unit of local writes of `Store.batch()`: each write is checked, stamped, merged and
    recorded in the open changes at once (a later write or read in the unit sees it); the unit
    commits when the batch ends. `conn` is its transaction, for reads and for records kept beside
    the writes (an audit line)."""

    def __init__(self, store: Store, conn: Connection) -> None:
        self.store = store
        self.conn = conn
        self.count = 0

    def write(self, table: str, row: bytes, values: dict[str, Value] | Sequence[tuple[str, Value]], *,
              scope: str | None = None) -> None:
        """`Store.write` inside this unit."""
        items = list(values.items()) if isinstance(values, dict) else list(values)
        self.store._write(self.conn, table, row, items, scope, save_clock=False)
        self.count += 1

    def delete(self, table: str, row: bytes, *, scope: str | None = None) -> None:
        """`Store.delete` inside this unit."""
        self.write(table, row, {DELETE_FIELD: DELETE_VALUE}, scope=scope)


def seal_parts(sized: list[tuple[Change, int]]) -> Iterator[list[Change]]:
    """One scope's open changes (each with its packed size) cut into as few changesets as the wire
    allows, in order: each at most SEAL_CHANGES changes and SEAL_BYTES of packed changes. A cut falls
    before the run of changes of the row in hand, not inside it (unless that run fills the part), so
    a write's values and its salt are signed in one body (`node.engine.redact.salted`)."""
    part: list[tuple[Change, int]] = []
    used = 0
    for change, size in sized:
        while part and (len(part) >= SEAL_CHANGES or used + size > SEAL_BYTES):
            cut = len(part)
            while cut > 0 and (part[cut - 1][0].table, part[cut - 1][0].row) == (change.table, change.row):
                cut -= 1
            cut = cut or len(part)
            yield [c for c, _ in part[:cut]]
            part = part[cut:]
            used = sum(n for _, n in part)
        part.append((change, size))
        used += size
    if part:
        yield [c for c, _ in part]


class _Batch:
    """Placement of one apply() call's changesets inside its transaction."""

    def __init__(self, store: Store, conn: Connection, rulings: releases.Rulings | None = None) -> None:
        self.store = store
        self.conn = conn
        self.rulings = rulings or {}  # release rulings: changesets merged with capped stamps
        self.heads: dict[FeedKey, Head | None] = {}
        self.merge: list[tuple[Sequence[Change], bytes, str]] = []
        self.applied: list[Changeset] = []
        self.positions: dict[tuple[FeedKey, int], Changeset] = {}
        self.pending_new: dict[tuple[FeedKey, int], Changeset] = {}
        self.released: list[bytes] = []
        self.waiting: dict[FeedKey, set[int]] = {}
        self.new_waiting: dict[FeedKey, int] = {}  # pending or held this batch, per feed (bounded)
        self.claimed: dict[tuple[str, bytes], str] = {}  # 0.1.0 rows placed by this batch (node.ownership)

    def head(self, feed: FeedKey) -> Head | None:
        if feed not in self.heads:
            self.heads[feed] = self.store._head(self.conn, feed)
        return self.heads[feed]

    def held(self, feed: FeedKey, seq: int) -> tuple[bytes, bytes | None] | None:
        """(id, envelope) of what is held at (feed, seq): applied or pending, this batch or before."""
        cs = self.pending_new.get((feed, seq))
        if cs is not None:
            return cs.id, cs.envelope
        done = self.positions.get((feed, seq))
        if done is not None:
            return done.id, done.envelope
        head = self.head(feed)
        if seq > (head.seq if head else 0) and seq not in self._waiting(feed):
            return None
        r = self.conn.execute(_HELD, {"feed_author": feed[0], "feed_scope": feed[1], "at_seq": seq}).first()
        return (r.id, r.envelope) if r else None

    def _waiting(self, feed: FeedKey) -> set[int]:
        """Seqs of `feed` the log holds unapplied (pending or held), read once per batch. Every applied
        seq is at or below the feed's head, so above the head only these can be held: a batch of new
        changesets then costs no log lookup per changeset."""
        if feed not in self.waiting:
            self.waiting[feed] = {r.seq for r in self.conn.execute(
                _WAITING, {"feed_author": feed[0], "feed_scope": feed[1]})}
        return self.waiting[feed]

    def offer(self, cs: Changeset) -> Outcome:
        held = self.held(cs.feed, cs.seq)
        verdict = place(cs, self.head(cs.feed), held[0] if held else None)
        if verdict is Placement.DUPLICATE:
            return {"id": cs.id, "status": "duplicate", "code": "", "reason": ""}
        if verdict in (Placement.FORK, Placement.BROKEN):
            return self._fork(cs, held if verdict is Placement.FORK else self.held(cs.feed, cs.seq - 1))
        if verdict is Placement.PENDING and (parent := self._forked(cs.feed, cs.seq - 1, cs.prev)) is not None:
            return self._fork(cs, parent)  # it continues a branch already reported as a fork
        why = self.store._not_owner(self.conn, cs, self.claimed)
        if why is not None:
            return _refused(cs, ownership.CODE, why)
        for key, sc in ownership.claims(cs.scope, cs.changes).items():
            self.claimed.setdefault(key, sc)
        if cs.schema > schema.SCHEMA_VERSION or verdict is Placement.PENDING:
            waiting = len(self._waiting(cs.feed)) + self.new_waiting.get(cs.feed, 0)
            if waiting >= self.store.max_waiting_per_feed:
                return _refused(cs, "feed-full", f"feed {cs.author.hex()[:8]}/{cs.scope} already has {waiting} changesets "
                                "waiting for earlier ones: send the missing ones first (this one is not kept)")
            self.new_waiting[cs.feed] = self.new_waiting.get(cs.feed, 0) + 1
            self.pending_new[(cs.feed, cs.seq)] = cs
            status = "pending" if cs.schema <= schema.SCHEMA_VERSION else "held"
            return {"id": cs.id, "status": status, "code": "",
                    "reason": "waiting for earlier seqs" if status == "pending" else
                    f"written with schema {cs.schema}; this build knows {schema.SCHEMA_VERSION}: upgrade to apply"}
        self._accept(cs)
        released = self._release(cs.feed)
        return {"id": cs.id, "status": "accepted", "code": "", "reason": "", "released": released}

    def _accept(self, cs: Changeset) -> None:
        try:
            self.store.hlc.observe(cs.max_hlc)
        except ClockAhead:
            pass  # released from quarantine by staff: merged, but our clock does not follow it
        self.merge.append((releases.merged(self.rulings, cs), cs.author, cs.scope))
        self.applied.append(cs)
        self.positions[(cs.feed, cs.seq)] = cs
        self.heads[cs.feed] = Head(cs.seq, cs.id)

    def _release(self, feed: FeedKey) -> int:
        n = 0
        while True:
            head = self.heads[feed]
            assert head is not None
            nxt = self.pending_new.get((feed, head.seq + 1))
            if nxt is not None:
                if nxt.schema > schema.SCHEMA_VERSION:
                    return n
                del self.pending_new[(feed, head.seq + 1)]
            else:
                if head.seq + 1 not in self._waiting(feed):
                    return n
                r = self.conn.execute(_PENDING_AT, {"feed_author": feed[0], "feed_scope": feed[1],
                                                    "at_seq": head.seq + 1}).first()
                if r is None:
                    return n
                nxt = open_envelope(r.envelope)
                self.released.append(nxt.id)
            if place(nxt, head, None) is not Placement.APPLY:
                held = self.held(feed, head.seq)
                self._fork(nxt, held)
                return n
            self._accept(nxt)
            n += 1

    def _forked(self, feed: FeedKey, seq: int, cs_id: bytes | None) -> tuple[bytes, bytes] | None:
        """(id, envelope) of the changeset `cs_id` if it was reported as a fork at (feed, seq)."""
        if cs_id is None:
            return None
        q = select(t.forks.c.incoming).where(t.forks.c.author == feed[0], t.forks.c.scope == feed[1], t.forks.c.seq == seq)
        for r in self.conn.execute(q):
            if open_envelope(r.incoming).id == cs_id:
                return cs_id, r.incoming
        return None

    def _fork(self, cs: Changeset, held: tuple[bytes, bytes | None] | None) -> Outcome:
        """Report `cs` as a fork, and with it whatever waits to continue its branch: a laptop that
        forked its feed goes on writing on its own branch, which can never apply here either."""
        first = cs
        while True:
            known = self.conn.execute(select(t.forks.c.n).where(  # one proof per (feed, seq, incoming), however often replayed
                t.forks.c.author == cs.author, t.forks.c.scope == cs.scope, t.forks.c.seq == cs.seq,
                t.forks.c.incoming == cs.envelope).limit(1)).first()
            if known is None:
                self.conn.execute(t.forks.insert(), {
                "author": cs.author, "scope": cs.scope, "seq": cs.seq, "held": (held[1] if held else b"") or b"",
                    "incoming": cs.envelope, "detected": self.store.hlc.physical()})
            if cs.id in self.released:
                self.conn.execute(delete(t.log).where(t.log.c.id == cs.id))
                self.released.remove(cs.id)
            child = self.pending_new.get((cs.feed, cs.seq + 1))
            if child is None:
                r = self.conn.execute(_PENDING_AT, {"feed_author": cs.feed[0], "feed_scope": cs.feed[1],
                                                    "at_seq": cs.seq + 1}).first()
                child = open_envelope(r.envelope) if r else None
                if child is not None and child.prev == cs.id:
                    self.conn.execute(delete(t.log).where(t.log.c.id == child.id))
                    self.waiting.get(cs.feed, set()).discard(child.seq)
            elif child.prev == cs.id:
                del self.pending_new[(cs.feed, cs.seq + 1)]
            if child is None or child.prev != cs.id:
                break
            held, cs = (cs.id, cs.envelope), child
        cs = first
        return {"id": cs.id, "status": "fork", "code": "fork",
                "reason": f"feed {cs.author.hex()[:8]}/{cs.scope} already holds a different changeset at or before seq "
                          f"{cs.seq}: both kept for county staff, neither merged"}

    def hold_back(self, cs: Changeset, exc: PastCutoff) -> Outcome:
        """Keep a changeset past a revocation's cut-off in the log as `revoked`: the review queue
        (hub.review). Refused all the same; at most MAX_HELD_BACK per feed, so a thief cannot fill
        the disk; a different changeset at a position already held (a fork) is not kept twice."""
        conn = self.conn
        feed = (t.log.c.author == cs.author) & (t.log.c.scope == cs.scope)
        taken = conn.execute(select(t.log.c.id).where(feed, t.log.c.seq == cs.seq)).first()
        held = conn.execute(select(func.count()).select_from(t.log).where(feed, t.log.c.status == "revoked")).scalar_one()
        kept = taken is None and held < MAX_HELD_BACK and (cs.feed, cs.seq) not in self.pending_new
        if kept:
            conn.execute(t.log.insert(), {"id": cs.id, "author": cs.author, "scope": cs.scope, "seq": cs.seq,
                                          "status": "revoked", "envelope": cs.envelope,
                                          "received": self.store.hlc.physical(), "pos": None})
        return {"id": cs.id, "status": "refused", "code": exc.code,
                "reason": f"{exc}" + ("; held here for county review" if kept else "")}

    def hold_early(self, cs: Changeset, exc: ClockAhead) -> Outcome:
        """Quarantine a changeset that is only early. Ownership is judged first, like the scope checks
        before it: a release lifts the clock bound and nothing else, so a sibling's write stamped in
        2099 would only be refused `not-owner` then, and meanwhile sit in the quarantine for good
        (soak seeds 372 and 502)."""
        why = self.store._not_owner(self.conn, cs, self.claimed)
        if why is not None:
            return _refused(cs, ownership.CODE, why)
        held = self.conn.execute(select(func.count()).select_from(t.quarantine).where(
            t.quarantine.c.author == cs.author, t.quarantine.c.scope == cs.scope, t.quarantine.c.id != cs.id)).scalar_one()
        if held >= self.store.max_quarantined_per_feed:
            return _refused(cs, "quarantine-full", f"feed {cs.author.hex()[:8]}/{cs.scope} already has {held} changesets "
                            "quarantined for a clock ahead: county staff must release or decline them first")
        self.conn.execute(_insert_ignore(self.conn, t.quarantine, ["id"]), {
            "id": cs.id, "author": cs.author, "scope": cs.scope, "seq": cs.seq, "envelope": cs.envelope,
            "code": exc.code, "reason": str(exc), "received": self.store.hlc.physical()})
        return {"id": cs.id, "status": "quarantined", "code": exc.code, "reason": str(exc)}

    def finish(self) -> None:
        store, conn = self.store, self.conn
        for cs in self.pending_new.values():
            store._log(conn, [cs], "held" if cs.schema > schema.SCHEMA_VERSION else "pending")
        if self.applied:
            # Positions follow apply order, so a feed's seqs reach pullers in chain order.
            first = store._allocate_pos(conn, len(self.applied))
            released = set(self.released)
            now = store.hlc.physical()
            fresh = []
            for i, cs in enumerate(self.applied):
                if cs.id in released:
                    conn.execute(update(t.log).where(t.log.c.id == cs.id).values(status="applied", pos=first + i))
                else:
                    fresh.append((cs.id, cs.author, cs.scope, cs.seq, "applied", cs.envelope, now, first + i))
            executemany(conn, _log_insert, _LOG_COLS, fresh)
        for feed, head in self.heads.items():
            if head is not None:
                conn.execute(_upsert(conn.dialect.name, t.heads, ("author", "scope")),
                             {"author": feed[0], "scope": feed[1], "seq": head.seq, "id": head.id})
        if self.merge:
            store._merge(conn, self.merge)


# Statements run per changeset or per row, built once: building a SQLAlchemy expression and its
# cache key costs more than SQLite takes to run it.
_HEAD = select(t.heads.c.seq, t.heads.c.id).where(
    t.heads.c.author == bindparam("feed_author"), t.heads.c.scope == bindparam("feed_scope"))
_HELD = select(t.log.c.id, t.log.c.envelope).where(
    t.log.c.author == bindparam("feed_author"), t.log.c.scope == bindparam("feed_scope"),
    t.log.c.seq == bindparam("at_seq"))
_PENDING_AT = select(t.log.c.envelope).where(
    t.log.c.author == bindparam("feed_author"), t.log.c.scope == bindparam("feed_scope"),
    t.log.c.seq == bindparam("at_seq"), t.log.c.status == "pending")
_WAITING = select(t.log.c.seq).where(  # the condition literally, as the partial index lw_log_waiting has it
    t.log.c.author == bindparam("feed_author"), t.log.c.scope == bindparam("feed_scope"), text(t.WAITING))
_POS = select(t.meta.c.value).where(t.meta.c.key == "pos").with_for_update()
_TRUST_MARK = select(t.meta.c.value).where(t.meta.c.key == "trust")
_LOG_INSERT = t.log.insert()
_LOG_COLS = ("id", "author", "scope", "seq", "status", "envelope", "received", "pos")


def _log_insert(dialect: str) -> Any:
    return _LOG_INSERT
_OPEN = select(t.open_changes).order_by(t.open_changes.c.n)
_OPEN_INSERT = t.open_changes.insert()
_OPEN_CLEAR = delete(t.open_changes).where(t.open_changes.c.n <= bindparam("upto"))


_OPEN_CONFLICTS = select(t.conflicts.c.key, t.conflicts.c.rows).where(
    t.conflicts.c.tbl == bindparam("tbl"), t.conflicts.c.kind.in_(bindparam("kinds", expanding=True)),
    t.conflicts.c.resolved.is_(None))


@functools.lru_cache(maxsize=None)
def _rows_by_id(table: str) -> Any:
    """The materialized rows of `table` whose ids are `:ids`, for the semantic rules: built once (a
    fresh `IN` of literal ids cost a local save more than running it)."""
    tbl: Any = schema.TABLES[table].__table__  # type: ignore[attr-defined]
    return select(tbl).where(tbl.c.id.in_(bindparam("ids", expanding=True)))


@functools.lru_cache(maxsize=None)
def _upsert(dialect: str, table: Any, keys: tuple[str, ...]) -> Any:
    """`node.engine.db.upsert`, built once per dialect and table: its `excluded` columns alone take half a
    millisecond to build for a domain table, more than the statement takes to run."""
    return upsert(dialect, table, list(keys))


@contextmanager
def _tx(engine: Engine) -> Iterator[Connection]:
    try:
        with engine.begin() as conn:
            begin_write(conn)
            yield conn
    except OperationalError as exc:
        if is_full(exc):
            raise StorageFull("the disk is full: this change was rolled back, nothing committed was lost; "
                              "free space and try again") from exc
        raise


def _queue_conflicts(conn: Connection) -> Any:
    """Queue found conflicts: a new one is inserted; one settled before and found again (a card
    edited again after the county settled its transfer-edit) is opened again — `resolved` means only
    that the rules no longer find it (`Store._settle`); an open one is left as it is."""
    ins: Any = postgresql.insert(t.conflicts) if conn.dialect.name == "postgresql" else sqlite.insert(t.conflicts)
    return ins.on_conflict_do_update(
        index_elements=["key"], where=t.conflicts.c.resolved.is_not(None),
        set_={"detail": ins.excluded.detail, "detected": ins.excluded.detected, "resolved": None, "resolution": None})


def _insert_ignore(conn: Connection, table: Any, keys: list[str]) -> Any:
    ins: Any = postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)
    return ins.on_conflict_do_nothing(index_elements=keys)


def issuing_order_lenient(raws: Sequence[bytes]) -> list[bytes]:
    """`issuing_order` for a peer's certificates: an undecodable one goes last, to be refused alone."""
    good, bad = [], []
    for raw in raws:
        try:
            certs.decode_certificate(raw)
            good.append(raw)
        except RemoteError:
            bad.append(raw)
    return issuing_order(good) + bad


def _endorsement(raw: bytes, envelopes: Sequence[bytes], hello: tuple[bytes, str] | None) -> str | None:
    """A place the certificate's key itself signed for: its hello, or one of its changesets."""
    cert = certs.decode_certificate(raw)
    if hello is not None and hello[0] == cert.subject and cert.may_write(hello[1]):
        return hello[1]
    for env in envelopes:
        try:
            cs = open_envelope(env)
        except RemoteError:
            continue
        if cs.author == cert.subject and cert.may_write(cs.scope):
            return cs.scope
    return None


def _refused(cs: Changeset, code: str, reason: str) -> Outcome:
    return {"id": cs.id, "status": "refused", "code": code, "reason": reason}


def _chunks(items: list[Any], n: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def _body_for(bodies: Sequence[int]) -> int:
    """The newest body format both this build and a peer that reads `bodies` know."""
    return max((b for b in BODIES if b in bodies), default=1)
