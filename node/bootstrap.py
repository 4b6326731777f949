"""Starting a new node from a hub-made snapshot of its scope, then syncing incrementally (DESIGN §7).

The snapshot is checked before it replaces anything: same place and author as this node, a sound
SQLite file, and every changeset in its log admitted again against this node's own pinned trust
(signature, chain, scope), so a hub cannot slip in records it did not receive from their authors.
Only an empty node is bootstrapped; the swap is one rename after both files are closed.
"""
from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import func, select

from node import engine_tables as t
from node import synclog
from node.store import Store
from node.sync_client import SyncClient, SyncFailed, SyncReport
from protocol import messages
from protocol.admit import admit
from protocol.certs import Trust, issuing_order
from protocol.errors import ConfigError, RemoteError


@dataclass
class BootstrapReport:
    envelopes: int
    bytes: int
    cursor: int
    seconds: float


def bootstrap(client: SyncClient, db_path: Path) -> BootstrapReport:
    """Replace the (empty) node database at `db_path` with a verified snapshot from the hub."""
    started = time.monotonic()
    store = client.store
    st = store.status()
    if st.feeds or st.open_changes:
        raise ConfigError("bootstrap only starts an empty node; this one already holds data: use `sync`")
    report = SyncReport(client.url)
    welcome = client._hello(0, report)
    try:
        resp = client.http.post("/v1/snapshot", content=messages.SnapshotRequest(welcome.token).encode(), timeout=300)
    except httpx.HTTPError as exc:
        raise SyncFailed(f"{client.url}/v1/snapshot: {exc}") from exc
    if resp.status_code != 200:
        raise SyncFailed(f"{client.url}/v1/snapshot answered {resp.status_code}", resp.status_code)
    cursor = int(resp.headers.get(messages.SNAPSHOT_CURSOR_HEADER, "0"))
    tmp = db_path.with_name(db_path.name + ".snapshot")
    tmp.write_bytes(resp.content)
    try:
        count = _verify_and_adopt(store, tmp, client.url, cursor)
        _self_contained(tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    store.close()
    for suffix in ("-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    os.replace(tmp, db_path)
    return BootstrapReport(count, len(resp.content), cursor, time.monotonic() - started)


def _self_contained(path: Path) -> None:
    """Fold the WAL into the file and leave rollback-journal mode, so one rename moves everything."""
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("PRAGMA journal_mode=DELETE")
    finally:
        db.close()
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def _verify_and_adopt(store: Store, path: Path, url: str, cursor: int) -> int:
    db = sqlite3.connect(path)
    try:
        ok = db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()
    if ok != "ok":
        raise ConfigError(f"the snapshot is damaged ({ok}); try again")
    snap = Store.open(path, None)
    try:
        if snap.home != store.home or snap.author != store.author:
            raise ConfigError(f"the hub sent a snapshot for {snap.home}, not for this node ({store.home})")
        # Judged by our pinned root, with the snapshot's certificates each chained to it again.
        trust = Trust(store.trust.root)
        for cert in issuing_order(list(dict.fromkeys(snap.trust.export() + store.trust.export()))):
            trust.add_certificate(cert)
        for rev in snap.revocations() + store.revocations():
            trust.add_revocation(rev)
        now = store.hlc.physical()
        count = 0
        with snap.engine.connect() as conn:
            for r in conn.execute(select(t.log.c.envelope).where(t.log.c.envelope.is_not(None))):
                try:
                    admit(r.envelope, trust, now, store.hlc.max_ahead_ms)
                except RemoteError as exc:
                    raise ConfigError(f"the snapshot holds a changeset this node refuses: {exc}") from exc
                count += 1
        for cert in store.trust.export():
            snap.add_certificate(cert)
        snap.hlc.last, snap.hlc.offset_ms = store.hlc.last, store.hlc.offset_ms
        with snap.transaction() as conn:
            snap._save_clock(conn)
            # Everything in the snapshot came from this hub: nothing in it is ours to push back.
            top = conn.execute(select(func.max(t.log.c.pos))).scalar() or 0
            synclog.save_cursor(conn, url, pull=cursor, push=int(top), when=now)
        return count
    finally:
        snap.close()
