"""Feeds, chain positions and version vectors (DESIGN §4).

A feed is `(author, scope)`, an append-only chain: seq counts from 1, prev is the id of the feed's
previous changeset. `place()` decides, purely, what an arriving changeset is relative to what a replica
holds; storage then acts on the answer. A version vector maps feed → highest contiguous seq held, and
`lacking()` says what a peer is missing.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Mapping

from protocol import codec
from protocol import scope as scopes
from protocol.changeset import Changeset, FeedKey
from protocol.errors import Malformed
from protocol.keys import AUTHOR_LEN

Vector = dict[FeedKey, int]


class Placement(enum.Enum):
    APPLY = "apply"  # the next link: merge it and advance the head
    DUPLICATE = "duplicate"  # the same changeset is already held: change nothing
    PENDING = "pending"  # a gap before it: hold it until the missing seqs arrive
    FORK = "fork"  # a different changeset holds this (feed, seq): quarantine both, report
    BROKEN = "broken"  # the next seq, but prev names another predecessor: also a fork


@dataclass(frozen=True)
class Head:
    seq: int
    id: bytes


def place(cs: Changeset, head: Head | None, held_id: bytes | None) -> Placement:
    """Where `cs` goes, given the feed's contiguous head and the id already held at `cs.seq`, if any.

    `held_id` covers both applied and pending changesets: a second, different changeset for a seq
    already seen is a fork wherever the first one sits.
    """
    if held_id is not None:
        return Placement.DUPLICATE if held_id == cs.id else Placement.FORK
    head_seq = head.seq if head else 0
    if cs.seq <= head_seq:
        # Below the head but not held: the log was pruned. The id cannot be compared, so treat it
        # as already applied; the head's chain was verified when those seqs arrived.
        return Placement.DUPLICATE
    if cs.seq > head_seq + 1:
        return Placement.PENDING
    expected_prev = head.id if head else None
    return Placement.APPLY if cs.prev == expected_prev else Placement.BROKEN


def lacking(mine: Mapping[FeedKey, int], theirs: Mapping[FeedKey, int]) -> dict[FeedKey, tuple[int, int]]:
    """For each feed where I hold more: the inclusive seq range the other side lacks."""
    out: dict[FeedKey, tuple[int, int]] = {}
    for feed, top in mine.items():
        have = theirs.get(feed, 0)
        if top > have:
            out[feed] = (have + 1, top)
    return out


def merge_vectors(a: Mapping[FeedKey, int], b: Mapping[FeedKey, int]) -> Vector:
    out = dict(a)
    for feed, seq in b.items():
        if seq > out.get(feed, 0):
            out[feed] = seq
    return out


def dominates(a: Mapping[FeedKey, int], b: Mapping[FeedKey, int]) -> bool:
    """True when `a` holds everything `b` does."""
    return all(a.get(feed, 0) >= seq for feed, seq in b.items())


def vector_to_wire(v: Mapping[FeedKey, int]) -> list[list[object]]:
    return [[author, scope, seq] for (author, scope), seq in sorted(v.items())]


def vector_from_wire(raw: object) -> Vector:
    if not isinstance(raw, list):
        raise Malformed(f"vector: expected a list, got {type(raw).__name__}")
    if len(raw) > 1_000_000:
        raise Malformed("vector: too many feeds")
    out: Vector = {}
    for i, item in enumerate(raw):
        codec.expect(item, list, f"vector[{i}]")
        if len(item) != 3:
            raise Malformed(f"vector[{i}]: expected [author, scope, seq]")
        author = codec.expect_bytes(item[0], AUTHOR_LEN, f"vector[{i}].author")
        out[(author, scopes.check_code(item[1], f"vector[{i}].scope"))] = codec.expect_uint(item[2], f"vector[{i}].seq", 63)
    return out
