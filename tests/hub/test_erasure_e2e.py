"""Erasure end to end (issue 8 item 5), through the real CLIs as real processes on loopback.

A village registers two people with distinctive names and ID numbers and syncs up through the
county hub to the province hub. The county erases the first directly (`laowu-hub erase`); the
village asks for the second to be erased (`laowu-node person erase`) and the county carries the
request out. Everything syncs; then a new laptop of the village bootstraps from the county, and
bundles are written. Every file under every replica's directory — databases with their -wal and
-shm files, bundles, the hubs' logs, the CLIs' output since the erasure — is searched for both names
and ID numbers, as UTF-8 and as msgpack strings: nothing. Every replica's feeds still verify.
"""
from __future__ import annotations

import os
import random
from datetime import date
from pathlib import Path
from typing import Any

from erasurekit import files_under, found, needles
from hubkit import wait_for

from hub.demo import PASS, Server, hub, node
from hub.server import free_port
from node.domain.generate import people
from node.cli.main import db_key
from node.engine.db import connect_raw, is_plaintext
from node.engine.redact import verify_feeds
from node.engine.store import Store
from protocol.keys import KeyPair

PROVINCE, COUNTY, VILLAGE = "510000000000", "513225000000", "513225103201"
NAMES = ("司马翠英", "欧阳振邦")  # not a name node.generate makes, so a hit can only be ours


def node_key(db: Path) -> bytes | None:
    """The SQLCipher key of a node's database (None for a hub's plain SQLite file)."""
    if is_plaintext(db):
        return None
    return db_key(KeyPair.load(db.parent / "node.key", PASS))


def count(db: Path, sql: str) -> int:
    con = connect_raw(db, node_key(db))
    try:
        return int(con.execute(sql).fetchone()[0])
    finally:
        con.close()


def decrypted(db: Path, out: Path) -> Path:
    """A plaintext copy of an encrypted node database: its raw bytes are ciphertext, so searching
    them alone would prove nothing."""
    key = node_key(db)
    if key is None:
        return db
    con = connect_raw(db, key)
    try:
        con.execute(f"ATTACH DATABASE '{out}' AS plain KEY ''")
        con.execute("SELECT sqlcipher_export('plain')")
        con.execute("DETACH DATABASE plain")
    finally:
        con.close()
    return out


def test_an_erased_person_is_nowhere_on_any_replica(tmp_path: Path) -> None:
    env = {**os.environ, "LAOWU_PASSPHRASE": PASS, "PYTHONUNBUFFERED": "1"}
    prov, county = tmp_path / "province", tmp_path / "county"
    village, late = tmp_path / "village", tmp_path / "village-new-laptop"
    servers: list[Server] = []
    try:
        root = hub("init-province", "--dir", str(prov), "--code", PROVINCE, env=env)
        c = hub("init", "--dir", str(county), "--code", COUNTY, "--province", root["province_file"], env=env)
        hub("approve", "--dir", str(prov), "--request", c["request"], "--out", str(county / "certs.laowu"), env=env)
        hub("install", "--dir", str(county), "--certs", str(county / "certs.laowu"), env=env)
        p_srv = Server(prov, free_port(), env).start()
        servers.append(p_srv)
        c_srv = Server(county, free_port(), env, (p_srv.url, root["hub"])).start()
        servers.append(c_srv)
        for d in (village, late):
            node(d, "init", "--place", VILLAGE, "--province", root["province_file"], "--hub", c_srv.url,
                 "--hub-key", c["author"], env=env)
            node(d, "enroll", "--otp", hub("otp", "--dir", str(county), "--place", VILLAGE, env=env)["otp"], env=env)

        gen = people(random.Random(5), VILLAGE, "新民村", 3, today=date(2026, 11, 1))
        ids = [p["id_number"] for p in gen[:2]]
        for p, name in zip(gen, NAMES + (gen[2]["name"],)):
            node(village, "person", "add", "--id-number", p["id_number"], "--name", name, "--phone", p["phone"],
                 "--health", "残疾", "--monthly-pay", "6543", env=env)
        node(village, "sync", env=env)
        wait_for("the province to hold the people", lambda: count(prov / "hub.sqlite", "SELECT count(*) FROM person") == 3)
        secrets = needles(*NAMES, *ids)
        assert found(files_under(tmp_path), secrets)  # the search sees them before the erasure

        log = tmp_path / "cli-after-erasure.log"

        def logged(out: Any) -> Any:
            with open(log, "a", encoding="utf-8") as f:
                f.write(repr(out) + "\n")
            return out

        logged(hub("erase", "--dir", str(county), "--id-number", ids[0], "--reason", "本人申请删除", "--vacuum-full",
                   env=env))
        logged(node(village, "person", "erase", "--id-number", ids[1], "--reason", "本人申请删除", env=env))
        logged(node(village, "sync", env=env))
        requests = logged(hub("erase", "--dir", str(county), "--list", env=env))["requests"]
        assert len(requests) == 1 and requests[0]["place"] == VILLAGE
        logged(hub("erase", "--dir", str(county), "--request", requests[0]["request"], env=env))
        assert logged(hub("erase", "--dir", str(county), "--list", env=env))["requests"] == []
        logged(node(village, "sync", env=env))
        wait_for("the province to apply both redactions",
                 lambda: count(prov / "hub.sqlite", "SELECT count(*) FROM lw_redaction") == 2)

        logged(node(late, "bootstrap", env=env))
        logged(node(late, "sync", env=env))
        logged(node(village, "export-bundle", "--out", str(tmp_path / "village.bundle"), env=env))
        logged(node(late, "export-bundle", "--out", str(tmp_path / "new-laptop.bundle"), env=env))

        for d, db in ((prov, "hub.sqlite"), (county, "hub.sqlite"), (village, "node.sqlite"), (late, "node.sqlite")):
            assert count(d / db, "SELECT count(*) FROM person") == 1, d
        searched = files_under(tmp_path)
        assert {p.name for p in searched} >= {"hub.sqlite-wal", "node.sqlite", "village.bundle", "serve.log"}
        plain = tmp_path.parent / f"{tmp_path.name}-decrypted"
        plain.mkdir()
        copies = [decrypted(d / "node.sqlite", plain / f"{d.name}.sqlite") for d in (village, late)]
        assert len(found(copies, needles(gen[2]["name"]))) >= 2  # the copies show who was not erased
        assert found(searched + copies, secrets) == []
    finally:
        for s in servers:
            s.kill()
    for d, db in ((prov, "hub.sqlite"), (county, "hub.sqlite"), (village, "node.sqlite"), (late, "node.sqlite")):
        key = node_key(d / db)
        store = Store.open(d / db, None, engine_kw={"db_key": key} if key else {})
        try:
            assert verify_feeds(store) > 0
        finally:
            store.close()
