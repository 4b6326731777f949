"""Revocation with a cut-off (DESIGN §3): what a stolen laptop wrote before the theft is kept; what
it writes after is refused everywhere, whoever carries it."""
from __future__ import annotations

import os

import pytest
from hubkit import TOWNSHIP, VILLAGE, World, error_of, hello_body, log_envelopes, post, push, session, value

from hub import enroll
from node.sync.client import SyncFailed


def _stolen(world: World) -> tuple[bytes, bytes]:
    """The village registers a posting and syncs it up to the province; then its laptop is stolen
    and the county revokes the key at the heads it holds. Returns (row written before, revocation)."""
    village = world.node(VILLAGE)
    before = os.urandom(16)
    village.write("job_posting", before, {"title": "村里的零工: 采茶"})
    world.sync(VILLAGE)
    world.relay()
    rev = enroll.revoke(world.county, village.author, "laptop stolen")
    world.relay()  # revocations travel up with the county's next push
    return before, rev


def test_revoked_key_is_refused_at_every_hub(world: World) -> None:
    _stolen(world)
    village = world.node(VILLAGE)
    village.write("job_posting", os.urandom(16), {"title": "written by the thief"})
    [after] = village.seal()

    for url, hub in ((world.county_url, world.county), (world.province_url, world.province)):
        resp = post(url, "/v1/hello", hello_body(world.member(VILLAGE).key, hub.author, VILLAGE, world.chain(VILLAGE)))
        assert (resp.status_code, error_of(resp)) == (403, "revoked")
        # Carried by someone still trusted (the township, with a USB bundle): refused all the same.
        township = world.member(TOWNSHIP)
        token = session(url, hub.author, township.key, TOWNSHIP, world.chain(TOWNSHIP))
        [result] = push(url, token, [after.envelope], world.chain(VILLAGE))
        assert (result["status"], result["code"]) == ("refused", "revoked")
        assert after.id not in log_envelopes(hub)
    with pytest.raises(SyncFailed) as failed:
        world.sync(VILLAGE)
    assert failed.value.status == 403


def test_revocation_keeps_what_was_written_before_the_cutoff(world: World) -> None:
    before, _ = _stolen(world)
    for hub in (world.county, world.province):
        assert value(hub, "job_posting", before, "title") == "村里的零工: 采茶"
    # A replica that syncs afresh after the revocation still receives, and accepts, the old writes.
    report = world.sync(TOWNSHIP)
    assert report.refused == []
    assert value(world.node(TOWNSHIP), "job_posting", before, "title") == "村里的零工: 采茶"


def test_first_sync_places_a_revocation_of_a_key_met_in_the_same_pull(world: World) -> None:
    _stolen(world)
    township = world.node(TOWNSHIP)
    assert world.node(VILLAGE).author not in township.trust.certs
    world.sync(TOWNSHIP)  # the welcome names the revocation; the key's certificate comes in the batch
    assert township.trust.revocations[world.node(VILLAGE).author].cutoffs == {VILLAGE: 1}
