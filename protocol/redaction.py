"""Redaction records: erasure (PIPL) that keeps every feed verifiable (DESIGN §7, docs/erasure.md).

A changeset's id is the sha-256 of its exact body and the next changeset of its feed names that id
as `prev`; its author signed those bytes. Erasing a person's values from a stored body therefore
breaks the author's signature for that one changeset, and nothing else: the chain still runs
through the original id. A **redaction record**, signed by a county (or a province, prefecture or
township key whose certificate covers the place), names the erased rows and, for every changeset
that carried values for them, its id, its feed position `(author, scope, seq, prev)` and the
sha-256 of the redacted body (none, when no stored body held a value yet: the record still says the
rows are erased, so values that arrive later are erased too). The redacted body is the original with every non-delete change of an
erased row given the value nil, re-encoded canonically (only those values differ).

A redacted envelope is `{body: redacted body, sig: the author's original signature, redaction:
record}`: self-proving, so a replica that joins after the erasure admits it without ever seeing the
values. What a verifier then knows about that changeset: the issuer vouches that the body is the
original minus the erased values; its id and feed position are the original ones, so the feed
verifies end to end; the author's signature stays beside it for whoever holds the original body
under a court order, but can no longer be checked against the redacted one.

Pure: bytes in, bytes and dataclasses out; `check_issuer` asks a `Trust` questions, nothing else.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from protocol import body2, codec, scope
from protocol.certs import Trust
from protocol.errors import Malformed, NotAllowed, Revoked, TooLarge
from protocol.keys import AUTHOR_LEN, SIG_LEN, KeyPair, short_id, verify

VERSION = 1
MAX_RECORD_BYTES = 48 * 1024  # fits one change value (64 KiB) with room for the changeset around it
MAX_ROWS = 256
MAX_ITEMS = 256
ROW_ID_LEN = 16
TABLE = "lw_redaction"  # the table name a record travels under, as a change in the issuer's feed
FIELD = "record"
ISSUER_ROLES = ("province", "prefecture", "county", "township")
_KEYS = ("v", "issuer", "scope", "rows", "items", "at", "reason")
_SIGNED_KEYS = ("body", "sig")
_DELETE_FIELD = "*"
_ANY = 1 << 30  # bodies here were admitted already: their change count was checked then

RowKey = tuple[str, bytes]


@dataclass(frozen=True)
class Item:
    """One redacted changeset: its original id and feed position, and the hash of its redacted body."""

    id: bytes
    author: bytes
    scope: str
    seq: int
    prev: bytes | None
    redacted: bytes  # sha-256 of the redacted body

    def as_wire(self) -> list[Any]:
        return [self.id, self.author, self.scope, self.seq, self.prev, self.redacted]


@dataclass(frozen=True)
class Redaction:
    issuer: bytes
    scope: str  # the place of the erased rows
    rows: tuple[RowKey, ...]
    items: tuple[Item, ...]
    at: int  # ms, when issued
    reason: str
    raw: bytes = field(repr=False, compare=False)

    @property
    def id(self) -> bytes:
        return hashlib.sha256(self.raw).digest()

    @property
    def row_set(self) -> frozenset[RowKey]:
        return frozenset(self.rows)

    def item(self, cs_id: bytes) -> Item | None:
        return next((i for i in self.items if i.id == cs_id), None)


def row_id(rec_scope: str, rec_id: bytes) -> bytes:
    """The row a record travels under: its place in the first 5 bytes, as every new row id carries
    (node.schema.new_row_id), then 11 bytes of the record's id, so two records never share a row."""
    return int(rec_scope).to_bytes(5, "big") + rec_id[:11]


def redact_body(body: bytes, rows: frozenset[RowKey] | set[RowKey]) -> bytes | None:
    """The body with every non-delete change of `rows` given the value nil, canonical; None when it
    carries no value of those rows (nothing to redact). `body` is one this replica already admitted."""
    m = codec.unpack(body, max_bytes=len(body), what="changeset")
    v2 = body2.is_carrier(m["schema"])
    schema, changes = body2.unwrap(m["changes"], _ANY) if v2 else (m["schema"], m["changes"])
    changed = False
    out = []
    for c in changes:
        if (c[0], c[1]) in rows and c[2] != _DELETE_FIELD and c[3] is not None:
            c = [c[0], c[1], c[2], None, c[4]]
            changed = True
        out.append(c)
    if not changed:
        return None
    # v2: stored uncompressed, so every replica makes the same bytes whatever its zstd (body2.stored)
    m["changes"] = body2.stored(out, schema) if v2 else out
    return codec.pack(m)


def values_of(body: bytes, rows: frozenset[RowKey] | set[RowKey]) -> list[Any]:
    """The values a body carries for `rows` (to scrub them from free text such as audit details)."""
    m = codec.unpack(body, max_bytes=len(body), what="changeset")
    changes = body2.unwrap(m["changes"], _ANY)[1] if body2.is_carrier(m["schema"]) else m["changes"]
    return [c[3] for c in changes if (c[0], c[1]) in rows and c[2] != _DELETE_FIELD and c[3] is not None]


def make(issuer: KeyPair, rec_scope: str, rows: list[RowKey], items: list[Item], at: int, reason: str) -> bytes:
    """Sign a record. Rules are checked again by every verifier (`decode`, `check_issuer`)."""
    scope.check_code(rec_scope, "redaction.scope")
    if not rows:
        raise Malformed("a redaction names at least one row")
    body = codec.pack({
        "v": VERSION, "issuer": issuer.public, "scope": rec_scope,
        "rows": [[tb, row] for tb, row in sorted(set(rows))],
        "items": [i.as_wire() for i in sorted(items, key=lambda i: (i.author, i.scope, i.seq))],
        "at": at, "reason": reason,
    })
    raw = codec.pack({"body": body, "sig": issuer.sign(body)})
    if len(raw) > MAX_RECORD_BYTES:
        raise TooLarge(f"a redaction of {len(items)} changesets is {len(raw)} bytes; split it by rows")
    return raw


def decode(data: bytes) -> Redaction:
    """Parse a record and check its issuer's signature; trust is `check_issuer`'s job."""
    outer = codec.expect_map(codec.unpack(data, max_bytes=MAX_RECORD_BYTES, what="redaction"), _SIGNED_KEYS,
                             "redaction", None)
    body = codec.expect(outer["body"], bytes, "redaction.body")
    sig = codec.expect_bytes(outer["sig"], SIG_LEN, "redaction.sig")
    m = codec.expect_map(codec.unpack(body, max_bytes=MAX_RECORD_BYTES, what="redaction body"), _KEYS, "redaction")
    if codec.pack(m) != body:
        raise Malformed("redaction body is not in canonical form")
    issuer = codec.expect_bytes(m["issuer"], AUTHOR_LEN, "redaction.issuer")
    verify(issuer, sig, body)
    raw_rows = codec.expect(m["rows"], list, "redaction.rows")
    raw_items = codec.expect(m["items"], list, "redaction.items")
    if not raw_rows or len(raw_rows) > MAX_ROWS or len(raw_items) > MAX_ITEMS:
        raise Malformed(f"redaction: 1 to {MAX_ROWS} rows and at most {MAX_ITEMS} changesets")
    rows = []
    for r in raw_rows:
        if not isinstance(r, list) or len(r) != 2:
            raise Malformed("redaction.rows: expected [table, row]")
        rows.append((codec.expect(r[0], str, "redaction.rows[].table"),
                     codec.expect_bytes(r[1], ROW_ID_LEN, "redaction.rows[].row")))
    return Redaction(
        issuer=issuer,
        scope=scope.check_code(m["scope"], "redaction.scope"),
        rows=tuple(rows),
        items=tuple(_item(i) for i in raw_items),
        at=codec.expect_uint(m["at"], "redaction.at", 63),
        reason=codec.expect(m["reason"], str, "redaction.reason"),
        raw=bytes(data),
    )


def _item(raw: Any) -> Item:
    if not isinstance(raw, list) or len(raw) != 6:
        raise Malformed("redaction.items: expected [id, author, scope, seq, prev, hash]")
    cs_id, author, sc, seq, prev, digest = raw
    seq = codec.expect_uint(seq, "redaction.items[].seq", 63)
    if seq < 1 or (seq == 1) != (prev is None):
        raise Malformed("redaction.items[]: seq 1 has no prev; every later seq names its prev")
    return Item(
        id=codec.expect_bytes(cs_id, 32, "redaction.items[].id"),
        author=codec.expect_bytes(author, AUTHOR_LEN, "redaction.items[].author"),
        scope=scope.check_code(sc, "redaction.items[].scope"),
        seq=seq,
        prev=None if prev is None else codec.expect_bytes(prev, 32, "redaction.items[].prev"),
        redacted=codec.expect_bytes(digest, 32, "redaction.items[].hash"),
    )


def proves(rec: Redaction, body: bytes, author: bytes, feed_scope: str, seq: int, prev: bytes | None) -> Item:
    """The item of `rec` that binds this redacted body to its original id, or Malformed.

    The body must match an item's hash and feed position exactly, and carry no value of an erased
    row (a redacted body is the original minus those values, nothing else)."""
    digest = hashlib.sha256(body).digest()
    item = next((i for i in rec.items if i.redacted == digest), None)
    if item is None:
        raise Malformed(f"redacted body {digest.hex()[:12]} is not named by redaction {rec.id.hex()[:12]}")
    if (item.author, item.scope, item.seq, item.prev) != (author, feed_scope, seq, prev):
        raise Malformed(f"redaction {rec.id.hex()[:12]} names changeset {item.id.hex()[:12]} at another feed position")
    if redact_body(body, rec.row_set) is not None:
        raise Malformed(f"redacted body {digest.hex()[:12]} still carries values of the erased rows")
    return item


def check_issuer(trust: Trust, rec: Redaction, now_ms: int) -> None:
    """Whether `rec`'s issuer may redact: a chain to the pinned root valid when it was issued (never
    later than now), a role above village, a certificate covering the place and every named feed,
    and, if the issuer was revoked, a record its revocation keeps."""
    at = min(rec.at, now_ms)
    cert = trust.verify_chain(rec.issuer, at)
    if cert.role not in ISSUER_ROLES:
        raise NotAllowed(f"a {cert.role} key may not redact; a county or a key above the place must")
    for sc in {rec.scope, *(i.scope for i in rec.items)}:
        if not cert.may_write(sc):
            raise NotAllowed(f"{cert.describe()} may not redact records of {sc}")
    for tb, row in rec.rows:
        if not tb or len(tb) > 64:
            raise Malformed("redaction.rows[].table: names are 1 to 64 characters")
    rev = trust.revocations.get(rec.issuer)
    if rev is not None and rec.id not in rev.kept:
        # The time a record claims is its signer's to choose: a revoked key's record stands only
        # if the revocation keeps it (docs/trust.md), like its certificates and revocations.
        raise Revoked(f"redaction {rec.id.hex()[:12]} by {short_id(rec.issuer)}, whose key was revoked "
                      "without keeping this record")
