"""What the store's helpers (`node.engine.retract`, `node.engine.redact`) need of a `Store`, as a structural type.

The helpers run inside the store's own transactions and call back into it; typing them against this
protocol instead of `node.engine.store.Store` keeps the import graph one-way (store → helpers).
"""
from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from sqlalchemy import Connection, Engine

from conflict.registry import Registry
from conflict.row import RowState
from protocol.certs import Trust
from protocol.changeset import Change, Changeset, Value
from protocol.clock import HLC
from protocol.keys import KeyPair

RowKey = tuple[str, bytes]


class StoreCore(Protocol):
    engine: Engine
    key: KeyPair | None
    author: bytes
    home: str
    hlc: HLC
    trust: Trust
    registry: Registry

    def transaction(self) -> AbstractContextManager[Connection]: ...

    def reoffer(self, conn: Connection, changesets: list[Changeset]) -> list[dict[str, Any]]: ...

    def _write(self, conn: Connection, table: str, row: bytes, items: list[tuple[str, Value]],
               scope: str | None) -> None: ...

    def _merge(self, conn: Connection, changes: list[tuple[Sequence[Change], bytes, str]]) -> None: ...

    def _materialize(self, conn: Connection, table: str, rows: list[bytes]) -> None: ...

    def _load_rows(self, conn: Connection, keys: list[RowKey]) -> dict[RowKey, RowState]: ...
