"""An in-memory replica: the whole sync engine without storage, for the demo and property tests.

It runs the same pure parts the SQLite store runs (`admit`, `feed.place`, `merge_row`), keeping its
state in dicts. Nothing acknowledged is ever dropped: refused envelopes are reported, early ones are
quarantined, gapped ones are held, forks are kept with both envelopes as proof.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from conflict.registry import Registry
from conflict.row import RowState, check_values, merge_row, row_values
from node.engine import ownership
from protocol import clock, scope
from protocol.admit import admit
from protocol.certs import Trust
from protocol.changeset import DELETE_FIELD, DELETE_VALUE, Change, Changeset, FeedKey, Value, open_envelope, seal
from protocol.errors import ClockAhead, RemoteError
from protocol.feed import Head, Placement, Vector, lacking, place
from protocol.keys import KeyPair


@dataclass(frozen=True)
class Outcome:
    """What happened to one received envelope; `status` is what `/v1/push` answers."""

    status: str  # accepted | duplicate | pending | quarantined | fork | refused
    code: str = ""
    reason: str = ""
    released: int = 0  # pending changesets that became contiguous and were applied with it


@dataclass
class Replica:
    key: KeyPair
    home: str  # the place this replica serves; it receives its subtree and its ancestors
    trust: Trust
    registry: Registry
    wall: Callable[[], int] = clock.wall_ms
    hlc: clock.HLC = field(init=False)
    rows: dict[tuple[str, bytes], RowState] = field(default_factory=dict)
    heads: dict[FeedKey, Head] = field(default_factory=dict)
    held: dict[FeedKey, dict[int, Changeset]] = field(default_factory=dict)
    pending: dict[FeedKey, dict[int, Changeset]] = field(default_factory=dict)
    quarantine: list[Changeset] = field(default_factory=list)
    forks: list[tuple[bytes, bytes]] = field(default_factory=list)
    _open: list[Change] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.hlc = clock.HLC(self.wall)

    # -- local writes -------------------------------------------------------------------------

    def write(self, table: str, row: bytes, fld: str, value: Value) -> None:
        change = Change(table, row, fld, value, self.hlc.now())
        self._merge([(change, self.key.public)])
        self._open.append(change)

    def delete(self, table: str, row: bytes) -> None:
        self.write(table, row, DELETE_FIELD, DELETE_VALUE)

    def commit(self, feed_scope: str | None = None) -> Changeset | None:
        """Seal the open changes into the next changeset of our feed; None when there are none."""
        if not self._open:
            return None
        feed = (self.key.public, feed_scope or self.home)
        head = self.heads.get(feed)
        cs = seal(self.key, feed[1], head.seq + 1 if head else 1, head.id if head else None, self._open)
        self._open = []
        self._log(cs)
        return cs

    # -- receiving ----------------------------------------------------------------------------

    def receive(self, envelope: bytes) -> Outcome:
        try:
            cs = admit(envelope, self.trust, self.hlc.physical(), self.hlc.max_ahead_ms)
        except ClockAhead as exc:
            self.quarantine.append(open_envelope(envelope))
            return Outcome("quarantined", exc.code, str(exc))
        except RemoteError as exc:
            return Outcome("refused", exc.code, str(exc))
        if not scope.visible_to(self.home, cs.scope):
            return Outcome("refused", "out-of-scope", f"scope {cs.scope} is not visible to {self.home}")
        try:
            check_values(cs.changes, self.registry)  # before placing it: nothing half-merged, nothing held
        except RemoteError as exc:
            return Outcome("refused", exc.code, str(exc))
        held = self.held.get(cs.feed, {}).get(cs.seq) or self.pending.get(cs.feed, {}).get(cs.seq)
        verdict = place(cs, self.heads.get(cs.feed), held.id if held else None)
        if verdict is Placement.DUPLICATE:
            return Outcome("duplicate")
        if verdict in (Placement.FORK, Placement.BROKEN):
            other = held.envelope if held else self.held[cs.feed][cs.seq - 1].envelope
            self.forks.append((other, cs.envelope))
            return Outcome("fork", "fork", f"feed {cs.feed[0].hex()[:8]}/{cs.scope} forks at seq {cs.seq}")
        why = ownership.refusal(cs.scope, cs.changes, self._placed_at)
        if why is not None:
            return Outcome("refused", ownership.CODE, why)
        if verdict is Placement.PENDING:
            self.pending.setdefault(cs.feed, {})[cs.seq] = cs
            return Outcome("pending")
        self._apply(cs)
        released = 0
        waiting = self.pending.get(cs.feed, {})
        while (nxt := waiting.pop(self.heads[cs.feed].seq + 1, None)) is not None:
            if place(nxt, self.heads[cs.feed], None) is not Placement.APPLY:
                self.forks.append((self.held[cs.feed][nxt.seq - 1].envelope, nxt.envelope))
                break
            self._apply(nxt)
            released += 1
        return Outcome("accepted", released=released)

    def _placed_at(self, table: str, row: bytes) -> str | None:
        st = self.rows.get((table, row))
        placed = st.fields.get("scope") if st else None
        return None if placed is None else str(self.registry.policy(table, "scope").value(placed))

    def _apply(self, cs: Changeset) -> None:
        for c in cs.changes:
            self.hlc.observe(c.hlc)
        self._merge([(c, cs.author) for c in cs.changes])
        self._log(cs)

    def _log(self, cs: Changeset) -> None:
        self.held.setdefault(cs.feed, {})[cs.seq] = cs
        self.heads[cs.feed] = Head(cs.seq, cs.id)

    def _merge(self, changes: list[tuple[Change, bytes]]) -> None:
        by_row: dict[tuple[str, bytes], list[tuple[Change, bytes]]] = {}
        for change, author in changes:
            by_row.setdefault((change.table, change.row), []).append((change, author))
        for key, batch in by_row.items():
            self.rows[key], _ = merge_row(self.rows.get(key, RowState()), key[0], batch, self.registry)

    # -- sync ---------------------------------------------------------------------------------

    def vector(self) -> Vector:
        return {feed: head.seq for feed, head in self.heads.items()}

    def missing_for(self, their_vector: Vector, their_home: str) -> list[bytes]:
        """Envelopes the other side lacks and may see, in feed order."""
        out: list[bytes] = []
        for feed, (lo, hi) in sorted(lacking(self.vector(), their_vector).items()):
            if scope.visible_to(their_home, feed[1]):
                out += [self.held[feed][s].envelope for s in range(lo, hi + 1)]
        return out

    def values(self) -> dict[tuple[str, bytes], dict[str, Value] | None]:
        """Every row as queries see it; a deleted row shows as None (its tombstone)."""
        return {
            k: None if r.deleted else row_values(r, k[0], self.registry) for k, r in sorted(self.rows.items())
        }
