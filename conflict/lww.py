"""Last-writer-wins register: highest `(hlc, author)` wins."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conflict.types import Incoming
from protocol import codec
from protocol.changeset import Value


@dataclass(frozen=True)
class LwwState:
    value: Value
    hlc: int
    author: bytes



class Lww:
    name = "lww"

    def merge(self, state: LwwState | None, inc: Incoming) -> LwwState:
        if state is None:
            return LwwState(inc.value, inc.hlc, inc.author)
        mine, theirs = (state.hlc, state.author), (inc.hlc, inc.author)
        if theirs > mine:
            return LwwState(inc.value, inc.hlc, inc.author)
        # An exact (hlc, author) tie only comes from a forged or forked feed; the value's bytes decide.
        if theirs == mine and codec.pack(inc.value) > codec.pack(state.value):
            return LwwState(inc.value, inc.hlc, inc.author)
        return state

    def value(self, state: LwwState) -> Value:
        return state.value

    def encode(self, state: LwwState) -> Any:
        return [state.value, state.hlc, state.author]

    def decode(self, raw: Any) -> LwwState:
        value, hlc, author = raw
        return LwwState(value, hlc, author)
