"""A full disk, simulated with SQLite's max_page_count (node/engine/db.py `make_engine(max_page_count=N)`).

The database is first filled without a limit, then reopened with a limit a few pages above its
size, so the next writes run out of room at a page allocation, wherever that falls inside the
transaction. What must hold: the write raises StorageFull (a LocalError that says what happened
and what to do), nothing committed before is lost, the file stays sound, and once there is room
again (reopened without the limit) the same writes succeed. apply() of a large batch is one
transaction: at the limit it applies none of it, and all of it once there is room.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from storekit import NOW_MS, Clock, Province, dump, expected_people, history, integrity, people, person, sqlite_pages

from node.engine.db import StorageFull
from node.engine.store import Store
from protocol.errors import LocalError

HEADROOM_PAGES = 8
ADDRESS = "四川省凉山州越西县民主村" * 40  # ~1.5 kB a row: the limit is reached in a few dozen writes


def write_person(store: Store, i: int) -> None:
    row, id_number = person(i)
    store.write("person", row, {"id_number": id_number, "name": f"工人{i}", "household_address": ADDRESS})


@dataclass
class Filled:
    """A village store written until the disk was full."""

    path: Path
    store: Store  # still open with the limit
    committed: int  # writes that returned normally
    error: StorageFull
    before: dict[str, object]  # values before the failed write


@pytest.fixture
def filled(province: Province, tmp_path: Path) -> Iterator[Filled]:
    path = tmp_path / "village.db"
    store = province.create("village-a", path)
    for i in range(5):
        write_person(store, i)
    limit = sqlite_pages(store) + HEADROOM_PAGES
    store.close()
    store = province.open("village-a", path, engine_kw={"max_page_count": limit})
    committed, error = 5, None
    for i in range(5, 2_000):
        before = store.values()
        try:
            write_person(store, i)
        except StorageFull as exc:
            error = exc
            break
        committed += 1
    assert error is not None, "the size limit was never reached"
    yield Filled(path, store, committed, error, before)
    store.close()


def test_a_write_on_a_full_disk_raises_storage_full(filled: Filled) -> None:
    assert isinstance(filled.error, StorageFull)


def test_storage_full_is_a_local_error_that_says_what_to_do(filled: Filled) -> None:
    assert isinstance(filled.error, LocalError) and filled.error.code == "storage-full"
    assert "disk is full" in str(filled.error) and "nothing committed was lost" in str(filled.error)


def test_a_full_disk_loses_nothing_already_committed(filled: Filled) -> None:
    values = filled.store.values()
    assert values == filled.before
    assert {("person", person(i)[0]) for i in range(filled.committed)} == set(values)
    assert people(filled.store) == expected_people(values)


def test_the_failed_write_leaves_no_trace(filled: Filled) -> None:
    assert filled.store.status().open_changes == 5 * filled.committed  # scope, id_number, name, address, salt each


def test_a_full_disk_leaves_a_database_that_passes_integrity_check(filled: Filled) -> None:
    filled.store.close()
    assert integrity(filled.path) == "ok"


def test_writes_succeed_after_reopening_without_the_limit(filled: Filled, province: Province) -> None:
    filled.store.close()
    store = province.open("village-a", filled.path)
    try:
        for i in range(filled.committed, filled.committed + 20):
            write_person(store, i)
        assert len(store.values()) == filled.committed + 20
        assert len(store.seal()) == 1
    finally:
        store.close()


# -- apply() of a large batch ----------------------------------------------------------------------


def county_wall() -> Clock:
    return Clock(NOW_MS + 24 * 3600 * 1000)


@dataclass
class FullCounty:
    """A county store with some history, reopened with a few pages of room, then sent a big batch."""

    path: Path
    store: Store  # still open with the limit
    batch: list[bytes]  # 270 changesets, none applied before
    before: dict[str, object]  # every table before the batch
    error: StorageFull | None


@pytest.fixture
def full_county(province: Province, tmp_path: Path) -> Iterator[FullCounty]:
    path = tmp_path / "county.db"
    week = history(province)
    store = province.create("county", path, wall=county_wall())
    store.apply(week[:30])
    limit = sqlite_pages(store) + HEADROOM_PAGES
    store.close()
    store = province.open("county", path, wall=county_wall(), engine_kw={"max_page_count": limit})
    before = dump(store)
    error = None
    try:
        store.apply(week[30:])
    except StorageFull as exc:
        error = exc
    yield FullCounty(path, store, week[30:], before, error)
    store.close()


def test_apply_of_a_large_batch_on_a_full_disk_raises_storage_full(full_county: FullCounty) -> None:
    assert isinstance(full_county.error, StorageFull)


def test_apply_on_a_full_disk_applies_none_of_the_batch(full_county: FullCounty) -> None:
    assert dump(full_county.store) == full_county.before


def test_apply_on_a_full_disk_leaves_a_database_that_passes_integrity_check(full_county: FullCounty) -> None:
    full_county.store.close()
    assert integrity(full_county.path) == "ok"


def test_apply_succeeds_whole_after_reopening_without_the_limit(full_county: FullCounty, province: Province) -> None:
    full_county.store.close()
    store = province.open("county", full_county.path, wall=county_wall())
    try:
        assert {o["status"] for o in store.apply(full_county.batch)} == {"accepted"}
        replica = province.replica("county", wall=county_wall())
        for env in history(province):
            replica.receive(env)
        assert store.values() == replica.values()
        assert people(store) == expected_people(store.values())
    finally:
        store.close()
