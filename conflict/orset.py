"""Add-wins observed-remove set, for skills, certificates, service items.

Wire values: `["+", elem]` adds `elem` under the change's own tag; `["-", elem, [[hlc, author], ...]]`
removes the tags its writer had observed. A remove never touches a tag it did not see, so an add
made concurrently elsewhere survives: add wins.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conflict.types import Incoming, Tag
from protocol.errors import Malformed

Elem = str | int


@dataclass(frozen=True)
class SetState:
    adds: frozenset[tuple[Elem, Tag]]
    removed: frozenset[Tag]

    def elements(self) -> list[Elem]:
        return sorted({e for e, _ in self.adds}, key=lambda e: (isinstance(e, str), e))

    def tags_of(self, elem: Elem) -> list[Tag]:
        return sorted(t for e, t in self.adds if e == elem)


EMPTY = SetState(frozenset(), frozenset())


def add_op(elem: Elem) -> list[Any]:
    return ["+", elem]


def remove_op(state: SetState | None, elem: Elem) -> list[Any]:
    tags = state.tags_of(elem) if state else []
    return ["-", elem, [[h, a] for h, a in tags]]


def _elem(raw: Any) -> Elem:
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        raise Malformed(f"set element must be a string or integer, got {type(raw).__name__}")
    return raw


class OrSet:
    name = "set"

    def merge(self, state: SetState | None, inc: Incoming) -> SetState:
        state = state or EMPTY
        op = inc.value
        if not isinstance(op, list) or not op or op[0] not in ("+", "-"):
            raise Malformed(f"set change must be ['+', elem] or ['-', elem, tags], got {op!r}")
        if op[0] == "+" and len(op) == 2:
            tag = inc.tag
            if tag in state.removed:
                return state
            return SetState(state.adds | {(_elem(op[1]), tag)}, state.removed)
        if op[0] == "-" and len(op) == 3 and isinstance(op[2], list):
            elem = _elem(op[1])
            tags = frozenset((int(t[0]), bytes(t[1])) for t in op[2])
            adds = frozenset((e, t) for e, t in state.adds if not (e == elem and t in tags))
            return SetState(adds, state.removed | tags)
        raise Malformed(f"set change has the wrong shape: {op!r}")

    def value(self, state: SetState) -> list[Elem]:
        return state.elements()

    def encode(self, state: SetState) -> Any:
        return [
            sorted(([e, h, a] for e, (h, a) in state.adds), key=lambda x: (str(x[0]), x[1], x[2])),
            sorted([h, a] for h, a in state.removed),
        ]

    def decode(self, raw: Any) -> SetState:
        adds, removed = raw
        return SetState(
            frozenset((e, (h, a)) for e, h, a in adds), frozenset((h, a) for h, a in removed)
        )
