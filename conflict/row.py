"""Merging a batch of changes into one row, with the delete tombstone (see package docstring)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from conflict.registry import Registry
from conflict.types import Incoming, Tag
from protocol.changeset import Change, Value


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

    Pure: `row` is not modified. A delete purges every field (`"*"` is reported changed).
    """
    fields = dict(row.fields)
    tombstone = row.tombstone
    changed: set[str] = set()
    for change, author in changes:
        tag = (change.hlc, author)
        if change.is_delete:
            if tombstone is None:
                changed |= set(fields) | {"*"}
                fields = {}
            tombstone = max(tombstone, tag) if tombstone else tag
            continue
        if tombstone is not None:
            continue
        policy = registry.policy(table, change.field)
        old = fields.get(change.field)
        new = policy.merge(old, Incoming(change.value, change.hlc, author))
        if new != old:
            if old is None or policy.value(new) != policy.value(old):
                changed.add(change.field)
            fields[change.field] = new
    return RowState(fields, tombstone), changed


def row_values(row: RowState, table: str, registry: Registry) -> dict[str, Value]:
    """The row as a query sees it: field → current value."""
    return {f: registry.policy(table, f).value(s) for f, s in sorted(row.fields.items())}
