"""The merge state as releases 0.1.0 to 0.2.x stored it: one msgpack map `{field: policy state}` per
row in `lw_row.state`. Read by the migrations that run before 0007 turned it into per-field rows
(`node.engine.rowstate`), and by 0007 itself; written only by 0007's downgrade."""
from __future__ import annotations

from typing import Any

import msgpack

from conflict.registry import Registry
from conflict.row import RowState
from protocol import codec

CHUNK = 2_000  # rows revision 0007 converts at a time, each way: its memory is bounded by this, not the table


def decode(registry: Registry, table: str, r: Any) -> RowState:
    """One legacy lw_row row (state, tomb_hlc, tomb_author) → its merge state."""
    fields = {f: registry.policy(table, f).decode(raw) for f, raw in msgpack.unpackb(r.state).items()}
    tomb = (r.tomb_hlc, r.tomb_author) if r.tomb_hlc is not None else None
    return RowState(fields, tomb)


def encode(registry: Registry, table: str, st: RowState) -> bytes:
    return codec.pack({f: registry.policy(table, f).encode(s) for f, s in st.fields.items()})
