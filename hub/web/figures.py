"""The dashboard: the hub's figures for the account's scope, as server-drawn SVG charts and tables.

    placements by month          placement.start_date, the last 12 months
    register update rate         share of cards re-confirmed this year (一年一更新), by township and village
    brokers against coverage     standing broker applications per village vs `village.brokers_needed`
    sync health                  per village: last changeset received, pending (a gap), quarantined, forks

All counts are plain SQL over the materialized tables and the engine's log, filtered by the
account's code prefix: nothing outside the scope is read into a page.
"""
from __future__ import annotations

import time
from datetime import date
from typing import Any

from sqlalchemy import Connection, case, func, select
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from hub.web import conflicts
from hub.web.app import hub_of
from hub.web.scoped import prefix
from node.engine import tables as t
from node.engine import schema
from node.domain import broker, village
from node.web.accounts import Account
from node.web.app import page, render

DAY_MS = 24 * 3600 * 1000


def routes() -> list[BaseRoute]:
    return [Route("/", dashboard)]


def _tbl(name: str) -> Any:
    return schema.TABLES[name].__table__  # type: ignore[attr-defined]


def placements_by_month(conn: Connection, pre: str, today: date) -> list[tuple[str, float]]:
    months = []
    y, m = today.year, today.month
    for _ in range(12):
        months.append(f"{y:04d}-{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    months.reverse()
    p = _tbl("placement")
    month = func.substr(p.c.start_date, 1, 7)
    got: dict[str, int] = dict(conn.execute(select(month, func.count()).where(p.c.scope.startswith(pre), month >= months[0])
                            .group_by(month)).all())
    return [(mo, float(got.get(mo, 0))) for mo in months]


def update_rates(conn: Connection, pre: str, today: date) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(by township, by village): cards, cards updated this year, the rate in per cent."""
    p = _tbl("person")
    fresh = func.sum(case((func.substr(p.c.updated_on, 1, 4) == str(today.year), 1), else_=0))
    rows = conn.execute(select(p.c.scope, func.count(), fresh).where(p.c.scope.startswith(pre)).group_by(p.c.scope)).all()
    villages = [{"place": r[0], "cards": int(r[1]), "fresh": int(r[2] or 0)} for r in rows]
    towns: dict[str, dict[str, Any]] = {}
    for v in villages:
        tw = towns.setdefault(v["place"][:9] + "000", {"place": v["place"][:9] + "000", "cards": 0, "fresh": 0})
        tw["cards"] += v["cards"]
        tw["fresh"] += v["fresh"]
    for item in [*villages, *towns.values()]:
        item["rate"] = round(100 * item["fresh"] / item["cards"], 1) if item["cards"] else 0.0
    return sorted(towns.values(), key=lambda x: x["place"]), sorted(villages, key=lambda x: x["place"])


def brokers_per_village(conn: Connection, pre: str, villages: list[str]) -> list[dict[str, Any]]:
    b, vp = _tbl("broker"), _tbl("village_profile")
    counts: dict[str, int] = dict(conn.execute(select(b.c.scope, func.count()).where(b.c.scope.startswith(pre),
                                                                     b.c.stage.in_(sorted(broker.ACTIVE)))
                               .group_by(b.c.scope)).all())
    profiles = {r.scope: dict(r._mapping) for r in conn.execute(select(vp).where(vp.c.scope.startswith(pre)))}
    out = []
    for v in sorted(set(villages) | set(counts) | set(profiles)):
        if len(v) != 12 or v.endswith("000"):
            continue
        prof = profiles.get(v, {})
        need = village.brokers_needed(village.coverage_population(prof))
        have = int(counts.get(v, 0))
        out.append({"place": v, "name": prof.get("name") or "", "have": have, "need": need, "gap": max(0, need - have)})
    return out


def sync_health(conn: Connection, pre: str, contact: dict[str, float], refused: dict[str, int]) -> list[dict[str, Any]]:
    """Per village: the last changeset received (the log), the last contact and the changesets refused since
    the hub started (its telemetry), what waits, what is quarantined, forks."""
    lg, q, f = t.log.c, t.quarantine.c, t.forks.c
    seen: dict[str, int] = dict(conn.execute(select(lg.scope, func.max(lg.received)).where(lg.scope.startswith(pre)).group_by(lg.scope)).all())
    pending: dict[str, int] = dict(conn.execute(select(lg.scope, func.count()).where(lg.scope.startswith(pre), lg.status != "applied")
                                .group_by(lg.scope)).all())
    held: dict[str, int] = dict(conn.execute(select(q.scope, func.count()).where(q.scope.startswith(pre)).group_by(q.scope)).all())
    forked: dict[str, int] = dict(conn.execute(select(f.scope, func.count()).where(f.scope.startswith(pre)).group_by(f.scope)).all())
    now = int(time.time() * 1000)
    out = []
    mine = {p for p in [*contact, *refused] if p.startswith(pre)}
    for s in sorted(set(seen) | set(pending) | set(held) | set(forked) | mine):
        last = seen.get(s)
        spoke = contact.get(s)
        out.append({"place": s, "last": last, "days": (now - last) // DAY_MS if last else None,
                    "contact": int(spoke * 1000) if spoke else None, "refused": int(refused.get(s, 0)),
                    "pending": int(pending.get(s, 0)), "quarantined": int(held.get(s, 0)), "forks": int(forked.get(s, 0))})
    return out


@page("viewer")
async def dashboard(request: Request, user: Account, form: FormData) -> Response:
    store = hub_of(request).store
    pre, today = prefix(user), date.today()
    with store.engine.connect() as conn:
        months = placements_by_month(conn, pre, today)
        towns, villages = update_rates(conn, pre, today)
        coverage = brokers_per_village(conn, pre, [v["place"] for v in villages])
        tel = hub_of(request).telemetry
        health = sync_health(conn, pre, dict(tel.last_contact), dict(tel.refused_by_place))
    return render(request, "dashboard.html", months=months, towns=towns, villages=villages, coverage=coverage,
                  health=health, year=today.year,
                  town_points=[(tw["place"][:9], tw["rate"]) for tw in towns],
                  broker_points=[(c["place"][-6:], float(c["have"])) for c in coverage],
                  open_conflicts=len(conflicts.queue_for(store, user)))
