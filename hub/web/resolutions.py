"""The resolutions a conflict's kind offers, and applying one: the domain decides, the console only asks.

A duplicate ID number (`duplicate-id`) is settled by `node.domain.identity` (helper "identity",
issue 8): transfer (one card stays, the other closes as a duplicate), merge, or different people
(one card flagged for correction at its village). Each is a change signed by this hub's key.
"""
from __future__ import annotations

from typing import Any

CHOICES: dict[str, list[tuple[str, str]]] = {}


def offered(kind: str, rows: list[tuple[bytes, dict[str, Any] | None]]) -> list[tuple[str, str]]:
    """(code, label) of each resolution the domain offers for this conflict."""
    return CHOICES.get(kind, [])
