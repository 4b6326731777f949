"""Places as 12-digit statistical division codes; the hierarchy is by prefix (DESIGN §2).

province 2 + prefecture 2 + county 2 + township 3 + village 3 digits, zero-padded above the
village level: `513225000000` is a county, `513225103000` a township, `513225103201` a village.
This module knows only the shape of a code; whether a code exists is the division table's job.
"""
from __future__ import annotations

import functools
import re

from protocol.errors import Malformed

LEVELS = ("province", "prefecture", "county", "township", "village")
_WIDTHS = {"province": 2, "prefecture": 4, "county": 6, "township": 9, "village": 12}
_CODE = re.compile(r"^[1-9][0-9]{11}$")


def check_code(code: object, what: str = "scope") -> str:
    if not isinstance(code, str):
        # Never repr() a peer's object: a list nested a thousand deep overflowed the stack (a 500).
        raise Malformed(f"{what}: expected a 12-digit division code, got {type(code).__name__}")
    if not _CODE.match(code):
        raise Malformed(f"{what}: {code[:40]!r} is not a 12-digit division code")
    level(code)
    return code


@functools.lru_cache(maxsize=1 << 14)
def level(code: str) -> str:
    """The level a code names: the deepest non-zero segment, with zeros below it. Cached (a
    replica meets a few thousand places; admitting a changeset asks several times)."""
    for name in reversed(LEVELS):
        width = _WIDTHS[name]
        prev = _prev_width(name)
        if code[prev:width].strip("0") and not code[width:].strip("0"):
            return name
    raise Malformed(f"{code!r} names no place: its province segment is zero")


def _prev_width(name: str) -> int:
    i = LEVELS.index(name)
    return 0 if i == 0 else _WIDTHS[LEVELS[i - 1]]


def prefix(code: str) -> str:
    """The significant digits: a place contains every code that starts with them."""
    return code[: _WIDTHS[level(code)]]


def contains(outer: str, inner: str) -> bool:
    """True when `inner` is `outer` or lies inside it."""
    return inner.startswith(prefix(outer))


def parent(code: str) -> str | None:
    up = ancestors(code)
    return up[0] if up else None


def ancestors(code: str) -> list[str]:
    """Every enclosing place, nearest first (a village's township, county, prefecture, province)."""
    out: list[str] = []
    name = level(code)
    for upper in reversed(LEVELS[: LEVELS.index(name)]):
        up = code[: _WIDTHS[upper]].ljust(12, "0")
        if up != code and up[: _WIDTHS[upper]] == code[: _WIDTHS[upper]]:
            out.append(up)
    return out


def visible_to(subscriber: str, feed_scope: str) -> bool:
    """A replica receives its own subtree and its ancestors' feeds, never a sibling's."""
    return contains(subscriber, feed_scope) or contains(feed_scope, subscriber)
