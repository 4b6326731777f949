"""Bundles: envelopes on a USB stick, carried byte for byte; a cut or altered file is never half-read (DESIGN §8)."""
from __future__ import annotations

import hashlib
import struct

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.sandbox import Sandbox
from protocol import bundle, clock
from protocol.admit import admit
from protocol.bundle import MAGIC, Bundle, decode, encode
from protocol.certs import Trust
from protocol.changeset import MAX_ENVELOPE_BYTES, Change, seal
from protocol.errors import ConfigError, DecodeError, Malformed, TooLarge, Truncated, UnknownVersion
from protocol.keys import KeyPair

VILLAGE = "513225103201"
NOW_MS = 1_700_000_000_000
SENDER = KeyPair.from_seed(b"tests/bundle").public
_U32 = struct.Struct(">I")


@pytest.fixture
def real(sandbox: Sandbox) -> Bundle:
    """What a village laptop writes to a stick: three changesets and the certificates to verify them."""
    key = sandbox.members[VILLAGE].key
    envelopes, prev = [], None
    for seq in (1, 2, 3):
        cs = seal(key, VILLAGE, seq, prev, [Change("person", bytes(16), "name", f"v{seq}", clock.pack(NOW_MS, seq))])
        envelopes.append(cs.envelope)
        prev = cs.id
    return Bundle(key.public, NOW_MS, {(key.public, VILLAGE): 3}, envelopes, sandbox.trust().export(), [])


def framed(header: dict[str, object], records: list[bytes], tail: bytes = b"") -> bytes:
    """A bundle written by hand, with a correct checksum, so decoding reaches what comes after it."""
    raw = msgpack.packb(header, use_bin_type=True)
    data = MAGIC + bytes([bundle.VERSION]) + _U32.pack(len(raw)) + raw
    for rec in records:
        data += _U32.pack(len(rec)) + rec
    data += _U32.pack(0) + tail
    return data + hashlib.sha256(data).digest()


def header(**fields: object) -> dict[str, object]:
    h: dict[str, object] = {"v": 1, "sender": SENDER, "created": NOW_MS, "vector": [], "certs": [], "revocations": []}
    h.update(fields)
    return h


# -- round trip --------------------------------------------------------------------------------


def test_a_real_bundle_decodes_to_what_was_encoded(real: Bundle) -> None:
    assert decode(encode(real)) == real


def test_envelopes_in_a_bundle_are_carried_byte_for_byte_and_still_admit(real: Bundle, sandbox: Sandbox) -> None:
    got = decode(encode(real))
    trust = Trust(sandbox.root.public)
    for cert in got.certs:
        trust.add_certificate(cert)
    assert [admit(env, trust, NOW_MS).seq for env in got.envelopes] == [1, 2, 3]
    assert got.envelopes == real.envelopes


def test_encoding_is_deterministic(real: Bundle) -> None:
    assert encode(real) == encode(real)


def test_an_empty_bundle_round_trips() -> None:
    empty = Bundle(SENDER, 0, {}, [])
    assert decode(encode(empty)) == empty


def test_encode_refuses_an_empty_envelope_that_would_end_the_bundle_early() -> None:
    with pytest.raises(ConfigError):
        encode(Bundle(SENDER, NOW_MS, {}, [b"env", b"", b"lost"]))


_scopes = st.sampled_from(["513225103201", "513225103202", "513225000000", "510000000000"])
_feeds = st.tuples(st.binary(min_size=32, max_size=32), _scopes)


@settings(max_examples=200, deadline=None)
@given(
    envelopes=st.lists(st.binary(min_size=1, max_size=300), max_size=12),
    vector=st.dictionaries(_feeds, st.integers(1, 2**63 - 1), max_size=4),
    certs=st.lists(st.binary(max_size=64), max_size=3),
    revocations=st.lists(st.binary(max_size=64), max_size=3),
    sender=st.binary(min_size=32, max_size=32),
    created=st.integers(0, 2**64 - 1),
)
def test_any_bundle_round_trips_identically(
    envelopes: list[bytes], vector: dict[tuple[bytes, str], int], certs: list[bytes], revocations: list[bytes], sender: bytes, created: int
) -> None:
    b = Bundle(sender, created, vector, envelopes, certs, revocations)
    assert decode(encode(b)) == b


# -- damage ------------------------------------------------------------------------------------


def test_a_bundle_cut_at_every_length_is_truncated(real: Bundle) -> None:
    data = encode(real)
    for n in range(len(data)):
        with pytest.raises(Truncated):
            decode(data[:n])


def test_a_flipped_checksum_byte_is_caught_as_truncation(real: Bundle) -> None:
    data = encode(real)
    for i in range(len(data) - 32, len(data)):
        flipped = bytearray(data)
        flipped[i] ^= 0x01
        with pytest.raises(Truncated):
            decode(bytes(flipped))


def test_a_flipped_byte_anywhere_is_a_decode_error(real: Bundle) -> None:
    data = encode(real)
    for i in range(len(data)):
        flipped = bytearray(data)
        flipped[i] ^= 0xFF
        with pytest.raises(DecodeError):
            decode(bytes(flipped))


def test_a_flipped_envelope_byte_is_caught_by_the_checksum(real: Bundle) -> None:
    data = encode(real)
    at = data.index(real.envelopes[1]) + 40
    flipped = bytearray(data)
    flipped[at] ^= 0x01
    with pytest.raises(Truncated):
        decode(bytes(flipped))


@pytest.mark.parametrize("data", [b"X", b"LAOWUBDX", b"PK\x03\x04" + bytes(60), b"\x00" * 100], ids=["one byte", "last magic byte", "zip", "zeros"])
def test_a_file_with_a_bad_magic_is_malformed(data: bytes) -> None:
    with pytest.raises(Malformed):
        decode(data)


@pytest.mark.parametrize("version", [0, 2, 255])
def test_an_unknown_bundle_version_is_refused(real: Bundle, version: int) -> None:
    data = bytearray(encode(real))
    data[len(MAGIC)] = version
    with pytest.raises(UnknownVersion):
        decode(bytes(data))


def test_an_unknown_header_version_is_refused() -> None:
    with pytest.raises(UnknownVersion):
        decode(framed(header(v=2), [b"env"]))


@pytest.mark.parametrize(
    "bad",
    [
        {"sender": SENDER[:31]},
        {"created": -1},
        {"vector": {"a": 1}},
        {"vector": [[SENDER, "5132", 1]]},
        {"certs": b"cert"},
        {"revocations": ["rev"]},
    ],
    ids=["short sender", "negative created", "vector as map", "vector bad scope", "certs not a list", "revocation as text"],
)
def test_a_malformed_header_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(Malformed):
        decode(framed(header(**bad), [b"env"]))


def test_a_header_with_an_extra_key_is_malformed() -> None:
    with pytest.raises(Malformed):
        decode(framed({**header(), "note": "x"}, []))


def test_bytes_after_the_end_marker_are_malformed() -> None:
    with pytest.raises(Malformed):
        decode(framed(header(), [b"env"], tail=b"\x00\x00\x00\x03abc"))


def test_a_record_announcing_more_than_an_envelope_may_hold_is_too_large() -> None:
    data = bytearray(framed(header(), [b"env"]))
    at = data.index(b"env") - 4
    data[at : at + 4] = _U32.pack(MAX_ENVELOPE_BYTES + 1)
    with pytest.raises(TooLarge):
        decode(bytes(data))


def test_a_bundle_over_the_size_limit_is_too_large(real: Bundle) -> None:
    data = encode(real)
    with pytest.raises(TooLarge):
        decode(data, max_bytes=len(data) - 1)
