"""Starting a new node from a hub-made snapshot of its scope, then syncing incrementally (DESIGN §7).

A snapshot is verified whole by not trusting any of it but the signed parts: the node reads only
the certificates, revocations and changeset envelopes out of the file, learns the certificates
through their chains to its own pinned root, and applies every envelope through its own store, the
same admission as a sync (signature, chain, scope, revocation, clock, feed position). Every table,
head and version vector is then built here from what was verified; the snapshot's rows, merge
states, heads, open changes and meta are never read, so a hub cannot slip in a ghost card, make this
node sign someone else's open changes, or set a head to 10^9 to drop the next real changeset. The
file is read with sqlite3 directly (never opened as a Store: that would run its migrations).
Only an empty node is bootstrapped.
"""
from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import Connection, func, select

from node.engine import tables as t
from node.engine import synclog
from node.engine.store import Store
from node.sync.client import SyncClient, SyncFailed, SyncReport
from protocol import messages
from protocol.errors import ConfigError, RemoteError


@dataclass
class BootstrapReport:
    envelopes: int  # changesets verified and applied here
    bytes: int
    cursor: int
    seconds: float
    refused: int = 0  # envelopes in the snapshot this node refused (a tampered or stale snapshot)


@dataclass
class SnapshotParts:
    """What a node takes from a snapshot file: signed things only."""

    certs: list[bytes]
    revocations: list[bytes]
    envelopes: list[bytes]


def bootstrap(client: SyncClient, db_path: Path) -> BootstrapReport:
    """Fill the (empty) node database at `db_path` from a hub-made snapshot, verifying everything.
    The store is closed afterwards: open it again to go on."""
    started = time.monotonic()
    store = client.store
    st = store.status()
    if st.feeds or st.open_changes:
        raise ConfigError("bootstrap only starts an empty node; this one already holds data: use `sync`")
    report = SyncReport(client.url)
    welcome = client._hello(0, report)
    request = messages.SnapshotRequest(welcome.token).encode()
    try:
        resp = client.http.post("/v1/snapshot", content=request, timeout=300,
                                headers=client.proof("/v1/snapshot", welcome.token, request))
    except httpx.HTTPError as exc:
        raise SyncFailed(f"{client.url}/v1/snapshot: {exc}") from exc
    if resp.status_code != 200:
        raise SyncFailed(f"{client.url}/v1/snapshot answered {resp.status_code}", resp.status_code)
    try:
        cursor = int(resp.headers.get(messages.SNAPSHOT_CURSOR_HEADER, "0"))
    except ValueError as exc:
        raise SyncFailed(f"{client.url}/v1/snapshot: cursor header is not a number") from exc
    client.check_answer("/v1/snapshot", request, resp, str(cursor).encode())
    tmp = db_path.with_name(db_path.name + ".snapshot")
    tmp.write_bytes(resp.content)
    try:
        parts = read_snapshot(tmp)
    finally:
        tmp.unlink(missing_ok=True)
    applied, refused = adopt(store, parts, client.url, cursor)
    store.close()
    return BootstrapReport(applied, len(resp.content), cursor, time.monotonic() - started, refused)


def read_snapshot(path: Path) -> SnapshotParts:
    """The signed parts of a snapshot file, in the hub's log order; a damaged file is refused."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            ok = db.execute("PRAGMA integrity_check").fetchone()[0]
            if ok != "ok":
                raise ConfigError(f"the snapshot is damaged ({ok}); try again")
            certs = [bytes(r[0]) for r in db.execute("SELECT raw FROM lw_cert")]
            revs = [bytes(r[0]) for r in db.execute("SELECT raw FROM lw_revocation")]
            envs = [bytes(r[0]) for r in db.execute(
                "SELECT envelope FROM lw_log WHERE status = 'applied' AND envelope IS NOT NULL ORDER BY pos")]
            # Signed too, and the hub's cursor is past them: stamped ahead of the snapshot's clock
            # (released by staff at the hub). Judged here like any envelope.
            envs += [bytes(r[0]) for r in db.execute("SELECT envelope FROM lw_quarantine ORDER BY seq")]
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"the snapshot is not a readable database ({exc}); try again") from exc
    return SnapshotParts(certs, revs, envs)


def adopt(store: Store, parts: SnapshotParts, url: str, cursor: int) -> tuple[int, int]:
    """Apply the snapshot's signed parts through our own admission, in one transaction with the
    sync cursors; return (applied, refused). A refused envelope is simply not applied."""
    store.learn_certificates(parts.certs, parts.envelopes)
    for _ in range(2):  # a revocation of a key whose certificate came later in the file
        for raw in parts.revocations:
            try:
                store.add_revocation(raw, store.hlc.physical())
            except RemoteError:
                pass  # refused here: its key's changesets are judged without it, as a sync would

    def cursors(conn: Connection) -> None:
        # Everything applied came from this hub: nothing of it is ours to push back.
        top = conn.execute(select(func.max(t.log.c.pos))).scalar() or 0
        synclog.save_cursor(conn, url, pull=cursor, push=int(top), when=store.hlc.physical())

    outcomes = store.apply(parts.envelopes, also=cursors)
    store.statistics.settle()  # a bulk load: the planner's statistics follow it at once
    applied = sum(1 for o in outcomes if o.get("status") in ("accepted", "pending"))
    return applied, sum(1 for o in outcomes if o.get("status") == "refused")
