"""Merging a batch of changes into one row, with the delete tombstone (see package docstring)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from conflict.registry import Registry
from conflict.types import Incoming, Tag
from protocol import codec
from protocol.changeset import Change, Value


# A field no query sees: 16 random bytes a write of a person's record carries beside its values, so
# that a redacted body keeps nothing an erased value could be confirmed against (node.redact.salted).
# It merges like any field (last writer wins) and is erased with the row; `row_values` leaves it out.
SALT = "salt"


@dataclass
class RowState:
    """One row's merge state: a policy state per field, or a tombstone once deleted."""

    fields: dict[str, Any] = field(default_factory=dict)
    tombstone: Tag | None = None

    @property
    def deleted(self) -> bool:
        return self.tombstone is not None


def merge_row(
    row: RowState, table: str, changes: Iterable[tuple[Change, bytes]], registry: Registry
) -> tuple[RowState, set[str]]:
    """Apply `(change, author)` pairs to `row`; return the new state and the fields whose value moved.

    Pure: `row` is not modified. "Moved" compares the row before and after the whole batch, so a
    value that changes and changes back within one batch is not reported. A delete purges every
    field: the row's fields and `"*"` are reported.
    """
    fields = dict(row.fields)
    tombstone = row.tombstone
    touched: set[str] = set()
    for change, author in changes:
        tag = (change.hlc, author)
        if change.is_delete:
            fields = {}
            tombstone = max(tombstone, tag) if tombstone else tag
            continue
        if tombstone is not None:
            continue
        policy = registry.policy(table, change.field)
        fields[change.field] = policy.merge(fields.get(change.field), Incoming(change.value, change.hlc, author))
        touched.add(change.field)
    new = RowState(fields, tombstone)
    if new.deleted:
        return new, set() if row.deleted else set(row.fields) | {"*"}
    return new, {f for f in touched if _value(row, table, f, registry) != _value(new, table, f, registry)}


def _value(row: RowState, table: str, fld: str, registry: Registry) -> bytes | None:
    """The field's value as canonical bytes (so 1, 1.0 and True differ); None when unset."""
    state = row.fields.get(fld)
    return None if state is None else codec.pack(registry.policy(table, fld).value(state))


def check_values(changes: Iterable[Change], registry: Registry) -> None:
    """Raise `Malformed` if a change's value does not fit its field's policy (a set change that is
    not `["+", elem]` or `["-", elem, tags]`).

    Judged on each change alone, never on the row it lands in: `merge_row` skips edits to a deleted
    row, so a check made while merging would refuse a changeset on one replica and accept it on
    another that already holds the tombstone.
    """
    sets = registry.set_fields()
    if not sets:
        return
    for change in changes:
        if (change.table, change.field) in sets:  # lww and lattice registers take any value
            registry.policy(change.table, change.field).merge(None, Incoming(change.value, change.hlc, b""))


def row_values(row: RowState, table: str, registry: Registry) -> dict[str, Value]:
    """The row as a query sees it: field → current value (never the salt)."""
    return {f: registry.policy(table, f).value(s) for f, s in sorted(row.fields.items()) if f != SALT}
