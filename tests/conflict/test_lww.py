"""lww: the highest `(hlc, author)` wins; an exact tie is decided by the value's bytes (DESIGN §6)."""
from __future__ import annotations

from itertools import permutations

from hypothesis import given
from hypothesis import strategies as st

from conflict.lww import Lww, LwwState
from conflict.types import Incoming
from protocol import codec
from protocol.changeset import Value

LWW = Lww()
A, B = b"A" * 32, b"B" * 32


def merge_all(incoming: list[Incoming] | tuple[Incoming, ...]) -> LwwState | None:
    state: LwwState | None = None
    for inc in incoming:
        state = LWW.merge(state, inc)
    return state


def winner(incoming: list[Incoming] | tuple[Incoming, ...]) -> object:
    state = merge_all(incoming)
    assert state is not None
    return LWW.value(state)


def test_the_later_hlc_wins_in_either_arrival_order() -> None:
    early, late = Incoming("13800000001", 10, B), Incoming("13800000002", 11, A)
    assert winner([early, late]) == winner([late, early]) == "13800000002"


def test_the_author_breaks_an_hlc_tie() -> None:
    a, b = Incoming("王芳", 10, A), Incoming("王芳芳", 10, B)
    assert winner([a, b]) == winner([b, a]) == "王芳芳"


def test_an_exact_hlc_and_author_tie_is_decided_by_the_value_bytes() -> None:
    values: list[Value] = [3800, "3800", True, b"3800", None]  # a forged or forked feed: one stamp, many values
    expected = max(values, key=codec.pack)
    for order in permutations(values):
        assert winner([Incoming(v, 7, A) for v in order]) == expected


def test_edit_counts_never_decide() -> None:
    busy = [Incoming(f"edit {i}", i, A) for i in range(1, 50)]  # one laptop edits 49 times
    once = Incoming("the one later edit", 50, B)
    assert winner([*busy, once]) == winner([once, *busy]) == "the one later edit"


def test_the_state_keeps_the_winning_stamp() -> None:
    assert merge_all([Incoming("x", 5, B), Incoming("y", 9, A)]) == LwwState("y", 9, A)


@given(st.dictionaries(st.tuples(st.integers(0, 20), st.sampled_from([A, B])), st.text(max_size=3), min_size=1))
def test_the_value_stamped_highest_wins(writes: dict[tuple[int, bytes], str]) -> None:
    incoming = [Incoming(v, hlc, author) for (hlc, author), v in writes.items()]
    assert winner(incoming) == writes[max(writes)]
