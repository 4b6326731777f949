"""kill -9 of a county hub during a large ingest (DESIGN §7: "a crash at any point loses nothing that
was acknowledged"; §8: interrupted transfers resume).

A real `laowu-hub serve` process on SQLite takes 2,000 changesets from four villages pushing at once
(threads of this process, each a `SyncClient` on its own village store) while the villages also pull
the county's postings. The hub is SIGKILLed at random moments, LAOWU_FAULT_POINTS times (default
10): half of them just after some push was answered, half anywhere. Each time, with the hub down,
its database is checked; then it is started again and the villages, retrying, carry on. One
campaign per module run, shared by the tests below; its figures (and its seed, to replay it with
LAOWU_FAULT_SEED) are in every failure message.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from faultkit import POINTS, Figures, fault_seed
from ingest_campaign import hub_kill


@pytest.fixture(scope="module")
def ingest(tmp_path_factory: pytest.TempPathFactory) -> Figures:
    return hub_kill(Path(tmp_path_factory.mktemp("hub-kill")), POINTS, seed=fault_seed())


def test_every_kill_of_a_hub_during_ingest_leaves_a_database_that_passes_integrity_check(ingest: Figures) -> None:
    assert ingest.kill_points >= POINTS, ingest.summary()
    assert len(ingest.integrity) > ingest.kill_points and set(ingest.integrity) == {"ok"}, ingest.summary()


def test_kills_land_all_through_the_ingest(ingest: Figures) -> None:
    at = ingest.notes["applied_at_kill"]
    assert len(set(at)) >= min(3, len(at)) and min(at) < ingest.notes["changesets"], ingest.summary()


def test_no_changeset_a_village_was_told_the_hub_holds_is_lost_to_a_kill(ingest: Figures) -> None:
    assert ingest.acknowledged >= ingest.notes["changesets"], ingest.summary()
    assert ingest.lost == [] and ingest.lost_count == 0, ingest.summary()


def test_nothing_is_half_applied_at_a_killed_hub(ingest: Figures) -> None:
    assert ingest.torn == [], ingest.summary()


def test_villages_and_hub_converge_after_repeated_hub_kills(ingest: Figures) -> None:
    assert ingest.errors == [] and ingest.divergence == [] and ingest.converged, ingest.summary()
