"""Rows: `merge_row` applies a batch of changes field by field, and a row delete is absorbing.

Delete wins over concurrent and later edits, purges every value and leaves only a `(hlc, author)`
tombstone: an erasure under PIPL is not undone by a laptop that was offline when it happened.
"""
from __future__ import annotations

import os
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from conflict.lww import LwwState
from conflict.orset import add_op
from conflict.registry import LWW, Registry
from conflict.row import RowState, merge_row, row_values
from protocol import codec
from protocol.changeset import DELETE_FIELD, DELETE_VALUE, Change

EXAMPLES = int(os.environ.get("LAOWU_PROPERTY_EXAMPLES", "0"))  # soak runs raise every count

TABLE, ROW = "person", bytes(16)
A, B = b"A" * 32, b"B" * 32
REGISTRY = Registry()
REGISTRY.declare_set(TABLE, "skills")
REGISTRY.declare_lattice(TABLE, "stage", ("planned", "signed"))

Batch = list[tuple[Change, bytes]]


def put(field: str, value: Any, hlc: int, author: bytes = A) -> tuple[Change, bytes]:
    return Change(TABLE, ROW, field, value, hlc), author


def delete(hlc: int, author: bytes = B) -> tuple[Change, bytes]:
    return Change(TABLE, ROW, DELETE_FIELD, DELETE_VALUE, hlc), author


def merged(changes: Batch, row: RowState | None = None) -> RowState:
    return merge_row(row or RowState(), TABLE, changes, REGISTRY)[0]


def changed(changes: Batch, row: RowState | None = None) -> set[str]:
    return merge_row(row or RowState(), TABLE, changes, REGISTRY)[1]


CARD = [put("name", "王芳", 1), put("phone", "13800000000", 2), put("skills", add_op("焊工"), 3)]


def test_a_delete_wins_over_a_concurrent_edit_stamped_later() -> None:
    edit = put("phone", "13900000000", 11)
    for batch in ([*CARD, delete(10), edit], [*CARD, edit, delete(10)], [delete(10), *CARD, edit]):
        row = merged(batch)
        assert row.deleted and row.fields == {}


def test_a_delete_purges_every_value_and_keeps_only_a_tombstone() -> None:
    row = merged([*CARD, delete(10, B)])
    assert row == RowState(fields={}, tombstone=(10, B))
    assert row_values(row, TABLE, REGISTRY) == {}


def test_edits_after_a_delete_are_ignored() -> None:
    deleted = merged([*CARD, delete(10)])
    assert merge_row(deleted, TABLE, [put("name", "李强", 10**12)], REGISTRY) == (deleted, set())


def test_of_two_deletes_the_tombstone_keeps_the_higher_stamp() -> None:
    first, second = delete(5, A), delete(9, B)
    assert merged([first, second]).tombstone == merged([second, first]).tombstone == (9, B)


def test_a_delete_reports_the_purged_fields_and_the_star() -> None:
    assert changed([delete(10)], merged(CARD)) == {"name", "phone", "skills", "*"}


def test_a_delete_of_a_deleted_row_reports_nothing() -> None:
    assert changed([delete(20, A)], merged([delete(10)])) == set()


def test_a_newer_stamp_with_the_same_value_is_not_reported() -> None:
    assert changed([put("name", "王芳", 50, B)], merged(CARD)) == set()


def test_a_value_that_moves_and_moves_back_within_one_batch_is_not_reported() -> None:
    row = merged(CARD)
    tags = [[h, a] for h, a in row.fields["skills"].tags_of("焊工")]
    assert changed([put("skills", add_op("厨师"), 4), put("skills", ["-", "厨师", [[4, A]]], 5)], row) == set()
    assert changed([put("skills", ["-", "焊工", tags], 4), put("skills", add_op("焊工"), 5)], row) == set()


def test_a_type_change_of_an_equal_looking_value_is_reported() -> None:
    row = merged([put("salary", 1, 1)])
    assert changed([put("salary", True, 2)], row) == {"salary"}  # 1 == True in Python, not on the wire


def test_merge_row_leaves_its_input_untouched() -> None:
    row = merged(CARD)
    before = RowState(dict(row.fields), row.tombstone)
    merge_row(row, TABLE, [put("name", "李强", 9), delete(10)], REGISTRY)
    assert row == before


def test_fields_nobody_declared_merge_as_lww() -> None:
    assert REGISTRY.policy(TABLE, "a_field_from_a_newer_schema") is LWW
    assert merged([put("a_field_from_a_newer_schema", "x", 1)]).fields == {
        "a_field_from_a_newer_schema": LwwState("x", 1, A)
    }


hlcs = st.integers(0, 6)
changes = st.one_of(
    st.builds(put, st.just("name"), st.sampled_from(["王芳", "李强", 1, True, None]), hlcs, st.sampled_from([A, B])),
    st.builds(put, st.just("skills"), st.sampled_from([add_op("焊工"), add_op("厨师")]), hlcs, st.sampled_from([A, B])),
    st.builds(put, st.just("stage"), st.sampled_from(["planned", "signed", "revoked"]), hlcs, st.sampled_from([A, B])),
    st.builds(delete, hlcs, st.sampled_from([A, B])),
)


@settings(max_examples=EXAMPLES or 300, deadline=None)
@given(earlier=st.lists(changes, max_size=8), batch=st.lists(changes, max_size=8))
def test_merge_row_reports_exactly_the_fields_whose_value_changed(earlier: Batch, batch: Batch) -> None:
    row = merged(earlier)
    new, reported = merge_row(row, TABLE, batch, REGISTRY)
    before, after = row_values(row, TABLE, REGISTRY), row_values(new, TABLE, REGISTRY)
    moved = {
        f
        for f in before.keys() | after.keys()
        if f not in before or f not in after or codec.pack(before[f]) != codec.pack(after[f])
    }
    if new.deleted and not row.deleted:
        moved.add("*")
    assert reported == moved
