"""Specs of the semantic rules (node/domain/rules.py): conflicts two machines create offline land in
every store's conflict queue (lw_conflict) that holds both sides, under one key, while the data still
converges. Real SQLite stores, real keys, envelopes exchanged with `envelopes_for` / `apply`.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from domainkit import TODAY, card, conflicts, filed_broker, ident, sync
from storekit import SIBLING, VILLAGE

from node.domain import ops
from node.domain.rules import RULES
from node.engine.store import Store
from protocol.errors import InvalidValue

MakeStore = Callable[..., Store]


def place(store: Store, person: bytes, broker: bytes, start: str, months: int = 12) -> bytes:
    return ops.add_placement(store, {"person": person.hex(), "broker": broker.hex(), "employer_name": "成都鑫达建筑劳务有限公司",
                                     "start_date": start, "contract_months": months}, on=TODAY)


def kinds(store: Store) -> list[str]:
    return [c[1] for c in conflicts(store)]


# -- 1. one person placed by two brokers at once -----------------------------------------------------


def two_placements(village: Store, county: Store, second_start: str) -> tuple[bytes, bytes]:
    person = ops.register_person(village, card(1), today=TODAY)
    mine = filed_broker(village, 1)
    sync(village, county)
    theirs = filed_broker(county, 2, scope=VILLAGE)  # the county files a second broker of the village
    a = place(village, person, mine, "2024-03-01")  # offline: neither sees the other's placement
    b = place(county, person, theirs, second_start)
    sync(village, county)
    return a, b


def test_overlapping_placements_by_two_brokers_are_queued_on_both_sides(village: Store, county: Store) -> None:
    a, b = two_placements(village, county, "2024-08-01")
    assert kinds(village) == kinds(county) == ["placement-overlap"]
    assert conflicts(village) == conflicts(county)
    assert sorted(conflicts(village)[0][2]) == sorted([a, b])


def test_overlapping_placements_still_converge(village: Store, county: Store) -> None:
    two_placements(village, county, "2024-08-01")
    assert village.values() == county.values()
    assert len([k for k in village.values() if k[0] == "placement"]) == 2


def test_placements_by_two_brokers_one_after_the_other_are_no_conflict(village: Store, county: Store) -> None:
    two_placements(village, county, "2025-03-01")
    assert conflicts(village) == conflicts(county) == []


def test_a_revoked_placement_conflicts_with_nothing(village: Store, county: Store) -> None:
    person = ops.register_person(village, card(1), today=TODAY)
    old = place(village, person, filed_broker(village, 1), "2024-03-01")
    ops.placement_advance(village, old, "revoke", on=TODAY, reason="未到岗")
    sync(village, county)
    place(county, person, filed_broker(county, 2, scope=VILLAGE), "2024-04-01")
    sync(village, county)
    assert conflicts(village) == conflicts(county) == []


# -- 2. one broker filed in two villages -------------------------------------------------------------


def apply_as_broker(store: Store) -> bytes:
    return ops.broker_apply(store, {"id_number": ident(date(1985, 1, 1), seq=11), "name": "张勇",
                                    "phone": "13912345678", "applied_on": "2024-05-01"}, today=TODAY)


def test_one_broker_applying_in_two_villages_is_queued_at_the_county(village: Store, sibling: Store,
                                                                     county: Store) -> None:
    apply_as_broker(village)
    apply_as_broker(sibling)
    sync(village, sibling, county)
    assert kinds(county) == ["broker-twice"]
    detail = conflicts(county)[0][3]
    assert VILLAGE in detail and SIBLING in detail and "two villages" in detail


def test_a_village_never_sees_the_other_villages_application(village: Store, sibling: Store,
                                                             county: Store) -> None:
    apply_as_broker(village)
    apply_as_broker(sibling)
    sync(village, sibling, county)
    assert conflicts(village) == conflicts(sibling) == []


def test_one_broker_entered_on_two_laptops_of_one_village_is_queued(village: Store, make_store: MakeStore,
                                                                     county: Store) -> None:
    other = make_store("village-b", rules=RULES)
    apply_as_broker(village)
    apply_as_broker(other)
    sync(village, other, county)
    assert kinds(village) == kinds(other) == kinds(county) == ["broker-twice"]
    assert "entered twice" in conflicts(county)[0][3]


def test_applying_again_after_a_rejection_is_no_conflict(village: Store, sibling: Store, county: Store) -> None:
    first = apply_as_broker(village)
    ops.broker_advance(village, first, "reject", on=TODAY, reason="未推荐")
    sync(village, county)
    apply_as_broker(sibling)
    sync(village, sibling, county)
    assert conflicts(county) == []


def test_a_broker_cannot_apply_twice_on_one_machine(village: Store) -> None:
    apply_as_broker(village)
    with pytest.raises(InvalidValue) as info:
        apply_as_broker(village)
    assert info.value.field == "id_number" and "entered twice" in info.value.message


# -- 3. one ID number under two row keys -------------------------------------------------------------


def test_a_corrected_id_number_that_another_card_holds_is_queued_on_both_sides(village: Store,
                                                                               county: Store) -> None:
    right = ident(date(1992, 8, 8), seq=33)
    typo = ident(date(1992, 8, 9), seq=33)  # the birth day mistyped; its check digit recomputed
    wrong_card = ops.register_person(village, card(1, id_number=typo), today=TODAY)
    county_card = ops.register_person(county, card(1, id_number=right), scope=VILLAGE, today=TODAY)
    ops.edit_person(village, wrong_card, {"id_number": right}, today=TODAY)  # offline
    sync(village, county)
    assert kinds(village) == kinds(county) == ["duplicate-id"]
    assert sorted(conflicts(county)[0][2]) == sorted([wrong_card, county_card])
    assert village.values() == county.values()


def test_the_same_person_registered_in_two_places_keeps_both_cards_and_one_conflict(village: Store,
                                                                                   county: Store) -> None:
    a = ops.register_person(village, card(1, phone="13800000001"), today=TODAY)
    b = ops.register_person(county, card(1, phone="13800000002"), scope=VILLAGE, today=TODAY)
    sync(village, county)
    assert a != b
    assert {village.values()[("person", r)]["phone"] for r in (a, b)} == {"13800000001", "13800000002"}  # type: ignore[index]
    assert kinds(village) == kinds(county) == ["duplicate-id"]


def test_a_conflict_detail_masks_the_id_number(village: Store, county: Store) -> None:
    right = ident(date(1992, 8, 8), seq=33)
    wrong = ops.register_person(village, card(1, id_number=ident(date(1992, 8, 9), seq=33)), today=TODAY)
    ops.register_person(county, card(1, id_number=right), scope=VILLAGE, today=TODAY)
    ops.edit_person(village, wrong, {"id_number": right}, today=TODAY)
    sync(village, county)
    assert right not in conflicts(county)[0][3] and right[:6] in conflicts(county)[0][3]
