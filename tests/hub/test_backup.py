"""Backups (issue 14 item 3): a consistent online copy, a restore that never forks the feed and tells
the operator what happened, and a hub's copy; on the 0.1.0 fixtures, through the real CLIs."""
from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import threading
import zipfile
from contextlib import closing
from datetime import date
from pathlib import Path

from hubkit import key_copy, table_rows

from hub.app import Hub
from hub.server import ServerThread
from node.engine import tables as t
from node.backup import backup
from node.cli.main import db_key
from node.domain.rules import RULES
from node.domain.generate import people
from node.engine.store import Store
from protocol.keys import KeyPair

RELEASE = Path(__file__).resolve().parents[1] / "fixtures" / "releases" / "0.1.0"
FACTS = json.loads((RELEASE / "fixture.json").read_text())
BIN = Path(sys.executable).parent
ENV = {**os.environ, "LAOWU_PASSPHRASE": FACTS["passphrase"]}


def node(d: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "laowu-node"), "--dir", str(d), *args], env=ENV, capture_output=True, text=True,
                          timeout=120)


def add_person(d: Path, seed: int) -> None:
    p = people(random.Random(seed), FACTS["village"], "新民村", 1, county="九寨沟县", township="漳扎镇",
               today=date(2026, 11, 1))[0]
    out = node(d, "person", "add", "--id-number", p["id_number"], "--name", p["name"])
    assert out.returncode == 0, out.stderr


def test_a_restored_node_continues_its_feed_without_a_fork_and_says_so(tmp_path: Path) -> None:
    shutil.copy2(RELEASE / "county" / "hub.sqlite", tmp_path / "hub.sqlite")
    county = Store.open(tmp_path / "hub.sqlite", key_copy(RELEASE / "county" / "hub.key", tmp_path, FACTS["passphrase"]),
                        rules=RULES)
    village = tmp_path / "village"
    shutil.copytree(RELEASE / "village", village)
    author = KeyPair.load(village / "node.key", FACTS["passphrase"]).public
    feed = (author, FACTS["village"])
    with ServerThread(Hub(county)) as server:
        cfg = json.loads((village / "config.json").read_text())
        cfg["hub"] = server.url
        (village / "config.json").write_text(json.dumps(cfg, ensure_ascii=False))
        assert node(village, "encrypt-db").returncode == 0  # as every 0.2.0 node's database is
        made = node(village, "--json", "backup", "--out", str(tmp_path / "nightly.laowu-backup"))
        assert made.returncode == 0, made.stderr
        assert json.loads(made.stdout)["changesets"] == 3
        with zipfile.ZipFile(tmp_path / "nightly.laowu-backup") as z:  # the copy is encrypted like the database
            copy = z.read("database.sqlite")
        assert not copy.startswith(b"SQLite format 3") and "新民村服务站".encode() not in copy
        for seed in (1001, 1002):  # the day's work after the backup reaches the county
            add_person(village, seed)
            assert node(village, "sync").returncode == 0
        assert county.vector()[feed] == 5

        # The disk dies; a new laptop gets the node back from the backup file alone.
        shutil.rmtree(village)
        fresh = tmp_path / "new-laptop"
        restored = node(fresh, "--json", "restore", "--file", str(tmp_path / "nightly.laowu-backup"))
        assert restored.returncode == 0, restored.stderr
        assert "sync first" in json.loads(restored.stdout)["next"]
        assert (fresh / "node.key").exists() and (fresh / "config.json").exists()
        bundle = node(fresh, "export-bundle", "--out", str(tmp_path / "usb.laowu"))
        assert bundle.returncode == 2 and "restored from a backup: sync with the hub once" in bundle.stderr
        add_person(fresh, 1003)  # written before the sync: kept open, sealed after the pull
        synced = node(fresh, "--json", "sync")
        assert synced.returncode == 0, synced.stderr
        said = json.loads(synced.stdout)
        assert "restored from a backup" in said["restored"] and said["pulled"] == 2
        assert county.vector()[feed] == 6 and table_rows(county, t.forks) == []
        assert node(fresh, "export-bundle", "--out", str(tmp_path / "usb.laowu")).returncode == 0
    mine = Store.open(fresh / "node.sqlite", None,
                      engine_kw={"db_key": db_key(KeyPair.load(fresh / "node.key", FACTS["passphrase"]))})
    try:
        assert mine.vector()[feed] == 6 and len(mine.values("person")) == FACTS["people"] + 3
        assert {k for k in mine.values() if k[0] == "person"} <= set(county.values())
    finally:
        mine.close()
        county.close()


def test_a_backup_of_another_node_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    village = tmp_path / "village"
    shutil.copytree(RELEASE / "village", village)
    assert node(village, "backup", "--out", str(tmp_path / "b.laowu-backup")).returncode == 0
    other = tmp_path / "other"
    other.mkdir()
    KeyPair.generate().save(other / "node.key", FACTS["passphrase"])
    out = node(other, "restore", "--file", str(tmp_path / "b.laowu-backup"))
    assert out.returncode == 2 and "belongs to another node" in out.stderr
    assert sorted(p.name for p in other.iterdir()) == ["logs", "node.key"]  # no database, no .restoring left
    assert "command.failed" in (other / "logs" / "laowu-node.log").read_text()


def test_a_backup_taken_while_a_writer_seals_is_one_consistent_moment(tmp_path: Path) -> None:
    shutil.copy2(RELEASE / "village" / "node.sqlite", tmp_path / "node.sqlite")
    key = key_copy(RELEASE / "village" / "node.key", tmp_path, FACTS["passphrase"])
    store = Store.open(tmp_path / "node.sqlite", key)
    stop = threading.Event()

    def write() -> None:
        writer = Store.open(tmp_path / "node.sqlite", key)
        while not stop.is_set():
            writer.write("job_posting", os.urandom(16), {"title": "零工", "positions": 1})
            writer.seal()
        writer.close()

    thread = threading.Thread(target=write)
    thread.start()
    try:
        for i in range(5):
            info = backup(store.engine, tmp_path / f"copy{i}.sqlite")
            with closing(sqlite3.connect(info.path)) as c:
                assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
                head = c.execute("SELECT seq FROM lw_head").fetchone()[0]
                log = c.execute("SELECT count(*), max(seq) FROM lw_log").fetchone()
                assert log == (head, head)  # the log and the head of the same moment
    finally:
        stop.set()
        thread.join()
        store.close()
    assert head > 3


def test_a_sqlite_hub_is_backed_up_while_serving_and_postgresql_is_sent_to_pg_dump(tmp_path: Path) -> None:
    county = tmp_path / "county"
    shutil.copytree(RELEASE / "county", county)
    out = subprocess.run([str(BIN / "laowu-hub"), "--json", "backup", "--dir", str(county), "--out",
                          str(tmp_path / "hub-backup.sqlite")], env=ENV, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    with closing(sqlite3.connect(tmp_path / "hub-backup.sqlite")) as c, closing(sqlite3.connect(county / "hub.sqlite")) as o:
        q = "SELECT id, envelope FROM lw_log ORDER BY id"
        assert c.execute(q).fetchall() == o.execute(q).fetchall() and len(c.execute(q).fetchall()) == 3
    out = subprocess.run([str(BIN / "laowu-hub"), "backup", "--dir", str(county), "--db",
                          "postgresql://nobody@127.0.0.1:1/none", "--out", str(tmp_path / "x")],
                         env=ENV, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "pg_dump" in out.stderr and not (tmp_path / "x").exists()
