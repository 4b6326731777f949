"""Units of local writes and sealing (node/engine/store.py `Store.batch`, `Store.seal`; docs/engine.md).

An operator's action is one transaction with one commit, whatever it writes; a failure inside it
leaves nothing; sealing at sync turns a day's saves into one changeset per scope, cut only where a
changeset would pass the wire's limits, and a county takes every part.
"""
from __future__ import annotations

import sqlite3

import pytest
from domainkit import TODAY, card
from sqlalchemy import func, select
from storekit import SIBLING, VILLAGE, dump, person, transactions

from node.domain import ops
from node.engine import schema
from node.engine import store as store_module
from node.engine import tables as t
from node.engine.store import Store
from protocol.changeset import MAX_ENVELOPE_BYTES, MAX_VALUE_BYTES
from protocol.errors import ConfigError, InvalidValue

BIG = "x" * (MAX_VALUE_BYTES - 1024)  # one change near the largest value the wire takes


def unseen(store: Store) -> int:
    """Open changes as another process sees them: a plain deferred read, which takes no lock."""
    con = sqlite3.connect(str(store.engine.url.database))
    try:
        return int(con.execute(f"SELECT count(*) FROM {t.open_changes.name}").fetchone()[0])
    finally:
        con.close()


def open_changes(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(t.open_changes)).scalar_one())


def test_a_batch_of_writes_is_one_transaction(village: Store) -> None:
    with transactions(village) as seen:
        with village.batch() as unit:
            for i in range(3):
                row, id_number = person(i)
                unit.write("person", row, {"id_number": id_number, "name": f"工人{i}"})
    assert len(seen) == 1 and open_changes(village) >= 6


def test_registering_a_person_with_skills_is_one_transaction(village: Store) -> None:
    with transactions(village) as seen:
        row = ops.register_person(village, card(1, skills=["电工", "焊工", "瓦工"], certificates=["焊工证"]),
                                  today=TODAY)
    assert len(seen) == 1
    assert sorted(ops.get(village, "person", row)["skills"]) == sorted(["电工", "焊工", "瓦工"])  # type: ignore[index]


def test_a_batch_that_raises_half_way_writes_nothing(village: Store) -> None:
    ops.register_person(village, card(1), today=TODAY)
    before = dump(village)
    with pytest.raises(InvalidValue):
        with village.batch() as unit:
            row, id_number = person(7)
            unit.write("person", row, {"id_number": id_number, "name": "工人7"})
            ops.register_person(village, card(2), today=TODAY)  # joins the batch
            raise InvalidValue("name", "refused after two writes")
    assert dump(village) == before


def test_a_refused_write_inside_a_batch_rolls_back_the_writes_before_it(village: Store) -> None:
    before = dump(village)
    with pytest.raises(ConfigError):
        with village.batch() as unit:
            unit.write("person", schema.new_row_id(VILLAGE), {"id_number": "x", "name": "本村"})
            unit.write("person", schema.new_row_id(SIBLING), {"id_number": "y", "name": "邻村"})  # not ours
    assert dump(village) == before


def test_a_batch_inside_a_batch_commits_only_with_the_outer_one(village: Store) -> None:
    with transactions(village) as seen:
        with village.batch():
            row = ops.register_person(village, card(1), today=TODAY)
            assert unseen(village) == 0  # another connection sees nothing yet
            ops.add_skill(village, row, "电工")
    assert len(seen) == 1 and ops.get(village, "person", row)["skills"] == ["电工"]  # type: ignore[index]


def test_checks_inside_a_batch_see_the_writes_made_before_them(village: Store) -> None:
    with pytest.raises(InvalidValue, match="already registered"):
        with village.batch():
            ops.register_person(village, card(1), today=TODAY)
            ops.register_person(village, card(1), today=TODAY)  # the duplicate check reads the batch
    assert ops.find(village, "person", id_number=card(1)["id_number"]) == []


def test_a_days_saves_are_sealed_as_one_changeset(village: Store) -> None:
    for n in range(1, 101):
        ops.register_person(village, card(n, skills=["电工", "焊工"]), today=TODAY)
    sealed = village.seal()
    assert len(sealed) == 1 and len({c.row for c in sealed[0].changes}) == 100
    assert open_changes(village) == 0


def test_a_county_writing_in_two_villages_seals_one_changeset_for_each(county: Store) -> None:
    ops.register_person(county, card(1), scope=VILLAGE, today=TODAY)
    ops.register_person(county, card(2), scope=SIBLING, today=TODAY)
    ops.register_person(county, card(3), scope=VILLAGE, today=TODAY)
    assert sorted(cs.scope for cs in county.seal()) == sorted([VILLAGE, SIBLING])


def big_writes(store: Store, n: int) -> None:
    for i in range(n):
        row, id_number = person(i)
        store.write("person", row, {"id_number": id_number, "name": f"工人{i}", "household_address": BIG})


@pytest.mark.parametrize("body", [1, 2])
def test_open_changes_past_the_envelope_limit_seal_into_several_changesets_under_it(
        village: Store, county: Store, body: int) -> None:
    village.learn_bodies([body])  # v2: the payload's own limit before compression binds, not the envelope's
    big_writes(village, 40)  # ~2.5 MB of changes in one scope
    sealed = village.seal()
    assert len(sealed) >= 3 and all(len(cs.envelope) <= MAX_ENVELOPE_BYTES for cs in sealed)
    assert [cs.seq for cs in sealed] == list(range(1, len(sealed) + 1))
    assert sum(len(cs.changes) for cs in sealed) == 40 * 5  # scope, id_number, name, address, salt
    outcomes = county.apply([cs.envelope for cs in sealed])
    assert [o["status"] for o in outcomes] == ["accepted"] * len(sealed)
    assert county.values("person") == village.values("person")


@pytest.mark.parametrize("body", [1, 2])
def test_an_encoding_larger_than_the_seal_estimate_is_split_again(
        village: Store, monkeypatch: pytest.MonkeyPatch, body: int) -> None:
    village.learn_bodies([body])
    # The real seal, its size estimate set too high on purpose: only the encoder's TooLarge can split it now.
    monkeypatch.setattr(store_module, "SEAL_BYTES", 1 << 30)
    big_writes(village, 40)
    sealed = village.seal()
    assert len(sealed) >= 3 and all(len(cs.envelope) <= MAX_ENVELOPE_BYTES for cs in sealed)
    assert sum(len(cs.changes) for cs in sealed) == 40 * 5  # with the salt (node.engine.redact.salted)
