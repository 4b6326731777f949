"""Release rulings: a far-future changeset let in with its stamps capped, alike on every replica
(issue 9 item 6, docs/trust.md §6).

A changeset sealed under a laptop clock set to 2099 is quarantined on every hub: applied as stamped,
each of its values would beat every later edit of that field until 2099. Declined, it leaves a gap
in the village's feed and everything after it waits. A county (or a township, prefecture or province
key whose certificate covers the place) therefore *releases* it with a **ruling**: a change in the
issuer's own signed feed, in the table `lw_release`, whose row names the released changeset and
carries a cap. Every replica that holds a ruling for a changeset merges that changeset's changes
with their stamps capped (`capped`), whenever and in whatever order the two arrive; a replica that
had already merged it as stamped (the village itself) merges the rows it touched again.

The cap is decided once, by the issuer, and written in the ruling, so every replica caps alike:
just after the village's previous changeset (its greatest stamp as merged, capped itself if it was
released too), or for a feed's first changeset the start of the author's certificate. The released
values so count as written right after the village's earlier work: they beat nothing anyone wrote
since, and the village's own later work (stamped after its clock was corrected) beats them.

Pure: changes in, changes out.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from protocol.changeset import Change

TABLE = "lw_release"  # the table a ruling travels under, as a change in the issuer's feed
CHANGESET = "changeset"  # field: the released changeset's id (32 bytes)
CAP = "cap"  # field: the highest stamp its changes may merge with (HLC)
ISSUER_ROLES = ("province", "prefecture", "county", "township")


def row_id(place: str, changeset_id: bytes) -> bytes:
    """The row a ruling travels under: the released changeset's place in the first 5 bytes, as every
    new row id carries (node.engine.schema.new_row_id), then 11 bytes of its id."""
    return int(place).to_bytes(5, "big") + changeset_id[:11]


def capped(changes: Sequence[Change], cap: int) -> list[Change]:
    """`changes` with every stamp above `cap` brought down to just above it, in their order: the
    distinct stamps above the cap become cap, cap+1, … (a changeset holds at most a few thousand
    changes, so they stay within the cap's millisecond), those at or below it stay."""
    above = sorted({c.hlc for c in changes if c.hlc > cap})
    if not above:
        return list(changes)
    to = {h: cap + i for i, h in enumerate(above)}
    return [Change(c.table, c.row, c.field, c.value, to[c.hlc]) if c.hlc in to else c for c in changes]


def greatest(changes: Iterable[Change]) -> int:
    """The greatest stamp of `changes` (0 for none): with `capped`, what a released changeset's
    successor is capped after."""
    return max((c.hlc for c in changes), default=0)
