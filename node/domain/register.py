"""Counting people the way filings and screens must (一人一卡, docs/identity.md).

A person is a distinct ID number over **active** cards (`closed_on IS NULL`): a card closed by a
transfer, a duplicate or a merge is a reference, not a person. An ID number held by more than one
active card is an unresolved `duplicate-id` conflict: it is counted once and flagged, never twice.
Pure SQL on the materialized `person` table, the same on SQLite and PostgreSQL.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, ColumnElement, Table, func, select, true

from node.domain.person import Person
from protocol import scope as scopes

PERSON: Table = Person.__table__  # type: ignore[attr-defined]


def active(person: Table = PERSON) -> ColumnElement[bool]:
    """An open card (tables of databases not yet upgraded have no `closed_on`: every card is open)."""
    return person.c.closed_on.is_(None) if "closed_on" in person.c else true()


def _within(person: Table, place: str | None) -> ColumnElement[bool]:
    return person.c.scope.like(scopes.prefix(place) + "%") if place else true()


def active_people(conn: Connection, place: str | None = None) -> int:
    """Persons in `place` (default everywhere held): distinct ID numbers over active cards."""
    q = select(func.count(func.distinct(PERSON.c.id_number))).where(active(), _within(PERSON, place))
    return int(conn.execute(q).scalar_one())


def duplicate_ids(conn: Connection, place: str | None = None) -> set[str]:
    """ID numbers held by more than one active card in `place`: unresolved duplicates, to flag."""
    q = (select(PERSON.c.id_number).where(active(), _within(PERSON, place))
         .group_by(PERSON.c.id_number).having(func.count() > 1))
    return {r[0] for r in conn.execute(q)}


def flagged(rows: list[dict[str, Any]], duplicates: set[str]) -> list[dict[str, Any]]:
    """Rows of a list with `duplicate` set where their ID number is an unresolved duplicate."""
    return [{**r, "duplicate": r.get("id_number") in duplicates} for r in rows]
