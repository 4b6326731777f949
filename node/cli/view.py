"""What the domain commands share: typing what the operator typed, finding records, showing them.

The operator types text; the domain's forms (`node.domain.forms`) check it. This module only turns
text into the Python type of the model's field (`--set two_after=是` → True, `--set skills=电工、焊工`
→ a list) and leaves every check to the domain: a typed int stays text, since the money and range
checks read text with their own messages ("5200元", "5,200").

Records are named the way an operator knows them: a person or broker by ID number, a placement by
its person (or by row id when a person has several). Output is a card of labelled lines
("姓名 name: 张三") or an aligned table for people; `--json` gets the plain field names instead.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any, get_args

from sqlalchemy import select

from node.engine import schema

from node.domain import validate
from node.domain.person import Person
from node.engine.store import Store
from protocol.errors import InvalidValue

Row = dict[str, Any]

YES = {"是", "有", "yes", "y", "true", "1"}
NO = {"否", "无", "no", "n", "false", "0"}
_LIST_SEP = re.compile(r"[,，、;；\s]+")


# -- typing what was typed -------------------------------------------------------------------------


def typed(model: type[schema.Record], name: str, text: str) -> Any:
    """`text` as the model's field `name` holds it; a field the model lacks is left to the form to refuse."""
    info = model.model_fields.get(name)
    kinds = set(get_args(info.annotation)) | {info.annotation} if info else set()
    if bool in kinds:
        word = text.strip().lower()
        if word in YES:
            return True
        if word in NO:
            return False
        raise InvalidValue(name, f"应为是或否,实际为{text!r} / must be 是 or 否 (yes or no), got {text!r}")
    if any(getattr(k, "__origin__", None) is list for k in kinds):
        return [w for w in _LIST_SEP.split(text) if w]
    return text


def settings(model: type[schema.Record], pairs: Sequence[str] | None) -> dict[str, Any]:
    """`--set field=value` pairs as form fields (a blank value means "not given")."""
    out: dict[str, Any] = {}
    for pair in pairs or ():
        name, eq, text = pair.partition("=")
        if not eq or not name.strip():
            raise InvalidValue("set", f"应写成 字段=值,实际为{pair!r} / write field=value, got {pair!r}")
        out[name.strip()] = typed(model, name.strip(), text)
    return out


def given(**fields: Any) -> dict[str, Any]:
    """The flags the operator gave (argparse leaves the others None)."""
    return {k: v for k, v in fields.items() if v is not None and v != []}


def day(text: str | None, field: str = "date") -> date | None:
    return validate.date_str(field, text) if text else None


# -- finding records -------------------------------------------------------------------------------


def rows(store: Store, table: str, **where: Any) -> list[Row]:
    """Materialized rows of `table` whose columns equal `where`."""
    tbl: Any = schema.TABLES[table].__table__  # type: ignore[attr-defined]
    q = select(tbl).where(*(tbl.c[k] == v for k, v in where.items()))
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def one(store: Store, table: str, row: str, what: str) -> Row:
    found = rows(store, table, id=row.strip().lower())
    if not found:
        raise InvalidValue("row", f"本机没有这条{what}记录 / no {table} record {row} here")
    return found[0]


def find_person(store: Store, id_number: str) -> Row:
    """The card with this ID number (as it stands now: a corrected number finds its card)."""
    number = validate.id_number(id_number).number
    # An active card first, this node's own before another place's: a closed card (transferred,
    # duplicate, merged) is only found when no active one holds the number.
    found = sorted(rows(store, "person", id_number=number),
                   key=lambda p: (bool(p.get("closed_on")), p["scope"] != store.home, p["id"]))
    if not found:
        raise InvalidValue("id_number", f"本机没有身份证号为{mask(number)}的卡 / no card with ID number "
                           f"{mask(number)} here")
    return found[0]


def mask(number: str | None) -> str:
    from node.domain.privacy import mask_id_number

    return mask_id_number(number) or ""


# -- showing records -------------------------------------------------------------------------------


def fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)


def card(row: Mapping[str, Any], labels: Mapping[str, str]) -> dict[str, str]:
    """The labelled, non-empty fields of a row, in the order of `labels`."""
    return {label: fmt(row[k]) for k, label in labels.items() if row.get(k) not in (None, [], "")}


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def table(items: Iterable[Mapping[str, Any]], columns: Mapping[str, str]) -> list[str]:
    """Aligned lines, a header first; Chinese characters count double."""
    body = [[fmt(r.get(k)) for k in columns] for r in items]
    if not body:
        return []
    grid = [list(columns.values()), *body]
    widths = [max(width(line[i]) for line in grid) for i in range(len(columns))]
    return ["  ".join(c + " " * (w - width(c)) for c, w in zip(line, widths)).rstrip() for line in grid]


PERSON_LABELS = {
    "id_number": "身份证号 id_number", "name": "姓名 name", "sex": "性别 sex", "birth_date": "出生 birth",
    "phone": "手机 phone", "education": "学历 education", "skills": "技能 skills",
    "certificates": "证书 certificates", "health": "健康 health", "household_address": "户籍地址 address",
    "household_size": "家庭人口 household size", "household_income": "家庭年收入 household income",
    "poverty_status": "脱贫状态 poverty status", "two_after": "两后生 two_after", "employment": "就业 employment",
    "region_class": "就业地域 region", "employer": "单位 employer", "position": "岗位 position",
    "monthly_pay": "月收入 monthly pay", "satisfaction": "满意度 satisfaction",
    "willing_to_migrate": "外出意愿 willing to migrate", "intended_region": "意向地域 intended region",
    "intended_industry": "意向行业 intended industry", "intended_pay": "期望月薪 intended pay",
    "updated_on": "更新 updated", "scope": "村 village", "id": "编号 row",
}
PERSON_FIELDS = frozenset(Person.model_fields) - {"id", "scope"}
