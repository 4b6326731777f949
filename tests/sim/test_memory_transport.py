"""hub.memory.MemoryTransport answers what the HTTP app answers: the same status codes, the same
msgpack bodies (errors included), over the same Hub; and its faults do what they say."""
from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from simworld import PROVINCE, START_MS, Shape, World, scratch_root

from hub.app import create_app
from hub.memory import MemoryTransport, Network
from node.sync.client import SyncClient, SyncFailed
from protocol import codec, messages


@pytest.fixture
def world() -> Iterator[World]:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="laowu-sim-mt-", dir=scratch_root()) as d:
        w = World(11, Shape(counties=1, townships=1, villages=1), Path(d), Network(random.Random(11)))
        try:
            yield w
        finally:
            w.close()


def requests(w: World, n: int) -> list[tuple[str, str, bytes]]:
    village = w.live("village")[0]
    county = w.county_of(village)
    store = village.store
    assert store.key is not None
    hello = messages.Hello.make(store.key, county.author, store.home, store.trust.chains({store.author}), 0,
                                w.now, bytes([n, 1]) * (messages.NONCE_LEN // 2)).encode()
    stranger = messages.Hello.make(w.nodes[PROVINCE].key, county.author, store.home, [], 0, w.now,
                                   bytes([n, 2]) * (messages.NONCE_LEN // 2)).encode()
    return [
        ("POST", "/v1/hello", b"\x81\xa1v\x09"),  # an unknown version
        ("POST", "/v1/hello", b"not msgpack at all"),
        ("POST", "/v1/hello", stranger),  # the province's key subscribing as a village: not allowed
        ("POST", "/v1/push", messages.Push(os.urandom(8), [], [], []).encode()),  # no session
        ("POST", "/v1/pull", messages.Pull(b"\x00" * 84, 0, 1000, False).encode()),  # a forged token
        ("POST", "/v1/enroll", b"\x80"),
        ("POST", "/v1/hello", hello),
        ("POST", "/v1/hello", hello),  # replayed: stale
    ]


async def test_memory_transport_answers_as_the_http_app_does(world: World) -> None:
    county = world.live("county")[0]
    assert county.hub is not None
    memory = httpx.Client(transport=MemoryTransport({"county.test": county.hub}), base_url="http://county.test")
    got = [memory.request(method, path, content=body) for method, path, body in requests(world, 1)]
    asgi = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(county.hub)), base_url="http://county.test")
    async with asgi:
        want = [await asgi.request(method, path, content=body) for method, path, body in requests(world, 2)]
    assert [r.status_code for r in got] == [r.status_code for r in want] == [400, 400, 403, 401, 401, 400, 200, 409]
    for a, b in zip(got[:6] + got[7:], want[:6] + want[7:]):
        assert a.content == b.content and a.headers["content-type"] == b.headers["content-type"]
    assert messages.Welcome.decode(got[6].content).hub == county.author
    assert codec.unpack(got[7].content, max_bytes=1 << 16, what="error")["error"] == "stale"
    health = codec.unpack(memory.get("/v1/health").content, max_bytes=1 << 16, what="health")
    assert health["home"] == county.home and health["time"] == START_MS


def test_faults_drop_lose_duplicate_and_cut(world: World) -> None:
    village = world.live("village")[0]
    county = world.county_of(village)
    net = Network(random.Random(1), drop=1.0)
    client = SyncClient(village.store, f"http://{world.host(county.home)}", county.author,
                        transport=MemoryTransport(world.hubs, net, link="v"))
    village.store.write("job_posting", b"\x01" * 16, {"title": "once"})
    with pytest.raises(SyncFailed):
        client.sync()  # dropped on the way: the hub saw nothing
    assert county.store.vector() == {} and net.sent["v"] > 0 and net.requests["v"] == 1
    net.drop, net.lose = 0.0, 1.0
    with pytest.raises(SyncFailed):
        client.sync()  # the hello was answered, the answer lost
    net.lose, net.duplicate = 0.0, 1.0
    client.sync()  # everything twice: the hub refuses each copy (the hello's as used, the others as replayed)
    assert county.store.vector()[(village.author, village.home)] == 1
    net.duplicate = 0.0
    net.down.add("v")
    with pytest.raises(SyncFailed):
        client.sync()
    net.down.clear()
    net.delay = 1.0
    village.store.write("job_posting", b"\x02" * 16, {"title": "twice"})
    client.sync()
    assert net.held  # a copy of each request waits to arrive late
    MemoryTransport(world.hubs, net).flush()
    assert net.held == [] and net.failures == []
    assert county.store.vector()[(village.author, village.home)] == 2
    client.close()
