"""Clock faults do not block a village (issue 9 item 6, docs/trust.md §6), against real hubs: work
written offline under a 2099 clock is re-stamped once the hub's time is learnt, so it and the
village's later work land; a changeset already sealed in 2099 shows county staff which village it
blocks and how much waits behind it."""
from __future__ import annotations

import os

from hubkit import VILLAGE, World, log_envelopes, push, session, value

from hub import review
from protocol import clock
from protocol.changeset import Change, seal

Y2099_MS = 4_070_908_800_000  # 2099-01-01


def test_work_written_under_a_2099_clock_lands_and_later_edits_win(world: World) -> None:
    village = world.node(VILLAGE, wall=lambda: Y2099_MS)
    row = os.urandom(16)
    village.write("job_posting", row, {"title": "写于2099年的时钟"})  # offline, before any contact
    report = world.sync(VILLAGE)  # hello refused as stale, the hub's time learnt, re-stamped, sealed, pushed
    assert report.restamped >= 1 and report.pushed == 1 and report.refused == []
    assert world.county.status().quarantined == 0
    assert value(world.county, "job_posting", row, "title") == "写于2099年的时钟"
    village.write("job_posting", row, {"title": "之后的修改"})
    world.sync(VILLAGE)
    assert value(world.county, "job_posting", row, "title") == "之后的修改"  # no 2099 value wins it
    assert world.county.status().pending == 0


def test_a_sealed_2099_changeset_shows_staff_the_blocked_village_and_what_waits(world: World) -> None:
    key = world.member(VILLAGE).key
    early = seal(key, VILLAGE, 1, None, [Change("job_posting", os.urandom(16), "title", "2099", clock.pack(Y2099_MS))])
    later = seal(key, VILLAGE, 2, early.id, [Change("job_posting", os.urandom(16), "title", "today",
                                                    clock.pack(clock.wall_ms()))])
    token = session(world.county_url, world.county.author, key, VILLAGE, world.chain(VILLAGE))
    statuses = [r["status"] for r in push(world.county_url, token, [early.envelope, later.envelope])]
    assert statuses == ["quarantined", "pending"]  # the node hears both: its work waits (exit 4)
    [q] = review.quarantined(world.county)
    assert (q.scope, q.seq, q.waiting, clock.physical_ms(q.stamped)) == (VILLAGE, 1, 1, Y2099_MS)
    world.county.decline_quarantine([q.id])
    assert review.quarantined(world.county) == []
    assert early.id not in log_envelopes(world.county)  # declined: never applied
