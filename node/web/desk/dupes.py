"""The duplicate warning at entry: is this person perhaps on a card here already?

Two kinds, both read from the materialized register:
* the same ID number on an active card (the domain refuses to register it twice; the warning
  links the card so the operator edits it instead);
* a similar name with the same birth date: a typo'd name (rapidfuzz ratio ≥ 66) or a homophone
  typed with another character (the same pinyin: 张珊 / 张山), a likely second card for one person
  whose ID number was mistyped.
"""
from __future__ import annotations

from contextlib import nullcontext
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import Connection, Engine, select

from node.domain import validate
from node.domain.person import Person
from node.web.desk.search import readings
from protocol.errors import InvalidValue

SIMILAR = 66


def _active(p: Any) -> list[Any]:
    return [p.c.closed_on.is_(None)] if "closed_on" in p.c else []


def candidates(db: Engine | Connection, fields: dict[str, Any], exclude: str | None = None) -> list[dict[str, Any]]:
    """Cards that may be this person, each with `why` in Chinese; empty when the ID number is invalid.
    Read on `db`: a connection of its own from an engine, or the save's unit (the entry form reads and
    registers in one transaction)."""
    try:
        info = validate.id_number(str(fields.get("id_number", "")))
    except InvalidValue:
        return []
    name = str(fields.get("name") or "").strip()
    p: Any = Person.__table__  # type: ignore[attr-defined]
    found: dict[str, dict[str, Any]] = {}
    with db.connect() if isinstance(db, Engine) else nullcontext(db) as conn:
        for r in conn.execute(select(p).where(p.c.id_number == info.number, *_active(p))):
            found[r.id] = {**r._mapping, "why": "身份证号相同,已有卡片"}
        if name:
            mine = set(readings(name)[0])
            for r in conn.execute(select(p).where(p.c.birth_date == info.birth.isoformat(), *_active(p))):
                if r.id in found or not r.name:
                    continue
                if fuzz.ratio(name, r.name) >= SIMILAR or mine & set(readings(r.name)[0]):
                    found[r.id] = {**r._mapping, "why": f"姓名相近({r.name}),出生日期相同"}
    found.pop(exclude or "", None)
    return list(found.values())
