"""Clock faults do not block a village (issue 9 item 6, docs/trust.md §6), against real hubs: work
written offline under a 2099 clock is re-stamped once the hub's time is learnt, so it and the
village's later work land; a changeset already sealed in 2099 shows county staff which village it
blocks and how much waits behind it; released, it is capped alike on every replica by a signed ruling,
so later edits win everywhere and every replica holds the same rows."""
from __future__ import annotations

import os

from hubkit import VILLAGE, World, log_envelopes, push, session, value

from hub import review
from protocol import clock
from protocol import release as ruling
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


def test_a_released_2099_changeset_is_capped_alike_everywhere_and_later_edits_win(world: World) -> None:
    """A laptop sealed work while its clock said 2099, then its clock was fixed and it went on. The
    2099 changeset reaches the province first (a direct sync) and the county, quarantined at both;
    county staff release it. Released as stamped, its title would beat every edit until 2099; released
    with a ruling, it counts as written just after the village's previous changeset, on every replica."""
    now = [clock.wall_ms()]
    village = world.node(VILLAGE, wall=lambda: now[0])
    row, other = os.urandom(16), os.urandom(16)
    village.write("job_posting", row, {"title": "第一版", "wage": 3000})
    assert world.sync(VILLAGE).pushed == 1  # seq 1, correctly stamped
    now[0] = Y2099_MS
    village.write("job_posting", row, {"title": "2099年写的", "wage": 9999})
    village.write("job_posting", other, {"title": "只在2099年写过"})
    [early] = village.seal()  # seq 2, stamped 2099 (sealed before any contact: a bundle, or a seal)
    now[0] = clock.wall_ms()
    assert world.sync(VILLAGE, to="province").counts == {"accepted": 1, "quarantined": 1}  # the hello fixes the clock
    village.write("job_posting", row, {"wage": 4500})  # the village's later, correctly stamped edit
    assert world.sync(VILLAGE).counts["quarantined"] == 1
    assert world.county.status().pending == 1  # its later work waits behind seq 2

    [q] = review.quarantined(world.county)
    choices = review.choices(world.county, q)
    assert VILLAGE in choices.release and "1 waiting changesets land" in choices.release
    assert "re-key" in choices.decline
    cap, outcomes = review.release_capped(world.county, q.id)
    assert [o["status"] for o in outcomes] == ["accepted"] and outcomes[0]["released"] == 1
    assert cap < clock.pack(clock.wall_ms()) and world.county.status().pending == 0
    assert value(world.county, "job_posting", row, "wage") == 4500  # the later edit wins, not 9999
    assert value(world.county, "job_posting", row, "title") == "2099年写的"  # nothing later wrote the title
    world.county.write("job_posting", row, {"title": "县里改过"})  # the county's later edit
    world.county.seal()

    world.relay()  # the province gets the ruling and lets its quarantined copy in, capped
    world.sync(VILLAGE)  # the village gets the ruling and merges its own 2099 changeset again, capped
    world.relay()
    assert world.province.status().quarantined == 0
    for replica in (world.county, world.province, village):
        assert value(replica, "job_posting", row, "title") == "县里改过", replica.home
        assert value(replica, "job_posting", row, "wage") == 4500, replica.home
        assert value(replica, "job_posting", other, "title") == "只在2099年写过", replica.home
    rows = {k: v for k, v in world.county.values().items() if k[0] == "job_posting"}
    assert {k: v for k, v in world.province.values().items() if k[0] == "job_posting"} == rows
    assert {k: v for k, v in village.values().items() if k[0] == "job_posting"} == rows
    village.write("job_posting", row, {"title": "村里再改"})
    world.sync(VILLAGE)
    assert value(world.county, "job_posting", row, "title") == "村里再改"  # and so on: no 2099 value left


def test_only_an_issuing_key_may_release_a_changeset(world: World) -> None:
    """A village cannot write a ruling (it could cancel the county's, or release its own 2099 work):
    refused on every replica, judged on the changeset alone."""
    key = world.member(VILLAGE).key
    ruled = seal(key, VILLAGE, 1, None, [Change(ruling.TABLE, ruling.row_id(VILLAGE, bytes(32)), ruling.CAP, 1,
                                                clock.pack(clock.wall_ms()))])
    token = session(world.county_url, world.county.author, key, VILLAGE, world.chain(VILLAGE))
    [result] = push(world.county_url, token, [ruled.envelope])
    assert (result["status"], result["code"]) == ("refused", "not-allowed")
