"""Picking the record a new one hangs on: a person by what the operator knows of them, an
employer, a filed broker or a placement from a short list; and names for the ids lists show."""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, select

from node.engine import schema
from node.web.desk import search
from node.web.masking import mask_id_number
from protocol.errors import InvalidValue

_HEX = re.compile(r"^[0-9a-f]{32}$")


def _tbl(table: str) -> Any:
    return schema.TABLES[table].__table__  # type: ignore[attr-defined]


def person(engine: Engine, text: str, field: str = "person") -> str:
    """The row id of the one person `text` names (row id, name, pinyin, initials, phone, ID tail)."""
    text = text.strip()
    if _HEX.match(text):
        return text
    found, total = search.search(engine, search.Query(q=text), page_size=6)
    if total == 1:
        return str(found[0]["id"])
    if total == 0:
        raise InvalidValue(field, f"没有找到“{text}”,请换个写法(姓名、拼音、身份证号后4位) / nobody matches {text!r}")
    who = "、".join(f"{p['name']}({mask_id_number(p['id_number'])})" for p in found[:5])
    raise InvalidValue(field, f"找到{total}人:{who}……请写得更具体,如加上身份证号后4位 / {total} people match: "
                       "be more specific")


def names(engine: Engine, table: str, rows: Iterable[str | None], column: str = "name") -> dict[str, str]:
    ids = sorted({r for r in rows if r})
    if not ids:
        return {}
    t = _tbl(table)
    with engine.connect() as conn:
        return {r[0]: r[1] or "" for r in conn.execute(select(t.c.id, t.c[column]).where(t.c.id.in_(ids)))}


def options(engine: Engine, kind: str, person_row: str | None = None) -> list[tuple[str, str]]:
    """(value, label) choices for an employer, a filed broker, or a person's placements."""
    with engine.connect() as conn:
        if kind == "employer":
            t = _tbl("employer")
            return [(r.id, r.name) for r in conn.execute(select(t.c.id, t.c.name).order_by(t.c.name).limit(500))]
        if kind == "broker":
            t = _tbl("broker")
            q = select(t.c.id, t.c.name).where(t.c.stage == "filed").order_by(t.c.name)
            return [(r.id, r.name) for r in conn.execute(q)]
        if kind == "placement":
            t, p = _tbl("placement"), _tbl("person")
            q = (select(t.c.id, t.c.employer_name, t.c.start_date, p.c.name).join(p, p.c.id == t.c.person)
                 .where(t.c.stage.in_(("signed", "started", "stable_1y"))).order_by(p.c.name).limit(500))
            if person_row:
                q = q.where(t.c.person == person_row)
            return [(r.id, f"{r.name} · {r.employer_name} · {r.start_date}") for r in conn.execute(q)]
    return []
