"""Add-wins observed-remove set, for skills, certificates, service items.

Wire values: `["+", elem]` adds `elem` under the change's own tag; `["-", elem, [[hlc, author], ...]]`
removes the tags its writer had observed. A remove never touches a tag it did not see, so an add
made concurrently elsewhere survives: add wins.

What a remove tombstones is the pair `(elem, tag)`, not the bare tag: a remove that names a tag of
another element (a buggy or forged writer, a tag reused by a forked feed) then affects nothing in any
order, instead of dropping that element only where the remove happened to arrive first.
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
    removed: frozenset[tuple[Elem, Tag]]

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


def _tag(raw: Any) -> Tag:
    # Checked, never coerced: bytes(n) of a remote integer would allocate n bytes.
    if (
        not isinstance(raw, list)
        or len(raw) != 2
        or isinstance(raw[0], bool)
        or not isinstance(raw[0], int)
        or raw[0] < 0
        or not isinstance(raw[1], bytes)
    ):
        raise Malformed(f"set remove tag must be [hlc, author], got {raw!r}")
    return (raw[0], raw[1])


class OrSet:
    name = "set"

    def merge(self, state: SetState | None, inc: Incoming) -> SetState:
        state = state or EMPTY
        op = inc.value
        if not isinstance(op, list) or not op or op[0] not in ("+", "-"):
            raise Malformed(f"set change must be ['+', elem] or ['-', elem, tags], got {op!r}")
        if op[0] == "+" and len(op) == 2:
            added = (_elem(op[1]), inc.tag)
            if added in state.removed:
                return state
            return SetState(state.adds | {added}, state.removed)
        if op[0] == "-" and len(op) == 3 and isinstance(op[2], list):
            elem = _elem(op[1])
            gone = frozenset((elem, _tag(t)) for t in op[2])
            return SetState(state.adds - gone, state.removed | gone)
        raise Malformed(f"set change has the wrong shape: {op!r}")

    def value(self, state: SetState) -> list[Elem]:
        return state.elements()

    def encode(self, state: SetState) -> Any:
        return [_entries(state.adds), _entries(state.removed)]

    def decode(self, raw: Any) -> SetState:
        adds, removed = raw
        return SetState(
            frozenset((e, (h, a)) for e, h, a in adds), frozenset((e, (h, a)) for e, h, a in removed)
        )


def _entries(pairs: frozenset[tuple[Elem, Tag]]) -> list[list[Any]]:
    """`[elem, hlc, author]` in one total order (ints before strings), so equal states encode alike."""
    return [[e, h, a] for e, (h, a) in sorted(pairs, key=lambda p: (isinstance(p[0], str), p[0], p[1]))]
