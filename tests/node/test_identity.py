"""One card per person across villages (node/domain/identity.py, transfers.py; docs/identity.md).

Real SQLite stores of a village, its sibling, the township and the county exchange changesets with
`domainkit.sync`: duplicates stay two intact cards and one conflict, the county's signed resolutions
converge everywhere and settle the conflict, and transfers move a person with the history filings
need, without losing what the old village wrote offline meanwhile.
"""
from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import msgpack
import pytest
from domainkit import TODAY, card, filed_broker, sync
from sqlalchemy import select
from storekit import SIBLING, VILLAGE, Province, dump, sqlite_pages, transactions

from node.engine import tables as t
from node.engine import schema
from node.domain import identity, ops, register, transfers
from node.engine.db import StorageFull
from node.domain.rules import RULES
from node.engine.store import Store
from protocol.errors import InvalidValue

MakeStore = Callable[..., Store]


@pytest.fixture
def township(make_store: MakeStore) -> Store:
    return make_store("township", rules=RULES)


@pytest.fixture
def neighbour(make_store: MakeStore) -> Store:
    """The sibling village's laptop, running the rules."""
    return make_store("sibling", rules=RULES)


def queue(store: Store, kind: str) -> list[tuple[list[bytes], int | None]]:
    """The conflicts of `kind`: (rows, resolved-at or None)."""
    with store.engine.connect() as conn:
        found = conn.execute(select(t.conflicts).where(t.conflicts.c.kind == kind)).all()
    return [(sorted(msgpack.unpackb(r.rows)), r.resolved) for r in found]


def person(store: Store, row: bytes) -> dict[str, object]:
    found = ops.get(store, "person", row)
    assert found is not None
    return found


def twice(village: Store, neighbour: Store, county: Store, township: Store) -> tuple[bytes, bytes]:
    """The same person registered offline in both villages, synced everywhere."""
    a = ops.register_person(village, card(1, phone="13800000001", employer="成都鑫达"), today=TODAY)
    ops.add_skill(village, a, "电工")
    b = ops.register_person(neighbour, card(1, phone="13800000002", education="高中"), today=TODAY)
    ops.add_skill(neighbour, b, "焊工")
    sync(village, neighbour, county, township)
    return a, b


def test_one_person_in_two_villages_keeps_both_cards_and_queues_one_conflict(
        village: Store, neighbour: Store, county: Store, township: Store) -> None:
    a, b = twice(village, neighbour, county, township)
    assert (schema.row_place(a), schema.row_place(b)) == (VILLAGE, SIBLING)
    for hub in (county, township):
        assert (person(hub, a)["phone"], person(hub, a)["scope"]) == ("13800000001", VILLAGE)
        assert (person(hub, b)["phone"], person(hub, b)["scope"]) == ("13800000002", SIBLING)
        assert queue(hub, "duplicate-id") == [(sorted([a, b]), None)]
    assert queue(village, "duplicate-id") == queue(neighbour, "duplicate-id") == []  # each holds one card


def test_a_transfer_resolution_closes_one_card_and_settles_the_conflict_everywhere(
        village: Store, neighbour: Store, county: Store, township: Store) -> None:
    a, b = twice(village, neighbour, county, township)
    identity.resolve_duplicate(county, a, b, "transfer", on=TODAY)
    sync(village, neighbour, county, township)
    for store in (neighbour, county, township):
        closed = person(store, b)
        assert (closed["closed_reason"], closed["successor"], closed["closed_on"]) == ("重复", a.hex(), "2024-06-01")
        assert closed["phone"] == "13800000002"  # kept intact, as a closed reference
    for hub in (county, township):
        [(rows, resolved)] = queue(hub, "duplicate-id")
        assert rows == sorted([a, b]) and resolved is not None
        assert county.values("person") == township.values("person")


def test_a_merge_fills_the_kept_card_and_closes_the_other(
        village: Store, neighbour: Store, county: Store, township: Store) -> None:
    a, b = twice(village, neighbour, county, township)
    identity.resolve_duplicate(township, a, b, "merge", on=TODAY)
    sync(village, neighbour, county, township)
    for store in (village, county, township):
        kept = person(store, a)
        assert (kept["phone"], kept["education"], sorted(kept["skills"] or [])) == ("13800000001", "初中", ["焊工", "电工"])
    assert person(neighbour, b)["closed_reason"] == "合并"
    assert all(resolved for _, resolved in queue(county, "duplicate-id"))


def test_different_people_flags_the_wrong_card_at_its_village_until_corrected(
        village: Store, neighbour: Store, county: Store, township: Store) -> None:
    a, b = twice(village, neighbour, county, township)
    identity.resolve_duplicate(county, a, b, "different-people")
    sync(village, neighbour, county, township)
    assert person(neighbour, b)["needs_correction"] is True
    assert all(resolved for _, resolved in queue(county, "duplicate-id"))
    ops.edit_person(neighbour, b, {"id_number": card(2)["id_number"]}, today=TODAY)
    sync(village, neighbour, county, township)
    assert person(county, b)["needs_correction"] is False and person(county, b)["id_number"] == card(2)["id_number"]


def test_a_village_cannot_resolve_or_transfer_across_villages(village: Store, neighbour: Store,
                                                              county: Store, township: Store) -> None:
    a, b = twice(village, neighbour, county, township)
    with pytest.raises(InvalidValue):
        identity.resolve_duplicate(village, a, b, "transfer")
    with pytest.raises(InvalidValue):
        identity.transfer(village, a, SIBLING)


def test_a_transfer_moves_the_card_and_its_history_and_closes_the_old_card(
        village: Store, neighbour: Store, county: Store) -> None:
    a = ops.register_person(village, card(1), today=TODAY)
    broker = filed_broker(village)
    p = ops.add_placement(village, {"person": a.hex(), "broker": broker.hex(), "employer_name": "成都鑫达建筑劳务有限公司",
                                    "start_date": "2024-03-01", "contract_months": 12}, event="start", on=date(2024, 3, 1))
    ops.add_followup(village, {"placement": p.hex(), "visited_on": "2024-05-01", "method": "电话", "still_employed": True}, today=TODAY)
    ops.add_return(village, {"person": a.hex(), "returned_on": "2024-02-01", "reason": "节日探亲"}, today=TODAY)
    sync(village, neighbour, county)
    new = identity.transfer(county, a, SIBLING, on=TODAY)
    sync(village, neighbour, county)
    old = person(village, a)
    assert (old["closed_reason"], old["successor"], old["closed_on"]) == ("迁出", new.hex(), "2024-06-01")
    moved = person(neighbour, new)
    assert (moved["scope"], moved["id_number"], moved["name"]) == (SIBLING, old["id_number"], old["name"])
    copies = {tbl: [r for r in ops.find(neighbour, tbl, person=new.hex())] for tbl in identity.HISTORY}
    assert [c["origin"] for c in copies["placement"]] == [p.hex()]
    assert copies["follow_up"][0]["placement"] == copies["placement"][0]["id"]  # linked to the copy
    assert len(copies["return_registration"]) == 1 and copies["return_registration"][0]["origin"]
    assert all(schema.row_place(bytes.fromhex(c["id"])) == SIBLING for rows in copies.values() for c in rows)
    with pytest.raises(InvalidValue):
        ops.edit_person(village, a, {"phone": "13900000009"}, today=TODAY)  # closed: edit the new card


def test_edits_the_old_village_made_offline_during_a_transfer_are_queued_and_followed(
        village: Store, neighbour: Store, county: Store) -> None:
    a = ops.register_person(village, card(1), today=TODAY)
    sync(village, county)
    new = identity.transfer(county, a, SIBLING, on=TODAY)
    ops.edit_person(village, a, {"phone": "13900000009"}, today=TODAY)  # offline: it has not heard yet
    sync(village, neighbour, county)
    assert person(village, a)["phone"] == "13900000009"  # not lost: on the old card
    assert [r for r, done in queue(county, "transfer-edit") if done is None] == [sorted([a, new])]
    assert [r for r, done in queue(village, "transfer-edit") if done is None] == [sorted([a, new])]
    assert identity.follow(county, a) == ["phone"]
    sync(village, neighbour, county)
    assert person(neighbour, new)["phone"] == "13900000009"
    assert all(done for _, done in queue(county, "transfer-edit") + queue(village, "transfer-edit"))


def test_a_card_edited_again_after_its_transfer_edit_was_settled_is_queued_again(
        village: Store, county: Store) -> None:
    """Village A, still offline, keeps editing the card it does not know was moved, sending its work
    one way (a USB stick): the county settles the first edits, then the second ones queue the
    conflict again instead of staying under the settled entry (found by the simulator, seed 3)."""
    a = ops.register_person(village, card(1), today=TODAY)
    sync(village, county)
    new = identity.transfer(county, a, SIBLING, on=TODAY)
    ops.edit_person(village, a, {"phone": "13900000009"}, today=TODAY)
    county.apply([cs.envelope for cs in village.seal()])  # one way: A hears nothing back
    identity.follow(county, a)
    assert all(done for _, done in queue(county, "transfer-edit"))
    ops.edit_person(village, a, {"phone": "13900000010"}, today=TODAY)
    county.apply([cs.envelope for cs in village.seal()])
    assert [r for r, done in queue(county, "transfer-edit") if done is None] == [sorted([a, new])]


def test_an_edit_of_the_new_card_does_not_settle_the_old_card_s_transfer_edit(
        village: Store, neighbour: Store, county: Store) -> None:
    """The transfer-edit rule finds the conflict from the old card only: the new village editing its
    card must not mark it settled (found by the simulator, seed 3)."""
    a = ops.register_person(village, card(1), today=TODAY)
    sync(village, county)
    new = identity.transfer(county, a, SIBLING, on=TODAY)
    ops.edit_person(village, a, {"phone": "13900000009"}, today=TODAY)  # offline: it has not heard yet
    sync(village, neighbour, county)
    ops.edit_person(neighbour, new, {"phone": "13900000011"}, today=TODAY)
    sync(neighbour, county)
    assert [r for r, done in queue(county, "transfer-edit") if done is None] == [sorted([a, new])]


@pytest.mark.parametrize("decision", ["follow", "keep"])
def test_a_transfer_edit_in_a_chain_of_transfers_is_settled_on_the_card_that_was_edited(
        village: Store, neighbour: Store, county: Store, decision: str) -> None:
    """A → B → C: the person moves on before the county settles A's offline edits, so both cards of
    the conflict (A and B) are closed as transferred. Settling must act on A, the card handed to the
    other one: acting on B settled nothing, and county staff decided again every round (the
    simulator's healing never came to rest; regression seed 30 with settling on). Followed, the
    edits go to C: written on B, closed, they only queued B's own transfer-edit."""
    a = ops.register_person(village, card(1), today=TODAY)
    sync(village, county)
    b = identity.transfer(county, a, SIBLING, on=TODAY)
    ops.edit_person(village, a, {"phone": "13900000009"}, today=TODAY)  # offline: it has not heard yet
    sync(village, neighbour, county)
    c = identity.transfer(county, b, VILLAGE, on=TODAY)
    sync(village, neighbour, county)
    [(rows, done)] = queue(county, "transfer-edit")
    assert rows == sorted([a, b]) and done is None
    assert identity.settle(county, "transfer-edit", rows, decision)["card"] == a.hex()
    sync(village, neighbour, county)
    assert all(done for _, done in queue(county, "transfer-edit") + queue(village, "transfer-edit"))
    # followed, the edit reaches the card the person holds now (not B, closed)
    assert (person(village, c)["phone"] == "13900000009") == (decision == "follow")


def test_a_conflict_whose_card_is_erased_is_settled(village: Store, neighbour: Store, county: Store,
                                                    township: Store) -> None:
    """Nobody can decide a duplicate whose card is gone: the erasure's delete settles it on every
    replica (the rules are run on deleted rows too), instead of leaving it open for ever."""
    from node.domain.erase import erase_person

    a, b = twice(village, neighbour, county, township)
    assert [done for _, done in queue(county, "duplicate-id")] == [None]
    erase_person(county, b, "本人申请删除")
    sync(village, neighbour, county, township)
    assert all(done for s in (county, township) for _, done in queue(s, "duplicate-id"))
    assert person(village, a)["closed_on"] is None  # the other card stays as it was


def test_a_transfer_asked_for_at_the_new_village_is_approved_at_the_county(
        village: Store, neighbour: Store, county: Store) -> None:
    a = ops.register_person(village, card(1), today=TODAY)
    req = transfers.request(neighbour, {"id_number": card(1)["id_number"], "to_place": SIBLING,
                                        "reason": "婚嫁"}, today=TODAY)
    sync(village, neighbour, county)
    assert [r["id"] for r in transfers.pending(county)] == [req.hex()]
    new = transfers.approve(county, req, on=TODAY)
    sync(village, neighbour, county)
    assert ops.get(neighbour, "transfer_request", req)["stage"] == "approved"  # type: ignore[index]
    assert person(neighbour, new)["scope"] == SIBLING and person(village, a)["closed_reason"] == "迁出"


def test_counts_count_a_duplicated_person_once_and_flag_it(village: Store, neighbour: Store, county: Store,
                                                          township: Store) -> None:
    a, b = twice(village, neighbour, county, township)
    ops.register_person(village, card(2), today=TODAY)
    sync(village, neighbour, county, township)
    with county.engine.connect() as conn:
        assert register.active_people(conn) == 2 and register.duplicate_ids(conn) == {card(1)["id_number"]}
        assert register.active_people(conn, SIBLING) == 1
    identity.resolve_duplicate(county, a, b, "transfer", on=TODAY)
    with county.engine.connect() as conn:
        assert register.active_people(conn) == 2 and register.duplicate_ids(conn) == set()


# -- one transaction each (docs/identity.md "One transaction") -----------------------------------


NOTE = "返乡后在家照顾老人,计划节后再外出务工。" * 25  # ~1.5 kB a history row: a transfer spans many pages


def with_history(village: Store, returns: int = 8) -> bytes:
    a = ops.register_person(village, card(1, household_address="四川省凉山州越西县民主村" * 16), today=TODAY)
    for i in range(returns):
        ops.add_return(village, {"person": a.hex(), "returned_on": f"2024-0{1 + i % 5}-1{i}", "reason": "家庭原因",
                                 "note": NOTE}, today=TODAY)
    return a


def test_a_transfer_is_one_transaction(village: Store, county: Store) -> None:
    a = with_history(village)
    sync(village, county)
    with transactions(county) as seen:
        identity.transfer(county, a, SIBLING, on=TODAY)
    assert len(seen) == 1


def test_a_merge_resolution_is_one_transaction(village: Store, neighbour: Store, county: Store, township: Store) -> None:
    a, b = twice(village, neighbour, county, township)
    with transactions(county) as seen:
        identity.resolve_duplicate(county, a, b, "merge", on=TODAY)
    assert len(seen) == 1


def test_an_approved_transfer_request_is_one_transaction(village: Store, neighbour: Store, county: Store) -> None:
    ops.register_person(village, card(1), today=TODAY)
    req = transfers.request(neighbour, {"id_number": card(1)["id_number"], "to_place": SIBLING}, today=TODAY)
    sync(village, neighbour, county)
    with transactions(county) as seen:
        transfers.approve(county, req, on=TODAY)
    assert len(seen) == 1


def test_a_transfer_that_runs_out_of_disk_half_way_leaves_nothing_and_succeeds_later(
        province: Province, tmp_path: Path, village: Store, county: Store) -> None:
    a = with_history(village)
    sync(village, county)
    county.close()  # the WAL is checkpointed into the file
    path = tmp_path / "county.db"
    shutil.copy(path, tmp_path / "trial.db")
    trial = province.open("county", tmp_path / "trial.db", rules=RULES)
    size = sqlite_pages(trial)
    identity.transfer(trial, a, SIBLING, on=TODAY)
    needed = sqlite_pages(trial) - size
    trial.close()
    assert needed >= 8  # the new card fits in half of it: done write by write, half of it would land
    full = province.open("county", path, rules=RULES, engine_kw={"max_page_count": size + needed // 2})
    before = dump(full)
    with pytest.raises(StorageFull):
        identity.transfer(full, a, SIBLING, on=TODAY)
    assert dump(full) == before  # no new card, no copy, the old card still open, nothing to seal
    full.close()
    roomy = province.open("county", path, rules=RULES)
    try:
        new = identity.transfer(roomy, a, SIBLING, on=TODAY)
        assert person(roomy, a)["successor"] == new.hex()
        assert len(ops.find(roomy, "return_registration", person=new.hex())) == 8
    finally:
        roomy.close()
