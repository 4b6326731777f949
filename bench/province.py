"""A realistic province for the filing benchmark, loaded straight into a hub database.

Places are Sichuan's real divisions (`node.domain.divisions`, the 2023 table: 21 prefectures, 183 counties,
34,412 villages; `make divisions` builds it). People are spread over the villages; per person one card
(valid GB 11643 ID number of the county, sex and birth date matching it), about 18% 脱贫人口 or
监测对象; one filed broker per village (3% cancelled); placements for about 35% of people in the two
review years (brokers of a county placing by a skewed weight, as a few brokers do most of the work),
their stages, contracts, insurance, destinations and fares; a follow-up visit for most; village
profiles; training records.

This is a BULK LOAD of materialized rows (PostgreSQL COPY), not changesets through the store: it
measures the filings' queries over a province-sized replica, not ingest (bench/hub.py measures that).
The database is created by `Store.create`, so the tables, indexes and migrations are the real ones.
Seeded: the same province every run.
"""
from __future__ import annotations

import os
import random
import sqlite3
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from stdnum.cn import ric

from node.engine import schema
from node.domain.divisions import DEFAULT_OUT
from node.sandbox import Sandbox
from node.engine.store import Store

PROVINCE = "510000000000"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
GIVEN = "伟刚勇毅俊峰强军平保东文辉力明永健秀娟英华慧巧美娜静淑惠玉萍红娥玲芬芳燕彩春菊兰凤洁梅琳云莲"
REGIONS = ("县内", "市内县外", "省内市外", "省外")
EMPLOYERS = ("东莞鑫达电子有限公司", "成都天府建筑劳务有限公司", "绵阳长虹制造有限公司", "深圳宝安物流有限公司",
             "西昌安宁农业合作社", "宁波北仑纺织有限公司")


def villages(limit: int | None = None) -> list[str]:
    path = os.environ.get("LAOWU_DIVISIONS", str(DEFAULT_OUT))
    if not os.path.isfile(path):
        raise SystemExit(f"no division table at {path}: run `make divisions` first (the benchmark uses real codes)")
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT code FROM division WHERE level = 'village' AND code LIKE '51%' ORDER BY code")
        out = [r[0] for r in rows]
    return out[:limit] if limit else out


def _rid(rng: random.Random, place: str) -> str:
    return (int(place).to_bytes(5, "big") + rng.randbytes(11)).hex()


def generate(n_persons: int, seed: int = 1) -> dict[str, list[dict[str, Any]]]:
    rng = random.Random(seed)
    codes = villages()
    per_county: dict[str, int] = {}
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in ("person", "broker", "placement", "follow_up",
                                                             "village_profile", "training_record", "broker_training")}
    brokers_of: dict[str, list[tuple[str, float]]] = {}
    for v in codes:
        b = {"id": _rid(rng, v), "scope": v, "id_number": "", "name": rng.choice(SURNAMES) + rng.choice(GIVEN) * 2,
             "phone": f"139{rng.randrange(10**8):08d}", "background": "村干部", "stage": "filed",
             "filed_on": f"{rng.choice((2019, 2020, 2021, 2022, 2023, 2024))}-0{rng.randint(1, 9)}-15"}
        b["id_number"] = _ident(v[:6], per_county, rng)
        if rng.random() < 0.03:
            b.update(stage="revoked", revoked_on=f"2025-0{rng.randint(1, 9)}-01", revoked_reason="提供虚假用工信息")
        out["broker"].append(b)
        brokers_of.setdefault(v[:6], []).append((b["id"], rng.paretovariate(1.5)))
        out["village_profile"].append({"id": _rid(rng, v), "scope": v, "name": f"村{v[-6:]}",
                                       "registered_population": rng.randint(600, 12_000),
                                       "resident_population": rng.randint(400, 9_000), "updated_on": "2025-03-01"})
    for i in range(n_persons):
        v = codes[i % len(codes)] if i < len(codes) else rng.choice(codes)
        pov = rng.choices(("无", "脱贫人口", "防止返贫监测对象"), (82, 15, 3))[0]
        pid = _rid(rng, v)
        idn = _ident(v[:6], per_county, rng)
        employed = rng.random() < 0.6
        out["person"].append({
            "id": pid, "scope": v, "id_number": idn, "name": rng.choice(SURNAMES) + rng.choice(GIVEN),
            "sex": "男" if int(idn[16]) % 2 else "女", "birth_date": f"{idn[6:10]}-{idn[10:12]}-{idn[12:14]}",
            "phone": f"13{rng.randrange(10**9):09d}", "education": "初中", "poverty_status": pov,
            "employment": "已就业" if employed else "未就业", "region_class": rng.choice(REGIONS) if employed else None,
            "willing_to_migrate": rng.random() < 0.3, "updated_on": f"{rng.choice((2024, 2025))}-0{rng.randint(1, 9)}-01"})
        if rng.random() < 0.35:
            ids, weights = zip(*brokers_of[v[:6]])
            start = date(2024, 1, 1) + timedelta(days=rng.randrange(700))
            stage = rng.choices(("started", "stable_1y", "ended", "revoked", "signed"), (45, 25, 15, 5, 10))[0]
            region = rng.choices(REGIONS, (20, 15, 25, 40))[0]
            p = {"id": _rid(rng, v), "scope": v, "person": pid, "broker": rng.choices(ids, weights)[0],
                 "employer_name": rng.choice(EMPLOYERS), "start_date": start.isoformat(),
                 "contract_months": rng.choice((6, 11, 12, 12, 24, 36)), "social_insurance": rng.random() < 0.7,
                 "labor_contract": True, "region_class": region, "stage": stage,
                 "fare_yuan": rng.randint(30, 700), "fare_receipt": f"R{i}" if rng.random() < 0.8 else None}
            if stage in ("started", "stable_1y", "ended"):
                p["started_on"] = p["start_date"]
            if stage == "stable_1y":
                p["stable_on"] = (start + timedelta(days=366)).isoformat()
            if stage == "ended":
                p["ended_on"] = (start + timedelta(days=rng.randint(30, 300))).isoformat()
            out["placement"].append(p)
            if rng.random() < 0.8:
                out["follow_up"].append({"id": _rid(rng, v), "scope": v, "placement": p["id"], "person": pid,
                                         "visited_on": (start + timedelta(days=rng.randint(30, 420))).isoformat(),
                                         "method": "电话", "still_employed": True})
        if rng.random() < 0.05:
            out["training_record"].append({"id": _rid(rng, v), "scope": v, "person": pid, "course": "电工",
                                           "start_date": f"2025-0{rng.randint(1, 9)}-10", "days": rng.randint(1, 15),
                                           "subsidy_class": "就业技能培训"})
    for b in out["broker"]:
        if rng.random() < 0.7:
            out["broker_training"].append({"id": _rid(rng, b["scope"]), "scope": b["scope"], "broker": b["id"],
                                           "course": "政策培训", "start_date": "2025-04-01", "days": rng.randint(1, 6)})
    return out


def _ident(county: str, counters: dict[str, int], rng: random.Random) -> str:
    """Unique within the county by construction: (birth date, sequence) from a per-county counter."""
    k = counters.get(county, 0)
    counters[county] = k + 1
    born = date(1960, 1, 1) + timedelta(days=(k // 1000 * 97 + rng.randrange(3)) % 16_000)
    body = f"{county}{born:%Y%m%d}{k % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def create(url: str) -> Store:
    box = Sandbox.create(PROVINCE, seed="bench-filings")
    root = box.members[PROVINCE]
    return Store.create(url, root.key, PROVINCE, root.key.public, [root.cert])


def load(store: Store, data: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    """Bulk-load the rows (PostgreSQL COPY; SQLite executemany), then ANALYZE."""
    counts = {}
    raw = store.engine.raw_connection()
    try:
        pg = store.engine.dialect.name == "postgresql"
        cur = raw.cursor()
        for table, rows in data.items():
            cols = [c for c in schema.TABLES[table].__table__.c.keys() if any(c in r for r in rows[:1000])]  # type: ignore[attr-defined]
            if pg:
                with cur.copy(f'COPY "{table}" ({", ".join(cols)}) FROM STDIN') as copy:  # type: ignore[attr-defined]
                    for r in rows:
                        copy.write_row([r.get(c) for c in cols])
            else:
                cur.executemany(f'INSERT INTO "{table}" ({", ".join(cols)}) VALUES ({", ".join("?" * len(cols))})',
                                ([r.get(c) for c in cols] for r in rows))
            counts[table] = len(rows)
        raw.commit()
        cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
    return counts


def chunks(rows: list[Any], n: int) -> Iterator[list[Any]]:
    for i in range(0, len(rows), n):
        yield rows[i:i + n]
