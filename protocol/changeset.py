"""Changesets: the unit of signing and transfer (DESIGN §4).

A change sets one field of one row: `[table, row, field, value, hlc]`; the field `"*"` with value
`"delete"` deletes the row. A changeset body is the canonical msgpack map
`{v, author, scope, seq, prev, schema, changes}`; its id is sha-256 of those exact bytes, and the
envelope `{body, sig}` carries the author's signature over them. Relays pass envelopes byte for byte.

Decoding is strict and bounded: every limit below is checked before any work proportional to input.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from protocol import body2, codec, scope
from protocol import redaction as rd
from protocol.errors import Malformed, TooLarge
from protocol.keys import AUTHOR_LEN, SIG_LEN, KeyPair, verify

VERSION = 1  # the `v` of every body: a v2 body travels in a v1-shaped one (protocol/body2.py)
BODIES = (1, 2)  # body formats this build reads and can seal (docs/wire-format.md)
SCHEMA = 1
MAX_ENVELOPE_BYTES = 1 << 20
MAX_CHANGES = 20_000
MAX_NAME = 64
MAX_VALUE_BYTES = 64 * 1024
ROW_ID_LEN = 16
DELETE_FIELD = "*"
DELETE_VALUE = "delete"
_HLC_LIMIT = 1 << 63
_BODY_KEYS = ("v", "author", "scope", "seq", "prev", "schema", "changes")
_ENV_KEYS = ("body", "sig")
_REDACTED_KEYS = ("body", "sig", "redaction")  # a body whose erased values a redaction record vouches for

Value = None | bool | int | float | str | bytes | list[Any] | dict[str, Any]
FeedKey = tuple[bytes, str]


@dataclass(frozen=True)
class Change:
    table: str
    row: bytes
    field: str
    value: Value
    hlc: int

    def as_wire(self) -> list[Any]:
        return [self.table, self.row, self.field, self.value, self.hlc]

    @property
    def is_delete(self) -> bool:
        return self.field == DELETE_FIELD


@dataclass(frozen=True)
class Changeset:
    author: bytes
    scope: str
    seq: int
    prev: bytes | None
    schema: int
    changes: tuple[Change, ...]
    id: bytes
    envelope: bytes = field(repr=False, compare=False)
    # Set for a redacted envelope: the record that vouches for the body in place of the author's
    # signature. `changes` then leaves out the erased rows' nil values; `erased_hlc` keeps their stamps.
    redaction: rd.Redaction | None = field(default=None, repr=False, compare=False)
    erased_hlc: int = field(default=0, repr=False, compare=False)
    body: int = field(default=1, compare=False)  # 1, or 2: grouped, numbered and compressed (body2)

    @property
    def feed(self) -> FeedKey:
        return (self.author, self.scope)

    @cached_property
    def max_hlc(self) -> int:
        return max(max((c.hlc for c in self.changes), default=0), self.erased_hlc)


def change_id(body: bytes) -> bytes:
    return hashlib.sha256(body).digest()


def seal(
    key: KeyPair,
    feed_scope: str,
    seq: int,
    prev: bytes | None,
    changes: list[Change] | tuple[Change, ...],
    schema: int = SCHEMA,
    body: int = 1,
) -> Changeset:
    """Encode, hash and sign a changeset in body format `body`; the result decodes back to itself
    (in v2, its changes grouped by table and row, as v2 carries them)."""
    scope.check_code(feed_scope)
    if (seq == 1) != (prev is None):
        raise Malformed("seq 1 has no prev; every later seq names its prev")
    if body not in BODIES:
        raise Malformed(f"body format {body}: this build seals {BODIES}")
    if body == 2:
        changes = grouped(changes)
        wire = body2.wrap([c.as_wire() for c in changes], schema)
    else:
        wire = [c.as_wire() for c in changes]
    raw = codec.pack(
        {
            "v": VERSION,
            "author": key.public,
            "scope": feed_scope,
            "seq": seq,
            "prev": prev,
            "schema": body2.CARRIER_SCHEMA if body == 2 else schema,
            "changes": wire,
        }
    )
    envelope = codec.pack({"body": raw, "sig": key.sign(raw)})
    if len(envelope) > MAX_ENVELOPE_BYTES:
        raise TooLarge(f"changeset of {len(changes)} changes is {len(envelope)} bytes; split it")
    return Changeset(key.public, feed_scope, seq, prev, schema, tuple(changes), change_id(raw), envelope, body=body)


def grouped(changes: list[Change] | tuple[Change, ...]) -> tuple[Change, ...]:
    """`changes` in the order a v2 body carries them: by table, then row, in order of first
    appearance; a row's changes in the order given."""
    by: dict[str, dict[bytes, list[Change]]] = {}
    for c in changes:
        by.setdefault(c.table, {}).setdefault(c.row, []).append(c)
    return tuple(c for rows in by.values() for cs in rows.values() for c in cs)


def body_changes(body: bytes) -> tuple[int, list[Any]]:
    """(schema, raw changes `[table, row, field, value, hlc]`) of a body this replica already admitted,
    either format, erased values (nil) included."""
    m = codec.unpack(body, max_bytes=MAX_ENVELOPE_BYTES, what="changeset")
    if body2.is_carrier(m["schema"]):
        return body2.unwrap(m["changes"], MAX_CHANGES)
    return m["schema"], m["changes"]


def open_envelope(envelope: bytes) -> Changeset:
    """Decode an envelope and check its signature. Chain, scope and trust are checked by callers.

    A redacted envelope is checked against its redaction record instead (`protocol.redaction`):
    the record's own signature, and that it binds this exact body to the original id at this feed
    position. Whether the record's issuer may redact is `protocol.admit`'s question."""
    outer = codec.unpack(envelope, max_bytes=MAX_ENVELOPE_BYTES, what="envelope")
    redacted = isinstance(outer, dict) and len(outer) == len(_REDACTED_KEYS)
    outer = codec.expect_map(outer, _REDACTED_KEYS if redacted else _ENV_KEYS, "envelope", None)
    body = codec.expect(outer["body"], bytes, "envelope.body")
    sig = codec.expect_bytes(outer["sig"], SIG_LEN, "envelope.sig")
    m = codec.expect_map(codec.unpack(body, max_bytes=MAX_ENVELOPE_BYTES, what="changeset"), _BODY_KEYS, "changeset")
    author = codec.expect_bytes(m["author"], AUTHOR_LEN, "changeset.author")
    rec = rd.decode(codec.expect(outer["redaction"], bytes, "envelope.redaction")) if redacted else None
    if rec is None:
        verify(author, sig, body)
    if codec.pack(m) != body:
        raise Malformed("changeset body is not in canonical form")
    seq = codec.expect_uint(m["seq"], "changeset.seq", 63)
    if seq < 1:
        raise Malformed("changeset.seq starts at 1")
    prev = m["prev"]
    if seq == 1:
        if prev is not None:
            raise Malformed("changeset.prev must be nil at seq 1")
    else:
        prev = codec.expect_bytes(prev, 32, "changeset.prev")
    schema = codec.expect_uint(m["schema"], "changeset.schema", 16)
    raw_changes = codec.expect(m["changes"], list, "changeset.changes")
    if len(raw_changes) > MAX_CHANGES:
        raise TooLarge(f"changeset has {len(raw_changes)} changes; the limit is {MAX_CHANGES}")
    feed_scope = scope.check_code(m["scope"], "changeset.scope")
    version = 1
    if body2.is_carrier(schema):
        schema, raw_changes = body2.unwrap(raw_changes, MAX_CHANGES)
        version = 2
    changes = tuple(_change(c, i) for i, c in enumerate(raw_changes))
    if rec is None:
        return Changeset(author, feed_scope, seq, prev, schema, changes, change_id(body), bytes(envelope), body=version)
    item = rd.proves(rec, body, author, feed_scope, seq, prev)
    erased = rec.row_set
    kept = tuple(c for c in changes if c.is_delete or (c.table, c.row) not in erased)
    return Changeset(author, feed_scope, seq, prev, schema, kept, item.id, bytes(envelope), rec,
                     max((c.hlc for c in changes), default=0), body=version)


def redacted_envelope(body: bytes, sig: bytes, record: bytes) -> bytes:
    """The envelope a replica keeps and serves once `record` has redacted `body`."""
    return codec.pack({"body": body, "sig": sig, "redaction": record})


def envelope_parts(envelope: bytes) -> tuple[bytes, bytes]:
    """(body, sig) of an envelope this replica already admitted."""
    outer = codec.unpack(envelope, max_bytes=MAX_ENVELOPE_BYTES, what="envelope")
    return outer["body"], outer["sig"]


def _name(value: Any, what: str) -> str:
    codec.expect(value, str, what)
    if not 0 < len(value) <= MAX_NAME:
        raise Malformed(f"{what}: names are 1 to {MAX_NAME} characters")
    return str(value)


_new = object.__new__


def _change(raw: Any, i: int) -> Change:
    # The common case checked inline (exact types, as msgpack decodes them); anything else, valid
    # or not, takes the checks below, which name what is wrong.
    if type(raw) is list and len(raw) == 5:
        table, row, fld, value, hlc = raw
        if (type(table) is str and 0 < len(table) <= MAX_NAME and type(fld) is str and 0 < len(fld) <= MAX_NAME
                and type(row) is bytes and len(row) == ROW_ID_LEN and type(hlc) is int and 0 <= hlc < _HLC_LIMIT
                and (fld != DELETE_FIELD or value == DELETE_VALUE)
                and not (isinstance(value, (str, bytes)) and len(value) > MAX_VALUE_BYTES)):
            # The frozen dataclass's own __init__ sets each field through object.__setattr__: built
            # directly, a change costs a third of that (decoding makes one per field change).
            change = _new(Change)
            d = change.__dict__
            d["table"], d["row"], d["field"], d["value"], d["hlc"] = table, row, fld, value, hlc
            return change
    return _checked_change(raw, i)


def _checked_change(raw: Any, i: int) -> Change:
    what = f"changeset.changes[{i}]"
    codec.expect(raw, list, what)
    if len(raw) != 5:
        raise Malformed(f"{what}: a change has 5 items [table, row, field, value, hlc], got {len(raw)}")
    table, row, fld, value, hlc = raw
    if isinstance(value, (str, bytes)) and len(value) > MAX_VALUE_BYTES:
        raise TooLarge(f"{what}: value of {len(value)} exceeds {MAX_VALUE_BYTES}")
    change = Change(
        table=_name(table, f"{what}.table"),
        row=codec.expect_bytes(row, ROW_ID_LEN, f"{what}.row"),
        field=_name(fld, f"{what}.field"),
        value=value,
        hlc=codec.expect_uint(hlc, f"{what}.hlc", 63),
    )
    if change.is_delete and value != DELETE_VALUE:
        raise Malformed(f"{what}: the row-delete field '*' takes the value 'delete'")
    return change
