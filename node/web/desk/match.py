"""Matching a person to open postings at the four levels the seeds name (省外, 省内市外, 市内县外, 县内),
ranked within each level by the person's intentions: the region they want, whether they will go
out at all, the industry, the pay they expect, and their skills named in the posting.

`rank` is pure; the page reads the person and the open postings and shows the reasons for each score.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from sqlalchemy import select
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from node.engine import schema
from node.domain.employer import is_open
from node.web.accounts import Account
from node.web.app import page, render
from node.web.desk import refs
from node.web.desk.card import _person
from node.web.desk.state import Desk
from node.web.masking import mask_person

LEVELS = ("省外", "省内市外", "市内县外", "县内")  # out of province, in province, in prefecture, in county
FAR = ("省外", "省内市外")


def score(person: Mapping[str, Any], job: Mapping[str, Any]) -> tuple[int, list[str]]:
    s, why = 0, list[str]()
    region = job.get("region_class")
    if person.get("intended_region") and region == person.get("intended_region"):
        s, why = s + 3, [*why, "意向地域相符"]
    if person.get("willing_to_migrate") is False and region in FAR:
        s, why = s - 3, [*why, "本人不愿外出"]
    if person.get("willing_to_migrate") is False and region == "县内":
        s, why = s + 2, [*why, "离家近"]
    industry = person.get("intended_industry")
    if industry and industry in f"{job.get('industry') or ''}{job.get('title') or ''}":
        s, why = s + 2, [*why, "意向行业相符"]
    want = person.get("intended_pay")
    top = job.get("pay_high") or job.get("pay_low")
    if want and top:
        s, why = (s + 1, [*why, "工资达到期望"]) if top >= want else (s - 1, [*why, "工资低于期望"])
    text = f"{job.get('title') or ''}{job.get('requirements') or ''}"
    skills = [k for k in person.get("skills") or [] if k in text]
    if skills:
        s, why = s + 2 * len(skills), [*why, "技能对口:" + "、".join(skills)]
    return s, why


def rank(person: Mapping[str, Any], jobs: Iterable[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Open postings by level, best first within each level."""
    out: dict[str, list[dict[str, Any]]] = {level: [] for level in LEVELS}
    for job in jobs:
        level = job.get("region_class")
        if level in out:
            s, why = score(person, job)
            out[level].append({**job, "score": s, "why": why})
    for level in out:
        out[level].sort(key=lambda j: (-j["score"], j.get("valid_until") or ""))
    return out


@page()
async def match_page(request: Request, user: Account, form: FormData) -> Response:
    desk: Desk = request.app.state.desk
    person = _person(desk, request.path_params["row"])
    t: Any = schema.TABLES["job_posting"].__table__  # type: ignore[attr-defined]
    today = date.today()
    with desk.store.engine.connect() as conn:
        jobs = [dict(r._mapping) for r in conn.execute(select(t).where(t.c.valid_until >= today.isoformat()))]
    jobs = [j for j in jobs if is_open(j, today)]
    employers = refs.names(desk.store.engine, "employer", [j.get("employer") for j in jobs])
    for j in jobs:
        j["employer_label"] = employers.get(j.get("employer") or "", "")
    return render(request, "match.html", p=mask_person(person), levels=rank(person, jobs))
