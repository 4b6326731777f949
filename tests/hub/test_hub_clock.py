"""Wrong laptop clocks (DESIGN §5): a node learns the hub's time at every contact, and a changeset
stamped too far ahead is quarantined at the hub, held and never applied or dropped."""
from __future__ import annotations

import os

from hubkit import VILLAGE, World, log_envelopes, table_rows

from node.engine import tables as t
from protocol import clock

HOUR_MS = 3600 * 1000


def _an_hour_ahead() -> int:
    return clock.wall_ms() + HOUR_MS


def test_future_stamped_changeset_is_quarantined_at_the_hub(world: World) -> None:
    village = world.node(VILLAGE, wall=_an_hour_ahead)
    row = os.urandom(16)
    village.write("job_posting", row, {"title": "stamped an hour ahead"})  # offline, before any contact
    [cs] = village.seal()
    report = world.sync(VILLAGE)

    assert report.pushed == 0 and report.refused == []
    [held] = table_rows(world.county, t.quarantine)
    assert (held.id, held.envelope, held.code) == (cs.id, cs.envelope, "clock-ahead")
    assert world.county.status().quarantined == 1
    assert cs.id not in log_envelopes(world.county)
    assert ("job_posting", row) not in world.county.values()


def test_node_with_clock_an_hour_off_learns_hub_time_and_syncs(world: World) -> None:
    village = world.node(VILLAGE, wall=_an_hour_ahead)
    report = world.sync(VILLAGE)  # the hello alone would be refused as stale: the client asks the time
    assert abs(report.offset_ms + HOUR_MS) < 60_000
    row = os.urandom(16)
    village.write("job_posting", row, {"title": "stamped at the hub's time"})
    world.sync(VILLAGE)
    assert world.county.values()[("job_posting", row)] == {"title": "stamped at the hub's time", "scope": VILLAGE}
    assert world.county.status().quarantined == 0
