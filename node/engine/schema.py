"""Replicated tables: each domain model is a sqlmodel table whose fields declare their merge policy.

A model subclasses `Record` (row id and place), lists non-default policies in `__merge__`, and is
registered with `@replicated`. The store materializes merged rows into these tables for queries;
the merge state itself lives in the engine tables (see `node/engine/tables.py`).
"""
from __future__ import annotations

import functools
import hashlib
import os
from typing import Any, ClassVar

from sqlmodel import Field, SQLModel

from conflict.lattice import Lattice
from conflict.registry import Registry
from node.engine import widestate
from protocol import scope as scopes
from protocol.errors import Malformed

SCHEMA_VERSION = 2  # 2: placement fares and contract flag, broker training, monitoring, wage arrears

# -- row ids ----------------------------------------------------------------------------------------
# A row id is 16 bytes: the owning place's 12-digit code as a 5-byte big-endian integer, a 3-byte tag
# that marks the format, then 8 random bytes (docs/identity.md). The place makes ownership a pure
# function of the id, judged alike on every replica whatever order changesets arrive in; the tag tells
# these ids from 0.1.0 ones (16 random bytes, or a keyed hash of an ID number), whose first five bytes
# would otherwise read as a place nine times in ten. Nothing in an id is derived from a person.
_PLACE_BYTES = 5
_TAG = b"\x4c\x57\x02"  # "LW" + format 2; a 0.1.0 id carries it by chance once in 16.7 million
_PLACED = _PLACE_BYTES + len(_TAG)


def new_row_id(place: str) -> bytes:
    """A fresh id for a record owned by `place` (a 12-digit division code)."""
    return _placed(place) + os.urandom(16 - _PLACED)


def derived_row_id(place: str, *parts: bytes) -> bytes:
    """The id of a record there is one of per place and key (a village's station, a broker's review of
    one year): two machines entering it converge on one row. `parts` must not hold personal data."""
    h = hashlib.sha256(b"\0".join(parts)).digest()
    return _placed(place) + h[: 16 - _PLACED]


@functools.lru_cache(maxsize=1 << 16)
def row_place(row: bytes) -> str | None:
    """The place that owns `row`, or None for a 0.1.0 id (see `node.engine.ownership` for its fallback).
    Cached: admission asks once per change, and a changeset names each row once per field."""
    if len(row) != 16 or row[_PLACE_BYTES:_PLACED] != _TAG:
        return None
    code = f"{int.from_bytes(row[:_PLACE_BYTES], 'big'):012d}"
    try:
        return scopes.check_code(code, "row place")
    except Malformed:
        return None


def _placed(place: str) -> bytes:
    scopes.check_code(place, "place")
    return int(place).to_bytes(_PLACE_BYTES, "big") + _TAG

TABLES: dict[str, type[Record]] = {}


class Record(SQLModel):
    """Columns every replicated row has: its id (32 hex chars of 16 bytes) and its place."""

    id: str = Field(primary_key=True, max_length=32)
    scope: str = Field(index=True, max_length=12)

    __merge__: ClassVar[dict[str, str | Lattice]] = {}


def replicated(cls: type[Record]) -> type[Record]:
    """Register a table model so stores materialize it and registries know its policies, and declare
    its wide merge-state table (`node.engine.widestate`: a group of columns per field)."""
    TABLES[str(cls.__tablename__)] = cls
    widestate.declare(str(cls.__tablename__), tuple(columns(cls)), SQLModel.metadata)
    return cls


def columns(cls: type[Record]) -> list[str]:
    return [name for name in cls.model_fields if name != "id"]


def registry() -> Registry:
    """The merge policy of every declared field of every registered table."""
    reg = Registry()
    for name, cls in TABLES.items():
        for field, policy in cls.__merge__.items():
            if policy == "set":
                reg.declare_set(name, field)
            elif isinstance(policy, Lattice):
                reg.declare(name, field, policy)
            elif policy != "lww":
                raise ValueError(f"{name}.{field}: unknown merge policy {policy!r}")
    return reg


def materialize(cls: type[Record], row_hex: str, values: dict[str, Any]) -> dict[str, Any]:
    """Merged field values → one row dict for the model's table; unknown fields are left out."""
    out: dict[str, Any] = {name: values.get(name) for name in columns(cls)}
    out["id"] = row_hex
    return out
