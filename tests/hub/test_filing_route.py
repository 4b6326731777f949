"""The hub's filing download (GET /v1/filing/NAME): authorized keys only, against real hubs on loopback.
Each attack is replayed against the running hub and fails the test if it gets a file."""
from __future__ import annotations

import io

import httpx
import openpyxl
from hubkit import COUNTY, PROVINCE, SIBLING, VILLAGE, World, error_of, session


def get(world: World, name: str, token: bytes | None, **params: str) -> httpx.Response:
    headers = {"x-laowu-token": token.hex()} if token is not None else {}
    return httpx.get(f"{world.province_url}/v1/filing/{name}", params=params, headers=headers, timeout=60)


def county_token(world: World) -> bytes:
    county = world.box.members[COUNTY]
    return session(world.province_url, world.province.author, county.key, COUNTY,
                   [world.box.members[PROVINCE].cert, county.cert])


def test_a_county_downloads_a_filing_of_its_subtree(world: World) -> None:
    resp = get(world, "annex3", county_token(world), scope=COUNTY, year="2025")
    assert resp.status_code == 200, resp.content[:200]
    ws = openpyxl.load_workbook(io.BytesIO(resp.content)).active
    assert ws["A1"].value == "四川省乡村劳务经纪人备案信息表" and ws["A3"].value == f"填报单位:{COUNTY}"


def test_a_county_asking_for_the_province_is_refused_with_the_reason(world: World) -> None:
    resp = get(world, "annex3", county_token(world), scope=PROVINCE, year="2025")
    assert resp.status_code == 403 and error_of(resp) == "not-allowed" and PROVINCE.encode() in resp.content


def test_a_village_key_may_not_download_filings(world: World) -> None:
    village = world.member(VILLAGE)
    token = session(world.county_url, world.county.author, village.key, VILLAGE, world.chain(VILLAGE))
    resp = httpx.get(f"{world.county_url}/v1/filing/register", params={"scope": VILLAGE},
                     headers={"x-laowu-token": token.hex()}, timeout=60)
    assert resp.status_code == 403 and b"village" in resp.content
    resp = httpx.get(f"{world.county_url}/v1/filing/register", params={"scope": SIBLING},
                     headers={"x-laowu-token": token.hex()}, timeout=60)
    assert resp.status_code == 403


def test_no_session_or_a_forged_token_gets_nothing(world: World) -> None:
    assert get(world, "annex3", None, scope=COUNTY).status_code == 401
    assert get(world, "annex3", b"\0" * 84, scope=COUNTY).status_code == 401


def test_a_bad_request_is_a_400_with_the_reason(world: World) -> None:
    token = county_token(world)
    assert get(world, "annex9", token, scope=COUNTY).status_code == 400
    assert get(world, "annex3", token, scope=COUNTY, format="doc").status_code == 400
    assert get(world, "annex3", token, scope=COUNTY, year="20x5").status_code == 400
