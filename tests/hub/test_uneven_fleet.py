"""Uneven fleets (issue 14 item 1): release 0.1.0 and this release side by side, as real processes.

The old side is release 0.1.0's own code (a checkout of 8c854a9 with its venv: `make releases` makes
.releases/0.1.0, or LAOWU_RELEASE_0_1_0 names its bin folder) running on the 0.1.0 fixture databases;
the new side is this build. Without an 0.1.0 install the tests are skipped, saying how to make one.
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

from hub.app import Hub
from hub.server import ServerThread, free_port
from node.engine import tables as t
from node.domain.rules import RULES
from node.domain.generate import people
from node.engine.schema import SCHEMA_VERSION
from node.engine.store import Store
from protocol.keys import KeyPair

ROOT = Path(__file__).resolve().parents[2]
RELEASE = ROOT / "tests" / "fixtures" / "releases" / "0.1.0"
FACTS = json.loads((RELEASE / "fixture.json").read_text())
NEW = Path(sys.executable).parent
ENV = {**os.environ, "LAOWU_PASSPHRASE": FACTS["passphrase"]}


def _old_bin() -> Path | None:
    for candidate in (os.environ.get("LAOWU_RELEASE_0_1_0"), ROOT / ".releases" / "0.1.0" / ".venv" / "bin"):
        if candidate and (Path(candidate) / "laowu-node").exists():
            return Path(candidate)
    return None


OLD = _old_bin()
pytestmark = pytest.mark.skipif(OLD is None, reason="no release 0.1.0 install: `make releases` (or set LAOWU_RELEASE_0_1_0)")


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


def test_an_old_node_keeps_syncing_with_a_new_hub_and_catches_up_when_upgraded(tmp_path: Path) -> None:
    assert OLD is not None
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
        synced = run(OLD, "laowu-node", "--dir", str(village), "sync")
        assert synced.returncode == 0, synced.stderr
        assert statuses(village / "node.sqlite").count("held") == 1  # kept, not applied, not dropped
        p = walk_in(77)
        assert run(OLD, "laowu-node", "--dir", str(village), "person", "add", "--id-number", p["id_number"],
                   "--name", p["name"]).returncode == 0
        synced = run(OLD, "laowu-node", "--dir", str(village), "sync")
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


def test_a_new_node_waits_for_its_old_hub_to_upgrade_and_loses_nothing(tmp_path: Path) -> None:
    """0.2.0 nodes verify a signature on every hub answer (docs/threat-model.md), which 0.1.0 hubs do not
    give: a new laptop refuses an old county plainly (exit 2, nothing sent, nothing lost) and syncs
    everything once the county is upgraded. Hence: upgrade hubs before their villages."""
    assert OLD is not None
    county_dir, village = tmp_path / "county", tmp_path / "village"
    shutil.copytree(RELEASE / "county", county_dir)
    shutil.copytree(RELEASE / "village", village)
    port = free_port()
    argv = [str(OLD / "laowu-hub"), "serve", "--dir", str(county_dir), "--port", str(port)]
    with serving(argv, port, tmp_path / "old-hub.log", {k: v for k, v in ENV.items() if k != "PYTHONPATH"}, OLD) as url:
        point_at(village, url)
        p = walk_in(88)
        assert run(NEW, "laowu-node", "--dir", str(village), "person", "add", "--id-number", p["id_number"],
                   "--name", p["name"]).returncode == 0
        synced = run(NEW, "laowu-node", "--dir", str(village), "--json", "sync")
        assert synced.returncode == 2 and "not signed by hub" in synced.stderr, synced.stdout + synced.stderr
    assert statuses(county_dir / "hub.sqlite") == ["applied"] * 3  # the old hub was given nothing
    with closing(sqlite3.connect(county_dir / "hub.sqlite")) as c:
        assert c.execute("SELECT count(*) FROM person").fetchone()[0] == FACTS["people"]

    # The county upgrades; the laptop's next sync delivers what it wrote meanwhile.
    county = Store.open(county_dir / "hub.sqlite", KeyPair.load(county_dir / "hub.key", FACTS["passphrase"]),
                        rules=RULES)
    try:
        with ServerThread(Hub(county)) as server:
            point_at(village, server.url)
            synced = run(NEW, "laowu-node", "--dir", str(village), "--json", "sync")
            assert synced.returncode == 0, synced.stdout + synced.stderr
        assert any(v and v.get("id_number") == p["id_number"] for v in county.values("person").values())
        author = KeyPair.load(village / "node.key", FACTS["passphrase"]).public
        assert county.vector()[(author, FACTS["village"])] == 4 and table_rows(county, t.forks) == []
        assert SCHEMA_VERSION >= 2
    finally:
        county.close()
