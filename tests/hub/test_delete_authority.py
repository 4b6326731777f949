"""Deletes need current authority (issue 9 item 7, docs/trust.md §7), against real hubs: an expired,
never-revoked key's backdated row delete is refused, while the county sees every delete it holds."""
from __future__ import annotations

import os

from hubkit import COUNTY, PROVINCE, TOWNSHIP, VILLAGE, World, push, session, value

from hub import review
from protocol import certs, clock
from protocol.changeset import DELETE_FIELD, DELETE_VALUE, Change, seal
from protocol.keys import KeyPair

YEAR_MS = 365 * 24 * 3600 * 1000


def _posting(world: World) -> bytes:
    row = os.urandom(16)
    world.node(VILLAGE).write("job_posting", row, {"title": "采茶零工"})
    world.sync(VILLAGE)
    return row


def test_an_expired_keys_backdated_delete_is_refused(world: World) -> None:
    row = _posting(world)
    now = clock.wall_ms()
    old = KeyPair.from_seed(b"tests/hub/old laptop, never revoked")
    lapsed = certs.issue(world.member(COUNTY).key, old.public, "village", [VILLAGE], now - 3 * YEAR_MS, now - YEAR_MS, 77)
    chain = [world.box.members[PROVINCE].cert, world.box.members[COUNTY].cert, lapsed]
    backdated = clock.pack(now - 2 * YEAR_MS)  # inside the lapsed certificate's validity
    delete = seal(old, VILLAGE, 1, None, [Change("job_posting", row, DELETE_FIELD, DELETE_VALUE, backdated)])
    edit = seal(old, VILLAGE, 1, None, [Change("job_posting", os.urandom(16), "title", "old note", backdated),
                                        Change("job_posting", os.urandom(16), "scope", VILLAGE, backdated)])
    token = session(world.county_url, world.county.author, world.member(TOWNSHIP).key, TOWNSHIP, world.chain(TOWNSHIP))
    [result] = push(world.county_url, token, [delete.envelope], chain)
    assert (result["status"], result["code"]) == ("refused", "certificate-expired")
    assert value(world.county, "job_posting", row, "title") == "采茶零工"
    assert review.deleted_rows(world.county) == []
    # Only deletes need current authority: what the key wrote while it was valid still arrives.
    [kept] = push(world.county_url, token, [edit.envelope], chain)
    assert kept["status"] == "accepted", kept


def test_the_county_sees_every_delete_and_who_made_it(world: World) -> None:
    row = _posting(world)
    village = world.node(VILLAGE)
    village.delete("job_posting", row)
    world.sync(VILLAGE)
    [gone] = review.deleted_rows(world.county)
    assert (gone.table, gone.row, gone.author) == ("job_posting", row, village.author)
    assert value(world.county, "job_posting", row, "title") is None
