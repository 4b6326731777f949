"""Names of places for the filings' 所在地 columns: a village's own profile name first (what the
village calls itself), then the national division table when it has been built (`make divisions`,
data/divisions.sqlite or $LAOWU_DIVISIONS), else the code itself."""
from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import Connection, select

from node import schema
from node.divisions import DEFAULT_OUT, Divisions


def _table() -> Path:
    return Path(os.environ.get("LAOWU_DIVISIONS", str(DEFAULT_OUT)))


def names(conn: Connection, codes: Iterable[str]) -> dict[str, str]:
    wanted = set(codes)
    out: dict[str, str] = {}
    path = _table()
    if path.is_file() and wanted:
        with Divisions(path) as d:
            for code in wanted:
                found = d.get(code)
                if found is not None:
                    out[code] = found.name
    vp = schema.TABLES["village_profile"].__table__  # type: ignore[attr-defined]
    villages = [c for c in wanted if not c.endswith("000")]
    for i in range(0, len(villages), 500):
        for r in conn.execute(select(vp.c.scope, vp.c.name).where(vp.c.scope.in_(villages[i:i + 500]))):
            out[r.scope] = r.name
    return out
