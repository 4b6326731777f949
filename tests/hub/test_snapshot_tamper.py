"""A snapshot is verified whole (issue 9 item 3, docs/trust.md): a hub that tampers with the snapshot
file it serves (a ghost card in its rows and open changes, a head set to 10^9) gets none of it adopted,
and the county's next posting still reaches the new node."""
from __future__ import annotations

import os
import random
import sqlite3
import tempfile
from datetime import date
from pathlib import Path

import httpx
import msgpack
from hubkit import COUNTY, SIBLING, World, value

from node.domain import generate
from node.sync.bootstrap import bootstrap
from node.engine.store import Store
from node.sync.client import SyncClient
from protocol import clock, messages
from protocol.keys import KeyPair

GHOST = os.urandom(16)


def _tamper(data: bytes, county: bytes) -> bytes:
    """What a lying hub does to the file: a ghost card 王五 (已就业, 8000) in the materialized table,
    the merge state and the open changes (so the node would sign it), and the county's head at 10^9."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "snap.sqlite"
        path.write_bytes(data)
        db = sqlite3.connect(path)
        stamp = clock.pack(clock.wall_ms())
        for field, val in (("scope", SIBLING), ("name", "王五"), ("employment", "已就业"), ("monthly_pay", 8000)):
            db.execute("INSERT INTO lw_open (scope, change) VALUES (?, ?)",
                       (SIBLING, msgpack.packb(["person", GHOST, field, val, stamp], use_bin_type=True)))
        db.execute("INSERT INTO lw_row (tbl, row, feed_scope, tomb_hlc, tomb_author) VALUES ('person', ?, ?, NULL, NULL)",
                   (GHOST, SIBLING))
        db.execute("INSERT INTO lw_state_person (row, name__rank, name__hlc, name__author, name__val, name__mat) "
                   "VALUES (?, 0, ?, ?, ?, ?)", (GHOST, stamp, county, msgpack.packb("王五", use_bin_type=True), "王五"))
        ghost = {"id": GHOST.hex(), "name": "王五", "employment": "已就业", "monthly_pay": 8000, "scope": SIBLING,
                 "id_number": generate.id_number(random.Random(5), COUNTY[:6], date(1990, 3, 7), "男")}
        for _, col, typ, notnull, default, _ in db.execute("PRAGMA table_info(person)").fetchall():
            if notnull and default is None and col not in ghost:
                ghost[col] = 0 if "INT" in typ.upper() or "BOOL" in typ.upper() else "x"
        db.execute(f"INSERT INTO person ({', '.join(ghost)}) VALUES ({', '.join('?' * len(ghost))})", list(ghost.values()))
        db.execute("UPDATE lw_head SET seq = 1000000000 WHERE author = ?", (county,))
        db.commit()
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        return path.read_bytes()


class Tampering(httpx.HTTPTransport):
    """The county hub itself lies (its server is compromised): it alters the snapshot and signs the
    answer with its own key, so the network check passes and only the node's own verification is left."""

    def __init__(self, hub_key: KeyPair) -> None:
        super().__init__()
        self.key = hub_key
        self.tampered = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        resp = super().handle_request(request)
        if request.url.path != "/v1/snapshot":
            return resp
        self.tampered += 1
        data = _tamper(resp.read(), self.key.public)
        cursor = resp.headers[messages.SNAPSHOT_CURSOR_HEADER]
        headers = {k: v for k, v in resp.headers.items() if k.lower() not in ("content-length", messages.SIG_HEADER)}
        headers[messages.SIG_HEADER] = messages.sign_answer(self.key, "/v1/snapshot", body, 200, data, cursor.encode())
        return httpx.Response(resp.status_code, headers=headers, content=data)


def test_a_tampered_snapshot_is_neutralised_and_the_next_posting_arrives(world: World) -> None:
    county = world.county
    first = os.urandom(16)
    county.write("job_posting", first, {"title": "县里招聘: 第一批"})
    county.seal()
    member = world.member(SIBLING)
    path = world.tmp / "new-device.sqlite"
    node = Store.create(str(path), member.key, SIBLING, world.box.root.public, world.chain(SIBLING))
    transport = Tampering(world.member(COUNTY).key)
    client = SyncClient(node, world.county_url, county.author, transport=transport)
    try:
        report = bootstrap(client, path)
    finally:
        client.close()
    assert transport.tampered == 1 and report.envelopes >= 1
    node = Store.open(str(path), member.key)
    world.nodes[SIBLING] = node
    try:
        assert ("person", GHOST) not in node.values()
        assert node.status().open_changes == 0
        assert value(node, "job_posting", first, "title") == "县里招聘: 第一批"
        assert max(seq for (author, _), seq in node.vector().items() if author == county.author) < 1000
        second = os.urandom(16)
        county.write("job_posting", second, {"title": "县里招聘: 第二批"})
        county.seal()
        world.sync(SIBLING)
        assert value(node, "job_posting", second, "title") == "县里招聘: 第二批"
        assert ("person", GHOST) not in county.values()  # nothing ghostly was signed and pushed
        with sqlite3.connect(path) as db:
            assert db.execute("SELECT count(*) FROM person WHERE id = ?", (GHOST.hex(),)).fetchone()[0] == 0
    finally:
        pass
