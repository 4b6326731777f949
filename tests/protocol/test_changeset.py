"""Changeset envelopes: one byte form, signed, strictly decoded; every refusal a typed RemoteError (DESIGN §4).

Hostile bodies are built with msgpack directly and signed with the author's real key, so they get past
the signature and reach the structural checks behind it.
"""
from __future__ import annotations

from typing import Any, Callable

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.sandbox import NOT_AFTER, Sandbox
from protocol import certs, changeset, clock
from protocol.admit import admit
from protocol.certs import Trust
from protocol.changeset import MAX_ENVELOPE_BYTES, Change, Changeset, open_envelope, seal
from protocol.errors import (
    BadSignature,
    CertificateExpired,
    DecodeError,
    Malformed,
    OutOfScope,
    RemoteError,
    Revoked,
    TooLarge,
    Truncated,
    UnknownVersion,
)
from protocol.keys import KeyPair

COUNTY, VILLAGE, SIBLING = "513225000000", "513225103201", "513225103202"
NOW_MS = 1_700_000_000_000
ROW = bytes(range(16))
PREV = bytes([0x11]) * 32
_BODY_KEYS = ("v", "author", "scope", "seq", "prev", "schema", "changes")


def pack(obj: Any) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def signed(key: KeyPair, body: bytes) -> bytes:
    """An envelope around `body` with the key's genuine signature over exactly those bytes."""
    return pack({"body": body, "sig": key.sign(body)})


def body(key: KeyPair, **fields: Any) -> dict[str, Any]:
    """A valid body map in canonical key order, with some fields replaced."""
    m: dict[str, Any] = {
        "v": 1,
        "author": key.public,
        "scope": VILLAGE,
        "seq": 1,
        "prev": None,
        "schema": 1,
        "changes": [["person", ROW, "name", "王秀英", clock.pack(NOW_MS)]],
    }
    m.update(fields)
    return m


def changes(n: int = 2) -> list[Change]:
    return [Change("person", ROW, f"f{i}", i, clock.pack(NOW_MS, i)) for i in range(n)]


@pytest.fixture
def key(sandbox: Sandbox) -> KeyPair:
    return sandbox.members[VILLAGE].key


@pytest.fixture
def real(key: KeyPair) -> Changeset:
    """A genuine changeset in the middle of its feed: seq 2, a prev, a field write and a row delete."""
    return seal(
        key,
        VILLAGE,
        2,
        PREV,
        [
            Change("person", ROW, "name", "王秀英", clock.pack(NOW_MS)),
            Change("person", ROW, "skills", ["家政服务", b"\x00\x01", {"k": 1.5}], clock.pack(NOW_MS, 1)),
            Change("person", ROW, changeset.DELETE_FIELD, changeset.DELETE_VALUE, clock.pack(NOW_MS, 2)),
        ],
    )


# -- round trip --------------------------------------------------------------------------------


def test_seal_then_open_gives_the_same_id_and_fields(real: Changeset) -> None:
    opened = open_envelope(real.envelope)
    assert opened == real
    assert (opened.id, opened.author, opened.scope, opened.seq, opened.prev) == (real.id, real.author, VILLAGE, 2, PREV)
    assert opened.changes == real.changes and opened.changes[2].is_delete
    assert opened.envelope == real.envelope


def test_the_id_is_the_sha256_of_the_exact_body_bytes(real: Changeset) -> None:
    inner = msgpack.unpackb(real.envelope)["body"]
    assert real.id == changeset.change_id(inner) and len(real.id) == 32
    assert list(msgpack.unpackb(inner)) == list(_BODY_KEYS)  # `v` first, keys in canonical order


def test_sealing_is_deterministic(key: KeyPair) -> None:
    assert seal(key, VILLAGE, 1, None, changes()).envelope == seal(key, VILLAGE, 1, None, changes()).envelope


_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False) | st.text(max_size=20) | st.binary(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_changes = st.lists(
    st.builds(
        Change,
        table=st.text(min_size=1, max_size=16),
        row=st.binary(min_size=16, max_size=16),
        field=st.text(min_size=1, max_size=16).filter(lambda f: f != changeset.DELETE_FIELD),
        value=_values,
        hlc=st.integers(0, 2**63 - 1),
    ),
    max_size=8,
)


@settings(max_examples=100, deadline=None)
@given(cs=_changes, seq=st.integers(1, 2**63 - 1))
def test_any_sealed_changeset_opens_back_to_itself(cs: list[Change], seq: int) -> None:
    sealed = seal(KeyPair.from_seed(b"tests/changeset"), VILLAGE, seq, None if seq == 1 else PREV, cs)
    assert open_envelope(sealed.envelope) == sealed


# -- signatures --------------------------------------------------------------------------------


def test_a_flipped_byte_anywhere_in_a_real_envelope_is_refused(real: Changeset) -> None:
    env = real.envelope
    for mask in (0xFF, 0x01, 0x80):
        for i in range(len(env)):
            flipped = bytearray(env)
            flipped[i] ^= mask
            with pytest.raises(RemoteError):
                open_envelope(bytes(flipped))


def _decodes_as_a_v1_body(data: bytes) -> bool:
    try:
        m = msgpack.unpackb(data)
    except Exception:
        return False
    return isinstance(m, dict) and tuple(m) == _BODY_KEYS and type(m["v"]) is int and m["v"] == 1 and (
        isinstance(m["author"], bytes) and len(m["author"]) == 32
    )


def test_a_flipped_body_byte_that_still_decodes_is_a_bad_signature(real: Changeset) -> None:
    env = real.envelope
    inner = msgpack.unpackb(env)["body"]
    start = env.index(inner)
    decodable = 0
    for mask in (0xFF, 0x01, 0x80):
        for i in range(len(inner)):
            flipped_body = bytearray(inner)
            flipped_body[i] ^= mask
            flipped = bytearray(env)
            flipped[start + i] ^= mask
            if _decodes_as_a_v1_body(bytes(flipped_body)):
                decodable += 1
                with pytest.raises(BadSignature):
                    open_envelope(bytes(flipped))
    assert decodable > 200  # most flips land in payload bytes: ids, names, values, stamps


def test_a_signature_by_another_key_is_refused(sandbox: Sandbox, key: KeyPair) -> None:
    raw = pack(body(key))
    forged = pack({"body": raw, "sig": sandbox.members[SIBLING].key.sign(raw)})
    with pytest.raises(BadSignature):
        open_envelope(forged)


def test_a_body_claiming_another_author_is_refused(sandbox: Sandbox, key: KeyPair) -> None:
    with pytest.raises(BadSignature):
        open_envelope(signed(key, pack(body(sandbox.members[SIBLING].key))))


def test_a_signature_of_the_wrong_length_is_malformed(key: KeyPair) -> None:
    raw = pack(body(key))
    with pytest.raises(Malformed):
        open_envelope(pack({"body": raw, "sig": key.sign(raw)[:63]}))


# -- trust, through admit ----------------------------------------------------------------------


def test_a_village_writing_a_sibling_villages_scope_is_out_of_scope(key: KeyPair, trust: Trust) -> None:
    with pytest.raises(OutOfScope):
        admit(seal(key, SIBLING, 1, None, changes()).envelope, trust, NOW_MS)


def test_a_village_writing_its_county_scope_is_out_of_scope(key: KeyPair, trust: Trust) -> None:
    with pytest.raises(OutOfScope):
        admit(seal(key, COUNTY, 1, None, changes()).envelope, trust, NOW_MS)


def test_a_changeset_written_after_its_key_expired_is_refused(key: KeyPair, trust: Trust) -> None:
    late = NOT_AFTER + 1000
    cs = seal(key, VILLAGE, 1, None, [Change("person", ROW, "name", "x", clock.pack(late))])
    with pytest.raises(CertificateExpired):
        admit(cs.envelope, trust, late)


def test_a_changeset_past_its_keys_revocation_cutoff_is_refused(sandbox: Sandbox, key: KeyPair, trust: Trust) -> None:
    trust.add_revocation(certs.revoke(sandbox.members[COUNTY].key, key.public, {VILLAGE: 1}, NOW_MS, "stolen"))
    first = seal(key, VILLAGE, 1, None, changes())
    admit(first.envelope, trust, NOW_MS)
    with pytest.raises(Revoked):
        admit(seal(key, VILLAGE, 2, first.id, changes()).envelope, trust, NOW_MS)


# -- size --------------------------------------------------------------------------------------


def test_an_envelope_over_the_size_limit_is_too_large_before_decoding(key: KeyPair) -> None:
    with pytest.raises(TooLarge):
        open_envelope(b"\xc1" * (MAX_ENVELOPE_BYTES + 1))


def test_a_genuine_signed_envelope_over_the_size_limit_is_too_large(key: KeyPair) -> None:
    value = "x" * changeset.MAX_VALUE_BYTES
    big = [["person", ROW, f"f{i}", value, 1] for i in range(MAX_ENVELOPE_BYTES // changeset.MAX_VALUE_BYTES)]
    env = signed(key, pack(body(key, changes=big)))
    assert len(env) > MAX_ENVELOPE_BYTES
    with pytest.raises(TooLarge):
        open_envelope(env)


def test_seal_refuses_to_make_an_envelope_over_the_size_limit(key: KeyPair) -> None:
    value = "x" * changeset.MAX_VALUE_BYTES
    big = [Change("person", ROW, f"f{i}", value, 1) for i in range(MAX_ENVELOPE_BYTES // changeset.MAX_VALUE_BYTES)]
    with pytest.raises(TooLarge):
        seal(key, VILLAGE, 1, None, big)


def test_a_value_over_the_value_limit_is_too_large(key: KeyPair) -> None:
    big = [["person", ROW, "photo", b"\x00" * (changeset.MAX_VALUE_BYTES + 1), 1]]
    with pytest.raises(TooLarge):
        open_envelope(signed(key, pack(body(key, changes=big))))


def test_more_changes_than_the_limit_is_too_large(key: KeyPair) -> None:
    many = [["p", ROW, "f", None, 1]] * (changeset.MAX_CHANGES + 1)
    with pytest.raises(TooLarge):
        open_envelope(signed(key, pack(body(key, changes=many))))


# -- truncation and framing --------------------------------------------------------------------


def test_an_envelope_cut_at_every_length_is_truncated(real: Changeset) -> None:
    for n in range(len(real.envelope)):
        with pytest.raises(Truncated):
            open_envelope(real.envelope[:n])


def test_a_signed_body_cut_at_every_length_is_a_decode_error(key: KeyPair, real: Changeset) -> None:
    inner = msgpack.unpackb(real.envelope)["body"]
    for n in range(len(inner)):
        with pytest.raises(DecodeError):
            open_envelope(signed(key, inner[:n]))


def test_trailing_bytes_after_an_envelope_are_malformed(real: Changeset) -> None:
    with pytest.raises(Malformed):
        open_envelope(real.envelope + b"\x00")


# -- structure ---------------------------------------------------------------------------------


def _reordered(key: KeyPair) -> bytes:
    m = body(key)
    return pack({k: m[k] for k in ("author", "v", "scope", "seq", "prev", "schema", "changes")})


def _extra(key: KeyPair) -> bytes:
    return pack({**body(key), "note": "hi"})


def _missing(key: KeyPair) -> bytes:
    m = body(key)
    del m["schema"]
    return pack(m)


def _replaced(raw: bytes, old: bytes, new: bytes) -> bytes:
    assert raw.count(old) == 1
    return raw.replace(old, new)


def _long_seq(key: KeyPair) -> bytes:
    # seq 1 written as a uint64: the same map, but not its one canonical byte form
    return _replaced(pack(body(key)), b"\xa3seq\x01", b"\xa3seq\xcf" + (1).to_bytes(8, "big"))


def _float32(key: KeyPair) -> bytes:
    # 1.5 as a float32: the same value, but msgpack-python writes floats as float64
    raw = pack(body(key, changes=[["person", ROW, "pay", 1.5, 1]]))
    return _replaced(raw, bytes.fromhex("cb3ff8000000000000"), bytes.fromhex("ca3fc00000"))


def _duplicate_key(key: KeyPair) -> bytes:
    raw = pack(body(key))
    return b"\x88" + raw[1:] + pack("seq") + pack(1)


def _ext_value(key: KeyPair) -> bytes:
    return pack(body(key, changes=[["person", ROW, "f", msgpack.ExtType(5, b"x"), 1]]))


HOSTILE: dict[str, tuple[Callable[[KeyPair], bytes], type[RemoteError]]] = {
    "unknown version 2": (lambda k: pack(body(k, v=2)), UnknownVersion),
    "unknown version 0": (lambda k: pack(body(k, v=0)), UnknownVersion),
    "version true": (lambda k: pack(body(k, v=True)), Malformed),
    "version 1.0": (lambda k: pack(body(k, v=1.0)), Malformed),
    "version as text": (lambda k: pack(body(k, v="1")), Malformed),
    "body is a list": (lambda k: pack(list(body(k).values())), Malformed),
    "body is not msgpack": (lambda k: b"\xc1", Malformed),
    "bytes after the body": (lambda k: pack(body(k)) + b"\x00", Malformed),
    "extra key": (_extra, Malformed),
    "missing key": (_missing, Malformed),
    "keys out of canonical order": (_reordered, Malformed),
    "duplicate key": (_duplicate_key, Malformed),
    "seq in a long encoding": (_long_seq, Malformed),
    "float32 value": (_float32, Malformed),
    "ext type value": (_ext_value, Malformed),
    "author too short": (lambda k: pack(body(k, author=k.public[:31])), Malformed),
    "author as text": (lambda k: pack(body(k, author=k.public.hex())), Malformed),
    "scope not a division code": (lambda k: pack(body(k, scope="5132")), Malformed),
    "scope as int": (lambda k: pack(body(k, scope=513225103201)), Malformed),
    "scope with zero province": (lambda k: pack(body(k, scope="003225103201")), Malformed),
    "seq as text": (lambda k: pack(body(k, seq="1")), Malformed),
    "seq as bool": (lambda k: pack(body(k, seq=True)), Malformed),
    "seq 0": (lambda k: pack(body(k, seq=0)), Malformed),
    "seq negative": (lambda k: pack(body(k, seq=-1)), Malformed),
    "seq 2**63": (lambda k: pack(body(k, seq=2**63, prev=PREV)), Malformed),
    "seq 1 with a prev": (lambda k: pack(body(k, seq=1, prev=PREV)), Malformed),
    "seq 2 without a prev": (lambda k: pack(body(k, seq=2, prev=None)), Malformed),
    "prev too short": (lambda k: pack(body(k, seq=2, prev=PREV[:31])), Malformed),
    "prev as text": (lambda k: pack(body(k, seq=2, prev=PREV.hex())), Malformed),
    "schema as text": (lambda k: pack(body(k, schema="1")), Malformed),
    "schema over 16 bits": (lambda k: pack(body(k, schema=2**16)), Malformed),
    "changes as a map": (lambda k: pack(body(k, changes={"a": 1})), Malformed),
    "change as a map": (lambda k: pack(body(k, changes=[{"table": "person"}])), Malformed),
    "change of 4 items": (lambda k: pack(body(k, changes=[["person", ROW, "name", 1]])), Malformed),
    "change of 6 items": (lambda k: pack(body(k, changes=[["person", ROW, "name", 1, 1, 1]])), Malformed),
    "empty table name": (lambda k: pack(body(k, changes=[["", ROW, "name", 1, 1]])), Malformed),
    "table name too long": (lambda k: pack(body(k, changes=[["t" * 65, ROW, "name", 1, 1]])), Malformed),
    "table name as int": (lambda k: pack(body(k, changes=[[7, ROW, "name", 1, 1]])), Malformed),
    "row id of 15 bytes": (lambda k: pack(body(k, changes=[["person", ROW[:15], "name", 1, 1]])), Malformed),
    "row id as text": (lambda k: pack(body(k, changes=[["person", "0" * 16, "name", 1, 1]])), Malformed),
    "empty field name": (lambda k: pack(body(k, changes=[["person", ROW, "", 1, 1]])), Malformed),
    "hlc negative": (lambda k: pack(body(k, changes=[["person", ROW, "name", 1, -1]])), Malformed),
    "hlc as float": (lambda k: pack(body(k, changes=[["person", ROW, "name", 1, 1.0]])), Malformed),
    "hlc as bool": (lambda k: pack(body(k, changes=[["person", ROW, "name", 1, True]])), Malformed),
    "hlc over 63 bits": (lambda k: pack(body(k, changes=[["person", ROW, "name", 1, 2**63]])), Malformed),
    "row delete with another value": (lambda k: pack(body(k, changes=[["person", ROW, "*", "erase", 1]])), Malformed),
}


@pytest.mark.parametrize("case", list(HOSTILE), ids=list(HOSTILE))
def test_a_signed_hostile_body_is_refused_with_the_right_error(key: KeyPair, case: str) -> None:
    make, error = HOSTILE[case]
    with pytest.raises(error) as refused:
        open_envelope(signed(key, make(key)))
    assert type(refused.value) is error


ENVELOPES: dict[str, Callable[[bytes, bytes], bytes]] = {
    "not a map": lambda b, s: pack([b, s]),
    "keys swapped": lambda b, s: pack({"sig": s, "body": b}),
    "extra key": lambda b, s: pack({"body": b, "sig": s, "cert": b""}),
    "missing sig": lambda b, s: pack({"body": b}),
    "body as text": lambda b, s: pack({"body": b.decode("latin-1"), "sig": s}),
    "sig as text": lambda b, s: pack({"body": b, "sig": s.decode("latin-1")}),
    "ext type": lambda b, s: pack(msgpack.ExtType(1, b)),
}


@pytest.mark.parametrize("case", list(ENVELOPES), ids=list(ENVELOPES))
def test_a_malformed_envelope_around_a_genuine_body_is_malformed(key: KeyPair, case: str) -> None:
    raw = pack(body(key))
    with pytest.raises(Malformed):
        open_envelope(ENVELOPES[case](raw, key.sign(raw)))


def test_seal_refuses_seq_1_with_a_prev_and_later_seqs_without_one(key: KeyPair) -> None:
    with pytest.raises(Malformed):
        seal(key, VILLAGE, 1, PREV, changes())
    with pytest.raises(Malformed):
        seal(key, VILLAGE, 2, None, changes())


def test_seal_refuses_a_scope_that_is_not_a_division_code(key: KeyPair) -> None:
    with pytest.raises(Malformed):
        seal(key, "village-201", 1, None, changes())
