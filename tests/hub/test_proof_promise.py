"""A network cannot downgrade a node's session to an address-bound token (docs/trust.md §9), replayed
against real hubs on loopback.

The hello's promise to prove every request (`protocol.session`) used to travel only in a header a
network could strip; the hub then bound the token to the client's address, as for a 0.2.0 node, and
the node could not tell that from a 0.2.0 hub. Now the promise is also in the hello's signed nonce:

* a proxy that strips the header gets the node nothing worse: the welcome's token is still key-bound,
  at the node's very first contact with the hub, and the node pins that;
* an attacker who drops the node's hello and sends it again from its own address, without the
  header, gets a token bound to the node's key, which it cannot use;
* a node pinned so refuses an address-bound token from the same hub key later (here: the county's
  hub rolled back to release 0.2.0, its own code as a real process) and syncs nothing, exit 2.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from hubkit import CT, VILLAGE, World, key_copy, serving, table_rows
from releases import bin_dir
from test_wire_rollout import FACTS, RELEASE, point_at

from hub.app import Hub
from hub.server import ServerThread, free_port
from node.domain.rules import RULES
from node.engine import tables as t
from node.engine.store import Store
from node.sync import legacy
from node.sync.client import SyncClient, SyncFailed
from protocol import codec, messages, session
from protocol.keys import KeyPair

sys.path.insert(0, str(Path(__file__).parents[1] / "faults"))
from proxy import FaultProxy, Message  # noqa: E402

NEW = Path(sys.executable).parent


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _without_promise(msg: Message) -> Message:
    """The request with its `x-laowu-proof` header taken out, as a stripping network sends it on."""
    lines = [ln for ln in msg.head.split(b"\r\n") if not ln.lower().startswith(session.PROOF_HEADER.encode())]
    return Message(b"\r\n".join(lines), msg.body)


def _post_from(address: str, url: str, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    with httpx.Client(base_url=url, transport=httpx.HTTPTransport(local_address=address)) as http:
        return http.post(path, content=body, headers={**CT, **headers})


def test_a_network_that_strips_the_promise_to_prove_gets_the_node_no_address_bound_token(world: World) -> None:
    village = world.node(VILLAGE)
    mine = os.urandom(16)
    village.write("job_posting", mine, {"title": "剥离承诺"})
    stripped: list[Message] = []
    tokens: list[bytes] = []

    def strip(path: str, req: Message) -> Message:
        if path != "/v1/hello":
            return req
        stripped.append(_without_promise(req))
        return stripped[-1]

    def read(path: str, resp: Message) -> Message:
        if path == "/v1/hello":
            tokens.append(messages.Welcome.decode(resp.body).token)
        return resp

    assert not legacy.binds(village, world.county.author)  # first contact: nothing pinned yet
    with FaultProxy(_port(world.county_url), seed=11, rates={}, hold=1.0, rewrite=read, tamper=strip) as proxy:
        client = SyncClient(village, proxy.url, world.county.author)
        try:
            report = client.sync()
        finally:
            client.close()
    assert stripped and session.PROOF_HEADER.encode() not in stripped[0].head.lower()
    [token] = tokens
    assert session.is_key_bound(token), "the stripped hello earned an address-bound token"
    assert report.counts == {"accepted": 1} and ("job_posting", mine) in world.county.values("job_posting")
    assert legacy.binds(village, world.county.author)  # pinned at the first signed key-bound welcome
    pull = messages.Pull(token, 0, 1 << 20, True).encode()
    for address in ("127.0.0.1", "127.0.0.2"):  # the token read off the wire is no use without the key
        resp = _post_from(address, world.county_url, "/v1/pull", pull, {})
        assert resp.status_code == 401, resp.content


def test_a_hello_dropped_and_sent_again_from_the_attackers_address_earns_nothing_usable(world: World) -> None:
    """The attacker keeps the node's hello, lets the hub see a spoiled copy (the node's sync fails),
    then sends the real one itself, without the promise header: the token is bound to the node's key."""
    village = world.node(VILLAGE)
    village.write("job_posting", os.urandom(16), {"title": "x"})
    kept: list[Message] = []

    def drop(path: str, req: Message) -> Message:
        if path != "/v1/hello":
            return req
        kept.append(_without_promise(req))
        return Message(req.head, req.body[:-1] + bytes([req.body[-1] ^ 1]))  # what reaches the hub is spoiled

    with FaultProxy(_port(world.county_url), seed=12, rates={}, hold=1.0, tamper=drop) as proxy:
        client = SyncClient(village, proxy.url, world.county.author)
        try:
            with pytest.raises(SyncFailed):
                client.sync()
        finally:
            client.close()
    log_before = table_rows(world.county, t.log)
    resp = _post_from("127.0.0.2", world.county_url, "/v1/hello", kept[0].body, {})
    assert resp.status_code == 200, resp.content
    token = messages.Welcome.decode(resp.content).token
    assert session.is_key_bound(token)
    thief = KeyPair.generate()
    pull = messages.Pull(token, 0, 1 << 20, True).encode()
    proof = session.prove(thief, "/v1/pull", token, pull, 1, world.county.hlc.physical())
    for headers in ({}, {session.PROOF_HEADER: proof}):
        got = _post_from("127.0.0.2", world.county_url, "/v1/pull", pull, headers)
        assert got.status_code == 401 and codec.unpack(got.content, max_bytes=1 << 16, what="e")["error"] == "unauthorized"
    assert table_rows(world.county, t.log) == log_before


@pytest.fixture(scope="module")
def old() -> Path:
    """The bin folder of release 0.2.0's own install (built once, cached under .releases/)."""
    return bin_dir("0.2.0")


def _lw_log(db: Path) -> int:
    with closing(sqlite3.connect(db)) as c:
        return int(c.execute("SELECT count(*) FROM lw_log").fetchone()[0])


def test_a_node_pinned_to_key_bound_sessions_refuses_an_address_bound_one_from_its_hub(old: Path, tmp_path: Path) -> None:
    """The county's hub, rolled back to release 0.2.0 with its key (or anything a network makes of
    its answers), offers an address-bound token: the node syncs nothing and exits 2 saying why."""
    village = tmp_path / "village"
    shutil.copytree(RELEASE / "village", village)
    shutil.copytree(RELEASE / "county", tmp_path / "county-old")
    shutil.copy2(RELEASE / "county" / "hub.sqlite", tmp_path / "hub.sqlite")
    hub_key = bytes.fromhex(FACTS["county_author"])
    county = Store.open(tmp_path / "hub.sqlite", key_copy(RELEASE / "county" / "hub.key", tmp_path, FACTS["passphrase"]),
                        rules=RULES)
    node = Store.open(village / "node.sqlite", key_copy(RELEASE / "village" / "node.key", tmp_path, FACTS["passphrase"]))
    try:
        with ServerThread(Hub(county)) as server:  # this release's hub, with the county's key
            client = SyncClient(node, server.url, hub_key)
            try:
                client.sync()
            finally:
                client.close()
        assert legacy.binds(node, hub_key)
        node.write("job_posting", os.urandom(16), {"title": "不该送到"})
    finally:
        node.close()
        county.close()
    old_db = tmp_path / "county-old" / "hub.sqlite"
    before = _lw_log(old_db)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"LAOWU_PASSPHRASE": FACTS["passphrase"]}
    argv = [str(old / "laowu-hub"), "serve", "--dir", str(tmp_path / "county-old"), "--port", str(port)]
    with serving(argv, port, tmp_path / "old-hub.log", env, old) as url:
        point_at(village, url)
        synced = subprocess.run([str(NEW / "laowu-node"), "--dir", str(village), "sync"], env=env, capture_output=True,
                                text=True, timeout=120)
    assert synced.returncode == 2, synced.stdout + synced.stderr
    assert "绑定" in synced.stderr and "Nothing was synced" in synced.stderr and "Traceback" not in synced.stderr
    assert _lw_log(old_db) == before
    with closing(sqlite3.connect(village / "node.sqlite")) as c:
        assert c.execute("SELECT count(*) FROM lw_open").fetchone()[0] > 0  # still waiting, unsealed
