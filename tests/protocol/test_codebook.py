"""The codebook of body v2 (protocol/codebook.py): every replicated field numbered, numbers never change.

A field without a number still travels (as its name, at ~10 bytes more per change), so a forgotten one
would not break sync: these tests are what makes the numbering complete and append-only.
"""
from __future__ import annotations

import hashlib

from node import domain  # noqa: F401  (registers every replicated table)
from node.engine import schema
from protocol.codebook import CODEBOOK, GENERATIONS

# sha-256 of every (table, code, field, code) of generation 2, as first released. An edit of an
# earlier generation renumbers fields on the wire: append a generation instead.
GENERATION_2 = "859b7dc476bb48fcc2af1dbf31b889e937284eb3c8b13ffe4c251778e231ce3b"


def numbering(upto: int) -> str:
    rows = sorted((tb, CODEBOOK.tables[tb][0], f, code) for tb, fs in CODEBOOK.fields.items()
                  for f, (code, since) in fs.items() if since <= upto and CODEBOOK.tables[tb][1] <= upto)
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_every_field_of_every_replicated_table_has_a_number() -> None:
    missing = [f"{name}.{f}" for name, cls in schema.TABLES.items() for f in schema.columns(cls)
               if CODEBOOK.field_code(name, f, schema.SCHEMA_VERSION) is None]
    assert missing == []


def test_the_codebook_reaches_the_schema_this_build_writes() -> None:
    """A body of a schema the codebook has no generation for would decode numbers as placeholders."""
    assert CODEBOOK.schema == schema.SCHEMA_VERSION == GENERATIONS[-1][0]


def test_released_numbers_never_change() -> None:
    assert numbering(2) == GENERATION_2
