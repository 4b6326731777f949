"""Ranked stages (broker filing stage, placement stage): the highest rank wins; `absorbing` tops all.

A value this build does not know (written by a newer schema) ranks below every known stage, so it
never overrides what we understand, yet it is kept and converges like any other.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conflict.types import Incoming
from protocol import codec
from protocol.changeset import Value


@dataclass(frozen=True)
class LatticeState:
    value: Value
    rank: int
    hlc: int
    author: bytes


class Lattice:
    name = "lattice"

    def __init__(self, stages: tuple[str, ...], absorbing: str | None = "revoked") -> None:
        self.stages = stages
        self.absorbing = absorbing
        self._rank = {s: i for i, s in enumerate(stages)}
        if absorbing is not None:
            self._rank[absorbing] = len(stages) + 1

    def rank(self, value: Value) -> int:
        return self._rank.get(value, -1) if isinstance(value, str) else -1

    def merge(self, state: LatticeState | None, inc: Incoming) -> LatticeState:
        new = LatticeState(inc.value, self.rank(inc.value), inc.hlc, inc.author)
        if state is None:
            return new
        mine, theirs = (state.rank, state.hlc, state.author), (new.rank, new.hlc, new.author)
        # An exact tie only comes from a forged or forked feed; the value's bytes decide, as in lww
        # (`str()` would tie 1 with "1" and let arrival order choose).
        if theirs > mine or (theirs == mine and codec.pack(new.value) > codec.pack(state.value)):
            return new
        return state

    def value(self, state: LatticeState) -> Value:
        return state.value

    def encode(self, state: LatticeState) -> Any:
        return [state.value, state.hlc, state.author]

    def decode(self, raw: Any) -> LatticeState:
        value, hlc, author = raw
        return LatticeState(value, self.rank(value), hlc, author)
