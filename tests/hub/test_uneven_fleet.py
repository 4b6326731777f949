"""Uneven fleets (issue 14 item 1): release 0.1.0 and this release side by side, as real processes.

The old side is release 0.1.0's own code (its commit installed in its own venv under .releases/0.1.0
by `releases.py`, built on first use, or by `make releases`) running on the 0.1.0 fixture databases;
the new side is this build.
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

import pytest
from hubkit import key_copy, serving, table_rows
from releases import bin_dir

from hub.app import Hub
from hub.server import ServerThread, free_port
from node.domain.generate import people
from node.domain.rules import RULES
from node.engine import synclog
from node.engine import tables as t
from node.engine.store import Store
from node.sync import legacy
from protocol.keys import KeyPair

ROOT = Path(__file__).resolve().parents[2]
RELEASE = ROOT / "tests" / "fixtures" / "releases" / "0.1.0"
FACTS = json.loads((RELEASE / "fixture.json").read_text())
NEW = Path(sys.executable).parent
ENV = {**os.environ, "LAOWU_PASSPHRASE": FACTS["passphrase"]}


@pytest.fixture(scope="module")
def old() -> Path:
    """The bin folder of release 0.1.0's own install (built once, cached under .releases/)."""
    return bin_dir("0.1.0")


def run(bin_dir: Path, prog: str, *args: str) -> subprocess.CompletedProcess[str]:
    # The old release runs from its own checkout: nothing of this tree may shadow its modules.
    env = {k: v for k, v in ENV.items() if k != "PYTHONPATH"}
    return subprocess.run([str(bin_dir / prog), *args], env=env, capture_output=True, text=True, timeout=120,
                          cwd=bin_dir)


def walk_in(seed: int) -> dict[str, str]:
    return dict(people(random.Random(seed), FACTS["village"], "新民村", 1, county="九寨沟县", township="漳扎镇",
                       today=date(2026, 11, 1))[0])


def point_at(village: Path, url: str) -> None:
    cfg = json.loads((village / "config.json").read_text())
    cfg["hub"] = url
    (village / "config.json").write_text(json.dumps(cfg, ensure_ascii=False))


def statuses(db: Path) -> list[str]:
    with closing(sqlite3.connect(db)) as c:
        return sorted(r[0] for r in c.execute("SELECT status FROM lw_log"))


def test_an_old_node_keeps_syncing_with_a_new_hub_and_catches_up_when_upgraded(tmp_path: Path, old: Path) -> None:
    shutil.copy2(RELEASE / "county" / "hub.sqlite", tmp_path / "hub.sqlite")
    county = Store.open(tmp_path / "hub.sqlite", key_copy(RELEASE / "county" / "hub.key", tmp_path, FACTS["passphrase"]),
                        rules=RULES)
    village = tmp_path / "village"
    shutil.copytree(RELEASE / "village", village)
    # The upgraded county records a travel fare on one of the village's placements: a schema-2 field.
    placement = sorted(k[1] for k in county.values("placement"))[0]
    county.write("placement", placement, {"fare_yuan": 300, "fare_receipt": "川A-0001"})
    county.seal()
    with ServerThread(Hub(county)) as server:
        point_at(village, server.url)
        synced = run(old, "laowu-node", "--dir", str(village), "sync")
        assert synced.returncode == 0, synced.stderr
        assert statuses(village / "node.sqlite").count("held") == 1  # kept, not applied, not dropped
        p = walk_in(77)
        assert run(old, "laowu-node", "--dir", str(village), "person", "add", "--id-number", p["id_number"],
                   "--name", p["name"]).returncode == 0
        synced = run(old, "laowu-node", "--dir", str(village), "sync")
        assert synced.returncode == 0, synced.stderr
        assert any(v and v.get("id_number") == p["id_number"] for v in county.values("person").values())
        with closing(sqlite3.connect(village / "node.sqlite")) as c:
            assert "fare_yuan" not in {r[1] for r in c.execute("PRAGMA table_info(placement)")}

        # The laptop gets this release: its database upgrades and the held changeset applies.
        status = run(NEW, "laowu-node", "--dir", str(village), "--json", "status")
        assert status.returncode == 0, status.stderr
        with closing(sqlite3.connect(village / "node.sqlite")) as c:
            fare = c.execute("SELECT fare_yuan, fare_receipt FROM placement WHERE id = ?", (placement.hex(),)).fetchone()
        assert fare == (300, "川A-0001")
        assert statuses(village / "node.sqlite").count("held") == 0
        synced = run(NEW, "laowu-node", "--dir", str(village), "sync")
        assert synced.returncode == 0, synced.stdout + synced.stderr
    node = Store.open(village / "node.sqlite", None)
    try:
        assert node.values() == {k: v for k, v in county.values().items() if k in node.values()}
        assert set(node.vector().items()) <= set(county.vector().items())
    finally:
        node.close()
        county.close()


# Run by release 0.1.0's python: its own module paths (node.store), not this tree's.
OLD_COUNTY_WRITES = """
import sys
from pathlib import Path
Store = __import__("node.store", fromlist=["Store"]).Store
from protocol.keys import KeyPair
county = Store.open(Path(sys.argv[1]) / "hub.sqlite", KeyPair.load(Path(sys.argv[1]) / "hub.key", sys.argv[2]))
county.write("job_posting", bytes.fromhex(sys.argv[3]), {"title": "县里发布:采茶工 20 人"}, scope=sys.argv[4])
county.seal()
"""


def test_a_new_node_syncs_with_an_old_hub_in_compatibility_mode_and_pins_it_once_upgraded(
        tmp_path: Path, old: Path) -> None:
    """A 0.1.0 hub signs no answers. A new laptop syncs with it anyway (docs/trust.md §9): it sends
    its work and takes what the county wrote, both signed changesets, but keeps neither the hub's
    time nor any cursor; once the county is upgraded, the laptop's first signed sync pins the hub,
    and from then on an unsigned answer from it is refused."""
    county_dir, village = tmp_path / "county", tmp_path / "village"
    shutil.copytree(RELEASE / "county", county_dir)
    shutil.copytree(RELEASE / "village", village)
    env = {k: v for k, v in ENV.items() if k != "PYTHONPATH"}
    posting = os.urandom(16)  # the old county's own code writes and seals a job posting for the village
    wrote = subprocess.run([str(old / "python"), "-c", OLD_COUNTY_WRITES, str(county_dir), FACTS["passphrase"],
                            posting.hex(), FACTS["village"]], env=env, capture_output=True, text=True, timeout=120,
                           cwd=tmp_path)
    assert wrote.returncode == 0, wrote.stderr
    port = free_port()
    argv = [str(old / "laowu-hub"), "serve", "--dir", str(county_dir), "--port", str(port)]
    with serving(argv, port, tmp_path / "old-hub.log", env, old) as url:
        point_at(village, url)
        p = walk_in(88)
        assert run(NEW, "laowu-node", "--dir", str(village), "person", "add", "--id-number", p["id_number"],
                   "--name", p["name"]).returncode == 0
        synced = run(NEW, "laowu-node", "--dir", str(village), "--json", "sync")
        # exit 4, unfinished: the old hub holds the laptop's schema-2 changeset until its upgrade
        assert synced.returncode == 4, synced.stdout + synced.stderr
        out = json.loads(synced.stdout)
        assert "compatibility mode" in out["sync"] and out["pulled"] == 1 and out["outcomes"]["held"] == 1
        # Again: no cursor was kept, so the exchange is repeated from the start, and nothing doubles.
        synced = run(NEW, "laowu-node", "--dir", str(village), "--json", "sync")
        assert synced.returncode == 0, synced.stdout + synced.stderr
        assert set(json.loads(synced.stdout)["outcomes"]) == {"duplicate"}
    with closing(sqlite3.connect(county_dir / "hub.sqlite")) as c:  # the old hub holds the new laptop's work
        log = c.execute("SELECT status, count(*) FROM lw_log GROUP BY status").fetchall()
    assert dict(log) == {"applied": 4, "held": 1}  # 3 + the county's posting; the laptop's schema-2 changeset held
    node = Store.open(village / "node.sqlite", None)
    try:
        assert node.values("job_posting")[("job_posting", posting)]["title"] == "县里发布:采茶工 20 人"
        assert synclog.cursors(node, url) == (0, 0)  # no unsigned answer moved a cursor
        assert not legacy.signs(node, bytes.fromhex(FACTS["county_author"]))
    finally:
        node.close()

    # The county upgrades: its held changeset applies, and the laptop's next sync is signed and pins it.
    county = Store.open(county_dir / "hub.sqlite", KeyPair.load(county_dir / "hub.key", FACTS["passphrase"]),
                        rules=RULES)
    try:
        assert any(v and v.get("id_number") == p["id_number"] for v in county.values("person").values())
        with ServerThread(Hub(county)) as server:
            point_at(village, server.url)
            synced = run(NEW, "laowu-node", "--dir", str(village), "--json", "sync")
            assert synced.returncode == 0 and "compatibility mode" not in synced.stdout, synced.stdout + synced.stderr
        author = KeyPair.load(village / "node.key", FACTS["passphrase"]).public
        assert county.vector()[(author, FACTS["village"])] == 4 and table_rows(county, t.forks) == []
        node = Store.open(village / "node.sqlite", None)
        try:
            assert legacy.signs(node, county.author)
            assert node.values() == {k: v for k, v in county.values().items() if k in node.values()}
        finally:
            node.close()
    finally:
        county.close()
