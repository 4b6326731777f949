"""A small province for the filing tests, written through the real write API (node.domain.ops) into a
province hub's store (SQLite or PostgreSQL), with the boundary cases the seeds' rules turn on.

Year under review: 2025 (filed on TODAY, 10 January 2026). Places: villages V1, V2 of county 513225
(prefecture 5132), and V3 of county 513431 (prefecture 5134), whose county holds no placement at all
started in 2024 (the "no data" year). Brokers:

    B1 (V1) filed 2021   10 transfers in 2024 (exactly 10), 9 in 2025            → keep
    B2 (V1) filed 2021    9 in 2024, 9 in 2025                                    → cancel
    B3 (V2) filed 2024-05-01 (a full workflow, applying on their 65th birthday)   → not due
    B4 (V2) filed 2021, cancelled 2025-06-30 for false job information            → cancelled (fraud)
    B5 (V3) filed 2021    2024: no data in the county, 2 in 2025                   → keep, no-data reason
    B6 (V1) filed 2021    the stable-year placements (subsidies), all started 2024: 6, then 0 → cancel

B2's tenth 2025 transfer is a person B1 placed too, overlapping (merged from a second laptop): exactly 10.
Villages: V1 12,000 registered (needs 2, has B1 B2 B6); V2 5,000 (needs 1, has B3); V4 10,000 with no
broker (needs 2: short by 2); V3 no profile (needs at least 1, has B5).

`World.expect` holds the figures the tests compute by hand from the seed rules.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from stdnum.cn import ric

from node.domain import ops, ops_watch
from node.sandbox import Sandbox
from node.engine.store import Store

TODAY = date(2026, 1, 10)
PROVINCE, COUNTY = "510000000000", "513225000000"
V1, V2, V3, V4 = "513225103201", "513225103202", "513431100201", "513225103203"
_seq = itertools.count(1)


def ident(birth: date, region: str = "513225") -> str:
    body = f"{region}{birth:%Y%m%d}{next(_seq) % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


@dataclass
class World:
    store: Store
    brokers: dict[str, bytes] = field(default_factory=dict)
    persons: dict[str, bytes] = field(default_factory=dict)
    twice: str = ""  # the ID number placed by two brokers at once


def province_store(url: str) -> Store:
    box = Sandbox.create(PROVINCE, seed="filings")
    root = box.members[PROVINCE]
    return Store.create(url, root.key, PROVINCE, root.key.public, [root.cert])


def person(w: World, tag: str, place: str, poverty: str = "无", **more: Any) -> bytes:
    region = place[:6]
    fields = {"id_number": ident(date(1990, 1, 1 + len(w.persons) % 28), region), "name": f"工人{len(w.persons)}",
              "phone": "13812345678", "education": "初中", "poverty_status": poverty, **more}
    row = ops.register_person(w.store, fields, scope=place, today=TODAY)
    w.persons[tag] = row
    return row


def broker(w: World, tag: str, place: str, filed_on: str = "2021-03-01") -> bytes:
    row = ops.broker_apply(w.store, {"id_number": ident(date(1975, 6, 1), place[:6]), "name": f"经纪人{tag}",
                                     "phone": "13912345678", "filed_on": filed_on},
                           scope=place, today=TODAY, already_filed=True)
    w.brokers[tag] = row
    return row


def place(w: World, who: bytes, by: bytes | None, start: str, *, months: int = 12, insured: bool = True,
          region: str = "省外", fare: int | None = None, receipt: str | None = None, employer: str = "东莞鑫达电子有限公司") -> bytes:
    fields: dict[str, Any] = {"person": who.hex(), "employer_name": employer, "start_date": start,
                              "contract_months": months, "social_insurance": insured, "region_class": region}
    if by is not None:
        fields["broker"] = by.hex()
    if fare is not None:
        fields["fare_yuan"] = fare
    if receipt is not None:
        fields["fare_receipt"] = receipt
    return ops.add_placement(w.store, fields, event="start", on=date.fromisoformat(start))


def build(url: str) -> World:
    global _seq
    _seq = itertools.count(1)  # the same ID numbers on every build, so two backends can be compared
    w = World(province_store(url))
    s = w.store
    for code, name, reg, res in ((V1, "新民村", 12_000, 9_000), (V2, "红岩村", 5_000, 4_000), (V4, "青山村", 9_999, 10_000)):
        ops.set_village_profile(s, {"name": name, "registered_population": reg, "resident_population": res},
                                scope=code, today=TODAY)
    b1, b2, b4, b5, b6 = (broker(w, t, p) for t, p in (("B1", V1), ("B2", V1), ("B4", V2), ("B5", V3), ("B6", V1)))
    # B3: applies on their 65th birthday (eligible: 18-65 inclusive), filed 2024-05-01 through the workflow
    born = date(1959, 3, 1)
    b3 = ops.broker_apply(s, {"id_number": ident(born), "name": "经纪人B3", "phone": "13912345678",
                              "applied_on": "2024-03-01"}, scope=V2, today=TODAY)
    for ev, on in (("recommend", "2024-03-05"), ("first_review", "2024-03-10"), ("pass_exam", "2024-03-20"),
                   ("notice", None), ("file", "2024-05-01")):
        if ev == "notice":
            ops.broker_advance(s, b3, "certify", on=date(2024, 4, 1), certificate_no="SC2024-0001")
            ops.broker_advance(s, b3, "notice", on=date(2024, 4, 2))
            continue
        ops.broker_advance(s, b3, ev, on=date.fromisoformat(str(on)))
    w.brokers["B3"] = b3

    # B1: exactly 10 in 2024, 9 in 2025; the 2025 ones are 脱贫人口 with the Sichuan-300 boundary cases
    for i in range(10):
        place(w, person(w, f"b1-24-{i}", V1), b1, f"2024-0{1 + i % 9}-15")
    for i in range(9):
        months = 11 if i == 0 else 12  # contract of 11 months: no Sichuan 300
        insured = i != 1  # no social insurance: no Sichuan 300
        place(w, person(w, f"b1-25-{i}", V1, "脱贫人口"), b1, f"2025-0{1 + i}-10", months=months, insured=insured)
    # B2: 9 and 9 (+1 below); their people are the Jilin lists: 2024's employed, 2025's out of work and
    # willing to go out; 2025 person 0 is the one 脱贫人口 among them (monitored below)
    for y in (2024, 2025):
        for i in range(9):
            more = {"employment": "已就业"} if y == 2024 else {"employment": "未就业", "willing_to_migrate": True}
            place(w, person(w, f"b2-{y}-{i}", V1, "脱贫人口" if (y, i) == (2025, 0) else "无", **more), b2,
                  f"{y}-0{1 + i}-20")
    # B1's 2025 person 5 is placed by B2 as well, overlapping, as merged from a second laptop: B2's 2025
    # count rises to 10 and the Sichuan list must pay that person once, with a flag.
    twice = w.persons["b1-25-5"]
    row = bytes(range(16))
    s.write("placement", row, {"person": twice.hex(), "broker": b2.hex(), "employer_name": "成都某厂",
                               "start_date": "2025-06-01", "contract_months": 12, "social_insurance": True,
                               "region_class": "省内市外", "stage": "started", "started_on": "2025-06-01"},
            scope=V1)
    w.twice = str(ops.get(s, "person", twice)["id_number"])  # type: ignore[index]
    # B4: cancelled mid-year for false information; one 2025 transfer before that
    place(w, person(w, "b4-25", V2), b4, "2025-03-01")
    ops.broker_advance(s, b4, "revoke", on=date(2025, 6, 30), reason="提供虚假用工信息")
    # B5 in another county: nothing in 2024 anywhere in that county; 2 in 2025
    for i in range(2):
        place(w, person(w, f"b5-{i}", V3), b5, f"2025-0{3 + i}-01")

    # B6: placements started in 2024 and confirmed stable in 2025 (transport, employer, broker fee)
    def stable(tag: str, start: str, stable_on: str, **kw: Any) -> bytes:
        p = person(w, tag, V1, kw.pop("poverty", "脱贫人口"))
        row = place(w, p, b6, start, **kw)
        ops.placement_advance(s, row, "confirm_stable", on=date.fromisoformat(stable_on))
        return row

    t1 = stable("t-out", "2024-03-01", "2025-03-01", fare=520, receipt="R1", region="省外")  # transport 400
    stable("t-in", "2024-04-01", "2025-04-02", fare=150, receipt="R2", region="省内市外")  # transport 150
    e1 = stable("e-county", "2024-05-01", "2025-05-01", fare=120, receipt="R3", region="市内县外")  # transport 100, employer
    stable("e-home", "2024-06-01", "2025-06-01", fare=50, receipt="R4", region="县内")  # no transport; employer 1000
    stable("no-receipt", "2024-07-01", "2025-07-01", fare=300, region="省外")  # no receipt: no transport
    stable("not-poor", "2024-08-01", "2025-08-01", poverty="无", fare=300, receipt="R5", region="县内")  # nothing
    # transport is by the year work started: these started in 2024, so they belong to the 2024 transport list
    # broker fee: follow-up on the anniversary (t1) qualifies; one only before the anniversary (e1) does not
    ops.add_followup(s, {"placement": t1.hex(), "method": "电话", "still_employed": True, "visited_on": "2024-09-01"},
                     today=TODAY)
    ops.add_followup(s, {"placement": t1.hex(), "method": "上门", "still_employed": True, "visited_on": "2025-03-01"},
                     today=TODAY)
    ops.add_followup(s, {"placement": e1.hex(), "method": "电话", "still_employed": True, "visited_on": "2025-04-30"},
                     today=TODAY)
    # training living allowance: 5 days for a 脱贫人口 (50 yuan); a non-poor trainee gets nothing
    ops.add_training(s, {"person": w.persons["b1-25-2"].hex(), "course": "电工", "start_date": "2025-04-01", "days": 5,
                         "subsidy_class": "就业技能培训"}, today=TODAY)
    ops.add_training(s, {"person": w.persons["b2-2025-1"].hex(), "course": "电工", "start_date": "2025-04-01",
                         "days": 5, "subsidy_class": "就业技能培训"}, today=TODAY)
    # monthly monitoring, May 2025: two of B1's 2025 people checked (employed by phone, unstable by visit)
    for tag, status, how in (("b1-25-2", "已就业", "电话"), ("b1-25-3", "就业不稳定", "上门")):
        ops_watch.record_check(s, {"person": w.persons[tag].hex(), "month": "2025-05", "status": status,
                                   "checked_by": "李干部", "method": how, "checked_on": "2025-05-20"}, today=TODAY)
    # wage arrears: one open, one solved
    ops_watch.add_arrears_lead(s, {"claimant": "王五", "employer_name": "某建筑公司", "amount_yuan": 12_000, "months": 3,
                                   "broker": b1.hex(), "reported_on": "2025-11-01"}, scope=V1, today=TODAY)
    ops_watch.add_arrears_lead(s, {"claimant": "赵六", "employer_name": "某餐馆", "amount_yuan": 3_000, "months": 1,
                                   "reported_on": "2025-10-01", "status": "已解决", "resolved_on": "2025-12-01"},
                               scope=V1, today=TODAY)
    # stations: V1 一类 with a screen, V2 二类 with a notice board; services in both table periods
    st1 = ops.set_station(s, {"name": "新民村人社便民服务站", "area_m2": 30, "has_screen": True, "grade": "一类",
                              "staff": ["张三", "李四"]}, scope=V1)
    st2 = ops.set_station(s, {"name": "红岩村人社便民服务站", "area_m2": 40, "has_screen": False, "grade": "二类"}, scope=V2)
    for st, service, on, result in ((st1, "政策咨询", "2025-03-01", "已办结"), (st1, "政策咨询", "2025-08-31", "未办结"),
                                    (st1, "零工服务", "2025-09-01", "已办结"), (st2, "技能培训", "2025-11-30", "已办结"),
                                    (st2, "技能培训", "2025-12-01", "已办结")):
        ops.log_service(s, {"station": st.hex(), "service": service, "served_on": on, "result": result}, today=TODAY)
    # returns: two around 春节 2025 (29 January), one around 国庆节
    for tag, on, holiday in (("b2-2024-0", "2025-01-20", "春节"), ("b2-2024-1", "2025-02-05", "春节"),
                             ("b2-2024-2", "2025-09-28", "国庆节")):
        ops.add_return(s, {"person": w.persons[tag].hex(), "returned_on": on, "reason": "节日探亲", "holiday": holiday},
                       today=TODAY)
    # broker training days: B1 4 days (enough), B2 3 days (1 short)
    ops_watch.add_broker_training(s, {"broker": b1.hex(), "course": "政策", "start_date": "2025-03-01", "days": 4},
                                  today=TODAY)
    ops_watch.add_broker_training(s, {"broker": b2.hex(), "course": "政策", "start_date": "2025-03-01", "days": 3},
                                  today=TODAY)
    return w
