"""What a console account may see: the places inside its scope, checked on the server for every request.

An account's `scope` is a place code (a county for county staff, the province for province staff,
a township or a village for their own staff). A page lists only rows whose place lies inside it,
and a page about one object (a conflict, a quarantined changeset, a person) answers 404 when the
object lies outside, the same answer as for an object that does not exist, so nothing leaks.
"""
from __future__ import annotations

from starlette.exceptions import HTTPException

from node.web.accounts import Account
from protocol import scope as scopes


def sees(user: Account, place: str | None) -> bool:
    """Whether `place` (a 12-digit code) lies inside the account's scope."""
    if not place:
        return False
    try:
        return scopes.contains(user.scope, place)
    except Exception:  # a malformed code in a row is outside every scope
        return False


def require(user: Account, *places: str | None) -> None:
    """404 unless at least one of `places` lies inside the account's scope."""
    if not any(sees(user, p) for p in places):
        raise HTTPException(404)


def prefix(user: Account) -> str:
    """The code prefix of the account's subtree, for SQL `LIKE prefix%` filters."""
    return scopes.prefix(user.scope)
