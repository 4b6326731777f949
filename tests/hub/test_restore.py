"""A laptop restored from a backup (DESIGN §4, §8): before sealing anything it pulls its own later
changesets back from the hub, so it continues its feed and no fork appears anywhere."""
from __future__ import annotations

import os
from contextlib import closing
import shutil
import sqlite3

from hubkit import VILLAGE, World, table_rows

from node.engine import tables as t
from node.engine.store import Store


def _write(store: Store, title: str) -> bytes:
    row = os.urandom(16)
    store.write("job_posting", row, {"title": title})
    return row


def test_restored_laptop_continues_its_feed_without_forking(world: World) -> None:
    path = world.tmp / f"{VILLAGE}.sqlite"
    village = world.node(VILLAGE)
    rows = [_write(village, "before the backup")]
    world.sync(VILLAGE)
    backup = world.tmp / "backup.sqlite"
    with closing(sqlite3.connect(path)) as src, closing(sqlite3.connect(backup)) as dst:
        src.backup(dst)  # what a nightly copy of the village database holds
    for title in ("after the backup", "the day before the disk died"):
        rows.append(_write(village, title))
        world.sync(VILLAGE)
    assert world.county.vector()[(village.author, VILLAGE)] == 3

    village.close()
    for suffix in ("-wal", "-shm"):
        if os.path.exists(f"{path}{suffix}"):
            os.remove(f"{path}{suffix}")
    shutil.copy(backup, path)
    restored = world.nodes[VILLAGE] = Store.open(str(path), world.member(VILLAGE).key)
    assert restored.vector()[(restored.author, VILLAGE)] == 1
    rows.append(_write(restored, "first record after the restore"))
    report = world.sync(VILLAGE)
    world.relay()

    assert report.restored_feeds == 1
    assert restored.vector()[(restored.author, VILLAGE)] == 4  # seqs 2 and 3 came back; the new one is 4
    for replica in (world.county, world.province):
        assert table_rows(replica, t.forks) == []
        assert replica.vector()[(restored.author, VILLAGE)] == 4
        assert {("job_posting", r) for r in rows} <= set(replica.values())
    assert {("job_posting", r) for r in rows} <= set(restored.values())
