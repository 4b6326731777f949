"""What sync reads from a store's log: positions past a cursor, feed heads, per-peer cursors.

Shared by the hub's handlers (serving pulls) and the node's sync client (choosing what to push).
"""
from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from sqlalchemy import Connection, bindparam, or_, select

from node.engine import tables as t
from node.engine.db import upsert
from node.engine.store import Store
from protocol import scope as scopes


def visible(col: Any, home: str) -> Any:
    """SQL: feed scope `col` lies in `home`'s subtree or is one of its ancestors."""
    return or_(within(col, home), col.in_(scopes.ancestors(home)))


def within(col: Any, home: str) -> Any:
    """SQL: feed scope `col` lies in `home`'s subtree (what a replica sends up). A range of 12-digit
    codes rather than LIKE 'prefix%': an index on the scope serves a range on either backend, in
    any collation, where LIKE needs SQLite's case_sensitive_like or PostgreSQL's C collation."""
    p = scopes.prefix(home)
    return col.between(p.ljust(12, "0"), p.ljust(12, "9"))


PAGE = 1_000  # log positions looked up per step of a pull


@contextmanager
def reading(store: Store) -> Iterator[Connection]:
    """One connection for a request's lookups (a hub's hello: trust mark, heads, anything past the
    cursor; a pull: trust mark, positions, envelopes). On PostgreSQL in autocommit: each lookup is
    one round trip to the server, where a connection per lookup cost four (pool ping, BEGIN, the
    query, ROLLBACK) and, on a busy machine, a wait for the server process to be scheduled each. The
    lookups need no common snapshot: each was its own transaction before. On SQLite a plain
    connection (a read there is BEGIN IMMEDIATE, `node.engine.db`)."""
    with store.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


def _on(store: Store, conn: Connection | None) -> Any:
    """The caller's connection, or a fresh one of `store`'s."""
    return store.engine.connect() if conn is None else nullcontext(conn)


def past(cursor: int, home: str, skip_author: bytes | None = None) -> Any:
    """SQL: the positions past `cursor` that `home` may see (except `skip_author`'s), in log order.

    Ordered by `pos + 0`, not `pos`: an expression the `lw_log_pos` index cannot hand over in order.
    Otherwise, under a LIMIT or a cursor, the planner prefers walking that index from the cursor and
    filtering on scope, betting that a match comes early; when nothing past the cursor is for this
    subscriber (a village in step at a busy hub) the walk reads the whole rest of the log (10 s at
    a million changesets). Sorting the few matches the `(scope, pos)` index finds is always cheap."""
    return _positions(home, cursor, skip_author)


def _positions(home: str, cursor: Any, author: Any) -> Any:
    q = select(t.log.c.pos).where(t.log.c.status == "applied", t.log.c.pos > cursor, visible(t.log.c.scope, home))
    if author is not None:
        q = q.where(t.log.c.author != author)
    return q.order_by(t.log.c.pos + 0)


# Statements a hello or a pull runs, built once (building one cost more than running it).
_AT_POSITIONS = (select(t.log.c.pos, t.log.c.author, t.log.c.envelope)
                 .where(t.log.c.pos.in_(bindparam("positions", expanding=True))).order_by(t.log.c.pos))
_PEER = select(t.peers).where(t.peers.c.peer == bindparam("peer"))
_HEADS_OF = select(t.heads.c.scope, t.heads.c.seq, t.heads.c.id).where(t.heads.c.author == bindparam("author"))
_ANY_OPEN = select(t.open_changes.c.n).limit(1)


@functools.lru_cache(maxsize=4_096)
def _past(home: str, skip: bool, limit: int) -> Any:
    """`past` under a limit, with the cursor and the author bound when it runs: built once per
    subscriber, where a hello and a pull each built it, which cost more than the lookup."""
    return _positions(home, bindparam("cursor"), bindparam("author") if skip else None).limit(limit)


def _values(cursor: int, skip_author: bytes | None) -> dict[str, Any]:
    return {"cursor": cursor} if skip_author is None else {"cursor": cursor, "author": skip_author}


def after(store: Store, cursor: int, home: str, budget: int, skip_author: bytes | None = None,
          conn: Connection | None = None) -> tuple[list[bytes], list[bytes], int, bool]:
    """Envelopes past `cursor` that `home` may see, up to `budget` bytes (at least one), except
    `skip_author`'s own; their authors; the new cursor; and whether more remain. Positions are
    found a `PAGE` at a time (`past`), then their envelopes read by position: one pull reads the
    index entries of what the subscriber may see past its cursor and the envelopes it returns, never
    the rest of the log (a county far behind still sorts its whole backlog's positions each page)."""
    out: list[bytes] = []
    authors: list[bytes] = []
    used, last = 0, cursor
    with _on(store, conn) as conn:
        while True:
            positions = [r.pos for r in conn.execute(_past(home, False, PAGE), {"cursor": last})]
            if not positions:
                return out, authors, last, False
            for r in conn.execute(_AT_POSITIONS, {"positions": positions}):
                if r.envelope is None or r.author == skip_author:
                    last = r.pos
                    continue
                if out and used + len(r.envelope) > budget:
                    return out, authors, last, True
                out.append(r.envelope)
                authors.append(r.author)
                used += len(r.envelope)
                last = r.pos
            if len(positions) < PAGE:
                return out, authors, last, False


def has_after(store: Store, cursor: int, home: str, skip_author: bytes | None = None,
              conn: Connection | None = None) -> bool:
    with _on(store, conn) as conn:
        return conn.execute(_past(home, skip_author is not None, 1), _values(cursor, skip_author)).first() is not None


def heads_of(store: Store, author: bytes, conn: Connection | None = None) -> list[tuple[str, int, bytes]]:
    with _on(store, conn) as conn:
        return [(r.scope, r.seq, r.id) for r in conn.execute(_HEADS_OF, {"author": author})]


def unpushed(store: Store, push_cursor: int, limit: int, budget: int) -> tuple[list[bytes], set[bytes], int]:
    """Our applied envelopes of our own subtree past `push_cursor` (what the hub may lack), their authors."""
    q = _unpushed(store.home, limit)
    out: list[bytes] = []
    authors: set[bytes] = set()
    used, last = 0, push_cursor
    with _on(store, None) as conn:
        for r in conn.execute(q, {"cursor": push_cursor}):
            if r.envelope is None:
                last = r.pos
                continue
            if out and used + len(r.envelope) > budget:
                break
            out.append(r.envelope)
            authors.add(r.author)
            used += len(r.envelope)
            last = r.pos
    return out, authors, last


def has_unpushed(store: Store, push_cursor: int, conn: Connection | None = None) -> bool:
    """Whether `unpushed` would find anything past `push_cursor` (an erased envelope counts: passing
    it moves the cursor)."""
    with _on(store, conn) as conn:
        return conn.execute(_unpushed(store.home, 1), {"cursor": push_cursor}).first() is not None


def has_open(conn: Connection) -> bool:
    """Whether local changes wait to be sealed."""
    return conn.execute(_ANY_OPEN).first() is not None


def skip_pulled(store: Store, peer: str, push_cursor: int, pulled: set[bytes]) -> int:
    """Move the push cursor for `peer` past changesets just pulled from it, when they are all that
    lies past the cursor: the peer holds them. Anything else there (a local seal, an imported
    bundle, a pending changeset released) keeps the cursor where it is. The new push cursor."""
    q = (select(t.log.c.pos, t.log.c.id).where(t.log.c.status == "applied", t.log.c.pos > push_cursor)
         .order_by(t.log.c.pos).limit(len(pulled) + 1))
    with store.engine.connect() as conn:
        rows = conn.execute(q).all()
    if not rows or any(r.id not in pulled for r in rows):
        return push_cursor
    with store.transaction() as conn:  # positions are visible in order: none below the last seen can appear later
        save_cursor(conn, peer, push=rows[-1].pos)
    return int(rows[-1].pos)


def cursors(store: Store, peer: str, conn: Connection | None = None) -> tuple[int, int]:
    with _on(store, conn) as conn:
        r = conn.execute(_PEER, {"peer": peer}).first()
    return (r.pull_cursor, r.push_cursor) if r else (0, 0)


def last_sync(store: Store, peer: str) -> int | None:
    with store.engine.connect() as conn:
        r = conn.execute(select(t.peers.c.last_sync).where(t.peers.c.peer == peer)).first()
    return int(r.last_sync) if r and r.last_sync is not None else None


def save_cursor(conn: Connection, peer: str, *, pull: int | None = None, push: int | None = None,
                when: int | None = None, error: str | None = None) -> None:
    """Record progress with a peer inside the caller's transaction (with the data it covers)."""
    r = conn.execute(_PEER, {"peer": peer}).first()
    row = {"peer": peer, "pull_cursor": r.pull_cursor if r else 0, "push_cursor": r.push_cursor if r else 0,
           "last_sync": r.last_sync if r else None, "last_error": error}
    if pull is not None:
        row["pull_cursor"] = pull
    if push is not None:
        row["push_cursor"] = push
    if when is not None:
        row["last_sync"] = when
    conn.execute(_peer_upsert(conn.dialect.name), row)


@functools.lru_cache(maxsize=64)
def _unpushed(home: str, limit: int) -> Any:
    """Our applied envelopes of `home`'s subtree past `:cursor`, in log order (a node has one home)."""
    return (select(t.log.c.pos, t.log.c.author, t.log.c.envelope)
            .where(t.log.c.status == "applied", t.log.c.pos > bindparam("cursor"), within(t.log.c.scope, home))
            .order_by(t.log.c.pos).limit(limit))


@functools.lru_cache(maxsize=None)
def _peer_upsert(dialect: str) -> Any:
    """The cursor upsert, built once per dialect: building it (its `excluded` columns) cost more than
    the sync's own lookups."""
    return upsert(dialect, t.peers, ["peer"])
