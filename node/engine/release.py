"""Release rulings on a replica (protocol/release.py, docs/trust.md §6): which changesets the rulings
held here cap, at what stamp, and the changes a released changeset merges with.

A ruling is a replicated row (`lw_release`) in the issuer's signed feed, so a replica reads the
rulings it holds from its merge state: one range read per apply. Only a key of an issuing role may
write one — refused at admission otherwise, alike on every replica — so a village cannot overwrite
the county's ruling on its own changeset.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from sqlalchemy import Connection, select

from conflict.row import row_values
from node.engine import tables as t
from protocol import clock
from protocol import release as rl
from protocol.admit import admit
from protocol.certs import Trust
from protocol.changeset import Change, Changeset, open_envelope
from protocol.errors import RemoteError

if TYPE_CHECKING:
    from node.engine.api import StoreCore as Store

Rulings = dict[bytes, tuple[bytes, int]]  # ruling row → (released changeset id, cap)


def held(store: Store, conn: Connection) -> Rulings:
    """Every well-formed ruling this replica holds, as merged."""
    keys = [(rl.TABLE, r.row) for r in conn.execute(select(t.rows.c.row).where(t.rows.c.tbl == rl.TABLE))]
    if not keys:
        return {}
    out: Rulings = {}
    for (_, row), state in store._load_rows(conn, keys).items():
        if not state.deleted:
            ruling = _ruling(row, row_values(state, rl.TABLE, store.registry))
            if ruling is not None:
                out[row] = ruling
    return out


def arriving(changesets: Iterable[Changeset]) -> Rulings:
    """Rulings carried by `changesets` (admitted, not merged yet): the latest stamp per field wins,
    as the merge will decide."""
    fields: dict[bytes, dict[str, tuple[int, object]]] = {}
    for cs in changesets:
        for c in cs.changes:
            if c.table == rl.TABLE and c.field in (rl.CHANGESET, rl.CAP):
                have = fields.setdefault(c.row, {})
                if c.field not in have or c.hlc > have[c.field][0]:
                    have[c.field] = (c.hlc, c.value)
    out: Rulings = {}
    for row, got in fields.items():
        ruling = _ruling(row, {f: v for f, (_, v) in got.items()})
        if ruling is not None:
            out[row] = ruling
    return out


def cap_of(rulings: Rulings, cs: Changeset) -> int | None:
    """The cap a ruling sets for `cs`, or None when none names it."""
    found = rulings.get(rl.row_id(cs.scope, cs.id)) if cs.scope.isdigit() else None
    return found[1] if found is not None and found[0] == cs.id else None


def merged(rulings: Rulings, cs: Changeset) -> Sequence[Change]:
    """The changes `cs` merges with: capped when a ruling names it, else as signed."""
    cap = cap_of(rulings, cs) if rulings else None
    return cs.changes if cap is None else rl.capped(cs.changes, cap)


def named_in_quarantine(store: Store, conn: Connection, rulings: Rulings) -> list[Changeset]:
    """Quarantined changesets a ruling names: let in now, capped (verified again, bound lifted)."""
    ids = list({cs_id for cs_id, _ in rulings.values()})
    out = []
    for i in range(0, len(ids), 500):
        q = select(t.quarantine.c.envelope).where(t.quarantine.c.id.in_(ids[i:i + 500]))
        for r in conn.execute(q):
            try:
                cs = admit(r.envelope, store.trust, store.hlc.physical(), clock.MAX_HLC)
            except RemoteError:
                continue  # refused now (its key revoked since): it stays where it is
            if cap_of(rulings, cs) is not None:
                out.append(cs)
    return out


def to_merge_again(store: Store, conn: Connection, before: Rulings, used: Rulings,
                   applied: list[Changeset]) -> set[tuple[str, bytes]]:
    """After a batch merged: the rows to merge again because a ruling arrived (or changed its cap)
    for a changeset applied here before, or merged in this batch under another cap. The village that
    sealed a 2099 changeset merged it as stamped; the ruling brings its stamps down there too."""
    after = held(store, conn)
    changed = {cs_id: cap for row, (cs_id, cap) in after.items() if before.get(row) != (cs_id, cap)}
    if not changed:
        return set()
    here = {cs.id: cap_of(used, cs) for cs in applied}
    todo = [cs_id for cs_id, cap in changed.items() if here.get(cs_id, -1) != cap]
    rows: set[tuple[str, bytes]] = set()
    for i in range(0, len(todo), 500):
        q = select(t.log.c.envelope).where(t.log.c.id.in_(todo[i:i + 500]), t.log.c.status == "applied")
        for r in conn.execute(q):
            if r.envelope is not None:
                rows |= {(c.table, c.row) for c in open_envelope(r.envelope).changes}
    return rows


def refusal(cs: Changeset, trust: Trust) -> str | None:
    """Why `cs` may not carry a ruling (judged on it alone, so every replica refuses alike), or None."""
    if not any(c.table == rl.TABLE for c in cs.changes):
        return None
    cert = trust.certs.get(cs.author)
    if cert is None or cert.role not in rl.ISSUER_ROLES:
        return (f"only a {'/'.join(rl.ISSUER_ROLES)} key releases a quarantined changeset; "
                f"{cs.author.hex()[:8]} is not one")
    for c in cs.changes:
        if c.table != rl.TABLE or c.is_delete:
            continue
        if c.field not in (rl.CHANGESET, rl.CAP) or _ruling(c.row, {c.field: c.value}, partial=True) is None:
            return f"a release ruling with a malformed {c.field!r}"
    return None


def _ruling(row: bytes, values: Mapping[str, object], *, partial: bool = False) -> tuple[bytes, int] | None:
    cs_id, cap = values.get(rl.CHANGESET), values.get(rl.CAP)
    id_ok = isinstance(cs_id, bytes) and len(cs_id) == 32 and row[5:] == cs_id[:11] and len(row) == 16
    cap_ok = isinstance(cap, int) and not isinstance(cap, bool) and 0 <= cap < 1 << 63
    if partial:
        return (b"", 0) if (cs_id is None or id_ok) and (cap is None or cap_ok) else None
    if not (id_ok and cap_ok):
        return None
    assert isinstance(cs_id, bytes) and isinstance(cap, int)
    return cs_id, cap
