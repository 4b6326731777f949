"""A whole request captured off the wire cannot be sent again (docs/trust.md §10), replayed against a
real hub on loopback; and the hub's memory of taken proofs (`hub.replay`) stays bounded and never
takes one (token, sequence number) twice, whatever arrives, checked by property.

Without TLS a network attacker reads a node's requests whole: session token, key proof and body. A
wiretap between the node and the hub copies them; the test then sends the copies to the hub again,
byte for byte, on a socket of its own, and fails if the hub takes any of them.
"""
from __future__ import annotations

import os
import socket

import httpx
from hubkit import CT, VILLAGE, World, table_rows
from hypothesis import given, settings
from hypothesis import strategies as st
from test_network import wiretap

from hub.refusals import Replayed
from hub.replay import WINDOW, ReplayGuard
from node.engine import tables as t
from protocol import codec, messages, session

EXAMPLES = int(os.environ.get("LAOWU_PROPERTY_EXAMPLES", "0"))


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _send_raw(url: str, raw: bytes) -> tuple[int, bytes]:
    """Send `raw` (a whole HTTP request, head and body) to the hub unchanged; its status and body."""
    with socket.create_connection(("127.0.0.1", _port(url)), timeout=30) as sock:
        sock.sendall(raw)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, data
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        length = next(int(ln.split(b":", 1)[1]) for ln in head.split(b"\r\n") if ln.lower().startswith(b"content-length:"))
        while len(body) < length:
            chunk = sock.recv(65536)
            assert chunk
            body += chunk
    return int(head.split(b" ", 2)[1]), body[:length]


def test_a_captured_request_sent_again_byte_for_byte_is_refused(world: World) -> None:
    world.county.write("job_posting", os.urandom(16), {"title": "县里发布"}, scope=VILLAGE)
    world.county.seal()  # something to pull
    village = world.node(VILLAGE)
    village.write("job_posting", os.urandom(16), {"title": "月薪 6000"})
    token, seen = wiretap(world, village)
    assert session.is_key_bound(token)
    captured = [m for m in seen if m.start[1] in ("/v1/push", "/v1/pull")]
    assert {m.start[1] for m in captured} == {"/v1/push", "/v1/pull"}
    log_before, heads_before = table_rows(world.county, t.log), table_rows(world.county, t.heads)
    for m in captured:
        status, body = _send_raw(world.county_url, m.raw)
        answer = codec.unpack(body, max_bytes=1 << 16, what="answer")
        assert (status, answer["error"]) == (409, "replayed"), (m.start, status, answer)
        assert "already taken" in answer["reason"]
    assert table_rows(world.county, t.log) == log_before and table_rows(world.county, t.heads) == heads_before
    # The node itself goes on: a new sync says hello again and numbers its requests from 1.
    after = os.urandom(16)
    village.write("job_posting", after, {"title": "after the replay"})
    assert world.sync(VILLAGE).pushed == 1 and ("job_posting", after) in world.county.values("job_posting")


def test_a_proof_dated_outside_the_window_is_refused_even_by_its_own_key(world: World) -> None:
    """What the hub forgets after the window is stale by then: a request dated before it (or far
    ahead) is refused even when its key really signed it, with a sequence number never used."""
    village = world.node(VILLAGE)
    village.write("job_posting", os.urandom(16), {"title": "x"})
    token, _ = wiretap(world, village)
    assert village.key is not None
    pull = messages.Pull(token, 0, 1 << 20, True).encode()
    now = world.county.hlc.physical()
    for seq, sent in ((100, now - session.FRESH_MS - 5_000), (101, now + session.AHEAD_MS + 60_000)):
        proof = session.prove(village.key, "/v1/pull", token, pull, seq, sent)
        resp = httpx.post(world.county_url + "/v1/pull", content=pull, headers={**CT, session.PROOF_HEADER: proof})
        answer = codec.unpack(resp.content, max_bytes=1 << 16, what="e")
        assert (resp.status_code, answer["error"]) == (409, "replayed") and "say hello again" in answer["reason"]
    fresh = session.prove(village.key, "/v1/pull", token, pull, 102, world.county.hlc.physical())
    assert httpx.post(world.county_url + "/v1/pull", content=pull,
                      headers={**CT, session.PROOF_HEADER: fresh}).status_code == 200


def test_a_proof_without_sequence_number_and_time_is_refused_with_upgrade(world: World) -> None:
    """The proof of builds between 0.2.0 and this one (a bare signature, never in a release)."""
    village = world.node(VILLAGE)
    village.write("job_posting", os.urandom(16), {"title": "x"})
    token, _ = wiretap(world, village)
    assert village.key is not None
    pull = messages.Pull(token, 0, 1 << 20, True).encode()
    bare = village.key.sign(b"laowu/request/v1\x00/v1/pull\x00").hex()
    resp = httpx.post(world.county_url + "/v1/pull", content=pull, headers={**CT, session.PROOF_HEADER: bare})
    answer = codec.unpack(resp.content, max_bytes=1 << 16, what="e")
    assert (resp.status_code, answer["error"]) == (401, "unauthorized") and "upgrade" in answer["reason"]


# -- the replay memory itself, by property ------------------------------------------------------------

NOW = 1_800_000_000_000
step = st.tuples(st.integers(0, 7),  # which token
                 st.integers(1, 3 * WINDOW),  # sequence number
                 st.integers(-session.FRESH_MS - 10_000, session.AHEAD_MS + 10_000),  # proof time - hub time
                 st.integers(0, 40_000))  # how far the hub's clock moves first


@settings(max_examples=EXAMPLES or 300, deadline=None)
@given(st.integers(1, 5), st.lists(step, max_size=300))
def test_the_replay_memory_stays_bounded_and_takes_no_proof_twice(capacity: int, steps: list[tuple[int, int, int, int]]) -> None:
    """A proof is its token, sequence number and time (the key signs them with the path and body, so
    only the key's holder makes another): the same proof is never taken twice, however many sessions
    crowd the memory out, and the memory never holds more than its capacity."""
    guard = ReplayGuard(capacity)
    taken: set[tuple[int, int, int]] = set()
    sent: dict[tuple[int, int], int] = {}  # what the key holder dated each (token, seq) the first time
    now = NOW
    for token, seq, skew, move in steps:
        now += move
        when = sent.setdefault((token, seq), now + skew)  # a second time: the captured proof, sent again
        try:
            guard.admit(bytes([token]) * 85, seq, when, now)
        except Replayed:
            continue
        assert (token, seq, when) not in taken, f"proof {seq} of token {token} taken twice"
        assert -session.FRESH_MS <= when - now <= session.AHEAD_MS
        taken.add((token, seq, when))
        assert len(guard) <= capacity


@settings(max_examples=EXAMPLES or 100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 5_000)), max_size=200))
def test_honest_sessions_are_never_refused_while_the_memory_has_room(steps: list[tuple[int, int]]) -> None:
    """Four nodes, each numbering its requests in order and dating them by the hub's clock."""
    guard = ReplayGuard(4)
    next_seq = [1] * 4
    now = NOW
    for token, move in steps:
        now += move
        guard.admit(bytes([token]) * 85, next_seq[token], now, now)
        next_seq[token] += 1


def test_a_flood_of_sessions_keeps_memory_bounded_and_forgotten_proofs_out() -> None:
    """More live sessions than the memory holds: the oldest are forgotten, their proofs stay refused."""
    guard = ReplayGuard(1000)
    for i in range(5000):
        guard.admit(i.to_bytes(4, "big") * 21, 1, NOW + i, NOW + i)
        assert len(guard) <= 1000
    for i in (0, 1, 3999):  # forgotten: each of their proofs is dated at or before the floor
        try:
            guard.admit(i.to_bytes(4, "big") * 21, 1, NOW + i, NOW + 5000)
        except Replayed as exc:
            assert "no longer remembers" in str(exc)
        else:
            raise AssertionError(f"a forgotten session's proof {i} was taken again")
    guard.admit(b"\xff" * 84, 1, NOW + 5001, NOW + 5001)  # a new session, dated after the floor, goes on
