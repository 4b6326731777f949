"""Feeds: chain positions, forks and version vectors (DESIGN §4), alone and through an in-memory replica."""
from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conflict.registry import Registry
from node.engine.replica import Replica
from node.sandbox import Sandbox
from protocol import clock
from protocol.changeset import Change, Changeset, seal
from protocol.errors import Malformed
from protocol.feed import (
    Head,
    Placement,
    Vector,
    dominates,
    lacking,
    merge_vectors,
    place,
    vector_from_wire,
    vector_to_wire,
)
from protocol.keys import KeyPair

COUNTY, VILLAGE, SIBLING = "513225000000", "513225103201", "513225103202"
NOW_MS = 1_700_000_000_000
ROW = bytes(16)
KEY = KeyPair.from_seed(b"tests/feed")


def chain(n: int, key: KeyPair = KEY, scope: str = VILLAGE, tag: str = "a") -> list[Changeset]:
    """A genuine feed of `n` changesets; `tag` makes different chains of the same feed."""
    out: list[Changeset] = []
    for seq in range(1, n + 1):
        change = Change("person", ROW, "name", f"{tag}{seq}", clock.pack(NOW_MS, seq))
        out.append(seal(key, scope, seq, out[-1].id if out else None, [change]))
    return out


def head(cs: Changeset) -> Head:
    return Head(cs.seq, cs.id)


# -- place -------------------------------------------------------------------------------------


def test_the_first_changeset_of_a_new_feed_applies() -> None:
    assert place(chain(1)[0], None, None) is Placement.APPLY


def test_the_next_link_of_a_feed_applies() -> None:
    one, two = chain(2)
    assert place(two, head(one), None) is Placement.APPLY


def test_a_replay_of_a_held_changeset_is_a_duplicate() -> None:
    one, two = chain(2)
    assert place(two, head(two), two.id) is Placement.DUPLICATE


def test_a_seq_below_the_head_that_is_no_longer_held_is_a_duplicate() -> None:
    one, two, three = chain(3)
    assert place(one, head(three), None) is Placement.DUPLICATE  # the log was pruned below the head


def test_a_changeset_after_a_gap_is_pending() -> None:
    one, two, three = chain(3)
    assert place(three, head(one), None) is Placement.PENDING
    assert place(three, None, None) is Placement.PENDING


def test_a_different_changeset_at_a_held_seq_is_a_fork() -> None:
    mine, theirs = chain(2, tag="a")[1], chain(2, tag="b")[1]
    assert place(theirs, head(mine), mine.id) is Placement.FORK


def test_a_different_changeset_at_a_pending_seq_is_a_fork() -> None:
    pending, other = chain(3, tag="a")[2], chain(3, tag="b")[2]
    assert place(other, None, pending.id) is Placement.FORK


def test_the_next_seq_naming_another_predecessor_is_a_broken_chain() -> None:
    ours, theirs = chain(2, tag="a"), chain(2, tag="b")
    assert place(theirs[1], head(ours[0]), None) is Placement.BROKEN


def test_a_forged_prev_at_the_next_seq_is_a_broken_chain() -> None:
    one = chain(1)[0]
    forged = seal(KEY, VILLAGE, 2, bytes(32), [Change("person", ROW, "name", "x", 1)])
    assert place(forged, head(one), None) is Placement.BROKEN


# -- vectors -----------------------------------------------------------------------------------

A, B = (KEY.public, VILLAGE), (KEY.public, SIBLING)
C = (KeyPair.from_seed(b"tests/feed/other").public, COUNTY)


def test_lacking_lists_the_inclusive_ranges_the_other_side_misses() -> None:
    assert lacking({A: 5, B: 2, C: 1}, {A: 3, B: 2}) == {A: (4, 5), C: (1, 1)}


def test_nothing_is_lacking_from_a_vector_that_dominates() -> None:
    assert lacking({A: 3}, {A: 7, B: 1}) == {}


def test_merge_takes_the_highest_seq_of_every_feed() -> None:
    assert merge_vectors({A: 5, B: 1}, {A: 2, C: 4}) == {A: 5, B: 1, C: 4}


def test_dominates_means_holding_everything_the_other_holds() -> None:
    assert dominates({A: 5, B: 1}, {A: 5})
    assert dominates({A: 1}, {})
    assert not dominates({A: 5}, {A: 5, B: 1})
    assert not dominates({A: 4, B: 9}, {A: 5})


_feeds = st.sampled_from([A, B, C])
_vectors = st.dictionaries(_feeds, st.integers(1, 100), max_size=3)


@settings(max_examples=200)
@given(a=_vectors, b=_vectors, c=_vectors)
def test_merging_vectors_is_a_join(a: Vector, b: Vector, c: Vector) -> None:
    """Commutative, associative, idempotent, and the least vector dominating both."""
    ab = merge_vectors(a, b)
    assert ab == merge_vectors(b, a)
    assert merge_vectors(ab, c) == merge_vectors(a, merge_vectors(b, c))
    assert merge_vectors(a, a) == a
    assert dominates(ab, a) and dominates(ab, b)
    assert set(lacking(ab, a)) <= set(b)
    assert not lacking(a, ab) and not lacking(b, ab)


def test_a_vector_round_trips_through_its_wire_form_sorted() -> None:
    v = {C: 4, A: 5, B: 1}
    wire = vector_to_wire(v)
    assert wire == sorted(wire)
    assert vector_from_wire(wire) == v


@pytest.mark.parametrize(
    "wire",
    [
        {"a": 1},
        b"",
        [(KEY.public, VILLAGE, 1)],
        [[KEY.public, VILLAGE]],
        [[KEY.public, VILLAGE, 1, 0]],
        [[KEY.public[:31], VILLAGE, 1]],
        [[KEY.public.hex(), VILLAGE, 1]],
        [[KEY.public, "51322510320", 1]],
        [[KEY.public, 513225103201, 1]],
        [[KEY.public, VILLAGE, -1]],
        [[KEY.public, VILLAGE, True]],
        [[KEY.public, VILLAGE, 2**63]],
        [[KEY.public, VILLAGE, "1"]],
    ],
    ids=[
        "map", "bytes", "tuple item", "two items", "four items", "short author", "author as text",
        "short scope", "scope as int", "negative seq", "bool seq", "seq over 63 bits", "seq as text",
    ],
)
def test_a_bad_vector_wire_form_is_malformed(wire: Any) -> None:
    with pytest.raises(Malformed):
        vector_from_wire(wire)


# -- through a replica -------------------------------------------------------------------------


def replica(sandbox: Sandbox, code: str) -> Replica:
    return Replica(sandbox.members[code].key, code, sandbox.trust(), Registry(), wall=lambda: NOW_MS)


def written(r: Replica, *values: str) -> list[Changeset]:
    out = []
    for value in values:
        r.write("person", ROW, "name", value)
        cs = r.commit()
        assert cs is not None
        out.append(cs)
    return out


def snapshot(r: Replica) -> tuple[object, ...]:
    return (
        r.values(),
        r.vector(),
        {f: dict(seqs) for f, seqs in r.held.items()},
        {f: dict(seqs) for f, seqs in r.pending.items()},
        list(r.quarantine),
        list(r.forks),
        r.hlc.last,
    )


def test_a_replica_answers_a_replayed_envelope_duplicate_and_changes_nothing(sandbox: Sandbox) -> None:
    village, hub = replica(sandbox, VILLAGE), replica(sandbox, COUNTY)
    one, two = written(village, "王秀英", "王秀云")
    assert [hub.receive(one.envelope).status, hub.receive(two.envelope).status] == ["accepted", "accepted"]
    before = snapshot(hub)
    assert hub.receive(one.envelope).status == "duplicate"
    assert hub.receive(two.envelope).status == "duplicate"
    assert snapshot(hub) == before


def test_a_replica_holds_a_gapped_changeset_pending_then_releases_it(sandbox: Sandbox) -> None:
    village, hub = replica(sandbox, VILLAGE), replica(sandbox, COUNTY)
    one, two, three = written(village, "a", "b", "c")
    assert hub.receive(one.envelope).status == "accepted"
    assert hub.receive(three.envelope).status == "pending"
    assert hub.vector() == {one.feed: 1}
    outcome = hub.receive(two.envelope)
    assert (outcome.status, outcome.released) == ("accepted", 1)
    assert hub.vector() == {one.feed: 3} and not hub.pending[one.feed]
    assert hub.values() == village.values()


def test_a_replica_answers_a_pending_replay_duplicate(sandbox: Sandbox) -> None:
    village, hub = replica(sandbox, VILLAGE), replica(sandbox, COUNTY)
    one, two = written(village, "a", "b")
    assert hub.receive(two.envelope).status == "pending"
    assert hub.receive(two.envelope).status == "duplicate"


def test_a_replica_records_a_fork_with_both_envelopes(sandbox: Sandbox) -> None:
    laptop, hub = replica(sandbox, VILLAGE), replica(sandbox, COUNTY)
    restored = replica(sandbox, VILLAGE)  # the same key restored from an old backup: its feed starts over
    (original,) = written(laptop, "王秀英")
    (rewritten,) = written(restored, "王秀云")
    assert hub.receive(original.envelope).status == "accepted"
    outcome = hub.receive(rewritten.envelope)
    assert (outcome.status, outcome.code) == ("fork", "fork")
    assert hub.forks == [(original.envelope, rewritten.envelope)]
    assert hub.vector() == {original.feed: 1}
    assert hub.values() == laptop.values()  # never silently merged


def test_a_replica_records_a_broken_chain_as_a_fork_with_the_held_predecessor(sandbox: Sandbox) -> None:
    laptop, hub = replica(sandbox, VILLAGE), replica(sandbox, COUNTY)
    (one,) = written(laptop, "a")
    forged = seal(sandbox.members[VILLAGE].key, VILLAGE, 2, bytes(32), [Change("person", ROW, "name", "x", clock.pack(NOW_MS))])
    hub.receive(one.envelope)
    assert hub.receive(forged.envelope).status == "fork"
    assert hub.forks == [(one.envelope, forged.envelope)]
    assert hub.vector() == {one.feed: 1}


def test_a_village_replica_refuses_a_sibling_villages_feed(sandbox: Sandbox) -> None:
    sibling, village = replica(sandbox, SIBLING), replica(sandbox, VILLAGE)
    (cs,) = written(sibling, "a")
    outcome = village.receive(cs.envelope)
    assert (outcome.status, outcome.code) == ("refused", "out-of-scope")
    assert village.vector() == {}
