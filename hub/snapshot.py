"""Snapshots: a new node starts from a SQLite file of its scope made by the hub (DESIGN §7).

The hub makes it by copying, not by replaying: the certificates and revocations it holds, and the
verified changesets of its log that the node may see (applied, in log order, at positions 1..n),
and the feed heads those changesets reach. Nothing is merged here: copying costs a read of the
log, where replaying it into a fresh store cost a full admission, merge and materialize of every
changeset (5 s for a 5,000-person village, issue 13).

Rows and merge states are not shipped. A node adopts nothing unsigned (docs/trust.md §3): it
builds every row, merge state and head from the envelopes it verifies itself, so a copy of the
hub's rows would be downloaded only to be rebuilt; the file stays half the size. The hub log
position the snapshot covers is returned; the node continues syncing from there.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, event, select

from node.engine import tables as t
from node.engine import synclog
from node.engine.db import make_engine
from node.engine.store import Store
from protocol import codec

BATCH = 2_000  # log rows per executemany into the file


def make_snapshot(store: Store, home: str, author: bytes, path: Path) -> tuple[int, int]:
    """Write a replica file of `home`'s view to `path` for the node `author`; return (hub log
    position covered, changesets copied). The hub's log is read in one transaction, so the heads
    and the cursor are exactly those of the changesets copied."""
    engine = make_engine(path)
    event.listen(engine, "connect", _no_sync)  # a scratch file: made whole, then sent or dropped
    Store.create(engine, None, home, store.trust.root, [], author=author).close()
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA synchronous=OFF")
        db.execute("BEGIN")
        with store.engine.connect() as conn:
            _copy_trust(conn, db)
            cursor, count = _copy_log(conn, db, home)
        db.execute("INSERT OR REPLACE INTO lw_meta (key, value) VALUES ('pos', ?)", (codec.pack(count),))
        db.execute("COMMIT")
        db.execute("PRAGMA optimize")
    finally:
        db.close()
    return cursor, count


def _no_sync(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.execute("PRAGMA synchronous=OFF")


def _copy_trust(conn: Connection, db: sqlite3.Connection) -> None:
    db.executemany("INSERT OR REPLACE INTO lw_cert (subject, raw) VALUES (?, ?)",
                   [(r.subject, r.raw) for r in conn.execute(select(t.cert_store))])
    db.executemany("INSERT OR REPLACE INTO lw_revocation (digest, subject, raw) VALUES (?, ?, ?)",
                   [(r.digest, r.subject, r.raw) for r in conn.execute(select(t.revocation_store))])


def _copy_log(conn: Connection, db: sqlite3.Connection, home: str) -> tuple[int, int]:
    """The applied changesets `home` may see, in the hub's log order, renumbered 1..n; their heads.
    Returns (the hub position of the last one, how many)."""
    q = (select(t.log.c.id, t.log.c.author, t.log.c.scope, t.log.c.seq, t.log.c.envelope, t.log.c.received,
                t.log.c.pos)
         .where(t.log.c.status == "applied", t.log.c.envelope.is_not(None), synclog.visible(t.log.c.scope, home))
         .order_by(t.log.c.pos))
    heads: dict[tuple[bytes, str], tuple[int, bytes]] = {}
    cursor, n, batch = 0, 0, []
    with conn.execute(q.execution_options(yield_per=BATCH)) as result:
        for r in result:
            n += 1
            batch.append((r.id, r.author, r.scope, r.seq, "applied", r.envelope, r.received, n))
            feed = (r.author, r.scope)
            if r.seq > heads.get(feed, (0, b""))[0]:
                heads[feed] = (r.seq, r.id)
            cursor = r.pos
            if len(batch) >= BATCH:
                _insert_log(db, batch)
                batch = []
    _insert_log(db, batch)
    db.executemany("INSERT INTO lw_head (author, scope, seq, id) VALUES (?, ?, ?, ?)",
                   [(a, s, seq, i) for (a, s), (seq, i) in heads.items()])
    return cursor, n


def _insert_log(db: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    db.executemany("INSERT INTO lw_log (id, author, scope, seq, status, envelope, received, pos) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
