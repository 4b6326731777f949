"""Canonical msgpack: one byte string per message, so hashes and signatures are stable.

Bodies are encoded with `v` first and keys in a fixed order. Decoding is strict: limits on sizes,
no ext types, no repeated map keys, exact key sets, and a re-encode check so a body has exactly one
valid byte form.
"""
from __future__ import annotations

import threading
from typing import Any, Mapping

import msgpack

from protocol.errors import Malformed, TooLarge, Truncated, UnknownVersion


_packers = threading.local()


def pack(obj: Any) -> bytes:
    """`msgpack.packb(obj, use_bin_type=True)`, on a packer kept per thread: `packb` builds a new
    packer for every call, which costs six times the packing of a small value (merging packs one
    value per change)."""
    try:
        packer = _packers.packer
    except AttributeError:
        packer = _packers.packer = msgpack.Packer(use_bin_type=True)
    return packer.pack(obj)


def _no_ext(code: int, data: bytes) -> Any:
    raise Malformed(f"msgpack ext type {code} is not allowed")


def _map(pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
    # A repeated key would silently keep its last value: `{body: junk, body: signed, sig}` passed as
    # the signed envelope and was relayed verbatim, junk and all, to peers whose decoder may keep the first.
    out = dict(pairs)
    if len(out) != len(pairs):
        raise Malformed("a map repeats a key")
    return out


def unpack(data: bytes, *, max_bytes: int, what: str, max_containers: int | None = None,
           max_len: int | None = None) -> Any:
    """Decode one msgpack object, mapping every failure to a typed RemoteError.

    Limits are enforced while decoding, before memory is spent: one byte of msgpack (an empty map)
    costs ~200 bytes as a Python dict, so a 16 MiB body of empty maps once took a hub from 77 MiB to
    3.6 GiB. `max_containers` caps the maps and arrays of a message (default: one per 16 bytes),
    `max_len` the length any one array or map may announce (msgpack preallocates it)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise Malformed(f"{what}: expected bytes, got {type(data).__name__}")
    if len(data) > max_bytes:
        raise TooLarge(f"{what}: {len(data)} bytes exceeds the limit of {max_bytes}")
    if len(data) == 0:
        raise Truncated(f"{what}: empty")
    budget = [max_containers if max_containers is not None else max(64, len(data) // 16)]

    def spend() -> None:
        budget[0] -= 1
        if budget[0] < 0:
            raise Malformed(f"more maps and arrays than a {what} may hold (nested or inflated)")

    def on_map(pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
        spend()
        return _map(pairs)

    def on_list(items: list[Any]) -> list[Any]:
        spend()
        return items

    limit = max_len if max_len is not None else len(data)
    try:
        return msgpack.unpackb(
            bytes(data),
            raw=False,
            use_list=True,
            strict_map_key=True,
            object_pairs_hook=on_map,
            list_hook=on_list,
            ext_hook=_no_ext,
            max_array_len=limit,
            max_map_len=limit,
        )
    except (Malformed, TooLarge) as exc:  # from the hooks: an ext type, a repeated key, too many containers
        raise type(exc)(f"{what}: {exc}") from exc
    except msgpack.ExtraData as exc:
        raise Malformed(f"{what}: trailing bytes after the message") from exc
    except (ValueError, msgpack.OutOfData) as exc:
        text = str(exc)
        # msgpack limits each count to what the buffer could hold, so "exceeds max_..._len" means
        # a header announces more than the bytes that are left: the message was cut short (or, past
        # our `max_len`, longer than any message may be: refused the same way, before allocating).
        if "incomplete" in text or "exceeds max_" in text or isinstance(exc, msgpack.OutOfData):
            raise Truncated(f"{what}: the bytes stop before the message ends") from exc
        raise Malformed(f"{what}: not valid msgpack ({text})") from exc
    except (TypeError, UnicodeDecodeError, RecursionError) as exc:
        raise Malformed(f"{what}: not valid msgpack ({exc})") from exc


def expect_map(obj: Any, keys: tuple[str, ...], what: str, version: int | None = 1) -> Mapping[str, Any]:
    """Check `obj` is a map with exactly `keys` (in order: canonical) and the version we speak."""
    if not isinstance(obj, dict):
        raise Malformed(f"{what}: expected a map, got {type(obj).__name__}")
    if version is not None and "v" in obj and type(obj["v"]) is not int:
        # `True == 1` and `1.0 == 1` in Python: without this a body with `v: true` passed as v1.
        raise Malformed(f"{what}: version must be an int, got {type(obj['v']).__name__}")
    if version is not None and "v" in obj and obj.get("v") != version:
        raise UnknownVersion(f"{what}: version {obj.get('v')!r}, this build speaks {version}")
    got = tuple(obj.keys())
    if got != keys:
        missing = [k for k in keys if k not in obj]
        extra = [k for k in got if k not in keys]
        if missing or extra:
            raise Malformed(f"{what}: missing keys {missing}, unexpected keys {extra}")
        raise Malformed(f"{what}: keys out of canonical order {list(got)}")
    return obj


def expect(value: Any, typ: type | tuple[type, ...], what: str) -> Any:
    if isinstance(value, bool) and typ is int:
        raise Malformed(f"{what}: expected int, got bool")
    if not isinstance(value, typ):
        name = typ.__name__ if isinstance(typ, type) else "/".join(t.__name__ for t in typ)
        raise Malformed(f"{what}: expected {name}, got {type(value).__name__}")
    return value


def expect_bytes(value: Any, length: int, what: str) -> bytes:
    expect(value, bytes, what)
    if len(value) != length:
        raise Malformed(f"{what}: expected {length} bytes, got {len(value)}")
    return bytes(value)


def expect_uint(value: Any, what: str, bits: int = 64) -> int:
    expect(value, int, what)
    if not 0 <= value < (1 << bits):
        raise Malformed(f"{what}: {value} is out of range")
    return int(value)
