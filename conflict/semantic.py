"""Semantic conflicts: what no merge rule can settle, reported for county staff to resolve.

The data still converges by the field policies; a `Rule` only looks at the merged result and says
"these rows disagree in a way a person must decide". The domain declares rules next to its models;
stores run them after each merge and keep what they report in a conflict queue. A conflict's `key`
is derived from its kind and rows, so every replica queues the same conflict once.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Mapping, Protocol

from protocol.changeset import Value

RowValues = Mapping[str, Value]


@dataclass(frozen=True)
class SemanticConflict:
    kind: str
    table: str
    rows: tuple[bytes, ...]
    detail: str

    @property
    def key(self) -> bytes:
        h = hashlib.sha256(self.kind.encode())
        for r in sorted(self.rows):
            h.update(r)
        return h.digest()[:16]


class RowView(Protocol):
    """Read-only access to merged rows, given to rules by the store."""

    def find(self, table: str, **equals: Value) -> list[tuple[bytes, RowValues]]: ...


class Rule(Protocol):
    tables: tuple[str, ...]

    def check(self, table: str, row: bytes, values: RowValues, view: RowView) -> list[SemanticConflict]: ...
