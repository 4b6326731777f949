"""Changeset body v2: changes grouped by row, tables and fields numbered, hlcs as deltas, zstd
(docs/wire-format.md).

A v1 body spends ~58 bytes per field change, mostly repeating the table name, the 16-byte row id, the
field name and a 9-byte hlc. A v2 payload says each table once, each row once, numbers tables and
fields by `protocol.codebook`, and gives each hlc as the difference from the one before:

    [schema, [[table, [[row, [field, value, dhlc, field, value, dhlc, ...]], ...]], ...]]

compressed as one zstd frame. That frame travels inside a body that v1 decoders already read:

    {v: 1, author, scope, seq, prev, schema: 65535,
     changes: [["lw_body", <16 zero bytes>, "v2", <≤ 64 KiB of the frame>, max hlc], ...]}

so a replica of an earlier release sees a changeset of a newer schema and holds it verbatim (its
hubs keep it too) until an upgrade applies it: nothing is lost, nothing is refused. The carrier's
hlc is the highest hlc inside, so old and new replicas judge its time (certificates, the clock
bound) alike. The signature and the id cover the body bytes as sent, compressed.

Decoding is bounded: the frame must declare its decompressed size, which is checked against
`MAX_PAYLOAD_BYTES` before anything is allocated (a zip bomb is refused as TooLarge). A payload has
exactly one valid form: canonical msgpack, each table and each row once, a name the codebook
numbers always as its number, the carrier's chunks cut at exactly 64 KiB. The compressed bytes
are the author's, fixed by the signature: a decoder does not recompress to compare, because zstd
does not promise the same bytes from one library version to the next (docs/wire-format.md).

Pure: lists of raw changes `[table, row, field, value, hlc]` in and out, as v1 bodies hold them, so
`protocol.changeset` checks every change of either version the same way.
"""
from __future__ import annotations

from typing import Any

import zstandard

from protocol import codec
from protocol.codebook import CODEBOOK, DELETE_CODE, PLACEHOLDER, Codebook
from protocol.errors import Malformed, TooLarge

CARRIER_SCHEMA = 0xFFFF  # above every schema a release will reach: earlier releases hold the body
CARRIER_TABLE = "lw_body"
CARRIER_FIELD = "v2"
CARRIER_ROW = bytes(16)  # no place, no claim: earlier releases' ownership checks pass it
CHUNK = 64 * 1024  # earlier releases refuse a value above 64 KiB
MAX_PAYLOAD_BYTES = 1000 * 1024  # decompressed; stored uncompressed (redacted) it still fits one envelope
LEVEL = 15  # docs/wire-format.md: bytes and sealing time of levels 3–19, measured
_MAGIC = b"\x28\xb5\x2f\xfd"  # a zstd frame; skippable frames and anything else are refused
_BLOCK = 128 * 1024  # the largest zstd block
_DELETE_FIELD = "*"
_DELETE_VALUE = "delete"
_HLC_LIMIT = 1 << 63
_NOT_CANONICAL = "changeset v2 payload is not in canonical form"

Raw = list[Any]  # [table, row, field, value, hlc]


def is_carrier(schema: Any) -> bool:
    return type(schema) is int and schema == CARRIER_SCHEMA


def wrap(changes: list[Raw], schema: int, book: Codebook = CODEBOOK) -> list[Raw]:
    """The carrier changes of a v2 body holding `changes`: grouped by table and row in order of first
    appearance, the order within a row kept (`unwrap` returns them in that order)."""
    if schema >= CARRIER_SCHEMA:
        raise Malformed(f"schema {schema} is reserved for v2 bodies")
    for c in changes:
        for name, what in ((c[0], "table"), (c[2], "field")):
            if isinstance(name, str) and name.startswith(PLACEHOLDER):
                raise Malformed(f"a {what} name may not start with {PLACEHOLDER!r} in a v2 body: {name!r}")
    raw = _payload(changes, schema, book)
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise TooLarge(f"changeset of {len(changes)} changes is {len(raw)} bytes before compression; split it")
    frame = zstandard.ZstdCompressor(level=LEVEL, write_content_size=True, write_checksum=False).compress(raw)
    return _carriers(frame, changes)


def unwrap(carriers: Any, max_changes: int, book: Codebook = CODEBOOK) -> tuple[int, list[Raw]]:
    """(schema, raw changes) of a v2 body's `changes`; Malformed or TooLarge says what is wrong."""
    data = _decompress(_frame(carriers))
    # A field can be 3 bytes (a number, an empty list, a delta) holding one container: no fewer.
    payload = codec.unpack(data, max_bytes=MAX_PAYLOAD_BYTES, what="changeset v2 payload",
                           max_containers=len(data) // 3 + 64)
    if type(payload) is not list or len(payload) != 2:
        raise Malformed("changeset v2 payload: expected [schema, tables]")
    schema = codec.expect_uint(payload[0], "changeset v2 schema", 16)
    if schema == CARRIER_SCHEMA:
        raise Malformed("changeset v2 schema: 65535 is the carrier's, not a schema")
    out = _changes(payload[1], schema, max_changes, book)
    top = max((c[4] for c in out), default=0)
    if any(c[4] != top for c in carriers):
        raise Malformed("changeset v2: the carrier's hlc must be the highest hlc inside")
    # One valid form: what these changes encode to (`_payload`), byte for byte. `_changes` refused a
    # table or row given twice, an empty group and a name the codebook numbers; what is left is the
    # msgpack itself, checked by packing the decoded payload again (in C: re-encoding the changes
    # through `_payload` cost a fifth of opening a changeset).
    if codec.pack(payload) != data:
        raise Malformed(f"{_NOT_CANONICAL} (msgpack)")
    return schema, out


def stored(changes: list[Raw], schema: int, book: Codebook = CODEBOOK) -> list[Raw]:
    """The carrier changes of `changes` in a zstd frame of stored (uncompressed) blocks, built here byte
    by byte: the same bytes on every replica whatever its zstd library, as a redacted body must be
    (each replica redacts its own copy and checks the hash the redaction record names)."""
    return _carriers(stored_frame(_payload(changes, schema, book)), changes)


def stored_frame(raw: bytes) -> bytes:
    """`raw` as one zstd frame of stored blocks (RFC 8878): single segment, 4-byte content size."""
    frame = bytearray(_MAGIC + bytes([0xA0]) + len(raw).to_bytes(4, "little"))
    for i in range(0, len(raw), _BLOCK):
        part = raw[i:i + _BLOCK]
        frame += (len(part) << 3 | int(i + _BLOCK >= len(raw))).to_bytes(3, "little") + part  # type 0: raw
    return bytes(frame)


def _carriers(frame: bytes, changes: list[Raw]) -> list[Raw]:
    top = max((c[4] for c in changes), default=0)
    return [[CARRIER_TABLE, CARRIER_ROW, CARRIER_FIELD, frame[i:i + CHUNK], top] for i in range(0, len(frame), CHUNK)]


def _payload(changes: list[Raw], schema: int, book: Codebook) -> bytes:
    groups: dict[Any, dict[bytes, list[tuple[Any, Any, int]]]] = {}
    for table, row, fld, value, hlc in changes:
        groups.setdefault(table, {}).setdefault(row, []).append((fld, value, hlc))
    last = 0
    tables = []
    for table, rows in groups.items():
        out_rows = []
        for row, items in rows.items():
            flat: list[Any] = []
            for fld, value, hlc in items:
                flat += [_field_id(book, table, fld, schema), value, hlc - last]
                last = hlc
            out_rows.append([row, flat])
        tables.append([_table_id(book, table, schema), out_rows])
    return codec.pack([schema, tables])


def _table_id(book: Codebook, table: str, schema: int) -> int | str:
    if table.startswith(PLACEHOLDER):  # a number from a newer schema, decoded here: it goes back as it came
        return int(table[len(PLACEHOLDER):])
    code = book.table_code(table, schema)
    return table if code is None else code


def _field_id(book: Codebook, table: str, fld: str, schema: int) -> int | str:
    if fld == _DELETE_FIELD:
        return DELETE_CODE
    if fld.startswith(PLACEHOLDER):
        return int(fld[len(PLACEHOLDER):])
    code = book.field_code(table, fld, schema)
    return fld if code is None else code


def _changes(tables: Any, schema: int, max_changes: int, book: Codebook) -> list[Raw]:
    """The raw changes of a payload's tables, in order. Names are checked further by the caller.
    Refuses what `_payload` never writes: a table, or a row of a table, given twice; an empty group."""
    newer = schema > book.schema  # numbers this build does not know may be the newer schema's
    codec.expect(tables, list, "changeset v2 tables")
    out: list[Raw] = []
    append = out.append
    last = 0
    seen: set[str] = set()
    for group in tables:
        if type(group) is not list or len(group) != 2 or type(group[1]) is not list or not group[1]:
            raise Malformed("changeset v2 tables: expected [table, rows]" if type(group) is not list or len(group) != 2 or type(group[1]) is not list else f"{_NOT_CANONICAL}: a table with no rows")
        table = _table_name(book, group[0], schema, newer)
        if table in seen:
            raise Malformed(f"{_NOT_CANONICAL}: table {table} given twice (each table once, each row once)")
        seen.add(table)
        names: dict[Any, str] = {}  # field number or name → name, for this table
        rows: set[bytes] = set()
        for entry in group[1]:
            if type(entry) is not list or len(entry) != 2 or type(entry[0]) is not bytes or type(entry[1]) is not list:
                raise Malformed(f"changeset v2 {table}: expected [row id, [field, value, dhlc, ...]]")
            row, flat = entry
            if len(flat) % 3:
                raise Malformed(f"changeset v2 {table} {row.hex()[:8]}: fields come in threes (field, value, dhlc)")
            if not flat:
                raise Malformed(f"{_NOT_CANONICAL}: {table} {row.hex()[:8]} with no fields")
            if row in rows:
                raise Malformed(f"{_NOT_CANONICAL}: {table} {row.hex()[:8]} given twice (each row once)")
            rows.add(row)
            for i in range(0, len(flat), 3):
                fid, value, delta = flat[i], flat[i + 1], flat[i + 2]
                if type(delta) is not int:
                    raise Malformed(f"changeset v2 {table} {row.hex()[:8]}: an hlc delta must be an int")
                last += delta
                if not 0 <= last < _HLC_LIMIT:
                    raise Malformed(f"changeset v2 {table} {row.hex()[:8]}: an hlc falls out of range")
                name = names.get(fid) if type(fid) is int or type(fid) is str else None
                if name is None:
                    name = names[fid] = _field_name(book, table, fid, schema, newer)
                append([table, row, name, value, last])
            if len(out) > max_changes:
                raise TooLarge(f"changeset has more than {max_changes} changes, the limit")
    return out


def _table_name(book: Codebook, tid: Any, schema: int, newer: bool) -> str:
    if type(tid) is str:
        if tid.startswith(PLACEHOLDER):
            raise Malformed(f"changeset v2: a table name may not start with {PLACEHOLDER!r}")
        if book.table_code(tid, schema) is not None:
            raise Malformed(f"{_NOT_CANONICAL}: table {tid} travels as its number in schema {schema}")
        return tid
    if type(tid) is not int:
        raise Malformed(f"changeset v2: a table is a number or a name, got {type(tid).__name__}")
    name = book.table_names.get(tid)
    if name is not None and book.tables[name][1] <= schema:
        return name
    if name is None and newer and tid > 0:
        return f"{PLACEHOLDER}{tid}"
    raise Malformed(f"changeset v2: table number {tid} is not in schema {schema}'s codebook")


def _field_name(book: Codebook, table: str, fid: Any, schema: int, newer: bool) -> str:
    if type(fid) is str:
        if fid.startswith(PLACEHOLDER) or fid == _DELETE_FIELD:
            raise Malformed(f"changeset v2 {table}: field name {fid!r} travels as a number or not at all")
        if book.field_code(table, fid, schema) is not None:
            raise Malformed(f"{_NOT_CANONICAL}: {table}.{fid} travels as its number in schema {schema}")
        return fid
    if type(fid) is not int:
        raise Malformed(f"changeset v2 {table}: a field is a number or a name, got {type(fid).__name__}")
    if fid == DELETE_CODE:
        return _DELETE_FIELD
    name = book.field_names.get(table, {}).get(fid)
    if name is not None and book.fields[table][name][1] <= schema:
        return name
    if name is None and newer and fid > 0:
        return f"{PLACEHOLDER}{fid}"
    raise Malformed(f"changeset v2 {table}: field number {fid} is not in schema {schema}'s codebook")


def _frame(carriers: Any) -> bytes:
    codec.expect(carriers, list, "changeset.changes")
    if not carriers:
        raise Malformed("changeset v2: no payload")
    parts = []
    for i, c in enumerate(carriers):
        if (type(c) is not list or len(c) != 5 or c[0] != CARRIER_TABLE or c[1] != CARRIER_ROW
                or c[2] != CARRIER_FIELD or type(c[3]) is not bytes or type(c[4]) is not int):
            raise Malformed(f"changeset v2: changes[{i}] is not a payload chunk [lw_body, 0…, v2, bytes, hlc]")
        last = i == len(carriers) - 1
        if not (0 < len(c[3]) <= CHUNK if last else len(c[3]) == CHUNK):
            raise Malformed(f"changeset v2: payload chunks are {CHUNK} bytes but the last; chunk {i} is {len(c[3])}")
        parts.append(c[3])
    return b"".join(parts)


def _decompress(frame: bytes) -> bytes:
    if frame[:4] != _MAGIC:
        raise Malformed("changeset v2: the payload is not one zstd frame")
    try:
        params = zstandard.get_frame_parameters(frame)
    except zstandard.ZstdError as exc:
        raise Malformed(f"changeset v2: unreadable zstd frame header ({exc})") from exc
    size = params.content_size
    if size in (zstandard.CONTENTSIZE_UNKNOWN, zstandard.CONTENTSIZE_ERROR):
        raise Malformed("changeset v2: the zstd frame does not declare its decompressed size")
    if size > MAX_PAYLOAD_BYTES:
        raise TooLarge(f"changeset v2: decompresses to {size} bytes, the limit is {MAX_PAYLOAD_BYTES} "
                       "(refused before decompressing)")
    if params.dict_id != 0:
        raise Malformed("changeset v2: the zstd frame names a dictionary; v2 uses none")
    try:
        out = zstandard.ZstdDecompressor().decompress(frame, max_output_size=MAX_PAYLOAD_BYTES, allow_extra_data=False)
    except zstandard.ZstdError as exc:
        raise Malformed(f"changeset v2: the zstd frame does not decompress ({exc})") from exc
    if len(out) != size:
        raise Malformed(f"changeset v2: the frame declares {size} bytes and holds {len(out)}")
    return bytes(out)
