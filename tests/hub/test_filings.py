"""Specs of the filings (hub/filings/): every figure below is computed by hand from the seed rules over
the small province of `filingkit.py`, whose boundary cases are described there. Each filing runs on
SQLite and on a real PostgreSQL, and the two give identical data.
"""
from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import filingkit as fk
from hubkit import no_postgresql
import openpyxl
import pytest
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.engine import make_url

from hub.filings import FILINGS
from hub.filings.access import build, export
from hub.filings.common import Ctx
from node.engine import tables as et
from node.domain import ops
from protocol.errors import InvalidValue

BIN = Path(sys.executable).parent / "laowu-hub"
PG_URL = os.environ.get("LAOWU_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")  # as conftest.py


@pytest.fixture(scope="module")
def worlds(pg: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, fk.World]]:
    """The province built once on SQLite and once on PostgreSQL (when reachable) for the whole module."""
    out = {"sqlite": fk.build(f"sqlite:///{tmp_path_factory.mktemp('f') / 'hub.sqlite'}")}
    db = None
    if not isinstance(pg, str):  # conftest's PgDatabases, or why the server could not be reached
        db = pg.take()
        out["postgresql"] = fk.build(make_url(PG_URL).set(database=db).render_as_string(hide_password=False))
    elif os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail(f"PostgreSQL not reachable under CI: {pg}")
    yield out
    for w in out.values():
        w.store.close()
    if db is not None:
        pg.give_back(db)


@pytest.fixture(params=["sqlite", "postgresql"])
def w(request: pytest.FixtureRequest, worlds: dict[str, fk.World]) -> fk.World:
    if request.param not in worlds:
        no_postgresql("PostgreSQL not reachable: filings on PostgreSQL skipped")
    return worlds[request.param]


def run(w: fk.World, name: str, scope: str = fk.PROVINCE, year: int = 2025, month: int | None = None,
        **opts: str) -> Any:
    return build(w.store, name, Ctx(scope, year, month, fk.TODAY, options=opts))


def by(rows: list[dict[str, Any]], key: str = "name") -> dict[Any, dict[str, Any]]:
    return {r[key]: r for r in rows}


# -- Sichuan: 附件3, 附件2, the two-year review ---------------------------------------------------------


def test_annex3_lists_every_broker_whose_filing_stood_in_the_year_with_their_transfers(w: fk.World) -> None:
    t = run(w, "annex3")
    rows = by(t.rows)
    assert set(rows) == {f"经纪人B{i}" for i in range(1, 7)}
    assert {n: r["transfers"] for n, r in rows.items()} == {"经纪人B1": 9, "经纪人B2": 10, "经纪人B3": 0,
                                                             "经纪人B4": 1, "经纪人B5": 2, "经纪人B6": 0}
    assert rows["经纪人B4"]["status"] == "已取消备案(2025-06-30)"  # revoked mid-year: still filed part of it
    assert t.totals() == {"transfers": 22, "poor": 9 + 2, "days": 4 + 3, "orders": 0}


def test_annex3_of_a_prefecture_holds_only_its_brokers(w: fk.World) -> None:
    assert "经纪人B5" not in by(run(w, "annex3", scope="513200000000").rows)
    assert set(by(run(w, "annex3", scope="513400000000").rows)) == {"经纪人B5"}


def test_annex2_lists_each_transfer_of_one_broker(w: fk.World) -> None:
    t = run(w, "annex2", broker=w.brokers["B2"].hex())
    assert len(t.rows) == 10 and t.totals() == {"n": 10}
    assert w.twice in {r["id_number"] for r in t.rows}


def test_the_review_keeps_exactly_10_cancels_two_low_years_and_shows_a_year_without_data(w: fk.World) -> None:
    rows = by(run(w, "review").rows)
    got = {n: (r["y1"], r["y2"], r["verdict"]) for n, r in rows.items()}
    assert got == {"经纪人B1": (10, 9, "保留备案"),  # 2024 exactly 10: not below
                   "经纪人B2": (9, 10, "保留备案"),  # 2025 exactly 10 (the overlapping placement counts)
                   "经纪人B3": (0, 0, "未到复核期"),  # filed May 2024: not two whole years
                   "经纪人B4": (0, 1, "已取消备案"),
                   "经纪人B5": ("无数据", 2, "保留备案"),  # no placement at all in its county in 2024
                   "经纪人B6": (6, 0, "取消备案")}
    assert "2024年无数据" in rows["经纪人B5"]["reason"]


def test_the_cancellation_list_tells_review_failures_from_fraud(w: fk.World) -> None:
    rows = by(run(w, "cancellations").rows)
    assert {n: r["kind"] for n, r in rows.items()} == {"经纪人B4": "虚假信息或骗取补贴等",
                                                        "经纪人B6": "复核未达标(待执行)"}


# -- subsidies ----------------------------------------------------------------------------------------


def test_sichuan_300_needs_12_months_and_insurance_and_pays_a_person_placed_twice_once(w: fk.World) -> None:
    t = run(w, "subsidy-sichuan300")
    ids = [r["id_number"] for r in t.rows]
    # B1's 2025 people 2..8 (0 has an 11-month contract, 1 no insurance) and B2's one 脱贫人口
    assert len(ids) == len(set(ids)) == 8 and t.totals()["amount"] == 8 * 300
    twice = by(t.rows, "id_number")[w.twice]
    assert "重叠安置" in twice["flag"] and twice["amount"] == 300


def test_transport_pays_the_receipt_up_to_the_cap_of_the_destination(w: fk.World) -> None:
    t = run(w, "subsidy-transport", year=2024)
    assert sorted((r["region_class"], r["fare_yuan"], r["amount"]) for r in t.rows) == [
        ("市内县外", 120, 100), ("省内市外", 150, 150), ("省外", 520, 400)]  # 县内, no receipt, not poor: none
    assert t.totals() == {"fare_yuan": 790, "amount": 650}


def test_the_employer_subsidy_needs_an_employer_in_the_prefecture(w: fk.World) -> None:
    t = run(w, "subsidy-employer")
    assert sorted(r["region_class"] for r in t.rows) == ["县内", "市内县外"] and t.totals()["amount"] == 2000


def test_the_broker_fee_needs_a_follow_up_on_or_after_the_anniversary(w: fk.World) -> None:
    t = run(w, "subsidy-brokerfee")
    assert [(r["started"], r["last_visit"], r["amount"]) for r in t.rows] == [("2024-03-01", "2025-03-01", 300)]


def test_the_training_allowance_is_10_a_day_for_poor_trainees_only(w: fk.World) -> None:
    t = run(w, "subsidy-training")
    assert [(r["days"], r["amount"]) for r in t.rows] == [(5, 50)]


# -- Chongqing: coverage, training days, points; Sichuan gold -------------------------------------------


def test_coverage_asks_one_broker_per_full_5000_and_at_least_one(w: fk.World) -> None:
    rows = by(run(w, "coverage").rows, "code")
    assert {c: (r["need"], r["have"], r["gap"]) for c, r in rows.items()} == {
        fk.V1: (2, 3, 0), fk.V2: (1, 1, 0), fk.V4: (2, 0, 2), fk.V3: (1, 1, 0)}
    assert rows[fk.V3]["registered"] == "无数据"
    assert [r["code"] for r in run(w, "coverage-short").rows] == [fk.V4]


def test_brokers_under_4_training_days_are_listed_with_their_shortfall(w: fk.World) -> None:
    t = run(w, "broker-training")
    assert {r["name"]: r["short"] for r in t.rows} == {"经纪人B2": 1, "经纪人B3": 4, "经纪人B5": 4, "经纪人B6": 4}


def test_points_say_no_login_data_and_gold_takes_filed_brokers_with_transfers(w: fk.World) -> None:
    t = run(w, "points")
    assert all(r["login"] == "无数据" for r in t.rows) and any("无数据" in n for n in t.notes)
    b1 = by(t.rows)["经纪人B1"]
    assert b1["match"] == 1.0 and b1["orders"] == "无数据"
    assert {r["name"] for r in run(w, "gold").rows} == {"经纪人B1", "经纪人B2", "经纪人B5"}


def test_login_activity_counts_a_brokers_login_days_from_the_audit_log(w: fk.World) -> None:
    w.store.audit("经纪人B1的账号", "login", "broker", w.brokers["B1"].hex(), "登录")  # as the desk records it
    rows = by(run(w, "points", year=fk.date.today().year).rows)
    assert 0 < rows["经纪人B1"]["login"] <= 1 and rows["经纪人B2"]["login"] == 0.0


# -- Jilin and Guizhou --------------------------------------------------------------------------------


def test_jilin_lists_count_persons(w: fk.World) -> None:
    assert [len(run(w, n).rows) for n in ("employed", "unemployed", "willing")] == [9, 9, 9]


def test_the_monthly_monitoring_table_shows_who_was_not_checked(w: fk.World) -> None:
    t = run(w, "monitoring", month=5)
    counts: dict[str, int] = {}
    for r in t.rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    assert counts == {"已就业": 1, "就业不稳定": 1, "未核查": 13}


def test_only_open_wage_arrears_leads_are_listed(w: fk.World) -> None:
    t = run(w, "arrears")
    assert [r["claimant"] for r in t.rows] == ["王五"] and t.totals() == {"amount_yuan": 12_000}


def test_returns_are_listed_by_holiday(w: fk.World) -> None:
    assert len(run(w, "returns", holiday="春节").rows) == 2 and len(run(w, "returns").rows) == 3


def test_station_effectiveness_counts_each_period_once(w: fk.World) -> None:
    sept, dec = run(w, "station-effect", month=9), run(w, "station-effect", month=12)
    assert (sept.totals()["all"], sept.totals()["done"]) == (2, 1)
    assert (dec.totals()["all"], dec.totals()["done"]) == (2, 2)  # 1 December belongs to next year's tables


def test_the_station_directory_puts_the_best_station_first(w: fk.World) -> None:
    assert [r["grade"] for r in run(w, "station-directory").rows] == ["一类", "二类"]


# -- formats, masking, access ---------------------------------------------------------------------------


def test_the_xlsx_has_the_office_layout(w: fk.World, tmp_path: Path) -> None:
    out = export(w.store, "annex3", Ctx(fk.PROVINCE, 2025, None, fk.TODAY, "四川省农民工办"), tmp_path / "a.xlsx", "t")
    ws = openpyxl.load_workbook(out).active
    merged = {str(m) for m in ws.merged_cells.ranges}
    assert ws["A1"].value == "四川省乡村劳务经纪人备案信息表" and "A1:P1" in merged
    assert ws["A3"].value == "填报单位:四川省农民工办" and str(ws.cell(3, 9).value).startswith("填报日期:2026-01-10")
    assert ws["A4"].value == "序号" and "A4:A5" in merged and "B4:D4" in merged and ws["M4"].value == "2025年服务情况" and "M4:P4" in merged
    assert ws["M5"].value == "组织转移就业人次"
    last = ws.max_row - 3  # the 合计 row, then a blank and two notes
    assert ws.cell(last, 1).value == "合计" and ws.cell(last, 13).value == 22
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9
    assert ws.print_title_rows == "$4:$5" and ws.freeze_panes == "B6"
    assert str(ws["G6"].value)[6:14] == "********"  # ID numbers masked by default


def test_a_full_export_is_logged_and_shows_numbers_whole(w: fk.World, tmp_path: Path) -> None:
    ctx = Ctx(fk.PROVINCE, 2025, None, fk.TODAY, full=True)
    out = export(w.store, "unemployed", ctx, tmp_path / "u.csv", "审计员")
    with open(out, encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    assert out.read_bytes()[:3] == b"\xef\xbb\xbf" and rows[0][0] == "序号"
    assert all("*" not in r[4] and len(r[4]) == 18 for r in rows[1:-1]) and rows[-1][0] == "合计"
    with w.store.engine.connect() as conn:
        logged = conn.execute(select(et.audit).where(et.audit.c.action == "export-full")).all()
    assert any(r.actor == "审计员" and "unemployed" in r.detail for r in logged)


def test_the_register_and_card_pdfs_carry_chinese_text(w: fk.World, tmp_path: Path) -> None:
    reg = export(w.store, "register", Ctx(fk.V1, 2025, None, fk.TODAY), tmp_path / "r.pdf", "t")
    text = "".join(p.extract_text() for p in PdfReader(reg).pages)
    assert "一村一册" in text and "新民村" in text and "********" in text
    card = export(w.store, "card", Ctx(fk.PROVINCE, 2025, None, fk.TODAY, options={"person": w.twice}),
                  tmp_path / "c.pdf", "t")
    text = "".join(p.extract_text() for p in PdfReader(card).pages)
    assert "一人一卡" in text and w.twice not in text and w.twice[-4:] in text


def test_every_filing_writes_an_xlsx_that_opens(w: fk.World, tmp_path: Path) -> None:
    from hub.filings.access import export_all

    paths = export_all(w.store, Ctx(fk.PROVINCE, 2025, 5, fk.TODAY, options={"person": w.twice}), tmp_path, "t")
    assert {p.stem for p in paths} == set(FILINGS)
    for p in paths:
        if p.suffix == ".xlsx":
            assert openpyxl.load_workbook(p).active["A4"].value == "序号", p.name


def test_a_scope_outside_the_hub_or_a_bad_format_is_refused(w: fk.World, tmp_path: Path) -> None:
    with pytest.raises(InvalidValue, match="xlsx"):
        export(w.store, "annex3", Ctx(fk.PROVINCE, 2025), tmp_path / "a.doc", "t")
    with pytest.raises(InvalidValue, match="no filing"):
        export(w.store, "annex9", Ctx(fk.PROVINCE, 2025), tmp_path / "a.xlsx", "t")


def test_sqlite_and_postgresql_give_identical_filings(worlds: dict[str, fk.World]) -> None:
    if "postgresql" not in worlds:
        no_postgresql("PostgreSQL not reachable")
    skip = {"broker", "placement", "id", "scope"}  # random row ids differ between the two builds

    def data(w: fk.World, name: str, month: int | None) -> list[tuple[Any, ...]]:
        t = run(w, name, month=month, **({"person": w.twice} if name == "card" else {}))
        return sorted(tuple(str(t.cell(r, c)) for c in t.cols if c.key not in skip) for r in t.rows)

    for name in FILINGS:
        month = 5 if name == "monitoring" else (12 if name == "station-effect" else None)
        assert data(worlds["sqlite"], name, month) == data(worlds["postgresql"], name, month), name


def test_the_cli_writes_a_filing_and_refuses_a_foreign_scope(worlds: dict[str, fk.World], tmp_path: Path) -> None:
    url = str(worlds["sqlite"].store.engine.url)
    ok = subprocess.run([str(BIN), "--json", "filing", "review", "--db", url, "--year", "2025",
                         "--out", str(tmp_path / "r.xlsx")], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and (tmp_path / "r.xlsx").is_file(), ok.stderr
    bad = subprocess.run([str(BIN), "filing", "review", "--db", url, "--scope", "520000000000",
                          "--out", str(tmp_path / "x.xlsx")], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "520000000000" in bad.stderr and "Traceback" not in bad.stderr


def test_a_person_transferred_mid_year_is_counted_once(tmp_path: Path) -> None:
    """The shared decision on transfers: the old card is closed (迁出), a new card opens in the new
    village, and the person's placement is copied there with `origin` set; filings count the original."""
    w = fk.World(fk.province_store(f"sqlite:///{tmp_path / 'hub.sqlite'}"))
    s = w.store
    b1 = fk.broker(w, "B1", fk.V1)
    old = fk.person(w, "moved", fk.V1, "脱贫人口", employment="已就业")
    placed = fk.place(w, old, b1, "2025-03-01")
    card = fk.ops.get(s, "person", old)
    assert card is not None
    new = bytes.fromhex(int(fk.V2).to_bytes(5, "big").hex() + "ab" * 11)
    s.write("person", new, {k: v for k, v in card.items() if k not in ("id", "scope", "skills", "certificates")},
            scope=fk.V2)
    s.write("person", old, {"closed_on": "2025-07-01", "closed_reason": "迁出", "successor": new.hex()})
    copy = bytes.fromhex(int(fk.V2).to_bytes(5, "big").hex() + "cd" * 11)
    p = fk.ops.get(s, "placement", placed)
    assert p is not None
    s.write("placement", copy, {**{k: v for k, v in p.items() if k not in ("id", "scope") and v is not None},
                                "person": new.hex(), "origin": placed.hex()}, scope=fk.V2)
    assert by(run(w, "annex3").rows)["经纪人B1"]["transfers"] == 1
    assert len(run(w, "employed").rows) == 1
    assert len(run(w, "subsidy-sichuan300").rows) == 1
    s.close()


def test_the_broker_fee_and_employer_subsidy_pay_a_person_once_across_years(tmp_path: Path) -> None:
    """A 脱贫人口 whose first placement is confirmed stable in 2024 and a second one in 2025 meets both
    lists' conditions in both years: listed in 2024 only. Another person qualifying first in 2025 is listed
    in 2025 (the rule leaves out earlier payees, not the year)."""
    w = fk.World(fk.province_store(f"sqlite:///{tmp_path / 'hub.sqlite'}"))
    s, b = w.store, fk.broker(w, "B", fk.V1)
    twice, fresh = fk.person(w, "twice", fk.V1, "脱贫人口"), fk.person(w, "fresh", fk.V1, "脱贫人口")
    for who, start, stable_on in ((twice, "2023-01-02", "2024-01-02"), (twice, "2024-02-01", "2025-02-01"),
                                  (fresh, "2024-03-01", "2025-03-01")):
        row = fk.place(w, who, b, start, region="县内")
        ops.placement_advance(s, row, "confirm_stable", on=date.fromisoformat(stable_on))
        ops.add_followup(s, {"placement": row.hex(), "method": "上门", "still_employed": True, "visited_on": stable_on},
                         today=fk.TODAY)
    ids = {str(ops.get(s, "person", p)["id_number"]): tag for tag, p in w.persons.items()}  # type: ignore[index]
    for name in ("subsidy-brokerfee", "subsidy-employer"):
        got = {y: sorted(ids[str(r["id_number"])] for r in build(s, name, Ctx(fk.PROVINCE, y, None, fk.TODAY)).rows)
               for y in (2024, 2025)}
        assert got == {2024: ["twice"], 2025: ["fresh"]}, name
    # the per-placement lists pay the second year's new placement again: Sichuan 300 lists twice in 2024 too
    t = build(s, "subsidy-sichuan300", Ctx(fk.PROVINCE, 2024, None, fk.TODAY))
    assert sorted(ids[str(r["id_number"])] for r in t.rows) == ["fresh", "twice"]
    s.close()
