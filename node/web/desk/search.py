"""The register's search (一村一册): name, pinyin, pinyin initials, phone, last digits of the ID number.

Pinyin is kept in a local table keyed by *name*, not by row (`desk_pinyin`): names repeat, a row
that changes name needs nothing done, and rows arriving by sync or bundle are covered by the
anti-join that adds the names not yet indexed before every search (a few milliseconds with 5,000
people; see bench/desk.py). The table is never replicated.

Polyphonic surnames read differently as surnames (曾 zēng, 单 shàn, 解 xiè, 仇 qiú ...), and
pypinyin reads them as common words; both readings are indexed, so either finds the person.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from pypinyin import Style, lazy_pinyin
from sqlalchemy import Column, Engine, MetaData, String, Table, func, or_, select

from node.domain.person import EMPLOYMENT, Person

metadata = MetaData()
pinyin_index = Table(
    "desk_pinyin",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("full", String(400), nullable=False),  # "|zengxiaoming|cengxiaoming|"
    Column("initials", String(100), nullable=False),  # "|zxm|cxm|"
)

# Surnames whose reading differs from the common word's (the first character of a name).
SURNAMES = {"曾": "zeng", "单": "shan", "解": "xie", "仇": "qiu", "区": "ou", "查": "zha", "朴": "piao",
            "覃": "qin", "尉": "yu", "乐": "yue", "盖": "ge", "缪": "miao", "翟": "zhai", "种": "chong",
            "秘": "bi", "折": "she", "员": "yun", "召": "shao", "句": "gou", "长": "chang", "重": "chong",
            "都": "du", "宁": "ning", "柏": "bai", "薄": "bo", "纪": "ji", "任": "ren", "沈": "shen"}
EMPLOYED = EMPLOYMENT[1:]
SORTS = {"name": "姓名", "updated": "更新日期", "birth": "出生年份", "village": "所在村"}
FILTERS = {"employed": "已就业", "unemployed": "未就业", "willing": "愿意外出", "poverty": "脱贫人口",
           "stale": "今年未更新"}
PAGE = 30


def readings(name: str) -> tuple[list[str], list[str]]:
    """Full pinyin and initials of a name, with the surname reading and the common one."""
    syllables = [s.lower() for s in lazy_pinyin(name, errors="ignore")]
    if not syllables:
        return [], []
    variants = [syllables]
    if name[:1] in SURNAMES and SURNAMES[name[:1]] != syllables[0]:
        variants.insert(0, [SURNAMES[name[:1]], *syllables[1:]])
    full = {"".join(v) for v in variants}
    full |= {f.replace("v", "u") for f in full}  # 吕 lv is typed lu as often
    initials = {"".join(s[0] for s in v) for v in variants}
    return sorted(full), sorted(initials)


def refresh(engine: Engine) -> int:
    """Index the names not indexed yet; returns how many were added."""
    p: Any = Person.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        missing = [r[0] for r in conn.execute(
            select(p.c.name).distinct().where(p.c.name.is_not(None), p.c.name.not_in(select(pinyin_index.c.name))))]
        if missing:
            rows = []
            for name in missing:
                full, initials = readings(name)
                rows.append({"name": name, "full": "|" + "|".join(full) + "|",
                             "initials": "|" + "|".join(initials) + "|"})
            conn.execute(pinyin_index.insert(), rows)
    return len(missing)


@dataclass(frozen=True)
class Query:
    q: str = ""
    filters: tuple[str, ...] = ()
    village: str = ""
    sort: str = "name"
    desc: bool = False
    page: int = 1


def _match(q: str) -> Any:
    p: Any = Person.__table__  # type: ignore[attr-defined]
    text = re.sub(r"\s+", "", q).lower()
    if not text:
        return None
    if re.fullmatch(r"[0-9]+x?", text):
        clauses = [p.c.id_number.like(f"%{text.upper()}")]
        if text.isdigit():
            clauses.append(p.c.phone.like(f"%{text}%"))
        return or_(*clauses)
    if re.fullmatch(r"[a-z]+", text):
        return or_(pinyin_index.c.full.like(f"%{text}%"), pinyin_index.c.initials.like(f"%|{text}%"))
    return p.c.name.like(f"%{q.strip()}%")


def place_prefix(code: str) -> str:
    """'513225103000' → '513225103': the codes inside a place share this prefix."""
    while code.endswith("000") and len(code) > 3:
        code = code[:-3]
    return code


def _where(query: Query, today: date) -> list[Any]:
    p: Any = Person.__table__  # type: ignore[attr-defined]
    where: list[Any] = []
    if "closed_on" in p.c:
        where.append(p.c.closed_on.is_(None))
    m = _match(query.q)
    if m is not None:
        where.append(m)
    if query.village:
        where.append(p.c.scope.like(place_prefix(query.village) + "%"))
    f = set(query.filters)
    if "employed" in f:
        where.append(p.c.employment.in_(EMPLOYED))
    if "unemployed" in f:
        where.append(p.c.employment == "未就业")
    if "willing" in f:
        where.append(p.c.willing_to_migrate.is_(True))
    if "poverty" in f:
        where.append(p.c.poverty_status == "脱贫人口")
    if "stale" in f:
        where.append(or_(p.c.updated_on.is_(None), p.c.updated_on < f"{today.year}-01-01"))
    return where


def search(engine: Engine, query: Query, *, today: date | None = None, page_size: int = PAGE
           ) -> tuple[list[dict[str, Any]], int]:
    """One page of matching cards (unmasked: the caller masks) and the total count."""
    refresh(engine)
    p: Any = Person.__table__  # type: ignore[attr-defined]
    joined = p.outerjoin(pinyin_index, pinyin_index.c.name == p.c.name)
    where = _where(query, today or date.today())
    order = {"name": pinyin_index.c.full, "updated": p.c.updated_on, "birth": p.c.birth_date,
             "village": p.c.scope}.get(query.sort, pinyin_index.c.full)
    order = order.desc() if query.desc else order.asc()
    with engine.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(joined).where(*where)).scalar_one())
        rows = conn.execute(select(p).select_from(joined).where(*where).order_by(order, p.c.id)
                            .limit(page_size).offset((max(1, query.page) - 1) * page_size))
        return [dict(r._mapping) for r in rows], total


def villages(engine: Engine) -> list[str]:
    """The village codes present in the register (a township desk filters by them)."""
    p: Any = Person.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(select(p.c.scope).distinct().order_by(p.c.scope))]


def stale(engine: Engine, today: date, limit: int = 200) -> list[dict[str, Any]]:
    """The yearly re-confirmation worklist (一年一更新): cards not updated this year, oldest first."""
    p: Any = Person.__table__  # type: ignore[attr-defined]
    where = _where(Query(filters=("stale",)), today)
    with engine.connect() as conn:
        rows = conn.execute(select(p).where(*where).order_by(p.c.updated_on.asc().nulls_first(), p.c.name)
                            .limit(limit))
        return [dict(r._mapping) for r in rows]

