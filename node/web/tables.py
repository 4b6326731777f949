"""Local tables of the web screens, beside the replica's own: never replicated, never signed.

Accounts belong to one machine (a village laptop or a hub), so they live in that machine's
database but outside `SQLModel.metadata`: the sync engine and its migrations never see them.
`ensure(engine)` creates what is missing; it is safe to call at every start.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, Column, Engine, MetaData, String, Table, Text

metadata = MetaData()

accounts = Table(
    "web_account",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("display", String(64), nullable=False),
    Column("password", String(200), nullable=False),  # "scrypt$n$r$p$salt$hash"
    Column("role", String(16), nullable=False),  # operator | viewer | administrator
    Column("scope", String(12), nullable=False),  # the place code whose records it may see
    Column("broker", String(32)),  # hex row id of the broker card this operator is, if any
    Column("created", BigInteger, nullable=False),
    Column("disabled", BigInteger),
)

sessions = Table(
    "web_session",
    metadata,
    Column("digest", String(64), primary_key=True),  # sha-256 of the cookie: a stolen database opens no session
    Column("account", String(64), nullable=False, index=True),
    Column("csrf", String(64), nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("seen", BigInteger, nullable=False),
)

notes = Table(
    "web_note",
    metadata,
    # Small facts a screen remembers between runs: the last sync outcome, the last import summary.
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)


def ensure(engine: Engine, meta: MetaData = metadata) -> None:
    """Create the web tables (or another local metadata's) where they are missing."""
    meta.create_all(engine, checkfirst=True)
