"""Snapshots by copy (issue 13 item 5, hub/snapshot.py): the hub copies the verified changesets a node
may see out of its log instead of replaying them, and a node bootstrapped from that file holds the
same rows as the hub for its scope, built by the node from the envelopes it verified."""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from hubkit import SIBLING, VILLAGE, World

from hub.snapshot import make_snapshot
from node.sync.bootstrap import bootstrap
from node.engine.store import Store
from node.sync.client import SyncClient
from protocol import scope


def _written(world: World) -> tuple[bytes, bytes]:
    """A card at VILLAGE (synced up) and a county posting; returns (card row, posting row)."""
    village = world.node(VILLAGE)
    card, posting = os.urandom(16), os.urandom(16)
    village.write("job_posting", card, {"title": "村里招工"})
    village.seal()
    world.sync(VILLAGE)
    world.county.write("job_posting", posting, {"title": "县里招聘"})
    world.county.seal()
    return card, posting


def test_a_snapshot_holds_only_the_feeds_its_node_may_see_with_their_heads(world: World, tmp_path: Path) -> None:
    _written(world)
    path = tmp_path / "snap.sqlite"
    cursor, copied = make_snapshot(world.county, SIBLING, world.member(SIBLING).key.public, path)
    with sqlite3.connect(path) as db:
        feeds = {(bytes(a), s): n for a, s, n in db.execute("SELECT author, scope, max(seq) FROM lw_log GROUP BY 1, 2")}
        heads = {(bytes(a), s): n for a, s, n in db.execute("SELECT author, scope, seq FROM lw_head")}
        positions = [p for (p,) in db.execute("SELECT pos FROM lw_log ORDER BY pos")]
    assert feeds and all(scope.visible_to(SIBLING, s) for _, s in feeds)  # nothing of VILLAGE's
    assert heads == feeds and positions == list(range(1, copied + 1))
    assert cursor == max(p for (p,) in _applied_positions(world.county))


def _applied_positions(store: Store) -> list[tuple[int]]:
    with store.engine.connect() as conn:
        return [(int(r[0]),) for r in conn.exec_driver_sql("SELECT pos FROM lw_log WHERE status = 'applied'")]


def test_a_node_bootstrapped_from_a_copied_snapshot_holds_the_hub_s_rows_of_its_scope(world: World) -> None:
    card, posting = _written(world)
    member = world.member(VILLAGE)
    path = world.tmp / "second-laptop.sqlite"
    node = Store.create(str(path), member.key, VILLAGE, world.box.root.public, world.chain(VILLAGE))
    client = SyncClient(node, world.county_url, world.county.author)
    try:
        report = bootstrap(client, path)
    finally:
        client.close()
    assert report.refused == 0
    node = Store.open(str(path), member.key)
    try:
        hub = {k: v for k, v in world.county.values().items() if k[1] in (card, posting)}
        assert node.values() == hub and len(hub) == 2
        assert node.vector() == {f: n for f, n in world.county.vector().items() if scope.visible_to(VILLAGE, f[1])}
    finally:
        node.close()
