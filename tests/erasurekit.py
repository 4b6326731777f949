"""Searching files for erased values: the check behind every "erased values are nowhere" test.

A value counts as found if its UTF-8 bytes or its msgpack encoding (how it sits in a changeset
body) occur anywhere in a file: database files with their -wal and -shm companions, bundles, logs.
"""
from __future__ import annotations

from pathlib import Path

from protocol import codec


def needles(*values: str) -> list[bytes]:
    """Each value as UTF-8 and as a msgpack string."""
    return [form for v in values for form in (v.encode(), codec.pack(v))]


def files_under(*roots: str | Path) -> list[Path]:
    out: list[Path] = []
    for root in map(Path, roots):
        out += [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    return out


def found(paths: list[Path], values: list[bytes]) -> list[str]:
    """`path: value` for every file that holds one of `values` (none is what erasure promises)."""
    hits = []
    for path in paths:
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # a -wal or -shm that went away while we looked
            continue
        hits += [f"{path}: {v!r}" for v in values if v in data]
    return hits
