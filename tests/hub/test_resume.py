"""Interrupted transfers resume (DESIGN §8): a connection lost mid-pull or mid-push costs only what
was not acknowledged; the next sync sends the rest, nothing acknowledged twice; repeats are harmless."""
from __future__ import annotations

import pytest
from hubkit import COUNTY, VILLAGE, Cut, World, feed, push, session, snapshot

from node.sync.client import PUSH_BATCH, SyncFailed
from protocol import messages


def test_interrupted_pull_resumes_where_it_stopped(world: World) -> None:
    postings = feed(world.member(COUNTY).key, COUNTY, 30)
    world.county.apply([cs.envelope for cs in postings])
    village = world.node(VILLAGE)

    first = Cut("/v1/pull", cut_at=11)  # ten one-envelope batches arrive, the eleventh answer is lost
    with pytest.raises(SyncFailed):
        world.client(village, budget=1, transport=first).sync()
    assert first.pulled() == 10
    assert sum(1 for tbl, _ in village.values() if tbl == "job_posting") == 10

    second = Cut()
    world.client(village, transport=second).sync()
    assert second.pulled() == 20  # only what the village had not acknowledged
    assert {("job_posting", c.changes[0].row) for c in postings} <= set(village.values())


def test_interrupted_push_resumes_where_it_stopped(world: World) -> None:
    village = world.node(VILLAGE)
    n = PUSH_BATCH + 44
    chain = feed(world.member(VILLAGE).key, VILLAGE, n)
    village.apply([cs.envelope for cs in chain])  # a month of offline work, sealed

    first = Cut("/v1/push", cut_at=2)  # the first push is answered; the hub applies the second, the answer is lost
    with pytest.raises(SyncFailed):
        world.client(village, transport=first).sync()
    assert first.pushed() == PUSH_BATCH

    second = Cut()
    world.client(village, transport=second).sync()
    assert second.pushed() == n - PUSH_BATCH  # the acknowledged batch is not sent again
    [(_, _, answer)] = [s for s in second.sent if s[0] == "/v1/push"]
    assert {r["status"] for r in messages.PushResult.decode(answer).results} == {"duplicate"}
    assert world.county.vector()[(village.author, VILLAGE)] == n


def test_duplicate_push_changes_nothing(world: World) -> None:
    village = world.member(VILLAGE)
    envelopes = [cs.envelope for cs in feed(village.key, VILLAGE, 5)]
    token = session(world.county_url, world.county.author, village.key, VILLAGE, world.chain(VILLAGE))
    assert {r["status"] for r in push(world.county_url, token, envelopes)} == {"accepted"}
    before = snapshot(world.county)
    assert {r["status"] for r in push(world.county_url, token, envelopes)} == {"duplicate"}
    assert {r["status"] for r in push(world.county_url, token, envelopes[2:] + envelopes[:2])} == {"duplicate"}
    assert snapshot(world.county) == before
