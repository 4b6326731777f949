"""Rolling out changeset body v2 (docs/wire-format.md "Rollout"): a replica seals v2 only once its hub
says it reads v2; v1 and v2 envelopes cross hubs byte for byte and apply everywhere this build runs.

The tests with release 0.2.0 (the last build that writes only v1) run its own code as real processes
from an install of its commit (tests/hub/releases.py builds it under .releases/0.2.0 on first use).
"""
from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import date
from pathlib import Path

import httpx
import pytest
from hubkit import COUNTY, SIBLING, VILLAGE, World, key_copy, log_envelopes, serving, value
from releases import bin_dir

from hub.app import Hub
from hub.server import ServerThread, free_port
from node.domain.generate import people
from node.domain.rules import RULES
from node.engine.schema import new_row_id
from node.engine.store import Store
from protocol import messages
from protocol.changeset import open_envelope
from protocol.keys import KeyPair

ROOT = Path(__file__).resolve().parents[2]
RELEASE = ROOT / "tests" / "fixtures" / "releases" / "0.2.0"
FACTS = json.loads((RELEASE / "fixture.json").read_text())
NEW = Path(sys.executable).parent


@pytest.fixture(scope="module")
def old() -> Path:
    """The bin folder of release 0.2.0's own install (built once, cached under .releases/)."""
    return bin_dir("0.2.0")

ID_NUMBER = "513225199001011237"


def bodies(store: Store) -> dict[bytes, int]:
    """Body format of every changeset `store` holds, by id."""
    return {i: open_envelope(e).body for i, e in log_envelopes(store).items()}


def test_a_hub_says_which_body_formats_it_reads(world: World) -> None:
    answer = httpx.post(world.county_url + "/v1/time", content=messages.TimeRequest(bytes(16)).encode(),
                        headers={"content-type": messages.CONTENT_TYPE})
    assert messages.parse_bodies(answer.headers.get(messages.BODIES_HEADER)) == (1, 2)
    assert messages.parse_bodies(None) == (1,) and messages.parse_bodies("x,,9999999999999999") == (1,)


def test_a_node_seals_v1_until_its_hub_says_it_reads_v2_and_v2_after(world: World) -> None:
    village = world.node(VILLAGE)
    row = new_row_id(VILLAGE)
    village.write("person", row, {"id_number": ID_NUMBER, "name": "张三"})
    [before] = village.seal()  # no hub met yet
    assert before.body == 1 and village.body == 1
    world.sync(VILLAGE)
    assert village.body == 2
    village.write("person", row, {"phone": "13800000001"})
    world.sync(VILLAGE)
    mine = {i: b for i, b in bodies(village).items() if open_envelope(log_envelopes(village)[i]).author == village.author}
    assert sorted(mine.values()) == [1, 2]
    assert value(world.county, "person", row, "phone") == "13800000001"
    reopened = Store.open(str(world.tmp / f"{VILLAGE}.sqlite"), None)
    try:
        assert reopened.body == 2  # remembered: the next seal, even offline, is v2
    finally:
        reopened.close()


def test_v1_and_v2_changesets_reach_the_province_and_a_township_byte_for_byte(world: World) -> None:
    old, new = world.node(VILLAGE), world.node(SIBLING)
    rows = {VILLAGE: new_row_id(VILLAGE), SIBLING: new_row_id(SIBLING)}
    old.write("person", rows[VILLAGE], {"name": "李一"})
    old.seal()  # sealed before any contact: v1
    world.sync(VILLAGE)
    world.sync(SIBLING)  # learns v2 first, then seals
    new.write("person", rows[SIBLING], {"name": "李二"})
    world.sync(SIBLING)
    world.relay()
    township = world.node("513225103000")
    world.sync("513225103000")
    for store in (world.county, world.province, township):
        assert {value(store, "person", rows[c], "name") for c in rows} == {"李一", "李二"}
        held = log_envelopes(store)
        for node in (old, new):
            for i, env in log_envelopes(node).items():
                if open_envelope(env).author == node.author:
                    assert held[i] == env
    assert set(bodies(world.province).values()) == {1, 2}


# -- release 0.2.0, its own code as real processes ------------------------------------------------

def run(bin_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"LAOWU_PASSPHRASE": FACTS["passphrase"]}
    return subprocess.run([str(bin_dir / "laowu-node"), *args], env=env, capture_output=True, text=True,
                          timeout=120, cwd=bin_dir)


def add_person(bin_dir: Path, village: Path, seed: int) -> str:
    p = dict(people(random.Random(seed), FACTS["village"], "新民村", 1, county="九寨沟县", township="漳扎镇",
                    today=date(2026, 11, 1))[0])
    added = run(bin_dir, "--dir", str(village), "person", "add", "--id-number", p["id_number"], "--name", p["name"])
    assert added.returncode == 0, added.stdout + added.stderr
    return str(p["id_number"])


def point_at(village: Path, url: str) -> None:
    cfg = json.loads((village / "config.json").read_text())
    cfg["hub"] = url
    (village / "config.json").write_text(json.dumps(cfg, ensure_ascii=False))


def log_of(db: Path) -> list[tuple[str, int]]:
    """(status, body format) of every changeset in a database's log, read with plain sqlite3."""
    with closing(sqlite3.connect(db)) as c:
        return sorted((r[0], open_envelope(r[1]).body) for r in c.execute("SELECT status, envelope FROM lw_log"))


def ids(store: Store) -> set[str]:
    return {v["id_number"] for v in store.values("person").values() if v and v.get("id_number")}


def test_a_node_of_the_previous_release_and_this_hub_sync_both_ways_and_lose_nothing(old: Path, tmp_path: Path) -> None:
    shutil.copy2(RELEASE / "county" / "hub.sqlite", tmp_path / "hub.sqlite")
    county = Store.open(tmp_path / "hub.sqlite", key_copy(RELEASE / "county" / "hub.key", tmp_path, FACTS["passphrase"]),
                        rules=RULES)
    village = tmp_path / "village"
    shutil.copytree(RELEASE / "village", village)
    county.learn_bodies((1, 2))  # as when its province reads v2: what the county writes is v2
    posting = new_row_id(FACTS["county"])
    county.write("job_posting", posting, {"title": "县城电子厂普工", "positions": 30}, scope=FACTS["county"])
    assert [cs.body for cs in county.seal()] == [2]
    try:
        with ServerThread(Hub(county)) as server:
            point_at(village, server.url)
            # old → new: what the old node writes is v1, and this hub applies it at once
            first = add_person(old, village, 77)
            synced = run(old, "--dir", str(village), "sync")
            # exit 4, "unfinished": the old node says plainly it holds one changeset until later
            assert synced.returncode == 4 and "(1 held)" in synced.stderr, synced.stdout + synced.stderr
            assert first in ids(county)
            # new → old: the v2 posting is held by the old node (a newer schema), kept verbatim, not lost
            assert log_of(village / "node.sqlite").count(("held", 2)) == 1
            assert {s for s, b in log_of(village / "node.sqlite") if b == 1} == {"applied"}
            again = add_person(old, village, 78)  # the old node goes on working and syncing meanwhile
            assert run(old, "--dir", str(village), "sync").returncode == 0 and again in ids(county)
            with closing(sqlite3.connect(village / "node.sqlite")) as c:
                assert c.execute("SELECT count(*) FROM job_posting WHERE id = ?", (posting.hex(),)).fetchone()[0] == 0

            # The laptop gets this release: the held posting applies, and it now writes v2.
            status = run(NEW, "--dir", str(village), "--json", "status")
            assert status.returncode == 0, status.stdout + status.stderr
            assert ("held", 2) not in log_of(village / "node.sqlite")
            later = add_person(NEW, village, 79)
            synced = run(NEW, "--dir", str(village), "sync")
            assert synced.returncode == 0, synced.stdout + synced.stderr
            assert later in ids(county)
        node = Store.open(village / "node.sqlite", None)
        try:
            assert node.values("job_posting")[("job_posting", posting)]["title"] == "县城电子厂普工"
            assert {first, again, later} <= ids(node)
            assert node.values() == {k: v for k, v in county.values().items() if k in node.values()}
            assert set(node.vector().items()) <= set(county.vector().items())
            author = node.author
        finally:
            node.close()
        at_county = {open_envelope(e).seq: open_envelope(e).body for e in log_envelopes(county).values()
                     if open_envelope(e).author == author}
        assert sorted(at_county.values()) == [1] * (len(at_county) - 1) + [2]  # the last, after the upgrade, is v2
    finally:
        county.close()


def test_this_node_writes_v1_for_a_hub_of_the_previous_release_which_applies_it_at_once(old: Path, tmp_path: Path) -> None:
    county_dir, village = tmp_path / "county", tmp_path / "village"
    shutil.copytree(RELEASE / "county", county_dir)
    shutil.copytree(RELEASE / "village", village)
    node = Store.open(village / "node.sqlite", None)  # upgraded by this build; as if it had met a v2 hub
    node.learn_bodies((1, 2))
    node.close()
    port = free_port()
    argv = [str(old / "laowu-hub"), "serve", "--dir", str(county_dir), "--port", str(port)]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"LAOWU_PASSPHRASE": FACTS["passphrase"]}
    with serving(argv, port, tmp_path / "old-hub.log", env, old) as url:
        point_at(village, url)
        added = add_person(NEW, village, 80)
        synced = run(NEW, "--dir", str(village), "sync")  # its hello answer has no body header: v1 again
        assert synced.returncode == 0, synced.stdout + synced.stderr
    assert ("held", 2) not in log_of(county_dir / "hub.sqlite")
    assert {s for s, _ in log_of(county_dir / "hub.sqlite")} == {"applied"}
    county = Store.open(county_dir / "hub.sqlite", KeyPair.load(county_dir / "hub.key", FACTS["passphrase"]), rules=RULES)
    try:
        assert added in ids(county)
        assert sorted(b for _, b in log_of(county_dir / "hub.sqlite")) == [1] * len(log_of(county_dir / "hub.sqlite"))
    finally:
        county.close()
