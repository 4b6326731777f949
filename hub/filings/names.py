"""Names of places for the filings' 所在地 columns: a village's own profile name first (what the
village calls itself), then the national division table when it has been built (`make divisions`,
data/divisions.sqlite or $LAOWU_DIVISIONS), else the code itself.

One range read of each source over the codes' common prefix (a province's 37,000 places in a few
hundred milliseconds), not one lookup per code.
"""
from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import Connection, select

from node.engine import schema
from node.domain.divisions import DEFAULT_OUT


def _table() -> Path:
    return Path(os.environ.get("LAOWU_DIVISIONS", str(DEFAULT_OUT)))


def _prefix(codes: set[str]) -> str:
    return os.path.commonprefix(sorted(codes)[:1] + sorted(codes)[-1:]) if codes else ""


def names(conn: Connection, codes: Iterable[str]) -> dict[str, str]:
    wanted = set(codes)
    out: dict[str, str] = {}
    if not wanted:
        return out
    low = _prefix(wanted)
    path = _table()
    if path.is_file():
        with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as db:
            for code, name in db.execute("SELECT code, name FROM division WHERE code >= ? AND code < ?",
                                         (low, low + ":")):
                if code in wanted:
                    out[code] = name
    vp = schema.TABLES["village_profile"].__table__  # type: ignore[attr-defined]
    for r in conn.execute(select(vp.c.scope, vp.c.name).where(vp.c.scope.like(low + "%"))):
        if r.scope in wanted and r.name:
            out[r.scope] = r.name
    return out
