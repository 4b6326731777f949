"""Erasing a person who moved (issue 8): every card they had, every copy of their history, the transfer
request that named them, the conflict their two cards made, on every replica.

Two people, each leaving a closed card behind: 司马翠英 moves from village A to village B through a
transfer request B files by ID number and the county approves (a card at each village, her placement
copied to B, a request row carrying the ID number), and the county erases her directly; 欧阳振邦 was
registered by both villages offline (a duplicate-id conflict at the county) and merged into B's card,
and B asks for the erasure, which the county carries out (B holds only its own card: the county
follows the chain). Everything syncs — a real county and province hub on loopback, the villages and a
township whose first sync comes afterwards as in-process SQLite stores — then every database file,
its -wal, a bundle from each village and the log of the whole run are searched for both names and ID
numbers: nothing. Every feed still verifies. SQLite only: the search reads files (PostgreSQL hubs:
test_erasure_hub.py).
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from erasurekit import files_under, found, needles
from hubkit import SIBLING, TOWNSHIP, VILLAGE, World, table_rows
from stdnum.cn import ric

from node.domain import erase, identity, ops, transfers
from node.domain.rules import RULES
from node.engine import tables as t
from node.engine.redact import verify_feeds
from node.engine.store import Store
from node.sync.bundles import export_bundle

TODAY = date(2024, 6, 1)
NAMES = ("司马翠英", "欧阳振邦")  # not names node.generate makes: a hit can only be ours


def ident(seq: int) -> str:
    body = f"513225199003{seq:02d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


IDS = (ident(11), ident(12))


@pytest.fixture
def logged(tmp_path: Path) -> Iterator[Path]:
    """Everything every part logs during the test, in a file searched with the databases."""
    path = tmp_path / "run.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()


def ruled(store: Store) -> Store:
    """As laowu-hub and laowu-node open their stores: with the identity rules."""
    store.rules = list(RULES)
    return store


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_an_erased_person_who_moved_is_nowhere_on_any_replica(world: World, tmp_path: Path, logged: Path) -> None:
    county, a, b = ruled(world.county), ruled(world.node(VILLAGE)), ruled(world.node(SIBLING))

    def sync_all() -> None:
        for code in (VILLAGE, SIBLING):
            world.sync(code)
        world.relay()
        for code in (VILLAGE, SIBLING):
            world.sync(code)

    # 司马翠英: registered at A with a placement, asked for at B by ID number, approved at the county.
    moved = ops.register_person(a, {"id_number": IDS[0], "name": NAMES[0], "phone": "13912340001"}, today=TODAY)
    ops.add_placement(a, {"person": moved.hex(), "employer_name": "成都鑫达建筑劳务有限公司",
                          "start_date": "2024-05-01", "contract_months": 12}, on=TODAY)
    asked = transfers.request(b, {"id_number": IDS[0], "to_place": SIBLING, "reason": "婚嫁"}, today=TODAY)
    # 欧阳振邦: registered by both villages offline, with history at A.
    dup_a = ops.register_person(a, {"id_number": IDS[1], "name": NAMES[1], "phone": "13912340002"}, today=TODAY)
    ops.add_placement(a, {"person": dup_a.hex(), "employer_name": "成都鑫达建筑劳务有限公司",
                          "start_date": "2024-05-02", "contract_months": 6}, on=TODAY)
    dup_b = ops.register_person(b, {"id_number": IDS[1], "name": NAMES[1], "phone": "13912340003"}, today=TODAY)
    sync_all()
    assert any(r.kind == "duplicate-id" and r.resolved is None for r in table_rows(county, t.conflicts))

    new = transfers.approve(county, asked, on=TODAY)
    identity.settle(county, "duplicate-id", sorted([dup_a, dup_b]), "merge", dup_b, on=TODAY)
    sync_all()
    assert ops.get(a, "person", moved)["successor"] == new.hex()  # type: ignore[index]
    assert ops.get(a, "person", dup_a)["successor"] == dup_b.hex()  # type: ignore[index]
    assert len(ops.find(b, "placement")) == 2  # both people's history copied next to B's cards
    secrets = needles(*NAMES, *IDS)
    assert found(files_under(tmp_path), secrets)  # the search sees them before the erasure

    done = erase.erase_person(county, moved, "本人申请删除")
    assert len(done.records) == 2  # one record per village holding a card of hers
    asked_b = erase.request(b, dup_b, "本人申请删除")
    sync_all()
    [req] = erase.pending(county)
    assert req.row == asked_b.row
    assert len(erase.approve(county, req.row).records) == 2
    assert erase.pending(county) == []
    sync_all()
    late = ruled(world.node(TOWNSHIP))  # first synced after the erasures: never receives the values
    world.sync(TOWNSHIP)
    for store in (a, b):
        export_bundle(store, tmp_path / f"{store.home}.bundle")

    for store in (county, world.province, a, b, late):
        assert ops.find(store, "person") == [], store.home
        assert ops.find(store, "placement") == [], store.home
        assert ops.find(store, "transfer_request") == [], store.home
        assert all(r.resolved is not None for r in table_rows(store, t.conflicts)), store.home
        assert verify_feeds(store) > 0
    searched = files_under(tmp_path)
    assert {p.name for p in searched} >= {"county.sqlite", "province.sqlite", f"{VILLAGE}.sqlite",
                                          f"{TOWNSHIP}.sqlite", f"{SIBLING}.bundle", "run.log"}
    assert found(searched, secrets) == []
