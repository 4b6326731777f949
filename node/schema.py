"""Replicated tables: each domain model is a sqlmodel table whose fields declare their merge policy.

A model subclasses `Record` (row id and place), lists non-default policies in `__merge__`, and is
registered with `@replicated`. The store materializes merged rows into these tables for queries;
the merge state itself lives in the engine tables (see `node/engine_tables.py`).
"""
from __future__ import annotations

from typing import Any, ClassVar

from sqlmodel import Field, SQLModel

from conflict.lattice import Lattice
from conflict.registry import Registry

SCHEMA_VERSION = 2  # 2: placement fares and contract flag, broker training, monitoring, wage arrears

TABLES: dict[str, type[Record]] = {}


class Record(SQLModel):
    """Columns every replicated row has: its id (32 hex chars of 16 bytes) and its place."""

    id: str = Field(primary_key=True, max_length=32)
    scope: str = Field(index=True, max_length=12)

    __merge__: ClassVar[dict[str, str | Lattice]] = {}


def replicated(cls: type[Record]) -> type[Record]:
    """Register a table model so stores materialize it and registries know its policies."""
    TABLES[str(cls.__tablename__)] = cls
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
