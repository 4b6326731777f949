"""Shared shapes for merge policies."""
from __future__ import annotations

from dataclasses import dataclass

from protocol.changeset import Value

Tag = tuple[int, bytes]  # (hlc, author): unique per write, the LWW order key


@dataclass(frozen=True)
class Incoming:
    """A change as a merge sees it: the value, its stamp, and who signed it."""

    value: Value
    hlc: int
    author: bytes

    @property
    def tag(self) -> Tag:
        return (self.hlc, self.author)
