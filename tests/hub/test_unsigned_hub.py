"""Compatibility mode cannot be used to downgrade a node (docs/trust.md §9), replayed against a real hub.

A 0.1.0 hub signs no answers, and a network attacker can strip a signature as easily: a proxy in
the middle strips the hub's `x-laowu-sig` (and rewrites what it likes under it). A node that has seen
its hub sign refuses; one that never has syncs in compatibility mode and keeps nothing the attacker
could have changed (its clock, its cursors); time answers are never taken unsigned, nor is anything
by a laptop restored from a backup. (The same mode against release 0.1.0's own hub process:
tests/hub/test_uneven_fleet.py.)
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from hubkit import VILLAGE, World

from node import backup
from node.engine import synclog
from node.engine import tables as t
from node.engine.store import Store
from node.sync import legacy
from node.sync.client import SyncClient, SyncFailed
from protocol import codec, messages

sys.path.insert(0, str(Path(__file__).parents[1] / "faults"))
from proxy import FaultProxy, Message  # noqa: E402

YEAR_2090_MS = 3_786_912_000_000
HOUR_MS = 3600_000


def _stripping(change: dict[str, dict[str, object]] | None = None):  # type: ignore[no-untyped-def]
    """An attacker who removes the hub's signature from every answer and, on the paths in `change`,
    overwrites fields of a 200 answer."""
    seen: list[str] = []

    def rewrite(path: str, resp: Message) -> Message:
        seen.append(path)
        lines = [ln for ln in resp.head.split(b"\r\n") if not ln.lower().startswith(messages.SIG_HEADER.encode())]
        body = resp.body
        if change and path in change and b" 200 " in lines[0]:
            m = codec.unpack(body, max_bytes=64 << 20, what="answer")
            m.update({k: (v(m[k]) if callable(v) else v) for k, v in change[path].items()})
            body = codec.pack(m)
            lines = [ln for ln in lines if not ln.lower().startswith(b"content-length:")]
            lines.insert(1, b"content-length: %d" % len(body))
        return Message(b"\r\n".join(ln for ln in lines if ln) + b"\r\n\r\n", body)

    return rewrite, seen


def _through(world: World, village: Store, rewrite) -> FaultProxy:  # type: ignore[no-untyped-def]
    return FaultProxy(int(world.county_url.rsplit(":", 1)[1]), seed=1, rates={}, hold=1.0, rewrite=rewrite)


def _refused(world: World, village: Store, rewrite) -> tuple[SyncFailed, str]:  # type: ignore[no-untyped-def]
    """Sync `village` through the attacker; the refusal it must raise and the address it used."""
    with _through(world, village, rewrite) as proxy:
        client = SyncClient(village, proxy.url, world.county.author)
        try:
            with pytest.raises(SyncFailed) as failed:
                client.sync()
        finally:
            client.close()
    return failed.value, proxy.url


def test_a_node_that_has_seen_its_hub_sign_refuses_an_answer_stripped_of_its_signature(world: World) -> None:
    village = world.node(VILLAGE)
    world.sync(VILLAGE)  # signed: the hub is pinned
    assert legacy.signs(village, world.county.author)
    village.write("job_posting", os.urandom(16), {"title": "after the pin"})
    rewrite, seen = _stripping()
    failed, url = _refused(world, village, rewrite)
    assert seen == ["/v1/hello"] and failed.error == "bad-signature"
    assert "downgrade" in str(failed)
    assert synclog.cursors(village, url) == (0, 0)
    assert world.sync(VILLAGE).counts == {"accepted": 1}  # the attacker gone, the change goes


def test_stripped_and_rewritten_answers_before_any_signed_one_move_no_clock_and_no_cursor(world: World) -> None:
    """The attacker strips signatures from a hub the node has not yet seen sign, moves the welcome's
    time to 2090, skips the pull cursor far ahead and answers "accepted" for changesets the hub
    never got. The node syncs in compatibility mode, but its clock does not move, no cursor is
    saved, and its next signed sync delivers everything."""
    county_posting = os.urandom(16)
    world.county.write("job_posting", county_posting, {"title": "县里发布"}, scope=VILLAGE)
    world.county.seal()
    village = world.node(VILLAGE)
    mine = os.urandom(16)
    village.write("job_posting", mine, {"title": "village work"})
    forged_results = lambda rs: [{**r, "status": "accepted"} for r in rs]  # noqa: E731
    rewrite, seen = _stripping({"/v1/hello": {"time": YEAR_2090_MS},
                                "/v1/pull": {"cursor": 10**9},
                                "/v1/push": {"results": forged_results}})
    with _through(world, village, rewrite) as proxy:
        client = SyncClient(village, proxy.url, world.county.author)
        try:
            report = client.sync()
        finally:
            client.close()
    assert report.unsigned and "compatibility mode" in report.line()
    assert {"/v1/hello", "/v1/pull", "/v1/push"} <= set(seen)
    assert village.hlc.offset_ms == 0 and abs(village.hlc.physical() - time.time() * 1000) < 60_000
    assert synclog.cursors(village, proxy.url) == (0, 0)
    assert village.values("job_posting")[("job_posting", county_posting)]["title"] == "县里发布"  # signed: taken
    assert not legacy.signs(village, world.county.author)
    # The attacker leaves: a signed sync pins the hub and pushes what is really there to push.
    report = world.sync(VILLAGE)
    assert not report.unsigned and legacy.signs(village, world.county.author)
    assert ("job_posting", mine) in world.county.values("job_posting")


def test_a_time_answer_is_never_taken_unsigned(world: World) -> None:
    village = world.node(VILLAGE, wall=lambda: int(time.time() * 1000) + HOUR_MS)  # hello refused as stale
    rewrite, seen = _stripping({"/v1/time": {"time": YEAR_2090_MS}})
    failed, _ = _refused(world, village, rewrite)
    assert seen[-1] == "/v1/time" and failed.error == "bad-signature"
    assert village.hlc.offset_ms == 0


def test_a_restored_laptop_takes_no_unsigned_answer_until_it_has_synced_with_a_signing_hub(world: World) -> None:
    village = world.node(VILLAGE)
    with village.transaction() as conn:  # what `laowu-node restore` leaves: the database marked restored
        conn.execute(t.meta.insert().values(key=backup.RESTORED, value=codec.pack(1)))
    rewrite, seen = _stripping()
    failed, url = _refused(world, village, rewrite)
    assert seen == ["/v1/hello"] and "restored" in str(failed)
    assert synclog.cursors(village, url) == (0, 0) and village.hlc.offset_ms == 0
