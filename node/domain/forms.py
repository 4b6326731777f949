"""Turning what an operator typed into the values a domain table stores.

A `Form` wraps the raw fields of one action and hands out checked values one field at a time,
using `node.domain.validate` for every kind of value it knows; whatever it accepts is collected in `out`,
ready for `Store.write`. Fields the form never asked about are refused at `done()`, so a misspelt
field name is an error, not a silently dropped value. On an edit (`creating=False`) nothing is
required: only the fields given are checked and written.

Dates are stored as ISO strings, money as whole yuan, choices as the vocabulary's own words.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from node.domain import validate
from protocol.changeset import Value
from protocol.errors import InvalidValue

_ROW_HEX = re.compile(r"^[0-9a-f]{32}$")


def required(field: str) -> InvalidValue:
    return InvalidValue(field, "必填 / required")


class Form:
    def __init__(self, fields: Mapping[str, Any], *, creating: bool = True) -> None:
        self.fields = dict(fields)
        self.creating = creating
        self.out: dict[str, Value] = {}
        self._asked: set[str] = set()

    def raw(self, name: str, need: bool = False) -> Any:
        """The value as typed (None when blank), marked as handled; for fields with their own checks."""
        self._asked.add(name)
        value = self.fields.get(name)
        if isinstance(value, str) and not value.strip():
            value = None
        if value is None and need and self.creating:
            raise required(name)
        return value

    def text(self, name: str, *, need: bool = False, max_len: int = 100) -> str | None:
        v = self.raw(name, need)
        if v is None:
            return None
        if not isinstance(v, str):
            raise InvalidValue(name, f"应为文字 / must be text, got {type(v).__name__}")
        v = v.strip()
        if len(v) > max_len:
            raise InvalidValue(name, f"不能超过{max_len}字 / at most {max_len} characters, got {len(v)}")
        self.out[name] = v
        return v

    def choice(self, name: str, options: Iterable[str], *, need: bool = False) -> str | None:
        v = self.raw(name, need)
        if v is None:
            return None
        self.out[name] = s = validate.one_of(name, v, options)
        return s

    def number(self, name: str, lo: int, hi: int, *, need: bool = False) -> int | None:
        v = self.raw(name, need)
        if v is None:
            return None
        self.out[name] = n = validate.in_range(name, v, lo, hi)
        return n

    def money(self, name: str, *, need: bool = False, hi: int = validate.MONEY_MAX) -> int | None:
        v = self.raw(name, need)
        if v is None:
            return None
        self.out[name] = n = validate.money(name, v, hi=hi)
        return n

    def day(self, name: str, *, need: bool = False, lo: date | None = None, hi: date | None = None) -> date | None:
        v = self.raw(name, need)
        if v is None:
            return None
        d = validate.date_str(name, v.isoformat() if isinstance(v, date) else v, lo=lo, hi=hi)
        self.out[name] = d.isoformat()
        return d

    def flag(self, name: str, *, need: bool = False) -> bool | None:
        v = self.raw(name, need)
        if v is None:
            return None
        if not isinstance(v, bool):
            raise InvalidValue(name, f"应为是或否 / must be yes or no (true/false), got {v!r}")
        self.out[name] = v
        return v

    def mobile(self, name: str, *, need: bool = False) -> str | None:
        v = self.raw(name, need)
        if v is None:
            return None
        self.out[name] = n = validate.mobile(v, field=name)
        return n

    def row(self, name: str, *, need: bool = False) -> str | None:
        """A reference to another row: its id as 32 lower-case hex characters."""
        v = self.raw(name, need)
        if v is None:
            return None
        if isinstance(v, bytes):
            v = v.hex()
        if not isinstance(v, str) or not _ROW_HEX.match(v):
            raise InvalidValue(name, f"应为记录编号(32位十六进制) / must be a row id (32 hex characters), got {v!r}")
        self.out[name] = v
        return v

    def tags(self, name: str, options: Iterable[str]) -> list[str]:
        """Elements for a `set` field; they are written as add operations, not as one value."""
        v = self.raw(name, False)
        if v is None:
            return []
        if isinstance(v, str) or not isinstance(v, Iterable):
            raise InvalidValue(name, f"应为列表 / must be a list, got {type(v).__name__}")
        allowed = tuple(options)
        return sorted({validate.one_of(name, x, allowed) for x in v})

    def done(self) -> dict[str, Value]:
        unknown = sorted(set(self.fields) - self._asked)
        if unknown:
            raise InvalidValue(unknown[0], f"没有这个字段 / no such field: {', '.join(unknown)}")
        return self.out
