"""Ownership: which feed may change a record (DESIGN §4 "Ownership", docs/identity.md).

Every record belongs to one place. For a row id made by `node.engine.schema.new_row_id` the place is in the
id itself, so the decision below is a pure function of the changeset: every replica refuses the same
changesets whatever order they arrive in, and replicas stay converged. A change is accepted only from
a feed whose scope *is* the record's place. Township, county and province keys edit a village's record
by writing into a feed scoped to that village (README "one feed per place written"), and admission has
already checked that their certificate covers the feed's scope: so a sibling village's key, which can
only write its own village's feeds, can never write, move or delete another village's record.

A changeset with one foreign change is refused whole (code `not-owner`): half-applying a signed
changeset would leave replicas disagreeing on what it means, and an honest node never writes one
(`Store.write` refuses before sealing). Everything the same feed wrote after it then waits, as after
any refused changeset: a feed that writes where it may not is shown to county staff, not trusted.
A changeset stamped too far ahead is judged on ownership before it is quarantined (`_Batch.hold_early`):
a release lifts the clock bound and nothing else, so a foreign one would only be refused then, after
waiting in the quarantine for good (soak seeds 372 and 502).

Rows with 0.1.0 ids (16 random bytes, or the keyed hash of an ID number) carry no place. Their place
is the value of their replicated `scope` field as this replica holds it, which the changeset that
created them set (`Store.write` writes it with every new row); a row this replica does not hold yet,
or holds without a `scope` field, is accepted, and a `scope` written fixes its place here. This fallback depends on arrival order only when two feeds create the
same 0.1.0 row concurrently, which 0.2.0 nodes never do (new records get placed ids); it is written
down as a known limit for databases upgraded from 0.1.0.

A change that sets a record's `scope` to anything but its feed's scope is refused whatever the id:
records never move. A person who moves village is transferred (a new card in the new place).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from node.engine.schema import row_place
from protocol.changeset import Change

CODE = "not-owner"
LegacyPlace = Callable[[str, bytes], "str | None"]


def refusal(feed_scope: str, changes: Iterable[Change], legacy_place: LegacyPlace) -> str | None:
    """Why a changeset of feed scope `feed_scope` may not change these records, or None if it may.

    `legacy_place(table, row)` is the place a 0.1.0 row holds on this replica (None if unknown)."""
    table, row = None, None
    for c in changes:
        if c.field == "scope" and c.value != feed_scope:
            return (f"{c.table} {c.row.hex()[:8]}: a change in scope {feed_scope} may not move a record to "
                    f"{str(c.value)[:12]}; records never move (transfer a person instead)")
        if c.row == row and c.table == table:
            continue  # a row's changes come together: its owner is judged once
        table, row = c.table, c.row
        owner = owner_of(c.table, c.row, legacy_place)
        if owner is not None and owner != feed_scope:
            return (f"{c.table} {c.row.hex()[:8]} belongs to {owner}; a feed of scope {feed_scope} may not "
                    "change it (only keys covering its place, writing in its place)")
    return None


def owner_of(table: str, row: bytes, legacy_place: LegacyPlace) -> str | None:
    """The place that owns a row: from its id, else (0.1.0 ids) from what this replica holds."""
    return row_place(row) or legacy_place(table, row)


def claims(feed_scope: str, changes: Iterable[Change]) -> dict[tuple[str, bytes], str]:
    """The 0.1.0 rows an accepted changeset places by writing their `scope` field: later changesets
    of the same batch judge them as they will be judged once it is merged (`legacy_place` reads
    that field), so how envelopes are split into batches changes nothing."""
    return {(c.table, c.row): feed_scope for c in changes if c.field == "scope" and row_place(c.row) is None}
