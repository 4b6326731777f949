"""Specs of the SQLite store (node/engine/store.py, DESIGN §4 and §7), one behaviour per test.

Every store here is a real SQLite file with real keys and certificates from the test province
(storekit.py): village-a and village-b are two laptops of one village, sibling is the village next
door, township and county are above both. Clocks are injected, so quarantine is tested by moving time.
"""
from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from storekit import (
    COUNTY,
    MINUTE,
    NOW_MS,
    SIBLING,
    VILLAGE,
    Clock,
    Province,
    dump,
    expected_people,
    people,
    person,
)

from conflict.orset import add_op
from node.engine import tables as t
from node.engine.db import CHECKPOINT_PAGES, make_engine
from node.engine.schema import SCHEMA_VERSION
from node.engine.store import Store
from protocol import certs, changeset
from protocol.changeset import Change
from protocol.errors import ConfigError

MakeStore = Callable[..., Store]


def register(store: Store, n: int, **more: Any) -> bytes:
    """Register test person `n` on `store` (in its home unless `scope=`); return the row id."""
    scope = more.pop("scope", None)
    row, id_number = person(n, scope or store.home)
    store.write("person", row, {"id_number": id_number, "name": f"工人{n}", **more}, scope=scope)
    return row


def envelopes(css: list[changeset.Changeset]) -> list[bytes]:
    return [cs.envelope for cs in css]


def statuses(outcomes: list[dict[str, Any]]) -> list[str]:
    return [o["status"] for o in outcomes]


def test_a_new_sqlite_store_has_exactly_the_schema_sqlalchemy_creates(tmp_path: Path) -> None:
    """A new SQLite file gets DDL compiled once per process (`node.engine.tables.create_all`): the same
    tables, columns and indexes as `metadata.create_all`, plain or encrypted; a file that already has
    tables is left as it is."""
    def schema(engine: Engine) -> list[Any]:
        with engine.connect() as conn:
            return list(conn.exec_driver_sql("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name"))

    made = make_engine(tmp_path / "made.sqlite")
    t.metadata.create_all(made)
    for name, kw in (("plain", {}), ("encrypted", {"db_key": bytes(range(32))})):
        fast = make_engine(tmp_path / f"{name}.sqlite", **kw)  # type: ignore[arg-type]
        t.create_all(fast)
        assert schema(fast) == schema(made) and len(schema(made)) > 40, name
        t.create_all(fast)
        assert schema(fast) == schema(made), name
        fast.dispose()
    made.dispose()


# -- local writes and sealing ---------------------------------------------------------------------


def test_a_local_write_is_visible_at_once(make_store: MakeStore) -> None:
    village = make_store("village-a")
    row = register(village, 1, phone="13812345678")
    assert village.values()[("person", row)] == {
        "id_number": person(1)[1], "name": "工人1", "phone": "13812345678", "scope": VILLAGE}
    assert people(village)[row.hex()]["phone"] == "13812345678"


def test_a_local_write_lands_in_the_open_changes_not_in_a_feed(make_store: MakeStore) -> None:
    village = make_store("village-a")
    register(village, 1, phone="13812345678")
    assert village.status().open_changes == 5  # scope, id_number, name, phone, the salt (node.redact.salted)
    assert village.vector() == {}


def test_a_write_outside_the_keys_scopes_is_refused(make_store: MakeStore) -> None:
    village = make_store("village-a")
    with pytest.raises(ConfigError, match="may not write scope"):
        register(village, 1, scope=SIBLING)
    assert village.status().open_changes == 0 and village.values() == {}


def test_seal_makes_one_changeset_per_scope(make_store: MakeStore) -> None:
    county = make_store("county")
    register(county, 1, scope=VILLAGE)
    register(county, 2, scope=SIBLING)
    register(county, 3)
    register(county, 4, scope=VILLAGE)
    sealed = county.seal()
    assert sorted(cs.scope for cs in sealed) == sorted([VILLAGE, SIBLING, COUNTY])
    assert all(cs.seq == 1 and cs.prev is None for cs in sealed)
    assert county.vector() == {(county.author, s): 1 for s in (VILLAGE, SIBLING, COUNTY)}


def test_seal_empties_the_open_changes(make_store: MakeStore) -> None:
    village = make_store("village-a")
    register(village, 1)
    village.seal()
    assert village.status().open_changes == 0
    assert village.seal() == []


def wal_frames(store: Store) -> int:
    """Frames written to the store's WAL since it last restarted (a PASSIVE checkpoint reports them;
    the next write after it starts the WAL again)."""
    with sqlite3.connect(store.engine.url.database or "") as probe:
        return int(probe.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1])


def test_saves_leave_the_wal_to_the_seal(make_store: MakeStore) -> None:
    """A clerk's save never pays for copying the WAL into the file (SQLite's default did so every 1,000
    pages: the save's p99); until the seal, or CHECKPOINT_PAGES, the WAL just grows."""
    village = make_store("village-a")
    wal = Path(str(village.engine.url.database) + "-wal")
    past_default = 1_100 * (4096 + 24)  # 1,100 frames: beyond where SQLite's default restarts the WAL
    n = 0
    while wal.stat().st_size <= past_default and n < 2_000:
        n += 1
        register(village, n, phone=f"139{n:08d}")
    assert wal.stat().st_size > past_default
    assert 1_100 < wal_frames(village) < CHECKPOINT_PAGES


def test_a_seal_checkpoints_the_wal(make_store: MakeStore) -> None:
    village = make_store("village-a")
    for n in range(1, 80):
        register(village, n, phone=f"139{n:08d}")
    village.seal()
    register(village, 99)  # the first write after a complete checkpoint starts the WAL again
    assert wal_frames(village) < 50


def test_seal_chains_seq_and_prev_within_a_feed(make_store: MakeStore) -> None:
    village = make_store("village-a")
    register(village, 1)
    (first,) = village.seal()
    register(village, 2)
    (second,) = village.seal()
    assert (second.seq, second.prev) == (2, first.id)
    assert changeset.open_envelope(second.envelope) == second


# -- applying remote changesets --------------------------------------------------------------------


def test_an_accepted_changeset_is_merged_and_materialized(make_store: MakeStore) -> None:
    village, county = make_store("village-a"), make_store("county")
    register(village, 1, phone="13812345678")
    assert statuses(county.apply(envelopes(village.seal()))) == ["accepted"]
    assert county.values() == village.values()
    assert people(county) == people(village)


def test_applying_a_changeset_twice_changes_nothing(make_store: MakeStore) -> None:
    village, county = make_store("village-a"), make_store("county")
    register(village, 1)
    envs = envelopes(village.seal())
    county.apply(envs)
    before = dump(county)
    assert statuses(county.apply(envs)) == ["duplicate"]
    assert dump(county) == before


def test_a_changeset_after_a_gap_is_held_as_pending(make_store: MakeStore) -> None:
    village, county = make_store("village-a"), make_store("county")
    register(village, 1)
    village.seal()
    register(village, 2)
    (second,) = village.seal()
    assert statuses(county.apply([second.envelope])) == ["pending"]
    assert county.status().pending == 1
    assert county.values() == {} and county.vector() == {}


def test_a_pending_changeset_is_released_when_the_gap_fills(make_store: MakeStore) -> None:
    village, county = make_store("village-a"), make_store("county")
    register(village, 1)
    (first,) = village.seal()
    register(village, 2)
    (second,) = village.seal()
    county.apply([second.envelope])
    (outcome,) = county.apply([first.envelope])
    assert (outcome["status"], outcome["released"]) == ("accepted", 1)
    assert county.status().pending == 0
    assert county.values() == village.values()
    assert county.vector() == village.vector()


def test_a_fork_is_recorded_with_both_envelopes_and_not_merged(make_store: MakeStore) -> None:
    village, county = make_store("village-a"), make_store("county")
    restored = make_store("village-a", "restored-from-backup.db")  # same key, empty history
    register(village, 1, phone="13800000001")
    (original,) = village.seal()
    register(restored, 1, phone="13999999999")
    (forked,) = restored.seal()
    county.apply([original.envelope])
    (outcome,) = county.apply([forked.envelope])
    assert (outcome["status"], outcome["code"]) == ("fork", "fork")
    with county.engine.connect() as conn:
        proof = conn.execute(select(t.forks.c.held, t.forks.c.incoming)).all()
    assert [tuple(p) for p in proof] == [(original.envelope, forked.envelope)]
    assert county.status().forks == 1
    assert county.values() == village.values()


def test_a_future_stamped_changeset_is_quarantined_not_applied(make_store: MakeStore) -> None:
    fast = make_store("village-a", wall=Clock(NOW_MS + 60 * MINUTE))  # a laptop clock an hour ahead
    county = make_store("county")
    register(fast, 1)
    assert statuses(county.apply(envelopes(fast.seal()))) == ["quarantined"]
    assert county.status().quarantined == 1
    assert county.values() == {} and county.vector() == {}


def test_staff_release_applies_a_quarantined_changeset(make_store: MakeStore) -> None:
    fast, county = make_store("village-a", wall=Clock(NOW_MS + 60 * MINUTE)), make_store("county")
    register(fast, 1)
    (cs,) = fast.seal()
    county.apply([cs.envelope])
    assert statuses(county.release_quarantine([cs.id])) == ["accepted"]
    assert county.status().quarantined == 0
    assert county.values() == fast.values()


def test_a_quarantined_changeset_is_released_once_the_clock_catches_up(make_store: MakeStore, clock: Clock) -> None:
    fast, county = make_store("village-a", wall=Clock(NOW_MS + 60 * MINUTE)), make_store("county")
    register(fast, 1)
    county.apply(envelopes(fast.seal()))
    assert county.release_quarantine(due_only=True) == []
    clock.ms += 60 * MINUTE
    assert statuses(county.release_quarantine(due_only=True)) == ["accepted"]
    assert county.status().quarantined == 0


def test_a_quarantined_changeset_delivered_again_in_time_leaves_the_quarantine(make_store: MakeStore, clock: Clock) -> None:
    fast, county = make_store("village-a", wall=Clock(NOW_MS + 60 * MINUTE)), make_store("county")
    register(fast, 1)
    envs = envelopes(fast.seal())
    county.apply(envs)
    clock.ms += 60 * MINUTE
    assert statuses(county.apply(envs)) == ["accepted"]
    assert county.status().quarantined == 0


def test_a_sibling_villages_changeset_is_refused_out_of_scope(make_store: MakeStore) -> None:
    sibling, village = make_store("sibling"), make_store("village-a")
    register(sibling, 1)
    (outcome,) = village.apply(envelopes(sibling.seal()))
    assert (outcome["status"], outcome["code"]) == ("refused", "out-of-scope")
    assert village.values() == {} and dump(village)["lw_log"] == []


def test_a_future_stamped_changeset_of_a_sibling_is_refused_not_quarantined(make_store: MakeStore) -> None:
    sibling, village = make_store("sibling", wall=Clock(NOW_MS + 60 * MINUTE)), make_store("village-a")
    register(sibling, 1)
    (outcome,) = village.apply(envelopes(sibling.seal()))
    assert (outcome["status"], outcome["code"]) == ("refused", "out-of-scope")
    assert village.status().quarantined == 0


def test_an_edit_arriving_before_its_row_exists_waits_in_the_merge_state(make_store: MakeStore) -> None:
    village, county, township = make_store("village-a"), make_store("county"), make_store("township")
    row = register(village, 1)
    created = envelopes(village.seal())
    county.write("person", row, {"phone": "13812345678"}, scope=VILLAGE)  # the county never saw the card
    assert statuses(township.apply(envelopes(county.seal()))) == ["accepted"]
    assert township.values()[("person", row)] == {"phone": "13812345678", "scope": VILLAGE}
    assert people(township) == {}
    township.apply(created)
    assert people(township)[row.hex()]["phone"] == "13812345678"
    assert people(township) == expected_people(township.values())


def test_a_value_its_column_cannot_hold_is_kept_in_the_merge_state_and_shown_empty(
        make_store: MakeStore, province: Province) -> None:
    county = make_store("county")
    row, id_number = person(1)
    stamp = NOW_MS << 16
    cs = changeset.seal(province.members["village-a"].key, VILLAGE, 1, None, [
        Change("person", row, "id_number", id_number, stamp), Change("person", row, "name", "工人1", stamp),
        Change("person", row, "two_after", "yes", stamp), Change("person", row, "household_size", {"n": 4}, stamp)])
    assert statuses(county.apply([cs.envelope])) == ["accepted"]
    assert county.values()[("person", row)]["two_after"] == "yes"
    shown = people(county)[row.hex()]
    assert (shown["name"], shown["two_after"], shown["household_size"]) == ("工人1", None, None)


# -- deletes ------------------------------------------------------------------------------------------


def test_delete_purges_the_materialized_row_and_keeps_a_tombstone(make_store: MakeStore) -> None:
    village = make_store("village-a")
    row = register(village, 1, phone="13812345678")
    village.delete("person", row)
    assert village.values() == {("person", row): None}
    assert people(village) == {}
    state = village.row_state("person", row)
    assert state is not None and state.fields == {} and state.tombstone is not None


def test_an_edit_from_a_replica_that_missed_the_delete_does_not_resurrect_the_row(make_store: MakeStore) -> None:
    village = make_store("village-a")
    county = make_store("county", wall=Clock(NOW_MS + MINUTE))  # its edit is stamped after the delete
    row = register(village, 1)
    county.apply(envelopes(village.seal()))
    village.delete("person", row)
    deleted = envelopes(village.seal())
    county.write("person", row, {"phone": "13812345678"})
    village.apply(envelopes(county.seal()))
    county.apply(deleted)
    assert village.values() == county.values() == {("person", row): None}
    assert people(village) == people(county) == {}


# -- schema versions and unknown fields -------------------------------------------------------------


def newer_schema_changeset(province: Province, seq: int = 1, prev: bytes | None = None) -> changeset.Changeset:
    row, id_number = person(9)
    changes = [Change("person", row, "id_number", id_number, (NOW_MS << 16) + seq),
               Change("person", row, "blood_type", "O", (NOW_MS << 16) + seq)]
    return changeset.seal(province.members["county"].key, VILLAGE, seq, prev, changes, schema=SCHEMA_VERSION + 1)


def test_a_changeset_from_a_newer_schema_is_held_not_applied(make_store: MakeStore, province: Province) -> None:
    village = make_store("village-a")
    cs = newer_schema_changeset(province)
    assert statuses(village.apply([cs.envelope])) == ["held"]
    assert village.values() == {} and village.vector() == {}
    with village.engine.connect() as conn:
        held = conn.execute(select(t.log.c.status, t.log.c.envelope).where(t.log.c.id == cs.id)).one()
    assert tuple(held) == ("held", cs.envelope)


def test_a_held_changeset_is_kept_once_when_delivered_again(make_store: MakeStore, province: Province) -> None:
    village = make_store("village-a")
    cs = newer_schema_changeset(province)
    village.apply([cs.envelope])
    before = dump(village)
    assert statuses(village.apply([cs.envelope])) == ["duplicate"]
    assert dump(village) == before


def test_changesets_after_a_held_one_wait_behind_it(make_store: MakeStore, province: Province) -> None:
    village = make_store("village-a")
    held = newer_schema_changeset(province)
    row, _ = person(9)
    later = changeset.seal(province.members["county"].key, VILLAGE, 2, held.id,
                           [Change("person", row, "phone", "13812345678", (NOW_MS << 16) + 9)])
    assert statuses(village.apply([held.envelope, later.envelope])) == ["held", "pending"]
    assert village.values() == {} and village.vector() == {}


def test_unknown_fields_are_kept_in_the_merge_state(make_store: MakeStore) -> None:
    village, county = make_store("village-a"), make_store("county")
    row = register(village, 1, blood_type="O")  # not a Person column in this build
    county.apply(envelopes(village.seal()))
    assert county.values()[("person", row)]["blood_type"] == "O"
    assert "blood_type" not in people(county)[row.hex()]


def test_unknown_fields_converge_by_their_default_policy(make_store: MakeStore) -> None:
    village = make_store("village-a")
    county = make_store("county", wall=Clock(NOW_MS + MINUTE))
    row = register(village, 1)
    county.apply(envelopes(village.seal()))
    village.write("person", row, {"blood_type": "A"})
    county.write("person", row, {"blood_type": "B"}, scope=VILLAGE)  # later: lww picks it everywhere
    a, b = envelopes(village.seal()), envelopes(county.seal())
    village.apply(b)
    county.apply(a)
    assert village.values() == county.values()
    assert village.values()[("person", row)]["blood_type"] == "B"


def test_set_fields_merge_adds_from_two_replicas(make_store: MakeStore) -> None:
    village, county = make_store("village-a"), make_store("county")
    row = register(village, 1, skills=add_op("电工"))
    county.apply(envelopes(village.seal()))
    village.write("person", row, {"skills": add_op("焊工")})
    county.write("person", row, {"skills": add_op("厨师")}, scope=VILLAGE)
    a, b = envelopes(village.seal()), envelopes(county.seal())
    village.apply(b)
    county.apply(a)
    assert village.values()[("person", row)]["skills"] == ["厨师", "焊工", "电工"]
    assert people(village) == people(county)


# -- reopening ----------------------------------------------------------------------------------------


def test_reopening_restores_the_clock(make_store: MakeStore, province: Province, tmp_path: Any) -> None:
    village = make_store("village-a")
    register(village, 1)
    last = village.hlc.last
    village.close()
    reopened = province.open("village-a", tmp_path / "village-a.db", wall=Clock(NOW_MS - 24 * 60 * MINUTE))
    try:
        assert reopened.hlc.last == last
        register(reopened, 2)  # the wall clock went back a day: stamps still move forward
        assert reopened.hlc.last > last
    finally:
        reopened.close()


def test_reopening_restores_the_certificates(make_store: MakeStore, province: Province, tmp_path: Any) -> None:
    village = make_store("village-a")
    known = {s: c.raw for s, c in village.trust.certs.items()}
    village.close()
    reopened = province.open("village-a", tmp_path / "village-a.db")
    try:
        assert {s: c.raw for s, c in reopened.trust.certs.items()} == known
    finally:
        reopened.close()


def test_reopening_restores_the_heads_so_the_feed_continues(make_store: MakeStore, province: Province, tmp_path: Any) -> None:
    village = make_store("village-a")
    register(village, 1)
    (first,) = village.seal()
    vector = village.vector()
    village.close()
    reopened = province.open("village-a", tmp_path / "village-a.db")
    try:
        assert reopened.vector() == vector
        register(reopened, 2)
        (second,) = reopened.seal()
        assert (second.seq, second.prev) == (2, first.id)
    finally:
        reopened.close()


def test_two_revocations_of_one_key_keep_the_stricter_cutoff_after_reopening(
        make_store: MakeStore, province: Province, tmp_path: Any) -> None:
    county = make_store("county")
    thief = province.members["sibling"].key.public
    county.add_revocation(certs.revoke(province.box.root, thief, {SIBLING: 3}, NOW_MS, "stolen: province"))
    county.add_revocation(certs.revoke(province.members["county"].key, thief, {SIBLING: 5}, NOW_MS, "stolen: county"))
    assert county.trust.revocations[thief].cutoffs == {SIBLING: 3}
    county.close()
    reopened = province.open("county", tmp_path / "county.db")
    try:
        assert reopened.trust.revocations[thief].cutoffs == {SIBLING: 3}
    finally:
        reopened.close()


def test_importing_the_store_registers_the_domain_tables() -> None:
    code = ("import node.engine.store, node.engine.schema; "
            "assert node.engine.schema.registry().policy('person', 'skills').name == 'set'")
    subprocess.run([sys.executable, "-c", code], check=True)
