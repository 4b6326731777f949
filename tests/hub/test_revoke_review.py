"""Revocation and re-key never lose good data (issue 9 item 2, docs/trust.md §2), against real hubs:
the county asks the province for what it holds before cutting; what a cut still holds back waits for
review and comes back when the county raises the cut-off; the operator sees the cut first; and a
revocation written by another process takes effect at a serving hub at once."""
from __future__ import annotations

import os

from hubkit import COUNTY, SIBLING, VILLAGE, World, error_of, hello_body, post, push, session, snapshot, value

from hub import enroll, review
from node.engine import synclog
from node.engine.store import Store
from node.sync.client import SyncClient
from protocol import clock
from protocol.changeset import Change, seal


def _province_holds_more(world: World) -> list[bytes]:
    """The village syncs one posting with the county, then two more with the province only (its
    county hub was down): the province acknowledged changesets the county never saw."""
    rows = [os.urandom(16) for _ in range(3)]
    village = world.node(VILLAGE)
    village.write("job_posting", rows[0], {"title": "第一条"})
    world.sync(VILLAGE)
    world.relay()
    for i, row in enumerate(rows[1:], 2):
        village.write("job_posting", row, {"title": f"第{'二三'[i - 2]}条"})
        world.sync(VILLAGE, to="province")
    for row in rows:
        assert value(world.province, "job_posting", row, "title") is not None
    return rows


def test_a_revocation_asks_the_province_first_and_loses_nothing_it_acknowledged(world: World) -> None:
    rows = _province_holds_more(world)
    village = world.node(VILLAGE)
    upstream = world.client(world.county, "province")
    preview = enroll.revoke_preview(world.county, village.author, upstream)
    assert preview.cutoffs == {VILLAGE: 3} and preview.cut == [] and "synced" in preview.upstream
    enroll.revoke(world.county, village.author, "re-keyed", upstream=upstream)
    world.relay()
    for hub in (world.county, world.province):
        for row in rows:
            assert value(hub, "job_posting", row, "title") is not None
    assert review.held_back(world.province) == []


def test_what_a_cut_held_back_waits_for_review_and_comes_back_everywhere(world: World) -> None:
    rows = _province_holds_more(world)
    village = world.node(VILLAGE)
    enroll.revoke(world.county, village.author, "laptop stolen")  # at the county's heads only: seq 1
    world.relay()  # the province retracts seqs 2-3; the county pulls them and holds them back too
    assert value(world.province, "job_posting", rows[2], "title") is None
    held = {(h.scope, h.seq) for h in review.held_back(world.county)}
    assert held == {(VILLAGE, 2), (VILLAGE, 3)}  # nothing destroyed: county staff see it
    review.keep_upto(world.county, village.author, VILLAGE, 3, "synced with the province before the theft")
    world.relay()
    for hub in (world.county, world.province):
        for row in rows:
            assert value(hub, "job_posting", row, "title") is not None
        assert review.held_back(hub) == []


def test_the_preview_shows_what_would_be_cut_and_changes_nothing(world: World) -> None:
    village = world.node(VILLAGE)
    village.write("job_posting", os.urandom(16), {"title": "第一条"})
    world.sync(VILLAGE)
    key = world.member(VILLAGE).key
    year_ahead = clock.pack(clock.wall_ms() + 365 * 24 * 3600 * 1000)
    early = seal(key, VILLAGE, 2, _head_id(village), [
        Change("job_posting", os.urandom(16), "title", "stamped a year ahead", year_ahead)])
    token = session(world.county_url, world.county.author, key, VILLAGE, world.chain(VILLAGE))
    assert push(world.county_url, token, [early.envelope])[0]["status"] == "quarantined"
    before = snapshot(world.county)
    preview = enroll.revoke_preview(world.county, village.author)
    assert preview.cutoffs == {VILLAGE: 1} and preview.kept == 1
    assert preview.cut == [(VILLAGE, 2, "quarantined")]
    assert "upstream not asked" in preview.upstream
    assert snapshot(world.county) == before and village.author not in world.county.trust.revocations


def _head_id(store: Store) -> bytes:
    [(_, _, cs_id)] = synclog.heads_of(store, store.author)
    return cs_id


def test_a_revocation_written_by_another_process_takes_effect_at_a_serving_hub(world: World) -> None:
    world.sync(SIBLING)
    sibling = world.member(SIBLING)
    # The operator's CLI opens the same database while the hub serves (another Store, as another process would).
    cli = Store.open(world.county.engine.url.render_as_string(hide_password=False), world.member(COUNTY).key)
    try:
        enroll.revoke(cli, sibling.key.public, "laptop stolen")
    finally:
        cli.close()
    resp = post(world.county_url, "/v1/hello", hello_body(sibling.key, world.county.author, SIBLING, world.chain(SIBLING)))
    assert (resp.status_code, error_of(resp)) == (403, "revoked")
    client = SyncClient(world.node(SIBLING), world.county_url, world.county.author)
    try:
        try:
            client.sync()
            raise AssertionError("a revoked key synced")
        except Exception as exc:  # SyncFailed with the hub's 403
            assert "403" in str(exc)
    finally:
        client.close()
