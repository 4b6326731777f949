"""Snapshots: a new node starts from a SQLite file of its scope made by the hub (DESIGN §7).

The hub builds it by replaying its own verified log of what the node may see into a fresh store,
so the file is exactly what an incremental sync would have produced, only made on the server and
sent as one file. It records the hub log position it covers; the node continues syncing from there.
"""
from __future__ import annotations

from pathlib import Path

from node.engine import synclog
from node.engine.store import Store

BATCH_BYTES = 8 << 20


def make_snapshot(store: Store, home: str, author: bytes, path: Path) -> tuple[int, int]:
    """Write a replica of `home`'s view to `path`; return (hub log position covered, envelopes)."""
    snap = Store.create(path, None, home, store.trust.root, store.trust.export(), author=author)
    try:
        for raw in store.revocations():
            snap.add_revocation(raw)
        cursor, count, more = 0, 0, True
        while more:
            envs, _, cursor, more = synclog.after(store, cursor, home, BATCH_BYTES)
            if envs:
                outcomes = snap.apply(envs)
                count += sum(1 for o in outcomes if o.get("status") == "accepted")
        return cursor, count
    finally:
        snap.close()
