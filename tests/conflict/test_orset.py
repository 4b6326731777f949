"""set: an add-wins observed-remove set. A remove takes away the tags its writer had seen; an add
made concurrently elsewhere carries a fresh tag and survives (DESIGN §6, conflict/orset.py).
"""
from __future__ import annotations

from itertools import permutations
from typing import Any

import pytest

from conflict.orset import OrSet, SetState, add_op, remove_op
from conflict.types import Incoming
from protocol.errors import Malformed

SET = OrSet()
A, B, C = b"A" * 32, b"B" * 32, b"C" * 32


def merge_all(incoming: list[Incoming] | tuple[Incoming, ...], state: SetState | None = None) -> SetState:
    out = SET.merge(state, incoming[0]) if incoming else state
    for inc in incoming[1:]:
        out = SET.merge(out, inc)
    assert out is not None
    return out


def elements(incoming: list[Incoming] | tuple[Incoming, ...]) -> list[Any]:
    return SET.value(merge_all(incoming))


def test_an_add_puts_the_element_in_the_set() -> None:
    assert elements([Incoming(add_op("焊工"), 1, A)]) == ["焊工"]


def test_a_remove_of_the_observed_tags_removes_the_element() -> None:
    added = [Incoming(add_op("焊工"), 1, A), Incoming(add_op("焊工"), 2, B)]
    seen = merge_all(added)
    assert elements([*added, Incoming(remove_op(seen, "焊工"), 3, C)]) == []


def test_an_add_wins_over_a_concurrent_remove() -> None:
    first = Incoming(add_op("焊工"), 1, A)
    removal = Incoming(remove_op(merge_all([first]), "焊工"), 2, B)  # B had seen only the first add
    concurrent = Incoming(add_op("焊工"), 2, C)  # C adds again, not having seen B's remove
    for order in permutations([first, removal, concurrent]):
        assert elements(order) == ["焊工"]


def test_a_remove_that_arrives_before_its_add_still_removes_it() -> None:
    add = Incoming(add_op("焊工"), 1, A)
    removal = Incoming(remove_op(merge_all([add]), "焊工"), 2, B)
    assert elements([removal, add]) == elements([add, removal]) == []


def test_an_element_added_again_after_a_remove_is_back() -> None:
    add = Incoming(add_op("焊工"), 1, A)
    removal = Incoming(remove_op(merge_all([add]), "焊工"), 2, B)
    again = Incoming(add_op("焊工"), 3, A)
    for order in permutations([add, removal, again]):
        assert elements(order) == ["焊工"]


def test_a_remove_only_affects_its_own_element() -> None:
    weld = Incoming(add_op("焊工"), 1, A)
    stray = Incoming(["-", "厨师", [[1, A]]], 2, B)  # names the weld tag under another element
    assert elements([weld, stray]) == elements([stray, weld]) == ["焊工"]


def test_remove_op_names_exactly_the_tags_observed_for_the_element() -> None:
    seen = merge_all([Incoming(add_op("焊工"), 3, B), Incoming(add_op("厨师"), 2, A), Incoming(add_op("焊工"), 1, A)])
    assert remove_op(seen, "焊工") == ["-", "焊工", [[1, A], [3, B]]]
    assert remove_op(None, "焊工") == ["-", "焊工", []]


def test_elements_are_listed_integers_first_then_strings_sorted() -> None:
    added: list[str | int] = ["b", 2, "a", 1]
    assert elements([Incoming(add_op(e), i, A) for i, e in enumerate(added)]) == [1, 2, "a", "b"]


@pytest.mark.parametrize(
    "value",
    [
        "焊工",
        ["+"],
        ["*", "焊工"],
        ["+", True],
        ["+", 1.5],
        ["-", "焊工", "not a list"],
        ["-", "焊工", [[1]]],
        ["-", "焊工", [[1, 3]]],  # an author that is an integer is refused, not turned into 3 zero bytes
        ["-", "焊工", [["1", A]]],
        ["-", "焊工", [[-1, A]]],
    ],
)
def test_a_malformed_set_change_is_refused(value: Any) -> None:
    with pytest.raises(Malformed):
        SET.merge(None, Incoming(value, 1, A))
