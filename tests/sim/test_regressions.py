"""Bugs the simulator found, each kept twice: the seed that found it (replayed in the shape it was
found in) and a focused test of the one thing that went wrong, on a small world of real stores and
hubs over the in-memory transport.
"""
from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from simrun import run_schedule, shape_for
from siminvariants import applied, oracle
from simworld import START_MS, Y2001_MS, Y2099_MS, Node, Shape, World, scratch_root

from hub import enroll
from hub.memory import Network
from node.engine import tables as t
from node.sync.bundles import export_bundle, import_bundle
from node.engine.store import Store
from protocol import clock
from protocol.changeset import Change, seal

FOUND_IN = Shape(counties=1, townships=2, villages=6, days=3, steps=160)  # `make test`'s shape at the time


@pytest.mark.parametrize("seed, what", [
    (19, "a laptop at 2001 before its first sync: every changeset refused as written before its certificate"),
    (5, "a clock set to 2099, synced, then reset to 2001: negative time, the sync crashed"),
    (30, "a forked laptop's later changesets waited forever for a gap instead of being reported; with county "
         "staff settling conflicts, a transfer-edit in a chain of transfers (A → B → C) was settled on B, so staff "
         "decided again every round and healing never came to rest (its last decision never reached the villages)"),
    (57, "a township kept a stolen laptop's changeset past the cut-off it received before the theft"),
    (118, "a stolen laptop's early (2099) changeset stayed in quarantine forever after its revocation"),
])
def test_seed_that_found_a_bug(seed: int, what: str) -> None:
    verdict = run_schedule(seed, FOUND_IN)
    assert verdict.converged, f"{what}: {verdict.problems[:5]}"


@pytest.mark.parametrize("seed", [2012, 2091])
def test_soak_seed_whose_changeset_never_reached_the_province(seed: int) -> None:
    """Found by a 200-schedule soak (province-sized shapes): a village changeset was acknowledged
    locally yet never reached the province and was reported nowhere. Staff re-keyed a forked laptop
    while the province (a direct sync) held a later changeset of its old feed than the county did;
    `rekey` cuts the old key at the *county's* heads, so that changeset was revoked everywhere. The
    simulated staff now bring the county up to date first (sync the township, relay with the
    province), as operators must: revocations cut at the issuing hub's heads."""
    verdict = run_schedule(seed, shape_for(seed, None, True))
    assert verdict.converged, "\n".join(verdict.problems[:5])


@pytest.mark.parametrize("seed, what", [
    (12, "a village asked for an erasure in a changeset a restored laptop's other branch shadowed at the province: "
         "the county wrote no delete of its own (the village's was there), so the province's merge state kept the "
         "values the record redacted from the bodies"),
    (85, "a thief's changesets carried to the township on a USB stick, held back there past the revocation's "
         "cut-off, kept the values of a person the county erased: no county held them, no record named them"),
    (333, "a sibling's write that reached the county after the writer's certificate ran out was refused as "
          "certificate-expired, and the checker called any refusal but not-owner a landed write (the checker's bug)"),
    (372, "a sibling's write from a laptop at 2099 was quarantined at the county (the clock is judged before "
          "ownership), and every release refused it not-owner and kept it there: quarantined after healing"),
    (502, "a sibling's delete from a laptop at 2099, the same: quarantined for good at the county"),
])
def test_soak_seed_that_found_a_bug(seed: int, what: str) -> None:
    """Found by the 1,000-schedule soak with county staff settling conflicts; the focused tests are
    tests/node/test_redact.py::test_an_erasure_purges_a_replica_holding_the_other_branch_of_the_village_s_forked_feed
    (12), test_a_thief_s_changesets_held_back_at_the_township_are_erased_there below (85) and
    tests/hub/test_ownership.py::test_a_sibling_write_stamped_in_2099_is_refused_at_the_hub_not_quarantined (372, 502)."""
    verdict = run_schedule(seed, shape_for(seed, None, True))
    assert verdict.converged, f"{what}: {verdict.problems[:5]}"


# -- a small world for focused tests -------------------------------------------------------------

@pytest.fixture
def world() -> Iterator[World]:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="laowu-sim-test-", dir=scratch_root()) as d:
        w = World(7, Shape(counties=1, townships=1, villages=2), Path(d), Network(random.Random(7)))
        try:
            yield w
        finally:
            w.close()


def villages(w: World) -> list[Node]:
    return w.live("village")


def write(node: Node, title: str) -> bytes:
    row = random.Random(title).randbytes(16)
    node.store.write("job_posting", row, {"title": title})
    return row


def test_a_laptop_at_2001_before_its_first_sync_delivers_what_it_wrote(world: World) -> None:
    """Seed 19: stamps from 2001 are before the key's certificate began; every peer refused them, and
    the refused seq 1 blocked the feed for good. A store now never stamps below its certificate's start."""
    village = villages(world)[0]
    village.skew = Y2001_MS - START_MS
    row = write(village, "written at 2001")
    assert clock.physical_ms(village.store.hlc.last) >= village.store.trust.certs[village.author].not_before
    report = world.client(village, village.county).sync()
    assert report.refused == []
    county = world.county_of(village).store
    assert (county.values()[("job_posting", row)] or {})["title"] == "written at 2001"


def test_a_clock_reset_to_2001_after_learning_a_2099_offset_still_syncs(world: World) -> None:
    """Seed 5: the offset learned while the wall read 2099 is minus 75 years; back at 2001 the
    corrected time was before 1970 and the hello could not even be encoded."""
    village = villages(world)[0]
    village.skew = Y2099_MS - START_MS
    world.client(village, village.county).sync()
    village.skew = Y2001_MS - START_MS
    assert village.store.hlc.physical() >= 0
    write(village, "after the battery died")
    report = world.client(village, village.county).sync()
    assert report.refused == [] and report.pushed == 1


def fork_world(world: World) -> tuple[Node, Store]:
    """A village feed at the county: seq 1 applied, a different seq 2 applied, then the laptop's own
    seq 2' (a fork) and everything after it on its branch."""
    village = villages(world)[0]
    county = world.county_of(village).store
    key = village.key
    changes = [Change("job_posting", bytes(16), "title", f"v{i}", clock.pack(START_MS) + i) for i in range(5)]
    one = seal(key, village.home, 1, None, changes[:1])
    two = seal(key, village.home, 2, one.id, changes[1:2])
    assert [o["status"] for o in county.apply([one.envelope, two.envelope])] == ["accepted", "accepted"]
    return village, county


def test_a_forked_branch_is_reported_whole_not_left_waiting(world: World) -> None:
    """Seeds 30 and 37: after a fork at seq 2, the laptop's seq 4' (after its 3') waited for seq 3
    forever: neither merged nor reported. Every changeset continuing a reported fork is a fork."""
    village, county = fork_world(world)
    base = county.status().forks
    one_id = applied(county)[0].id
    c = [Change("job_posting", bytes(16), "title", f"branch{i}", clock.pack(START_MS) + 10 + i) for i in range(3)]
    two_b = seal(village.key, village.home, 2, one_id, c[:1])
    three_b = seal(village.key, village.home, 3, two_b.id, c[1:2])
    four_b = seal(village.key, village.home, 4, three_b.id, c[2:3])
    # Delivered out of order: 4' waits for a gap, then 2' and 3' arrive and are forks: 4' must follow them.
    assert [o["status"] for o in county.apply([four_b.envelope])] == ["pending"]
    assert [o["status"] for o in county.apply([two_b.envelope, three_b.envelope])] == ["fork", "fork"]
    assert county.status().forks == base + 3 and county.status().pending == 0
    assert county.vector()[(village.author, village.home)] == 2
    # In order, on the township: the fork, then each changeset of its branch as it comes.
    township = world.nodes[village.home[:9] + "000"].store
    township.add_certificate(county.trust.certs[village.author].raw)
    envs = [cs.envelope for cs in applied(county) if cs.author == village.author]
    assert [o["status"] for o in township.apply(envs)] == ["accepted", "accepted"]
    outcomes = [township.apply([cs.envelope])[0]["status"] for cs in (two_b, three_b, four_b)]
    assert outcomes == ["fork", "fork", "fork"] and township.status().pending == 0


def test_a_revocation_takes_back_what_was_applied_past_its_cut_off(world: World) -> None:
    """Seeds 57 and 66: a township imported a village's stick before the laptop was stolen; the
    county revoked the key at the heads it held (none), so every other replica refuses what the
    township kept: it never converged. A revocation now retracts what it cuts off, wherever it lands."""
    village = villages(world)[0]
    township = world.nodes[village.home[:9] + "000"]
    county = world.county_of(village)
    write(village, "before the theft")
    row = write(village, "on the stick")
    village.store.seal()
    stick = world.tmp / "stick.laowu"
    export_bundle(village.store, stick, for_home=township.home)
    assert import_bundle(township.store, stick).counts == {"accepted": 1}
    rev = enroll.revoke(county.store, village.author, "stolen")  # the county held nothing of it: cut-off 0
    world.client(township, township.county).sync()
    assert township.store.trust.revocations[village.author].cutoffs == {}
    assert ("job_posting", row) not in {k for k, v in township.store.values().items() if v is not None}
    assert township.store.vector().get((village.author, village.home)) is None
    assert township.store.values() == oracle(applied(township.store))
    with township.store.engine.connect() as conn:
        statuses = {r.status for r in conn.execute(select(t.log.c.status).where(t.log.c.author == village.author))}
    assert statuses == {"revoked"}  # kept verbatim for the audit, never served
    assert [o["status"] for o in township.store.apply(import_envelopes(township.store, village.author))] == ["refused"]
    assert rev


def test_a_thief_s_changesets_held_back_at_the_township_are_erased_there(world: World) -> None:
    """Soak seed 85: a stolen laptop's key is revoked at the county; the thief edits a card and carries
    the changeset to the township on a USB stick, where it is held back past the cut-off (never served,
    so no county ever holds it). The county erases the person: its record does not name that body. The
    township, which may erase too, redacts what it alone holds with a record of its own."""
    from node.domain.erase import erase_person
    from node.engine.redact import erased_rows
    from siminvariants import erased_values

    village = villages(world)[0]
    township = world.nodes[village.home[:9] + "000"]
    county = world.county_of(village)
    row = bytes.fromhex("%010x" % int(village.home)) + bytes(11)
    village.store.write("person", row, {"id_number": "513221199001011234", "name": "上官振邦", "phone": "13912345678"})
    world.client(village, village.county).sync()
    world.client(township, township.county).sync()
    enroll.revoke(county.store, village.author, "stolen")
    village.store.write("person", row, {"phone": "13700000000", "name": "上官振邦"})  # the thief, offline
    village.store.seal()
    stick = world.tmp / "stick.laowu"
    export_bundle(village.store, stick, for_home=township.home)
    import_bundle(township.store, stick)
    erase_person(county.store, row, "本人申请删除")
    county.store.seal()  # as `laowu-hub erase` does
    for _ in range(2):  # the county's record down to the township, the township's record up
        world.client(township, township.county).sync()
    erased = erased_rows(township.store)
    assert ("person", row) in erased
    assert erased_values(township, erased) == []
    assert erased_values(county, erased_rows(county.store)) == []


def import_envelopes(store: Store, author: bytes) -> list[bytes]:
    with store.engine.connect() as conn:
        return [r.envelope for r in conn.execute(select(t.log.c.envelope).where(t.log.c.author == author))]


def test_a_revocation_settles_the_keys_early_changesets_held_in_quarantine(world: World) -> None:
    """Seed 118: a changeset stamped 2099 by a laptop stolen before staff released it stayed in the
    county's quarantine forever (release refused it as revoked and kept it). It now leaves the
    quarantine for the log, as revoked."""
    village = villages(world)[0]
    county = world.county_of(village)
    village.skew = Y2099_MS - START_MS
    write(village, "from 2099")
    village.store.seal()  # sealed before any contact: a sync's re-stamping no longer reaches it
    world.client(village, village.county).sync()
    assert county.store.status().quarantined == 1
    enroll.revoke(county.store, village.author, "stolen")
    assert county.store.status().quarantined == 0
    assert county.store.release_quarantine() == []
