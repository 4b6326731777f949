"""One card per person, end to end (issue 8 items 1–4), through the real CLIs as real processes.

A province hub and a county hub serve on loopback (the county relays up every second); two village
nodes of one township work offline and sync with `laowu-node sync`:

1. both villages register the same person: both cards stay intact at the county and the province,
   one `duplicate-id` conflict is queued, `laowu-hub conflicts resolve --decision transfer` settles it
   and the resolution converges at every replica, which then marks the conflict resolved;
2. a correction collides with another village's card: the county says "different people", and the
   village sees its card flagged for correction;
3. the sibling village's genuine key writing and deleting the other village's card is refused at the
   county with `not-owner`, and nothing changes anywhere;
4. a village asks for a person to move to its sibling (`laowu-node person transfer`), the county
   approves (`laowu-hub transfer approve`): the new village holds the card, the old one a closed reference.
"""
from __future__ import annotations

import os
import time
from datetime import date
from pathlib import Path
from typing import Any

from hubkit import push, session, wait_for

from hub.demo import PASS, Server, hub, node
from hub.server import free_port
from node.cli.main import db_key
from node.engine.db import connect_raw
from node.engine.schema import row_place
from node.engine.store import Store
from protocol import clock
from protocol.changeset import DELETE_FIELD, DELETE_VALUE, Change, seal
from protocol.keys import KeyPair
from stdnum.cn import ric

PROVINCE, COUNTY, A, B = "510000000000", "513225000000", "513225103201", "513225103202"


def ident(birth: date, seq: int) -> str:
    body = f"513225{birth:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


def db_key_of(db: Path) -> bytes | None:
    """A node's database is encrypted under a key derived from its own key; a hub's is not."""
    return db_key(KeyPair.load(db.parent / "node.key", PASS)) if db.name == "node.sqlite" else None


def cards(db: Path, id_number: str) -> list[dict[str, Any]]:
    con = connect_raw(db, db_key_of(db))
    con.row_factory = lambda cur, row: {d[0]: v for d, v in zip(cur.description, row)}
    try:
        return list(con.execute("SELECT * FROM person WHERE id_number = ? ORDER BY scope", (id_number,)))
    finally:
        con.close()


def queue(db: Path, kind: str) -> list[tuple[bytes, Any]]:
    con = connect_raw(db, db_key_of(db))
    try:
        return con.execute("SELECT key, resolved FROM lw_conflict WHERE kind = ?", (kind,)).fetchall()
    finally:
        con.close()


def test_duplicates_corrections_sibling_writes_and_transfers_through_the_clis(tmp_path: Path) -> None:
    env = {**os.environ, "LAOWU_PASSPHRASE": PASS, "PYTHONUNBUFFERED": "1"}
    prov, county, va, vb = tmp_path / "province", tmp_path / "county", tmp_path / "village-a", tmp_path / "village-b"
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
        for d, place in ((va, A), (vb, B)):
            node(d, "init", "--place", place, "--province", root["province_file"], "--hub", c_srv.url,
                 "--hub-key", c["author"], env=env)
            node(d, "enroll", "--otp", hub("otp", "--dir", str(county), "--place", place, env=env)["otp"], env=env)
        hubs = {"county": county / "hub.sqlite", "province": prov / "hub.sqlite"}

        # 1. The same person registered offline at both villages: two intact cards, one conflict.
        gao = ident(date(1988, 4, 5), 11)
        node(va, "person", "add", "--id-number", gao, "--name", "高振强", "--phone", "13800000001", "--skill", "电工", env=env)
        node(vb, "person", "add", "--id-number", gao, "--name", "高振强", "--phone", "13800000002", env=env)
        node(va, "sync", env=env)
        node(vb, "sync", env=env)
        wait_for("the province to hold both cards", lambda: len(cards(hubs["province"], gao)) == 2)
        for db in hubs.values():
            both = cards(db, gao)
            assert [(x["scope"], x["phone"]) for x in both] == [(A, "13800000001"), (B, "13800000002")]
            assert [row_place(bytes.fromhex(x["id"])) for x in both] == [A, B]
        listed = hub("conflicts", "list", "--dir", str(county), env=env)["conflicts"]
        assert [x["kind"] for x in listed] == ["duplicate-id"]
        shown = hub("conflicts", "show", "--dir", str(county), "--key", listed[0]["key"], env=env)
        assert gao not in str(shown) and gao[:6] in str(shown)  # masked, side by side
        keep = next(x["id"] for x in shown["cards"] if x["scope"] == A)
        hub("conflicts", "resolve", "--dir", str(county), "--key", listed[0]["key"], "--decision", "transfer",
            "--keep", keep, env=env)
        node(va, "sync", env=env)
        node(vb, "sync", env=env)
        wait_for("the province to apply the resolution",
                 lambda: [x["closed_reason"] for x in cards(hubs["province"], gao)] == [None, "重复"])
        assert [x["closed_reason"] for x in cards(vb / "node.sqlite", gao)] == ["重复"]
        for db in hubs.values():
            assert [bool(resolved) for _, resolved in queue(db, "duplicate-id")] == [True]
        assert hub("conflicts", "list", "--dir", str(county), env=env)["conflicts"] == []

        # 2. A correction that collides with a card of the other village: different people.
        zhou, typo = ident(date(1990, 7, 1), 21), ident(date(1990, 7, 2), 21)
        node(vb, "person", "add", "--id-number", zhou, "--name", "周八", env=env)
        node(va, "person", "add", "--id-number", typo, "--name", "张三", env=env)
        node(va, "person", "edit", "--id-number", typo, "--set", f"id_number={zhou}", env=env)
        node(va, "sync", env=env)
        node(vb, "sync", env=env)
        wait_for("the county to queue the collision",
                 lambda: len([k for k, r in queue(hubs["county"], "duplicate-id") if r is None]) == 1)
        [(key, _)] = [(k, r) for k, r in queue(hubs["county"], "duplicate-id") if r is None]
        right = next(x["id"] for x in cards(hubs["county"], zhou) if x["scope"] == B)
        hub("conflicts", "resolve", "--dir", str(county), "--key", key.hex(), "--decision", "different-people",
            "--keep", right, env=env)
        node(va, "sync", env=env)
        [flagged] = cards(va / "node.sqlite", zhou)
        assert (flagged["name"], flagged["needs_correction"]) == ("张三", 1)
        assert [x["name"] for x in cards(hubs["county"], zhou)] == ["张三", "周八"]  # both intact

        # 3. The sibling village's genuine key writes, moves and deletes village A's card: refused.
        thief = KeyPair.load(vb / "node.key", PASS)
        with _open(hubs["county"]) as held:
            chain = held.trust.chains({thief.public})
        token = session(c_srv.url, bytes.fromhex(c["author"]), thief, B, chain)
        stamp = clock.pack(clock.wall_ms())
        with _open(vb / "node.sqlite") as mine, mine.engine.connect() as conn:
            head = mine._head(conn, (thief.public, B))
        seq, prev = (head.seq, head.id) if head else (0, None)
        row = bytes.fromhex(keep)
        for change in (Change("person", row, "phone", "13899999999", stamp), Change("person", row, "scope", B, stamp),
                       Change("person", row, DELETE_FIELD, DELETE_VALUE, stamp)):
            [out] = push(c_srv.url, token, [seal(thief, B, seq + 1, prev, [change]).envelope])
            assert (out["status"], out["code"]) == ("refused", "not-owner"), out
        node(va, "sync", env=env)
        time.sleep(2)  # a relay round
        for db in (*hubs.values(), va / "node.sqlite"):
            kept = next(x for x in cards(db, gao) if x["id"] == keep)
            assert (kept["phone"], kept["scope"]) == ("13800000001", A)

        # 4. Village A asks for 高振强 to move to village B; the county approves.
        asked = node(va, "person", "transfer", "--id-number", gao, "--to", B, "--reason", "婚嫁", env=env)
        node(va, "sync", env=env)
        [req] = hub("transfer", "list", "--dir", str(county), env=env)["requests"]
        assert req["id"] == asked["request"]
        moved = hub("transfer", "approve", "--dir", str(county), "--request", req["id"], env=env)
        node(vb, "sync", env=env)
        node(va, "sync", env=env)
        at_b = [x for x in cards(vb / "node.sqlite", gao) if x["closed_on"] is None]
        assert [(x["id"], x["scope"], x["phone"]) for x in at_b] == [(moved["new card"], B, "13800000001")]
        [old] = cards(va / "node.sqlite", gao)
        assert (old["closed_reason"], old["successor"]) == ("迁出", moved["new card"])
        shown_b = node(vb, "person", "show", "--id-number", gao, env=env)
        assert shown_b["scope"] == B and shown_b["skills"] == ["电工"]
    finally:
        for s in servers:
            s.kill()


class _open:
    """A read-only store on a database file, closed on leaving the block."""

    def __init__(self, db: Path) -> None:
        key = db_key_of(db)
        self.store = Store.open(str(db), None, **({"engine_kw": {"db_key": key}} if key else {}))

    def __enter__(self) -> Store:
        return self.store

    def __exit__(self, *exc: object) -> None:
        self.store.close()
