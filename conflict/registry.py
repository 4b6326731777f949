"""Which policy governs each (table, field). Models declare it; every replica looks it up here."""
from __future__ import annotations

from typing import Any, Protocol

from conflict.lattice import Lattice
from conflict.lww import Lww
from conflict.orset import OrSet
from conflict.types import Incoming


class Policy(Protocol):
    name: str

    def merge(self, state: Any, inc: Incoming) -> Any: ...

    def value(self, state: Any) -> Any: ...

    def encode(self, state: Any) -> Any: ...

    def decode(self, raw: Any) -> Any: ...


LWW = Lww()
SET = OrSet()


class Registry:
    """Policies by (table, field); anything undeclared is `lww`, including fields we do not know."""

    def __init__(self) -> None:
        self._policies: dict[tuple[str, str], Policy] = {}
        self._sets: frozenset[tuple[str, str]] | None = None

    def declare(self, table: str, field: str, policy: Policy) -> None:
        self._policies[(table, field)] = policy
        self._sets = None

    def set_fields(self) -> frozenset[tuple[str, str]]:
        """The (table, field) pairs whose policy is an OR-set: the only values a change is checked on."""
        if self._sets is None:
            self._sets = frozenset(k for k, p in self._policies.items() if p.name == "set")
        return self._sets

    def declare_set(self, table: str, field: str) -> None:
        self.declare(table, field, SET)

    def declare_lattice(self, table: str, field: str, stages: tuple[str, ...], absorbing: str | None = "revoked") -> None:
        self.declare(table, field, Lattice(stages, absorbing))

    def policy(self, table: str, field: str) -> Policy:
        return self._policies.get((table, field), LWW)
