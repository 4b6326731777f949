"""Bundles: envelopes on a USB stick when there is no network at all (DESIGN §8).

Layout (all integers big-endian):

    magic    b"LAOWUBDL"                    8 bytes
    version  1                              1 byte
    header   u32 length + msgpack {v, sender, created, vector, certs, revocations}
    records  u32 length + envelope bytes, repeated
    end      u32 0
    checksum sha-256 of every byte above    32 bytes

Envelopes are carried byte for byte, so any replica can import a bundle and pass them on. The
checksum catches a stick pulled out mid-copy; signatures still guard each envelope on import.
"""
from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from protocol import codec
from protocol.changeset import MAX_ENVELOPE_BYTES
from protocol.errors import ConfigError, Malformed, TooLarge, Truncated, UnknownVersion
from protocol.feed import Vector, vector_from_wire, vector_to_wire
from protocol.keys import AUTHOR_LEN

MAGIC = b"LAOWUBDL"
VERSION = 1
MAX_HEADER_BYTES = 16 << 20
_HEADER_KEYS = ("v", "sender", "created", "vector", "certs", "revocations")
_U32 = struct.Struct(">I")


@dataclass(frozen=True)
class Bundle:
    sender: bytes
    created: int
    vector: Vector
    envelopes: list[bytes]
    certs: list[bytes] = field(default_factory=list)
    revocations: list[bytes] = field(default_factory=list)


def encode(b: Bundle) -> bytes:
    header = codec.pack(
        {
            "v": VERSION,
            "sender": b.sender,
            "created": b.created,
            "vector": vector_to_wire(b.vector),
            "certs": list(b.certs),
            "revocations": list(b.revocations),
        }
    )
    parts = [MAGIC, bytes([VERSION]), _U32.pack(len(header)), header]
    for env in b.envelopes:
        if not env:
            # A zero length is the end marker: the records after it would make the bundle unreadable.
            raise ConfigError("a bundle cannot carry an empty envelope")
        parts += [_U32.pack(len(env)), env]
    parts.append(_U32.pack(0))
    data = b"".join(parts)
    return data + hashlib.sha256(data).digest()


def decode(data: bytes, max_bytes: int = 1 << 31) -> Bundle:
    """Read a bundle back; any truncation or corruption is a typed error, never a partial read."""
    if len(data) > max_bytes:
        raise TooLarge(f"bundle of {len(data)} bytes exceeds {max_bytes}")
    if data[: len(MAGIC)] != MAGIC[: min(len(data), len(MAGIC))]:
        raise Malformed("not a Laowu bundle (bad magic)")
    if len(data) <= len(MAGIC):
        raise Truncated("bundle stops inside its magic number")
    if data[len(MAGIC)] != VERSION:
        raise UnknownVersion(f"bundle version {data[len(MAGIC)]}, this build reads {VERSION}")
    if len(data) < 32 + len(MAGIC) + 1 + 4:
        raise Truncated("bundle too short to hold a header and checksum")
    body, digest = data[:-32], data[-32:]
    pos = len(MAGIC) + 1
    header_raw, pos = _record(body, pos, MAX_HEADER_BYTES, "bundle header")
    envelopes: list[bytes] = []
    while True:
        rec, pos = _record(body, pos, MAX_ENVELOPE_BYTES, "bundle record")
        if not rec:
            break
        envelopes.append(rec)
    if pos != len(body):
        raise Malformed("bytes after the end marker")
    if hashlib.sha256(body).digest() != digest:
        raise Truncated("bundle checksum does not match: the file was cut short or altered")
    h = codec.expect_map(codec.unpack(header_raw, max_bytes=MAX_HEADER_BYTES, what="bundle header"), _HEADER_KEYS, "bundle header")
    certs = codec.expect(h["certs"], list, "bundle.certs")
    revs = codec.expect(h["revocations"], list, "bundle.revocations")
    return Bundle(
        sender=codec.expect_bytes(h["sender"], AUTHOR_LEN, "bundle.sender"),
        created=codec.expect_uint(h["created"], "bundle.created"),
        vector=vector_from_wire(h["vector"]),
        envelopes=envelopes,
        certs=[codec.expect(c, bytes, "bundle.certs[]") for c in certs],
        revocations=[codec.expect(r, bytes, "bundle.revocations[]") for r in revs],
    )


def _record(data: bytes, pos: int, limit: int, what: str) -> tuple[bytes, int]:
    if pos + 4 > len(data):
        raise Truncated(f"{what}: length prefix cut off")
    (n,) = _U32.unpack_from(data, pos)
    if n > limit:
        raise TooLarge(f"{what}: {n} bytes exceeds the limit of {limit}")
    end = pos + 4 + n
    if end > len(data):
        raise Truncated(f"{what}: {n} bytes announced, {len(data) - pos - 4} present")
    return data[pos + 4 : end], end
