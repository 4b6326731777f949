"""The engine's own tables, beside the materialized domain tables (DESIGN §7).

    lw_meta      key → msgpack value: home scope, our key's author id, clock state, pinned root
    lw_row       per replicated row: the feed scope that first wrote it, the delete tombstone
    lw_field     per (row, lww or lattice field): its clock, value and materialized text (node.engine.rowstate)
    lw_set       per (row, set field, element, tag): whether a remove named it
    lw_log       every changeset held, verbatim: applied, pending (a gap before it) or held (newer schema)
    lw_peer      per peer: sync cursors both ways, last contact
    lw_head      per feed: the highest contiguous seq applied and its id
    lw_open      local changes not yet sealed into a signed changeset
    lw_quarantine changesets stamped too far ahead, with the reason; released by staff or time
    lw_fork      two different changesets for one (feed, seq): the proof, kept for county staff
    lw_conflict  semantic conflicts for staff to resolve
    lw_cert, lw_revocation  certificates and revocations, verbatim
    lw_audit     who saw or changed what, when (full views of personal data are logged here)
    lw_redaction, lw_redacted  redaction records applied here, and which changesets each redacts
"""
from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    create_mock_engine,
    text,
)
from sqlmodel import SQLModel

metadata = SQLModel.metadata
WAITING = "status != 'applied'"  # the log rows a feed holds unapplied: pending, held or revoked

meta = Table(
    "lw_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", LargeBinary, nullable=False),
)

rows = Table(
    "lw_row",
    metadata,
    Column("tbl", String(64), primary_key=True),
    Column("row", LargeBinary(16), primary_key=True),
    # The scope of the feed that first wrote the row: shown as its place if it never carried a `scope`.
    Column("feed_scope", String(12)),
    Column("tomb_hlc", BigInteger),  # set once deleted; values are purged, this small stub stays
    Column("tomb_author", LargeBinary(32)),
)

fields = Table(
    "lw_field",
    metadata,
    # One field's merge state (`node.engine.rowstate`): the greatest (rank, hlc, author, val) wins.
    Column("tbl", String(64), primary_key=True),
    Column("row", LargeBinary(16), primary_key=True),
    Column("field", String(64), primary_key=True),
    Column("rank", Integer, nullable=False),  # a lattice stage's rank; 0 for lww and set fields
    Column("hlc", BigInteger, nullable=False),
    Column("author", LargeBinary(32), nullable=False),
    Column("val", LargeBinary),  # the value's canonical msgpack bytes; NULL for a set field
    Column("mat", Text),  # the value as its column takes it; NULL if none or it does not fit
)

set_tags = Table(
    "lw_set",
    metadata,
    # An OR-set's (element, tag) pairs: added, or named by a remove (`removed` = 1, for good).
    Column("tbl", String(64), primary_key=True),
    Column("row", LargeBinary(16), primary_key=True),
    Column("field", String(64), primary_key=True),
    Column("elem", LargeBinary, primary_key=True),  # the element's canonical msgpack bytes
    Column("hlc", BigInteger, primary_key=True),
    Column("author", LargeBinary, primary_key=True),
    Column("removed", Integer, nullable=False),
)

log = Table(
    "lw_log",
    metadata,
    Column("id", LargeBinary(32), primary_key=True),
    Column("author", LargeBinary(32), nullable=False),
    Column("scope", String(12), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("status", String(12), nullable=False),  # applied | pending | held
    Column("envelope", LargeBinary),  # NULL once pruned below what the county acknowledged
    Column("received", BigInteger, nullable=False),
    # Position in this replica's log, given when applied: what peers' cursors count.
    Column("pos", BigInteger),
    Index("lw_log_feed", "author", "scope", "seq", unique=True),
    Index("lw_log_status", "status"),
    Index("lw_log_pos", "pos"),
    # Serve hello and pull (node.engine.synclog): a subscriber's visible scopes, then positions past its
    # cursor, without walking every other place's changesets in the log.
    Index("lw_log_scope_pos", "scope", "pos"),
    # The pending lookup on every push (what a feed holds unapplied): partial, so it holds only the few
    # waiting changesets and a long feed is not walked. Queries must spell the condition literally.
    Index("lw_log_waiting", "author", "scope", "seq", sqlite_where=text(WAITING), postgresql_where=text(WAITING)),
)

heads = Table(
    "lw_head",
    metadata,
    Column("author", LargeBinary(32), primary_key=True),
    Column("scope", String(12), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("id", LargeBinary(32), nullable=False),
)

open_changes = Table(
    "lw_open",
    metadata,
    Column("n", Integer, primary_key=True, autoincrement=True),
    Column("scope", String(12), nullable=False),
    Column("change", LargeBinary, nullable=False),  # msgpack [table, row, field, value, hlc]
)

quarantine = Table(
    "lw_quarantine",
    metadata,
    Column("id", LargeBinary(32), primary_key=True),
    Column("author", LargeBinary(32), nullable=False),
    Column("scope", String(12), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("envelope", LargeBinary, nullable=False),
    Column("code", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("received", BigInteger, nullable=False),
)

forks = Table(
    "lw_fork",
    metadata,
    Column("n", Integer, primary_key=True, autoincrement=True),
    Column("author", LargeBinary(32), nullable=False),
    Column("scope", String(12), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("held", LargeBinary, nullable=False),
    Column("incoming", LargeBinary, nullable=False),
    Column("detected", BigInteger, nullable=False),
    Index("lw_fork_pair", "author", "scope", "seq"),
)

conflicts = Table(
    "lw_conflict",
    metadata,
    Column("key", LargeBinary(16), primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("tbl", String(64), nullable=False),
    Column("rows", LargeBinary, nullable=False),
    Column("detail", Text, nullable=False),
    Column("detected", BigInteger, nullable=False),
    Column("resolved", BigInteger),
    Column("resolution", Text),
)

peers = Table(
    "lw_peer",
    metadata,
    Column("peer", String(200), primary_key=True),  # hub URL, or a peer's author id in hex
    Column("pull_cursor", BigInteger, nullable=False, default=0),  # the peer's log position we applied
    Column("push_cursor", BigInteger, nullable=False, default=0),  # our log position the peer acknowledged
    Column("last_sync", BigInteger),
    Column("last_error", Text),
)

cert_store = Table(
    "lw_cert",
    metadata,
    Column("subject", LargeBinary(32), primary_key=True),
    Column("raw", LargeBinary, nullable=False),
)

revocation_store = Table(
    "lw_revocation",
    metadata,
    # Every revocation is kept verbatim: two of one key merge to the stricter cut-off on load,
    # and peers receive both, so they merge alike.
    Column("digest", LargeBinary(32), primary_key=True),
    Column("subject", LargeBinary(32), nullable=False, index=True),
    Column("raw", LargeBinary, nullable=False),
)

audit = Table(
    "lw_audit",
    metadata,
    Column("n", Integer, primary_key=True, autoincrement=True),
    Column("at", BigInteger, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(32), nullable=False),
    Column("tbl", String(64), nullable=False),
    Column("row", String(32)),
    Column("detail", Text, nullable=False),
)

redactions = Table(
    "lw_redaction",
    metadata,
    # Every redaction record applied here, verbatim (`node.engine.redact`): served inside the redacted
    # envelopes it vouches for, and consulted when an original it names arrives late.
    Column("id", LargeBinary(32), primary_key=True),
    Column("raw", LargeBinary, nullable=False),
    Column("applied", BigInteger, nullable=False),
)

redacted = Table(
    "lw_redacted",
    metadata,
    # changeset id → the latest record that redacts it: an original that arrives after its
    # redaction (an old USB stick) is stored redacted, never as it came.
    Column("id", LargeBinary(32), primary_key=True),
    Column("record", LargeBinary(32), nullable=False),
)


def create_all(engine: Engine) -> None:
    """Create every table and index of a store (the replicated domain tables included, once registered).

    A new SQLite file gets the CREATE statements compiled once per process (`_sqlite_ddl`): SQLAlchemy
    compiles DDL afresh on every `create_all`, two thirds of the CPU of creating a store, and the tests
    and the simulator create thousands. A file that already has tables, and PostgreSQL, go through
    `metadata.create_all`, which looks for each table first."""
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            if conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar() == 0:
                for statement in _sqlite_ddl(tuple(metadata.tables)):
                    conn.exec_driver_sql(statement)
                return
    metadata.create_all(engine)


@functools.lru_cache(maxsize=4)
def _sqlite_ddl(tables: tuple[str, ...]) -> tuple[str, ...]:
    """What `metadata.create_all` runs on an empty SQLite database, as text, for these registered tables
    (tests/node/test_store.py checks it makes the same schema)."""
    out: list[str] = []

    def keep(sql: Any, *_args: Any, **_kw: Any) -> None:
        out.append(str(sql.compile(dialect=mock.dialect)))

    mock = create_mock_engine("sqlite://", keep)
    metadata.create_all(mock, checkfirst=False)
    return tuple(out)
