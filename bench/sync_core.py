"""The sync core's costs: signing and admitting changesets, the envelope codec, field merges, and the
bytes a village's registrations take on the wire, beside pycrdt (Yrs, the Rust port of Yjs).

Everything runs against a sandbox province with real keys and certificate chains. The workload is one
village (昭觉县, 513431100201) registering 100 people of `node.domain.generate` (seeded), each card's values as
`node.domain.card.clean_person` leaves them (~16 field changes), written through `node.engine.replica.Replica`
exactly as the demo writes them and committed every 10 people. The wall clock is pinned so byte counts
repeat from run to run.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator
from unittest import mock

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pycrdt import Doc, Map

from bench import Figure, datasets
from bench.datasets import TODAY, VILLAGE
from bench.timing import rate, rates
from conflict.orset import add_op, remove_op
from conflict.registry import Registry
from conflict.row import RowState, merge_row
from node.domain.card import clean_person
from node.engine.schema import SCHEMA_VERSION, new_row_id
from node.engine.replica import Replica
from node.sandbox import Member, Sandbox
from protocol import body2, changeset, codec
from protocol.admit import admit
from protocol.certs import Trust
from protocol.changeset import Change, Changeset, open_envelope, seal
from protocol.keys import KeyPair, verify

SEED = 1
PEOPLE = 100
PER_COMMIT = 10  # people per changeset: a clerk commits after each page of the paper roster
TABLE = "person"
COUNTY = "513431000000"
NOW_MS = 1_748_736_000_000  # 2025-06-01, inside the sandbox certificates' validity
YJS_CLIENT = 0x9E3779B1  # a 32-bit client id, as Yjs in the browser draws; pycrdt's default is 53-bit


@dataclass
class World:
    village: Member
    county: Member
    trust: Trust
    registry: Registry
    people: list[dict[str, Any]]
    rows: list[bytes]


def world() -> World:
    box = Sandbox.create()
    county = box.enroll(COUNTY, "county", "510000000000")
    village = box.enroll(VILLAGE, "village", COUNTY)
    registry = Registry()
    registry.declare_set(TABLE, "skills")
    folk, rows = [], []
    for p in datasets.people(VILLAGE, PEOPLE, SEED):
        values, skills, _ = clean_person(datasets.form(p), today=TODAY)
        folk.append({**values, "skills": skills} if skills else values)
        rows.append(new_row_id(VILLAGE))
    return World(village, county, box.trust(), registry, folk, rows)


def replica(w: World, member: Member, home: str) -> Replica:
    return Replica(member.key, home, w.trust, w.registry, wall=lambda: NOW_MS)


def register(r: Replica, person: dict[str, Any], row: bytes) -> None:
    """One person as the clerk enters them: a write per field, an add per skill (skills is a set)."""
    for fld, value in person.items():
        if fld == "skills":
            for skill in value:
                r.write(TABLE, row, fld, add_op(skill))
        else:
            r.write(TABLE, row, fld, value)


def village_changesets(w: World) -> list[Changeset]:
    r = replica(w, w.village, VILLAGE)
    out: list[Changeset] = []
    for i, (person, row) in enumerate(zip(w.people, w.rows), 1):
        register(r, person, row)
        if i % PER_COMMIT == 0 and (cs := r.commit()) is not None:
            out.append(cs)
    if (cs := r.commit()) is not None:
        out.append(cs)
    return out


def yjs_register(doc: Doc[Any], people_rows: Iterator[tuple[dict[str, Any], bytes]]) -> int:
    """The same edits in Yjs: a Map per person under a root Map keyed by the row id in hex, skills as a
    nested Map used as a set (skill → true). Returns the number of field changes made."""
    persons = doc.get(TABLE, type=Map)
    n = 0
    for person, row in people_rows:
        with doc.transaction():
            m: Map[Any] = Map()
            persons[row.hex()] = m
            for fld, value in person.items():
                if fld == "skills":
                    s: Map[bool] = Map()
                    m[fld] = s
                    for skill in value:
                        s[skill] = True
                        n += 1
                else:
                    m[fld] = value
                    n += 1
    return n


def yjs_batched(w: World) -> tuple[Doc[Any], list[bytes]]:
    """Yjs doing what the replica does: edits, then one encoded update per `PER_COMMIT` people."""
    doc: Doc[Any] = Doc(client_id=YJS_CLIENT)
    updates: list[bytes] = []
    pairs = list(zip(w.people, w.rows))
    for i in range(0, len(pairs), PER_COMMIT):
        before = doc.get_state()
        yjs_register(doc, iter(pairs[i : i + PER_COMMIT]))
        updates.append(doc.get_update(before))
    return doc, updates


class _Unsigned(KeyPair):
    """A key whose signature is 64 zero bytes: `seal` minus Ed25519, to time the encoding alone."""

    def sign(self, data: bytes) -> bytes:
        return bytes(64)


def _no_verify(author: bytes, sig: bytes, data: bytes) -> None:
    return None


Batch = list[tuple[Change, bytes]]  # (change, author) pairs, as merge_row takes them


def concurrent_edits(w: World, states: dict[bytes, RowState], base_hlc: int) -> list[tuple[bytes, Batch]]:
    """Per row, what the county office changed at the same time: four plain fields (two stamped before
    the village's writes, two after, so half win), one skill added and, if the card has any, one removed."""
    author = w.county.key.public
    out = []
    for i, row in enumerate(w.rows):
        skills = states[row].fields.get("skills")
        stamp = base_hlc + i * 64
        batch = [
            Change(TABLE, row, "phone", "13912345678", stamp - 10_000_000),
            Change(TABLE, row, "employment", "已就业", stamp + 10_000_000),
            Change(TABLE, row, "monthly_pay", 5200, stamp - 10_000_000),
            Change(TABLE, row, "intended_region", "省外", stamp + 10_000_000),
            Change(TABLE, row, "skills", add_op("叉车"), stamp + 10_000_001),
        ]
        if skills is not None and skills.elements():
            batch.append(Change(TABLE, row, "skills", remove_op(skills, skills.elements()[0]), stamp + 10_000_002))
        out.append((row, [(c, author) for c in batch]))
    return out


def run(seconds: float) -> list[Figure]:
    w = world()
    sets = village_changesets(w)
    return signing(w, seconds) + merging(w, sets, seconds) + size(w, sets)


def signing(w: World, seconds: float) -> list[Figure]:
    """Figures 1-2: one person's registration, the changeset a clerk might seal after each person."""
    one = replica(w, w.village, VILLAGE)
    register(one, w.people[0], w.rows[0])
    cs = one.commit()
    assert cs is not None
    key, changes, env = w.village.key, cs.changes, cs.envelope
    body = _body(env)
    sig = key.sign(body)
    unsigned = _Unsigned(key.seed, key.public, key.secret)
    seal_rate, sign_rate = rates(
        [(lambda: seal(key, VILLAGE, 1, None, changes), 1), (lambda: key.sign(body), 1)], seconds
    )
    admit_rate, verify_rate = rates(
        [(lambda: admit(env, w.trust, NOW_MS), 1), (lambda: verify(key.public, sig, body), 1)], seconds
    )
    openssl_key = Ed25519PublicKey.from_public_bytes(key.public)
    sodium_rate, openssl_rate = rates(
        [(lambda: verify(key.public, sig, body), 1), (lambda: openssl_key.verify(sig, body), 1)], seconds
    )
    with mock.patch.object(changeset, "verify", _no_verify):
        encode, decode = rates(
            [(lambda: seal(unsigned, VILLAGE, 1, None, changes), 1), (lambda: open_envelope(env), 1)], seconds
        )
    return [
        Figure(
            "sync_core.seal", seal_rate, "changesets/s", sign_rate, "Ed25519 sign alone",
            f"protocol.changeset.seal of one person's registration ({len(changes)} changes, {len(env)} B)",
        ),
        Figure(
            "sync_core.admit", admit_rate, "changesets/s", verify_rate, "Ed25519 verify alone",
            "protocol.admit.admit of that envelope: decode, signature, certificate chain, scope, revocation, clock",
        ),
        Figure(
            "sync_core.verify", sodium_rate, "signatures/s", openssl_rate, "OpenSSL (cryptography) verify",
            f"protocol.keys.verify (libsodium via PyNaCl, the one verifier of every replica) of that {len(body)} B "
            "body, against OpenSSL's Ed25519 verify of the same bytes (the verifier before 0.3.0; docs/trust.md §8)",
        ),
        Figure(
            "sync_core.envelope_encode", encode, "envelopes/s",
            note="seal with signing stubbed: canonical body + envelope msgpack, sha-256 id",
        ),
        Figure(
            "sync_core.envelope_decode", decode, "envelopes/s",
            note="open_envelope with the signature check stubbed: strict decode, canonical re-encode check, "
            "Change objects",
        ),
    ]


def merging(w: World, sets: list[Changeset], seconds: float) -> list[Figure]:
    """Figure 3 and the throughput comparisons with pycrdt: merge alone, receive, local write + commit."""
    changes = sum(len(cs.changes) for cs in sets)
    registry = w.registry
    by_row: dict[bytes, Batch] = {}
    for cs in sets:
        for c in cs.changes:
            by_row.setdefault(c.row, []).append((c, cs.author))
    states = {row: merge_row(RowState(), TABLE, batch, registry)[0] for row, batch in by_row.items()}
    edits = concurrent_edits(w, states, sets[0].changes[0].hlc)
    update = yjs_update(w, changes)

    def merge_new() -> None:
        for batch in by_row.values():
            merge_row(RowState(), TABLE, batch, registry)

    def merge_concurrent() -> None:
        for row, batch in edits:
            merge_row(states[row], TABLE, batch, registry)

    def laowu_receive() -> None:
        county = replica(w, w.county, COUNTY)
        for cs in sets:
            if county.receive(cs.envelope).status != "accepted":
                raise AssertionError("the county refused the village's changeset")

    def yjs_apply() -> None:
        Doc().apply_update(update)

    laowu_receive()
    merge_rate, receive_rate, y_apply = rates(
        [(merge_new, changes), (laowu_receive, changes), (yjs_apply, changes)], seconds
    )
    write_rate, y_write = rates([(lambda: village_changesets(w), changes), (lambda: yjs_batched(w), changes)], seconds)
    return [
        Figure(
            "sync_core.merge_row_new", merge_rate, "field merges/s", y_apply, "pycrdt apply_update",
            f"conflict.row.merge_row of the village's {changes} changes into empty rows (lww + set field), "
            "no decode or checks; baseline: the Yjs update applied to a fresh Doc",
        ),
        Figure(
            "sync_core.merge_row_concurrent", rate(merge_concurrent, sum(len(b) for _, b in edits), seconds),
            "field merges/s",
            note="merge_row of a concurrent county edit onto each registered row: 4 lww fields (half lose), "
            "a set add and, where the card has skills, a set remove",
        ),
        Figure(
            "sync_core.receive", receive_rate, "field changes/s", y_apply, "pycrdt apply_update",
            f"a fresh county Replica.receive of the village's {len(sets)} envelopes: admit (signatures, "
            "certificates) + feed placement + merge; pycrdt checks nothing of the sort",
        ),
        Figure(
            "sync_core.write_commit", write_rate, "field changes/s", y_write, "pycrdt sets + get_update",
            f"a fresh village Replica writing all {changes} changes, committing (sealing) every {PER_COMMIT} "
            f"people; baseline: the same Map sets, get_update() every {PER_COMMIT} people",
        ),
    ]


def size(w: World, sets: list[Changeset]) -> list[Figure]:
    """Figure 4: bytes per field change, signed envelopes against one Yjs update of the same edits."""
    changes = sum(len(cs.changes) for cs in sets)
    envelope_bytes = sum(len(cs.envelope) for cs in sets)
    body_bytes = sum(len(_body(cs.envelope)) for cs in sets)
    proof = sum(64 + 32 + (32 if cs.prev else 0) for cs in sets)  # signature, author key, prev hash
    update = yjs_update(w, changes)
    _, increments = yjs_batched(w)
    y_per = len(update) / changes
    # The same changesets (same changes, key, feed positions) sealed as a store of this build seals them
    # (its schema, body v2: docs/wire-format.md), and all of them as one changeset, as a village's sync
    # after a day's work seals them. (The bench Replica stamps protocol's default schema 1, which the
    # codebook predates: its names would travel spelt out.)
    v2 = [seal(w.village.key, cs.scope, cs.seq, cs.prev, cs.changes, schema=SCHEMA_VERSION, body=2) for cs in sets]
    assert all(open_envelope(n.envelope).changes == n.changes for n in v2)
    v2_bytes = sum(len(n.envelope) for n in v2)
    one = seal(w.village.key, sets[0].scope, 1, None, [c for cs in sets for c in cs.changes], schema=SCHEMA_VERSION, body=2)
    return [
        Figure(
            "sync_core.bytes_per_change_v2", v2_bytes / changes, "B/change", y_per, "Yjs v1 update, pycrdt",
            f"the same {len(sets)} changesets sealed as body v2 (grouped by row, codebook numbers, hlc deltas, zstd "
            f"level {body2.LEVEL}), signed = {v2_bytes} B against {envelope_bytes} B as v1 "
            f"({envelope_bytes / changes:.1f} B/change); proof {proof / changes:.2f} B/change. Automerge, unsigned: "
            "about 8 B/change (issue 13's measurement; not installed here)",
        ),
        Figure(
            "sync_core.bytes_per_change_v2_one_changeset", len(one.envelope) / changes, "B/change", y_per,
            "Yjs v1 update, pycrdt",
            f"all {changes} changes as one v2 changeset (one seal per sync) = {len(one.envelope)} B, signed",
        ),
        Figure(
            "sync_core.bytes_per_change", envelope_bytes / changes, "B/change", y_per, "Yjs v1 update, pycrdt",
            f"{PEOPLE} people, {changes} field changes, {len(sets)} signed envelopes = {envelope_bytes} B; "
            f"Yjs: one get_update() of the whole doc = {len(update)} B "
            f"({sum(map(len, increments))} B as {len(increments)} incremental updates). NOTE: Laowu's bytes "
            f"include 64-byte Ed25519 signatures (with author key and prev hash: {proof / changes:.2f} B/change); "
            "Yjs's carry no signature or proof of authorship",
        ),
        Figure(
            "sync_core.body_bytes_per_change", body_bytes / changes, "B/change", y_per, "Yjs v1 update, pycrdt",
            "the same, counting only the changeset bodies (no envelope or signature); each change repeats "
            "the table name, 16-byte row id and 9-byte hlc",
        ),
    ]


def yjs_update(w: World, changes: int) -> bytes:
    """The whole village as one Yjs update, checked to hold the same edits and to apply cleanly."""
    doc: Doc[Any] = Doc(client_id=YJS_CLIENT)
    made = yjs_register(doc, zip(w.people, w.rows))
    assert made == changes, (made, changes)
    update = doc.get_update()
    check: Doc[Any] = Doc()
    check.apply_update(update)
    assert check.get(TABLE, type=Map).to_py() == doc.get(TABLE, type=Map).to_py()
    return update


def _body(envelope: bytes) -> bytes:
    body: bytes = codec.unpack(envelope, max_bytes=changeset.MAX_ENVELOPE_BYTES, what="envelope")["body"]
    return body
