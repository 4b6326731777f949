"""Every hostile input is refused with the answer its category demands, and the hub's state does not move.

A seeded stream of malformed, forged, replayed, out-of-scope, oversized and truncated requests and
envelopes (tests/hostile/hostile_requests.py and hostile_envelopes.py list each category and its
verdict) goes to a real county hub on loopback. `make test` sends LAOWU_HOSTILE_COUNT of them
(2,000 by default, about 10 s); `make soak` runs tests/hostile/run.py with the full count.
"""
from __future__ import annotations

import os
import random

import msgpack
from hostile_drive import cases, drive, makers
from hostile_envelopes import EnvelopeGen, nested, pack, raw_map
from hostilekit import PERSON_ROW, VILLAGE, HostileWorld, Snapshot

from protocol import clock, messages

COUNT = int(os.environ.get("LAOWU_HOSTILE_COUNT", "2000"))
SEED = int(os.environ.get("LAOWU_HOSTILE_SEED", "20240611"))


def growth(before: Snapshot, after: Snapshot) -> dict[str, int]:
    return {"log_pending": after.log_pending - before.log_pending, "quarantine": after.quarantine - before.quarantine,
            "forks": after.forks - before.forks}


def test_every_hostile_input_is_refused_and_the_hub_state_is_unchanged(hostile_world: HostileWorld) -> None:
    w = hostile_world
    before = w.snapshot()
    report = drive(w, cases(w, SEED, COUNT), SEED)
    after = w.snapshot()

    assert report.tried == COUNT
    assert report.failures == [], "\n".join(report.failures)
    assert (report.accepted, report.server_errors, report.hangs, report.dropped, report.wrong) == (0, 0, 0, 0, 0)
    assert set(report.by_category) == set(makers(w, random.Random(0)))  # every category, at any count
    # Nothing applied, merged, certified or revoked: rows, log, heads, vector, values, trust.
    assert after.fixed() == before.fixed()
    # Only what the categories predict: a pending row per gap, a quarantined changeset per future
    # stamp, a fork record per fork or broken chain; nothing else grows.
    assert growth(before, after) == vars(report.growth)
    assert w.alive()


def test_the_stream_is_seeded(hostile_world: HostileWorld) -> None:
    """The same seed draws the same categories and the same envelopes (up to their time stamps)."""
    first = [(i.category, getattr(i, "status", None)) for i in cases(hostile_world, 7, 400)]
    again = [(i.category, getattr(i, "status", None)) for i in cases(hostile_world, 7, 400)]
    assert first == again
    assert len({c for c, _ in first}) > 60


def test_the_crashes_the_generator_found_stay_fixed(hostile_world: HostileWorld) -> None:
    """Each of these was a 500 (RecursionError in repr) or an accepted forgery before the fix."""
    w = hostile_world
    before = w.snapshot()
    hello = msgpack.unpackb(w.hello_body("village", VILLAGE))
    items = list(hello.items())
    deep_home = raw_map(items, {2: nested(1010, random.Random(1))})  # protocol/scope.py
    resp = w.http.post("/v1/hello", content=deep_home)
    assert (resp.status_code, msgpack.unpackb(resp.content)["error"]) == (400, "malformed")
    repeated = raw_map([*items[:5], ("cursor", 7), *items[5:]])  # protocol/codec.py: a repeated key
    resp = w.http.post("/v1/hello", content=repeated)
    assert (resp.status_code, msgpack.unpackb(resp.content)["error"]) == (400, "malformed")

    gen = EnvelopeGen(w, random.Random(2))
    deep: object = "焊工"
    for _ in range(1000):
        deep = [deep]
    deep_op = gen.seal(w.keys.village, gen.body(w.keys.village, changes=[["person", PERSON_ROW, "skills", deep,
                                                                           clock.pack(clock.wall_ms())]]))
    raw = pack(gen.body(w.keys.village))  # protocol/codec.py: {body: junk, body: signed, sig}
    doubled = raw_map([("body", b"junk"), ("body", raw), ("sig", w.keys.village.sign(raw))])
    resp = w.http.post("/v1/push", content=messages.Push(w.token("village"), [deep_op, doubled], [], []).encode())
    assert resp.status_code == 200
    assert [(r["status"], r["code"]) for r in messages.PushResult.decode(resp.content).results] == \
        [("refused", "malformed"), ("refused", "malformed")]
    assert w.snapshot() == before
    assert w.alive()
