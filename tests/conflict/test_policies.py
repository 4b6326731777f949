"""The merge laws, for every policy: applying a set of changes is commutative, associative and
idempotent, through the same `merge_row` every store runs (conflict/__init__.py).

Each law is checked on merge *states*, not only on the values a query sees, and on hostile input
too: clocks from a tiny range so (hlc, author) ties are common, exact ties with different values
(a forged or forked feed), lattice values this build does not know, set removes naming tags that
belong to other elements. Convergence may not depend on every writer being honest.
"""
from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conflict.registry import Registry
from conflict.row import RowState, merge_row
from protocol import codec
from protocol.changeset import DELETE_FIELD, DELETE_VALUE, Change

EXAMPLES = int(os.environ.get("LAOWU_PROPERTY_EXAMPLES", "0"))  # soak runs raise every count


def examples(default: int) -> int:
    return EXAMPLES or default


TABLE = "t"
ROW = bytes(16)
AUTHORS = [bytes([i]) * 32 for i in (1, 2, 3)]
STAGES = ("planned", "signed", "started", "stable")

REGISTRY = Registry()
REGISTRY.declare_set(TABLE, "skills")
REGISTRY.declare_lattice(TABLE, "stage", STAGES)

Batch = list[tuple[Change, bytes]]

hlcs = st.integers(0, 4)
authors = st.sampled_from(AUTHORS)
tags = st.tuples(hlcs, authors)
lww_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 2),
    st.text("ab1", max_size=2),
    st.binary(max_size=2),
    st.lists(st.integers(0, 2), max_size=2),
)
elements = st.sampled_from(["weld", "cook", "1", 1])


def add(elem: Any) -> list[Any]:
    return ["+", elem]


def remove(elem: Any, observed: list[tuple[int, bytes]]) -> list[Any]:
    return ["-", elem, [[h, a] for h, a in observed]]


set_ops = st.one_of(st.builds(add, elements), st.builds(remove, elements, st.lists(tags, max_size=3)))
stage_values = st.one_of(
    st.sampled_from([*STAGES, "revoked", "draft", "1", "None"]), st.integers(0, 2), st.none()
)


def signed(field: str, value: Any, hlc: int, author: bytes) -> tuple[Change, bytes]:
    return Change(TABLE, ROW, field, value, hlc), author


def changes_to(field: str, values: st.SearchStrategy[Any]) -> st.SearchStrategy[tuple[Change, bytes]]:
    return st.builds(signed, st.just(field), values, hlcs, authors)


deletes = changes_to(DELETE_FIELD, st.just(DELETE_VALUE))

POLICIES: dict[str, st.SearchStrategy[tuple[Change, bytes]]] = {
    "lww": changes_to("name", lww_values),
    "set": changes_to("skills", set_ops),
    "lattice": changes_to("stage", stage_values),
    "row delete": st.one_of(
        changes_to("name", lww_values), changes_to("skills", set_ops), changes_to("stage", stage_values), deletes
    ),
}
batches = st.lists  # readability: a batch is a list of (change, author)


def merged(changes: Batch, row: RowState | None = None) -> RowState:
    return merge_row(row or RowState(), TABLE, changes, REGISTRY)[0]


@pytest.mark.parametrize("policy", POLICIES)
@settings(max_examples=examples(120), deadline=None)
@given(data=st.data())
def test_any_permutation_of_the_changes_gives_the_same_state(policy: str, data: st.DataObject) -> None:
    changes = data.draw(batches(POLICIES[policy], max_size=12), label="changes")
    shuffled = data.draw(st.permutations(changes), label="shuffled")
    assert merged(shuffled) == merged(changes)


@pytest.mark.parametrize("policy", POLICIES)
@settings(max_examples=examples(120), deadline=None)
@given(data=st.data())
def test_any_split_into_merge_row_calls_gives_the_same_state(policy: str, data: st.DataObject) -> None:
    changes = data.draw(batches(POLICIES[policy], max_size=12), label="changes")
    cuts = sorted(data.draw(st.sets(st.integers(0, len(changes)), max_size=4), label="cuts"))
    row = RowState()
    for lo, hi in zip([0, *cuts], [*cuts, len(changes)]):
        row = merged(changes[lo:hi], row)
    assert row == merged(changes)


@pytest.mark.parametrize("policy", POLICIES)
@settings(max_examples=examples(120), deadline=None)
@given(data=st.data())
def test_duplicated_changes_change_nothing(policy: str, data: st.DataObject) -> None:
    changes = data.draw(batches(POLICIES[policy], min_size=1, max_size=12), label="changes")
    again = data.draw(batches(st.sampled_from(changes), max_size=12), label="duplicates")
    with_duplicates = data.draw(st.permutations(changes + again), label="order")
    assert merged(with_duplicates) == merged(changes)


@pytest.mark.parametrize("policy", POLICIES)
@settings(max_examples=examples(120), deadline=None)
@given(data=st.data())
def test_merging_the_same_changes_again_reports_no_change(policy: str, data: st.DataObject) -> None:
    changes = data.draw(batches(POLICIES[policy], max_size=12), label="changes")
    row = merged(changes)
    assert merge_row(row, TABLE, changes, REGISTRY) == (row, set())


@settings(max_examples=examples(120), deadline=None)
@given(changes=batches(POLICIES["row delete"], max_size=12))
def test_every_field_state_survives_storage_encoding(changes: Batch) -> None:
    row = merged(changes)
    for field, state in row.fields.items():
        policy = REGISTRY.policy(TABLE, field)
        stored = codec.unpack(codec.pack(policy.encode(state)), max_bytes=1 << 20, what="state")
        assert policy.decode(stored) == state
        assert codec.pack(policy.encode(policy.decode(stored))) == codec.pack(policy.encode(state))
