"""lattice: ranked stages (placement, broker filing). The highest rank wins whatever the clocks say;
the absorbing stage (`revoked`) tops every rank; values this build does not know rank lowest.
"""
from __future__ import annotations

from itertools import permutations

from conflict.lattice import Lattice, LatticeState
from conflict.types import Incoming
from protocol import codec
from protocol.changeset import Value

STAGE = Lattice(("planned", "signed", "started", "stable"), absorbing="revoked")
A, B = b"A" * 32, b"B" * 32


def merge_all(incoming: list[Incoming] | tuple[Incoming, ...]) -> LatticeState | None:
    state: LatticeState | None = None
    for inc in incoming:
        state = STAGE.merge(state, inc)
    return state


def stage(incoming: list[Incoming] | tuple[Incoming, ...]) -> object:
    state = merge_all(incoming)
    assert state is not None
    return STAGE.value(state)


def test_a_higher_stage_wins_over_a_later_lower_one() -> None:
    signed, planned_later = Incoming("signed", 10, A), Incoming("planned", 99, B)
    assert stage([signed, planned_later]) == stage([planned_later, signed]) == "signed"


def test_the_highest_stage_seen_wins_in_any_order() -> None:
    writes = [Incoming(s, hlc, A) for hlc, s in enumerate(["started", "planned", "stable", "signed"])]
    for order in permutations(writes):
        assert stage(order) == "stable"


def test_revoked_absorbs_every_stage() -> None:
    revoked, stable = Incoming("revoked", 1, A), Incoming("stable", 99, B)
    assert stage([revoked, stable]) == stage([stable, revoked]) == "revoked"


def test_an_unknown_value_ranks_below_every_known_stage() -> None:
    newer_schema, planned = Incoming("paused", 99, B), Incoming("planned", 1, A)
    assert STAGE.rank("paused") < STAGE.rank("planned")
    assert stage([newer_schema, planned]) == stage([planned, newer_schema]) == "planned"


def test_an_unknown_value_is_kept_until_a_known_stage_arrives() -> None:
    state = merge_all([Incoming("paused", 5, B)])
    assert state is not None
    assert STAGE.value(STAGE.decode(STAGE.encode(state))) == "paused"


def test_within_one_rank_the_higher_hlc_then_author_wins() -> None:
    paused, on_hold = Incoming("paused", 5, A), Incoming("on-hold", 5, B)  # both unknown: rank -1
    assert stage([paused, on_hold]) == stage([on_hold, paused]) == "on-hold"
    assert stage([Incoming("paused", 6, A), on_hold]) == "paused"


def test_an_exact_tie_is_decided_by_the_value_bytes() -> None:
    pairs: list[list[Value]] = [[1, "1"], [None, "None"]]
    for values in pairs:  # unknown, one stamp, equal under str()
        expected = max(values, key=codec.pack)
        for order in permutations(values):
            assert stage([Incoming(v, 7, A) for v in order]) == expected


def test_without_an_absorbing_stage_revoked_is_just_unknown() -> None:
    assert Lattice(("planned", "signed"), absorbing=None).rank("revoked") == -1


def test_decoding_re_ranks_with_this_builds_stages() -> None:
    older_build = Lattice(("planned",), absorbing=None)
    state = older_build.merge(None, Incoming("signed", 3, A))
    assert older_build.rank("signed") == -1
    assert STAGE.decode(older_build.encode(state)).rank == STAGE.rank("signed")
