"""The network is not trusted (issue 9, item 4), replayed against real hubs on loopback:

* a proxy in the middle rewrites the hub's answers (the welcome's time, once moved a node's clock to
  2090 and blocked its feed; the signed time a far-off node asks for; a pull's cursor; a push's
  results): every answer is signed by the hub's key over the request it answers, the node refuses the
  rewritten one and adopts nothing from it;
* a session token read off the wire is refused without the key that earned it (each request carries
  the key's proof), from any address; the key holder's requests work from a changed address; an old
  node's token is bound to its address;
* `laowu-hub serve` serves TLS with a certificate made here, trusted by the node through a CA file;
* many idle sockets do not stop a hub: a real client is still served, and the idle ones are closed.
"""
from __future__ import annotations

import datetime
import os
import socket
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hubkit import CT, VILLAGE, World, feed, hello_body, push, session, table_rows

from hub.server import ServerThread
from node.engine import tables as t
from node.engine import synclog
from node.engine.store import Store
from node.sync.client import SyncClient, SyncFailed
from protocol import codec, messages
from protocol import session as protocol_session
from protocol.keys import KeyPair

sys.path.insert(0, str(Path(__file__).parents[1] / "faults"))
from proxy import FaultProxy, Message  # noqa: E402

YEAR_2090_MS = 3_786_912_000_000
HOUR_MS = 3600_000


def _with_body(msg: Message, body: bytes) -> Message:
    lines = [ln for ln in msg.head.split(b"\r\n") if not ln.lower().startswith(b"content-length:")]
    head = b"\r\n".join(lines[:1] + [b"content-length: %d" % len(body)] + [ln for ln in lines[1:] if ln]) + b"\r\n\r\n"
    return Message(head, body)


def _rewrite_map(path_wanted: str, change: dict[str, object]):  # type: ignore[no-untyped-def]
    """A network attacker: on answers to `path_wanted`, overwrite the fields in `change`."""
    seen: list[str] = []

    def rewrite(path: str, resp: Message) -> Message:
        if path != path_wanted or b" 200 " not in resp.head.split(b"\r\n", 1)[0]:
            return resp
        m = codec.unpack(resp.body, max_bytes=64 << 20, what="answer")
        m.update({k: (v(m[k]) if callable(v) else v) for k, v in change.items()})
        seen.append(path)
        return _with_body(resp, codec.pack(m))

    return rewrite, seen


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _attacked(world: World, village: Store, path: str, change: dict[str, object]) -> SyncFailed:
    """Sync `village` through a proxy that rewrites the answers to `path`; the failure it must raise."""
    rewrite, seen = _rewrite_map(path, change)
    with FaultProxy(_port(world.county_url), seed=1, rates={}, hold=1.0, rewrite=rewrite) as proxy:
        client = SyncClient(village, proxy.url, world.county.author)
        try:
            with pytest.raises(SyncFailed) as failed:
                client.sync()
        finally:
            client.close()
    assert seen == [path] and failed.value.error == "bad-signature"
    return failed.value


def test_a_rewritten_welcome_time_is_refused_and_the_clock_does_not_move(world: World) -> None:
    village = world.node(VILLAGE)
    village.write("job_posting", os.urandom(16), {"title": "before the attack"})
    _attacked(world, village, "/v1/hello", {"time": YEAR_2090_MS})
    assert village.hlc.offset_ms == 0 and abs(village.hlc.physical() - time.time() * 1000) < 60_000
    report = world.sync(VILLAGE)  # straight to the hub: the feed is not blocked
    assert report.pushed == 1 and report.counts == {"accepted": 1}


def test_a_rewritten_hub_time_is_refused_when_a_far_off_node_asks_for_it(world: World) -> None:
    village = world.node(VILLAGE, wall=lambda: int(time.time() * 1000) + HOUR_MS)  # hello refused as stale
    _attacked(world, village, "/v1/time", {"time": YEAR_2090_MS})
    assert village.hlc.offset_ms == 0
    assert abs(world.sync(VILLAGE).offset_ms + HOUR_MS) < 60_000  # the real, signed time is learnt directly


@pytest.mark.parametrize(("path", "change", "cursors", "then"), [
    # skip everything the hub holds: no cursor moves, and the next sync pulls it all and pushes ours
    ("/v1/pull", {"cursor": 10**9, "envelopes": [], "more": False}, (0, 0), {"accepted": 3}),
    # our changeset "refused": the push cursor does not pass it, and it is offered again (the hub has it)
    ("/v1/push", {"results": lambda rs: [{**r, "status": "refused", "code": "forged"} for r in rs]}, (2, 2),
     {"duplicate": 1}),
])
def test_a_rewritten_pull_or_push_answer_changes_nothing_at_the_node(
        world: World, path: str, change: dict[str, object], cursors: tuple[int, int], then: dict[str, int]) -> None:
    county = world.box.members["513225000000"]
    token = session(world.county_url, world.county.author, county.key, "513225000000", [world.box.members["510000000000"].cert, county.cert])
    push(world.county_url, token, [cs.envelope for cs in feed(county.key, "513225000000", 2)])
    village = world.node(VILLAGE)
    village.write("job_posting", os.urandom(16), {"title": "waiting to be pushed"})
    rewrite, seen = _rewrite_map(path, change)
    with FaultProxy(_port(world.county_url), seed=3, rates={}, hold=1.0, rewrite=rewrite) as proxy:
        client = SyncClient(village, proxy.url, world.county.author)
        try:
            with pytest.raises(SyncFailed) as failed:
                client.sync()
            assert seen == [path] and failed.value.error == "bad-signature"
            assert synclog.cursors(village, proxy.url) == cursors
            proxy.rewrite = None  # the attacker leaves: the next sync picks up exactly where the node was
            assert client.sync().counts == then
        finally:
            client.close()


def test_an_address_bound_token_of_an_old_node_replayed_from_another_client_is_refused(world: World) -> None:
    """A hello without the promise to prove (a 0.1.0 node) gets a token bound to the client's address."""
    village = world.member(VILLAGE)
    token = session(world.county_url, world.county.author, village.key, VILLAGE, world.chain(VILLAGE))
    assert not protocol_session.is_key_bound(token)
    body = messages.Push(token, [cs.envelope for cs in feed(village.key, VILLAGE, 1)], [], []).encode()
    with httpx.Client(base_url=world.county_url, transport=httpx.HTTPTransport(local_address="127.0.0.2")) as thief:
        resp = thief.post("/v1/push", content=body, headers=CT)
    assert resp.status_code == 401 and codec.unpack(resp.content, max_bytes=1 << 16, what="e")["error"] == "unauthorized"
    assert table_rows(world.county, t.log) == []
    assert push(world.county_url, token, messages.Push.decode(body).envelopes)[0]["status"] == "accepted"


def wiretap(world: World, village: Store) -> tuple[bytes, list[Message]]:
    """Sync `village` through a proxy that copies every request and the welcome: the token and the
    requests a network attacker (no TLS) reads off the wire."""
    requests: list[Message] = []
    tokens: list[bytes] = []

    def tap(path: str, req: Message) -> Message:
        requests.append(req)
        return req

    def read(path: str, resp: Message) -> Message:
        if path == "/v1/hello":
            tokens.append(messages.Welcome.decode(resp.body).token)
        return resp

    with FaultProxy(_port(world.county_url), seed=5, rates={}, hold=1.0, rewrite=read, tamper=tap) as proxy:
        client = SyncClient(village, proxy.url, world.county.author)
        try:
            assert set(client.sync().counts) == {"accepted"}
        finally:
            client.close()
    return tokens[0], requests


def _from(address: str, url: str, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    with httpx.Client(base_url=url, transport=httpx.HTTPTransport(local_address=address)) as http:
        return http.post(path, content=body, headers={**CT, **headers})


def test_a_stolen_session_token_is_refused_without_the_key_that_earned_it(world: World) -> None:
    village = world.node(VILLAGE)
    village.write("job_posting", os.urandom(16), {"title": "工资 6000"})
    token, seen = wiretap(world, village)
    assert protocol_session.is_key_bound(token)
    captured = next(m for m in seen if m.start[1] == "/v1/push")
    proof = next(ln.split(b":", 1)[1].strip().decode() for ln in captured.head.split(b"\r\n")
                 if ln.lower().startswith(protocol_session.PROOF_HEADER.encode()))
    thief = KeyPair.generate()
    now = world.county.hlc.physical()
    pull = messages.Pull(token, 0, 1 << 20, True).encode()
    forged = messages.Push(token, [cs.envelope for cs in feed(thief, VILLAGE, 1)], [], []).encode()
    attempts = [
        ("/v1/pull", pull, {}),  # the token alone
        ("/v1/pull", pull, {protocol_session.PROOF_HEADER: protocol_session.prove(thief, "/v1/pull", token, pull, 50, now)}),
        ("/v1/pull", pull, {protocol_session.PROOF_HEADER: proof}),  # the captured proof, on another request
        ("/v1/push", forged, {protocol_session.PROOF_HEADER: protocol_session.prove(thief, "/v1/push", token, forged, 51, now)}),
        ("/v1/push", forged, {protocol_session.PROOF_HEADER: proof}),
    ]
    before = table_rows(world.county, t.log)
    for address in ("127.0.0.1", "127.0.0.2"):  # from the village's own address (same NAT) or another
        for path, body, headers in attempts:
            resp = _from(address, world.county_url, path, body, headers)
            assert resp.status_code == 401, (address, path, resp.content)
            assert codec.unpack(resp.content, max_bytes=1 << 16, what="e")["error"] == "unauthorized"
    assert table_rows(world.county, t.log) == before


def test_a_key_bound_session_keeps_working_from_a_changed_address(world: World) -> None:
    village = world.node(VILLAGE)
    village.write("job_posting", os.urandom(16), {"title": "before the move"})
    token, _ = wiretap(world, village)  # hello from 127.0.0.1
    village.write("job_posting", os.urandom(16), {"title": "after the move"})
    [cs] = village.seal()
    body = messages.Push(token, [cs.envelope], [], []).encode()
    assert village.key is not None
    proof = protocol_session.prove(village.key, "/v1/push", token, body, 100, village.hlc.physical())  # numbered past the sync's
    resp = _from("127.0.0.2", world.county_url, "/v1/push", body,  # the laptop moved to another network
                 {protocol_session.PROOF_HEADER: proof})
    assert resp.status_code == 200, resp.content
    assert messages.PushResult.decode(resp.content).results[0]["status"] == "accepted"


def _self_signed(d: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "county hub 513225")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    certfile, keyfile = d / "hub.crt", d / "hub.tls.key"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return certfile, keyfile


def test_a_hub_serves_tls_and_a_node_trusts_it_through_a_ca_file(world: World, tmp_path: Path) -> None:
    certfile, keyfile = _self_signed(tmp_path)
    village = world.node(VILLAGE)
    village.write("job_posting", os.urandom(16), {"title": "over TLS"})
    with ServerThread(world.county_hub, certfile=str(certfile), keyfile=str(keyfile)) as tls:
        assert tls.url.startswith("https://")
        stranger = SyncClient(village, tls.url, world.county.author)  # without the CA file: refused
        try:
            with pytest.raises(SyncFailed, match="certificate is not trusted"):
                stranger.sync()
        finally:
            stranger.close()
        client = SyncClient(village, tls.url, world.county.author, ca_file=str(certfile))
        try:
            assert client.sync().pushed == 1
        finally:
            client.close()
        with pytest.raises(httpx.RemoteProtocolError):  # plain HTTP to the TLS port gets nothing
            httpx.post(tls.url.replace("https", "http") + "/v1/hello", content=b"\x80", headers=CT, timeout=5)


def test_idle_sockets_do_not_stop_a_hub(world: World) -> None:
    """1,030 idle sockets once stopped a hub. Now they wait at most the header timeout, and a real
    client is served meanwhile."""
    with ServerThread(world.county_hub, header_timeout=2.0, max_connections=2048) as server:
        idle = []
        try:
            for _ in range(1100):
                s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
                idle.append(s)
            idle[0].sendall(b"POST /v1/hello HTTP/1.1\r\nHost: x\r\n")  # a slow header, never finished
            village = world.node(VILLAGE)
            village.write("job_posting", os.urandom(16), {"title": "served beside 1,100 idle sockets"})
            client = SyncClient(village, server.url, world.county.author)
            try:
                assert client.sync().pushed == 1
            finally:
                client.close()
            time.sleep(3.0)
            for s in idle[:50]:
                s.settimeout(5)
                assert s.recv(1) == b""  # closed by the hub
        finally:
            for s in idle:
                s.close()
    resp = httpx.post(world.county_url + "/v1/hello", content=hello_body(world.member(VILLAGE).key, world.county.author,
                                                                         VILLAGE, world.chain(VILLAGE)), headers=CT)
    assert resp.status_code == 200
