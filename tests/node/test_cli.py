"""`laowu-node` as a village operator runs it: the installed command, in real subprocesses.

A node is set up the offline way: `init` against a province file, then the county's certificate for
the key the node made (read from its enrollment request file) installed with `install-certs`. No
network is needed for local work. Each subprocess costs about a second of imports, so the day of
work is one test walking through it and the refusals are one more, and the village node is made by
the two commands once for the module (`village_made`): each test works on a copy of its directory.
"""
from __future__ import annotations

import csv
import json
import os
import random
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from stdnum.cn import ric

from node.domain import holidays
from node.cli.main import db_key
from node.engine.db import connect_raw
from node.files import ProvinceFile, save_chain, save_province
from node.domain.generate import people
from node.sandbox import NOT_AFTER, NOT_BEFORE, Sandbox
from protocol import certs, messages
from protocol.keys import KeyPair

BIN = Path(sys.executable).parent / "laowu-node"
PROVINCE, COUNTY, VILLAGE, SIBLING = "510000000000", "513225000000", "513225103201", "513225103202"
ENV = {**os.environ, "LAOWU_PASSPHRASE": "test-passphrase", "PYTHONIOENCODING": "utf-8"}
OPERATOR = "新民村服务站"
CSV_FIELDS = ["id_number", "name", "phone", "education", "health", "household_address", "poverty_status",
              "monthly_pay"]


def laowu(d: Path, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    out = subprocess.run([str(BIN), "--json", "--dir", str(d), *args], capture_output=True, encoding="utf-8", env=ENV,
                         timeout=60)
    assert out.returncode == code, f"laowu-node {' '.join(args)} → {out.returncode}\n{out.stdout}{out.stderr}"
    return out


def js(d: Path, *args: str) -> Any:
    return json.loads(laowu(d, *args).stdout)


def ident(birth: date, seq: int, region: str = "513225") -> str:
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


@pytest.fixture(scope="module")
def box() -> Sandbox:
    b = Sandbox.create(PROVINCE)
    b.enroll(COUNTY, "county", PROVINCE)
    return b


@pytest.fixture(scope="module")
def province_file(box: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("province") / "province.laowu"
    save_province(path, ProvinceFile(box.members[PROVINCE].cert))
    return path


def make_node(d: Path, place: str, role: str, box: Sandbox, province_file: Path) -> Path:
    """`init`, then install a certificate for the key the node made (the county issues a village's,
    the root a county's)."""
    laowu(d, "init", "--place", place, "--province", str(province_file), "--hub", "http://127.0.0.1:9",
          "--hub-key", "00" * 32, "--operator", OPERATOR)
    req = messages.EnrollRequest.decode((d / "enroll-request.laowu").read_bytes())
    issuer = box.members[COUNTY] if role == "village" else box.members[PROVINCE]
    mine = certs.issue(issuer.key, req.pub, role, [place], NOT_BEFORE, NOT_AFTER, 100)
    chain = [box.members[PROVINCE].cert, *([box.members[COUNTY].cert] if role == "village" else []), mine]
    save_chain(d / "certs.laowu", chain)
    laowu(d, "install-certs", "--certs", str(d / "certs.laowu"))
    return d


@pytest.fixture(scope="module")
def village_made(box: Sandbox, province_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A village node made by `init` and `install-certs`, once for the module; tests take `village_copy`."""
    return make_node(tmp_path_factory.mktemp("made") / "village", VILLAGE, "village", box, province_file)


def village_copy(made: Path, d: Path) -> Path:
    """A village node of a test's own: the files the two commands wrote (key, database, config,
    certificates, logs), copied with their modes, so no test sees another's work."""
    shutil.copytree(made, d)
    return d


def sql(d: Path, query: str) -> list[tuple[Any, ...]]:
    """Read a node's (encrypted) database directly, with the key its passphrase unlocks."""
    con = connect_raw(d / "node.sqlite", db_key(KeyPair.load(d / "node.key", ENV["LAOWU_PASSPHRASE"])))
    try:
        return list(con.execute(query).fetchall())
    finally:
        con.close()


def test_a_village_day_of_work_round_trips_to_the_county(box: Sandbox, province_file: Path, village_made: Path,
                                                         tmp_path: Path) -> None:
    village = village_copy(village_made, tmp_path / "village")

    # Morning: the station imports its spreadsheet; two bad rows are refused, the rest kept.
    folk = people(random.Random(7), VILLAGE, "新民村", 20, county="九寨沟县", township="漳扎镇", today=date.today())
    sheet = tmp_path / "people.csv"
    with open(sheet, "w", newline="", encoding="utf-8-sig") as f:  # with a BOM, as Excel saves it
        w = csv.writer(f)
        w.writerow(CSV_FIELDS)
        for i, p in enumerate(folk):
            w.writerow(["" if p.get(k) is None else p.get(k) for k in CSV_FIELDS])
            if i == 4:
                w.writerow(["513225199001011235", "错号", "", "", "", "", "", ""])  # wrong check digit
            if i == 9:
                w.writerow([ident(date(1991, 2, 3), 11), "错电话", "12345", "", "", "", "", ""])
    out = js(village, "person", "import", "--csv", str(sheet))
    assert out["imported"] == 20 and out["refused"] == 2
    assert [r["line"] for r in out["refused_rows"]] == [7, 13]  # header is line 1
    assert "id_number" in out["refused_rows"][0]["reason"]
    assert "phone" in out["refused_rows"][1]["reason"]

    # A walk-in registers by flags; the station corrects a phone and adds a skill.
    walk_in, broker_id = ident(date(1998, 5, 6), 21), ident(date(1985, 8, 9), 33)
    laowu(village, "person", "add", "--id-number", walk_in, "--name", "王小军", "--phone", "13812345678",
          "--education", "高中", "--poverty", "脱贫人口", "--skill", "电工", "--willing", "--set", "monthly_pay=4200")
    laowu(village, "person", "edit", "--id-number", walk_in, "--set", "phone=13990001111", "--add-skill", "焊工",
          "--set", "intended_region=省外")
    listing = js(village, "person", "list")
    assert len(listing) == 21
    mine = next(p for p in listing if p["name"] == "王小军")
    assert mine["id_number"] == walk_in[:6] + "********" + walk_in[-4:]
    assert mine["monthly_pay"] == "***" and mine["birth_date"] == "1998"
    assert mine["phone"] == "13990001111" and mine["skills"] == ["焊工", "电工"]
    assert js(village, "person", "list", "--willing") == [mine]

    full = js(village, "person", "show", "--id-number", walk_in, "--full")
    assert full["id_number"] == walk_in and full["monthly_pay"] == 4200 and full["birth_date"] == "1998-05-06"
    assert sql(village, "SELECT actor, action, tbl, row FROM lw_audit") == [(OPERATOR, "view-full", "person", mine["id"])]

    # A broker applies and is filed; a job is posted; the walk-in is placed, visited, and comes home.
    laowu(village, "broker", "apply", "--id-number", broker_id, "--name", "李四", "--phone", "13912345678",
          "--background", "村干部")
    for event in ("recommend", "first_review", "pass_exam", "certify", "notice", "file"):
        more = ["--certificate-no", "川经纪2026001"] if event == "certify" else []
        stage = js(village, "broker", "advance", "--id-number", broker_id, "--event", event, *more)
    assert stage["stage"] == "已备案 filed"
    laowu(village, "job", "post", "--employer-uscc", "91440300MA7JH4BX08", "--employer-name", "深圳鑫达电子科技有限公司",
          "--title", "普工", "--positions", "20", "--pay-low", "4500", "--pay-high", "6000", "--region-class", "省外")
    start = date.today().isoformat()
    laowu(village, "placement", "add", "--id-number", walk_in, "--broker-id-number", broker_id,
          "--employer-uscc", "91440300MA7JH4BX08", "--position", "普工", "--start", start, "--contract-months", "12",
          "--social-insurance", "--region-class", "省外", "--stage", "sign")
    laowu(village, "followup", "add", "--id-number", walk_in, "--method", "电话", "--still-employed",
          "--satisfaction", "满意", "--issue", "生活情况")
    laowu(village, "return", "add", "--id-number", walk_in, "--reason", "节日探亲", "--holiday", "春节",
          "--date", str(holidays.day_of("春节", date.today().year - 1)), "--going-out-again", "--need", "技能培训")
    status = js(village, "status")
    assert status["open_changes"] > 0 and status["conflicts"] == 0

    # Evening: no network, so a bundle goes to the county on a USB stick.
    bundle = tmp_path / "to-county.laowu"
    assert js(village, "export-bundle", "--out", str(bundle))["envelopes"] >= 1
    county = make_node(tmp_path / "county", COUNTY, "county", box, province_file)
    # Meanwhile the county entered the same broker's application for the sibling village.
    laowu(county, "broker", "apply", "--id-number", broker_id, "--name", "李四", "--phone", "13912345678",
          "--village", SIBLING)
    imported = js(county, "import-bundle", "--file", str(bundle))
    assert set(imported["imported"]) == {"accepted"}
    for table in ("person", "broker", "employer", "job_posting", "placement", "follow_up", "return_registration"):
        query = f"SELECT * FROM {table} WHERE scope = '{VILLAGE}' ORDER BY id"
        assert sql(county, query) == sql(village, query)
    assert sql(county, "SELECT count(*) FROM return_registration") == [(1,)]
    [conflict] = js(county, "conflicts")
    assert conflict["kind"] == "broker-twice" and conflict["table"] == "broker" and len(conflict["rows"]) == 2


def test_bad_input_exits_2_and_writes_nothing(village_made: Path, tmp_path: Path) -> None:
    village = village_copy(village_made, tmp_path / "village")
    good = ident(date(1990, 3, 7), 3)
    laowu(village, "person", "add", "--id-number", good, "--name", "张三")
    before = sql(village, "SELECT count(*) FROM lw_open")

    bad_id = laowu(village, "person", "add", "--id-number", "513225199001011235", "--name", "错号", code=2)
    assert bad_id.stderr.startswith("错误 error: id_number: ") and "校验位" in bad_id.stderr
    bad_phone = laowu(village, "person", "edit", "--id-number", good, "--set", "phone=12345",
                      "--add-skill", "电工", code=2)
    assert bad_phone.stderr.startswith("错误 error: phone: ")
    no_field = laowu(village, "person", "edit", "--id-number", good, "--set", "salary=5000", code=2)
    assert "salary" in no_field.stderr and "Traceback" not in no_field.stderr
    unfiled = laowu(village, "placement", "add", "--id-number", good, "--employer", "某公司", "--start", "2026-01-01",
                    "--contract-months", "twelve", code=2)
    assert unfiled.stderr.startswith("错误 error: contract_months: ")

    assert sql(village, "SELECT count(*) FROM lw_open") == before
    [(number, phone, skills)] = sql(village, "SELECT id_number, phone, skills FROM person")
    assert (number, phone, json.loads(skills or "null")) == (good, None, None)


def test_monitoring_arrears_and_broker_training_from_the_command_line(village_made: Path, tmp_path: Path) -> None:
    village = village_copy(village_made, tmp_path / "village")
    poor, broker = ident(date(1990, 3, 7), 11), ident(date(1980, 5, 1), 13)
    laowu(village, "person", "add", "--id-number", poor, "--name", "王芳", "--poverty", "脱贫人口")
    laowu(village, "broker", "apply", "--id-number", broker, "--name", "李四", "--phone", "13912345678",
          "--already-filed", "--date", "2021-03-01")
    month = date.today().isoformat()[:7]
    laowu(village, "monitor", "add", "--id-number", poor, "--month", month, "--status", "就业不稳定", "--by", "李四",
          "--method", "上门")
    refused = laowu(village, "monitor", "add", "--id-number", poor, "--month", month, "--status", "已就业", "--by", "李四",
                    "--method", "微信", code=2)
    assert "method" in refused.stderr and "Traceback" not in refused.stderr
    lead = js(village, "arrears", "add", "--claimant", "王五", "--employer", "某建筑公司", "--amount", "12000", "--months",
              "3", "--broker-id-number", broker)["row"]
    laowu(village, "arrears", "update", "--row", lead, "--status", "处理中", "--handled-by", "张三")
    laowu(village, "broker-training", "add", "--id-number", broker, "--course", "政策培训", "--days", "2", "--date",
          date.today().isoformat())
    assert sql(village, "SELECT month, status, method FROM employment_check") == [(month, "就业不稳定", "上门")]
    assert sql(village, "SELECT amount_yuan, months, status, handled_by FROM wage_arrears") == [(12000, 3, "处理中", "张三")]
    assert sql(village, "SELECT days FROM broker_training") == [(2,)]
