"""Signed values that do not fit a materialized column (DESIGN §7, §8). PostgreSQL enforces
VARCHAR lengths, 32-bit INTEGER and NUL-free text where SQLite does not: such a value must be
accepted and held in the merge state alike on both, never fail the whole push with a 500."""
from __future__ import annotations

import os

from hubkit import VILLAGE, World, feed, push, session, table_rows, value

from node.domain.person import Person
from protocol import clock
from protocol.changeset import Change, seal


def test_values_too_wide_for_a_column_are_held_alike_on_every_backend(world: World) -> None:
    village = world.member(VILLAGE)
    stamp = clock.pack(clock.wall_ms())
    fits, too_long = os.urandom(16), os.urandom(16)
    changes = [
        Change("person", fits, "scope", VILLAGE, stamp), Change("person", fits, "id_number", "513225198503150025", stamp),
        Change("person", fits, "name", "王五", stamp), Change("person", fits, "phone", "138\x0000000000", stamp),
        Change("person", fits, "household_size", 1 << 40, stamp),
        Change("person", too_long, "scope", VILLAGE, stamp), Change("person", too_long, "name", "赵六", stamp),
        Change("person", too_long, "id_number", "5132251985031500251", stamp),  # 19 characters in VARCHAR(18)
    ]
    first = seal(village.key, VILLAGE, 1, None, changes)
    then = feed(village.key, VILLAGE, 1, first=2, prev=first.id)[0]
    token = session(world.county_url, world.county.author, village.key, VILLAGE, world.chain(VILLAGE))

    assert [r["status"] for r in push(world.county_url, token, [first.envelope, then.envelope])] == ["accepted"] * 2
    assert value(world.county, "person", fits, "household_size") == 1 << 40  # the signed value is kept
    assert value(world.county, "person", too_long, "id_number") == "5132251985031500251"
    shown = {r.id: r for r in table_rows(world.county, Person.__table__)}  # type: ignore[attr-defined]
    assert set(shown) == {fits.hex()}  # the row keyed by an impossible ID number waits, unshown
    assert (shown[fits.hex()].name, shown[fits.hex()].phone, shown[fits.hex()].household_size) == ("王五", None, None)
