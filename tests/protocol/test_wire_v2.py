"""Changeset body v2 (protocol/body2.py, docs/wire-format.md): grouped, numbered, compressed, bounded,
one valid form, and readable as a held newer-schema changeset by the v1 rules of earlier releases.

Hostile payloads are built here by hand (msgpack, then zstd or a stored frame) and signed with the
author's real key, so they get past the signature and reach the checks behind it.
"""
from __future__ import annotations

import hashlib
import os
import tracemalloc
from typing import Any

import msgpack
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from node import domain  # noqa: F401  (registers every replicated table)
from node.engine import schema
from node.sandbox import Sandbox
from protocol import body2, codebook
from protocol import redaction as rd
from protocol.admit import admit
from protocol.certs import Trust
from protocol.changeset import MAX_VALUE_BYTES, Change, envelope_parts, open_envelope, redacted_envelope, seal
from protocol.errors import BadSignature, Malformed, TooLarge
from protocol.keys import KeyPair

COUNTY, VILLAGE = "513225000000", "513225103201"
NOW_MS = 1_700_000_000_000
H = NOW_MS << 16
ROW = int(VILLAGE).to_bytes(5, "big") + b"LW\x02" + b"\x01" * 8
OTHER = int(VILLAGE).to_bytes(5, "big") + b"LW\x02" + b"\x02" * 8
CARRIER = 0xFFFF


def card(row: bytes, h: int, name: str = "王秀英") -> list[Change]:
    return [Change("person", row, "scope", VILLAGE, h), Change("person", row, "name", name, h + 1),
            Change("person", row, "skills", ["+", "焊工"], h + 2), Change("person", row, "monthly_pay", 4200, h + 3)]


def key(box: Sandbox) -> KeyPair:
    return box.members[VILLAGE].key


def pack(obj: Any) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def hostile(k: KeyPair, payload: Any = None, *, frame: bytes | None = None, top: int = H) -> bytes:
    """An envelope signed by `k` whose v2 payload is exactly `payload` (or whose frame is `frame`)."""
    if frame is None:
        frame = zstandard.ZstdCompressor(level=3).compress(payload if isinstance(payload, bytes) else pack(payload))
    carriers = [["lw_body", bytes(16), "v2", frame[i:i + body2.CHUNK], top] for i in range(0, len(frame), body2.CHUNK)]
    raw = pack({"v": 1, "author": k.public, "scope": VILLAGE, "seq": 1, "prev": None, "schema": CARRIER,
                "changes": carriers})
    return pack({"body": raw, "sig": k.sign(raw)})


def test_a_v2_changeset_decodes_back_to_itself_grouped_by_table_and_row(sandbox: Sandbox) -> None:
    changes = [*card(ROW, H)[:2], Change("notes", ROW, "text", b"\x00\x01", H + 2), *card(OTHER, H + 10)[:2],
               Change("person", ROW, "*", "delete", H + 20)]
    cs = seal(key(sandbox), VILLAGE, 1, None, changes, schema=2, body=2)
    back = open_envelope(cs.envelope)
    assert back == cs and back.body == 2 and back.schema == 2
    assert [(c.table, c.row, c.field) for c in back.changes] == [
        ("person", ROW, "scope"), ("person", ROW, "name"), ("person", ROW, "*"),
        ("person", OTHER, "scope"), ("person", OTHER, "name"), ("notes", ROW, "text")]
    assert sorted(back.changes, key=lambda c: c.hlc) == sorted(changes, key=lambda c: c.hlc)


def test_the_id_is_the_hash_of_the_compressed_bytes_sent_and_the_signature_covers_them(sandbox: Sandbox) -> None:
    cs = seal(key(sandbox), VILLAGE, 1, None, card(ROW, H), schema=2, body=2)
    body, sig = envelope_parts(cs.envelope)
    assert cs.id == hashlib.sha256(body).digest()
    frame = msgpack.unpackb(body)["changes"][0][3]
    at = cs.envelope.index(frame) + len(frame) // 2
    tampered = bytearray(cs.envelope)
    tampered[at] ^= 0x01
    with pytest.raises(BadSignature):
        open_envelope(bytes(tampered))


def test_a_v2_body_is_a_v1_body_of_schema_65535_that_earlier_releases_hold(sandbox: Sandbox) -> None:
    """What a 0.2.0 replica checks (v1 keys in order, 5-item changes, names ≤ 64, 16-byte rows, values
    ≤ 64 KiB) passes, and its schema is above any it knows: it holds the changeset until upgraded."""
    big = [Change("photo", ROW, f"f{i}", os.urandom(1000), H + i) for i in range(150)]  # > 64 KiB compressed
    cs = seal(key(sandbox), VILLAGE, 1, None, big, schema=2, body=2)
    m = msgpack.unpackb(envelope_parts(cs.envelope)[0])
    assert list(m) == ["v", "author", "scope", "seq", "prev", "schema", "changes"] and m["v"] == 1
    assert m["schema"] == CARRIER > schema.SCHEMA_VERSION
    assert len(m["changes"]) == 3
    for table, row, fld, value, hlc in m["changes"]:
        assert (table, len(row), fld, hlc) == ("lw_body", 16, "v2", cs.max_hlc)
        assert 0 < len(value) <= MAX_VALUE_BYTES
    assert open_envelope(cs.envelope).changes == cs.changes


def test_a_zip_bomb_is_refused_as_too_large_before_it_is_decompressed(sandbox: Sandbox) -> None:
    bomb = zstandard.ZstdCompressor(level=3).compress(b"\x90" * (64 << 20))  # 64 MiB of empty lists
    env = hostile(key(sandbox), frame=bomb)
    assert len(env) < 10_000
    tracemalloc.start()
    try:
        with pytest.raises(TooLarge, match="refused before decompressing"):
            open_envelope(env)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 << 20


def test_a_frame_that_does_not_declare_its_size_is_refused(sandbox: Sandbox) -> None:
    frame = zstandard.ZstdCompressor(write_content_size=False).compress(pack([2, []]))
    with pytest.raises(Malformed, match="declare its decompressed size"):
        open_envelope(hostile(key(sandbox), frame=frame))


@pytest.mark.parametrize("how", ["skippable frame first", "second frame after", "trailing bytes", "not zstd"])
def test_a_payload_that_is_not_exactly_one_zstd_frame_is_refused(sandbox: Sandbox, how: str) -> None:
    one = zstandard.ZstdCompressor().compress(pack([2, []]))
    frame = {"skippable frame first": (0x184D2A50).to_bytes(4, "little") + (2).to_bytes(4, "little") + b"hi" + one,
             "second frame after": one + one, "trailing bytes": one + b"\x00", "not zstd": pack([2, []])}[how]
    with pytest.raises(Malformed):
        open_envelope(hostile(key(sandbox), frame=frame, top=0))


def payload(*groups: Any, schema_: int = 2) -> list[Any]:
    return [schema_, list(groups)]


PERSON, NAME, SCOPE = codebook.CODEBOOK.table_code("person", 2), 3, 1


@pytest.mark.parametrize("case,body", [
    ("a name the codebook numbers, spelt out", payload(["person", [[ROW, [NAME, "王", H]]]])),
    ("a field name the codebook numbers", payload([PERSON, [[ROW, ["name", "王", H]]]])),
    ("the same row twice", payload([PERSON, [[ROW, [NAME, "王", H]], [ROW, [SCOPE, VILLAGE, 0]]]])),
    ("the same table twice", payload([PERSON, [[ROW, [NAME, "王", H]]]], [PERSON, [[OTHER, [NAME, "李", 0]]]])),
    ("a row with no fields", payload([PERSON, [[ROW, [NAME, "王", H]], [OTHER, []]]])),
    ("a table with no rows", payload([PERSON, [[ROW, [NAME, "王", H]]]], ["notes", []])),
    ("a long int encoding", None),
])
def test_a_payload_not_in_its_one_canonical_form_is_refused(sandbox: Sandbox, case: str, body: Any) -> None:
    if body is None:  # the hlc as an int64 where msgpack's form is a uint64: same value, other bytes
        raw = pack(payload([PERSON, [[ROW, [NAME, "王", H]]]])).replace(pack(H), b"\xd3" + H.to_bytes(8, "big"))
    else:
        raw = pack(body)
    with pytest.raises(Malformed, match="canonical"):
        open_envelope(hostile(key(sandbox), raw))


@pytest.mark.parametrize("case,body,top", [
    ("the carrier's hlc is not the highest inside", payload([PERSON, [[ROW, [NAME, "王", H]]]]), H - 1),
    ("an hlc below zero", payload([PERSON, [[ROW, [NAME, "王", -1]]]]), 0),
    ("a delete with a value", payload([PERSON, [[ROW, [0, "erase", H]]]]), H),
    ("fields not in threes", payload([PERSON, [[ROW, [NAME, "王"]]]]), H),
    ("a number its schema does not have", payload([999, [[ROW, [1, "x", H]]]]), H),
    ("a field number its table does not have", payload([PERSON, [[ROW, [999, "x", H]]]]), H),
    ("a placeholder spelt out", payload(["#7", [[ROW, [1, "x", H]]]]), H),
    ("a row id that is not bytes", payload([PERSON, [["row", [NAME, "王", H]]]]), H),
    ("the carrier's own schema inside", payload([PERSON, [[ROW, [NAME, "王", H]]]], schema_=CARRIER), H),
])
def test_a_malformed_payload_is_refused_with_a_clear_reason(sandbox: Sandbox, case: str, body: Any, top: int) -> None:
    with pytest.raises(Malformed):
        open_envelope(hostile(key(sandbox), body, top=top))


def test_a_payload_of_more_changes_than_a_changeset_may_hold_is_too_large(sandbox: Sandbox) -> None:
    body = payload([PERSON, [[ROW, [NAME, "x", 0] * 20_001]]])
    with pytest.raises(TooLarge):
        open_envelope(hostile(key(sandbox), body, top=0))


def test_numbers_from_a_newer_schema_decode_as_placeholders_and_nothing_is_dropped(sandbox: Sandbox) -> None:
    newer = codebook.CODEBOOK.schema + 1
    body = payload([PERSON, [[ROW, [NAME, "王", H, 77, "新字段", 1]]]], [40, [[ROW, [1, "x", 0]]]], schema_=newer)
    cs = open_envelope(hostile(key(sandbox), body, top=H + 1))
    assert cs.schema == newer  # above SCHEMA_VERSION: a replica holds it until an upgrade names the numbers
    assert [(c.table, c.field, c.value) for c in cs.changes] == [
        ("person", "name", "王"), ("person", "#77", "新字段"), ("#40", "#1", "x")]


def test_a_redacted_v2_body_is_the_same_bytes_on_every_replica_and_proves_itself(sandbox: Sandbox, trust: Trust) -> None:
    cs = seal(key(sandbox), VILLAGE, 1, None, [*card(ROW, H), *card(OTHER, H + 10, "李明")], schema=2, body=2)
    body, sig = envelope_parts(cs.envelope)
    new = rd.redact_body(body, {("person", ROW)})
    assert new is not None and new == rd.redact_body(body, {("person", ROW)})
    frame = b"".join(c[3] for c in msgpack.unpackb(new)["changes"])
    assert frame[4] == 0xA0  # stored blocks, built byte by byte: no zstd library decides these bytes
    item = rd.Item(cs.id, cs.author, cs.scope, cs.seq, cs.prev, hashlib.sha256(new).digest())
    record = rd.make(sandbox.members[COUNTY].key, VILLAGE, [("person", ROW)], [item], NOW_MS, "本人申请")
    back = admit(redacted_envelope(new, sig, record), trust, NOW_MS)
    assert back.id == cs.id and back.body == 2 and back.max_hlc == cs.max_hlc
    assert {c.row for c in back.changes} == {OTHER} and "王秀英".encode() in body and "王秀英".encode() not in new
    assert rd.values_of(body, {("person", ROW)}) == [VILLAGE, "王秀英", ["+", "焊工"], 4200]


names = st.sampled_from(["person", "employer", "notes", "lw_redaction"])
fields = st.sampled_from(["scope", "name", "phone", "*", "extra", "record"])
values = st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**64 - 1), st.text(max_size=20), st.binary(max_size=20),
                   st.lists(st.text(max_size=5), max_size=3))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(names, st.sampled_from([ROW, OTHER]), fields, values, st.integers(0, 2**63 - 1)), max_size=30))
def test_any_changes_decode_back_to_themselves_in_their_one_form(raw: list[tuple[Any, ...]]) -> None:
    k = KeyPair.from_seed(b"wire/property")
    changes = [Change(t, r, f, "delete" if f == "*" else v, h) for t, r, f, v, h in raw]
    cs = seal(k, VILLAGE, 1, None, changes, schema=2, body=2)
    back = open_envelope(cs.envelope)
    assert back.changes == cs.changes and sorted(back.changes, key=repr) == sorted(changes, key=repr)
    m = msgpack.unpackb(envelope_parts(cs.envelope)[0])
    assert body2.unwrap(m["changes"], 20_000) == (2, [c.as_wire() for c in cs.changes])
