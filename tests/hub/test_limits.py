"""Bounded resources, no amplification (issue 9, item 5), replayed against a real hub on loopback:
a body built to blow up the decoder, a fork replayed over and over, and a feed that never fills its
gap or keeps sending changesets stamped in the future."""
from __future__ import annotations

import os
from pathlib import Path

from hubkit import VILLAGE, World, feed, post, push, session, table_rows
from sqlalchemy import func, select

from node.engine import tables as t
from node.engine.schema import SCHEMA_VERSION
from protocol import clock
from protocol.changeset import Change, seal

MIB = 1 << 20


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_a_body_of_empty_maps_is_refused_before_it_costs_memory(world: World) -> None:
    """16 MiB of empty maps in one array once took a hub from 77 MiB to 3.6 GiB RSS, never returned."""
    url = world.county_url
    n = 16 * MIB - 64
    bombs = [b"\xdd" + n.to_bytes(4, "big") + b"\x80" * n,  # one array of 16 M empty maps
             b"\xdc\xff\xff" + (b"\xdc\x00\xff" + b"\x90" * 255) * 250,  # arrays of arrays of empty arrays
             b"\x85\xa1v\x01\xa5token\xc4\x00\xa9envelopes" + b"\xdd" + (MIB).to_bytes(4, "big") + b"\x80" * MIB]
    post(url, "/v1/hello", b"\x80")  # the server and its threads are warm before measuring
    before = _rss()
    for body in bombs:
        for path in ("/v1/hello", "/v1/push", "/v1/pull", "/v1/enroll"):
            resp = post(url, path, body)
            assert resp.status_code in (400, 401, 413), (path, resp.status_code, resp.content[:200])
    grown = _rss() - before
    assert grown < 200 * MIB, f"the hub grew by {grown / MIB:.0f} MiB decoding hostile bodies"


def test_a_replayed_fork_is_stored_once(world: World) -> None:
    """Each replay of a forking changeset stored both envelopes again: 3 pushes of 512 replays added ~1.4 GiB."""
    village = world.member(VILLAGE)
    token = session(world.county_url, world.county.author, village.key, VILLAGE, world.chain(VILLAGE))
    [first] = feed(village.key, VILLAGE, 1)
    [other] = feed(village.key, VILLAGE, 1)  # another changeset at the same (feed, seq): a fork
    assert push(world.county_url, token, [first.envelope])[0]["status"] == "accepted"
    for _ in range(3):
        results = push(world.county_url, token, [other.envelope] * 100)
        assert {r["status"] for r in results} == {"fork"}
    assert len(table_rows(world.county, t.forks)) == 1


def test_changesets_waiting_for_a_gap_are_bounded_per_feed(world: World) -> None:
    world.county.max_waiting_per_feed = 5
    village = world.member(VILLAGE)
    token = session(world.county_url, world.county.author, village.key, VILLAGE, world.chain(VILLAGE))
    chain = feed(village.key, VILLAGE, 9)
    results = push(world.county_url, token, [cs.envelope for cs in chain[1:]])  # seq 1 never sent
    assert [r["status"] for r in results] == ["pending"] * 5 + ["refused"] * 3
    assert {r["code"] for r in results[5:]} == {"feed-full"} and "missing" in results[5]["reason"]
    assert world.county.status().pending == 5
    # The gap fills: what waited is applied, and what was refused is simply sent again.
    assert push(world.county_url, token, [chain[0].envelope])[0]["status"] == "accepted"
    assert world.county.status().pending == 0
    assert [r["status"] for r in push(world.county_url, token, [cs.envelope for cs in chain[6:]])] == ["accepted"] * 3


def test_changesets_held_for_a_newer_schema_are_bounded_per_feed(world: World) -> None:
    """Held (written by a newer release) counts with pending against the same bound: a key cannot
    fill a hub with changesets it will never apply by stamping them with a schema from the future."""
    world.county.max_waiting_per_feed = 4
    village = world.member(VILLAGE)
    token = session(world.county_url, world.county.author, village.key, VILLAGE, world.chain(VILLAGE))
    prev, envs = None, []
    for seq in range(1, 7):
        cs = seal(village.key, VILLAGE, seq, prev, [Change("job_posting", os.urandom(16), "title", "未来版本",
                                                           clock.pack(clock.wall_ms()))], schema=SCHEMA_VERSION + 1)
        prev = cs.id
        envs.append(cs.envelope)
    results = push(world.county_url, token, envs)
    assert [r["status"] for r in results] == ["held"] * 4 + ["refused"] * 2
    assert {r["code"] for r in results[4:]} == {"feed-full"}
    with world.county.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.log).where(t.log.c.status == "held")).scalar_one() == 4


def test_quarantined_changesets_are_bounded_per_feed(world: World) -> None:
    world.county.max_quarantined_per_feed = 3
    village = world.member(VILLAGE)
    token = session(world.county_url, world.county.author, village.key, VILLAGE, world.chain(VILLAGE))
    ahead = clock.pack(clock.wall_ms() + 365 * 24 * 3600_000)
    prev, envs = None, []
    for seq in range(1, 6):
        cs = seal(village.key, VILLAGE, seq, prev, [Change("job_posting", os.urandom(16), "title", "2099", ahead + seq)])
        prev = cs.id
        envs.append(cs.envelope)
    results = push(world.county_url, token, envs)
    assert [r["status"] for r in results] == ["quarantined"] * 3 + ["refused"] * 2
    assert results[-1]["code"] == "quarantine-full" and "release" in results[-1]["reason"]
    assert world.county.status().quarantined == 3

