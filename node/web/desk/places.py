"""Names of a township's villages for the desk's choices: the national division table
(`node.domain.divisions`, data/divisions.sqlite or $LAOWU_DIVISIONS) when it has been built, plus the villages
already in the register; a code the table does not know is shown as the code itself."""
from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine

from node.domain.divisions import DEFAULT_OUT, Divisions
from node.web.desk import search
from protocol import scope as scopes
from protocol.errors import LaowuError


def _table() -> Divisions | None:
    path = Path(os.environ.get("LAOWU_DIVISIONS", str(DEFAULT_OUT)))
    try:
        return Divisions(path) if path.is_file() else None
    except LaowuError:  # an unreadable or outdated table: codes are shown instead of names
        return None


def villages(engine: Engine, township: str) -> list[tuple[str, str]]:
    """(code, name) of the villages under `township`, by code; empty unless it is a township."""
    if scopes.level(township) != "township":
        return []
    found: dict[str, str] = {v: v for v in search.villages(engine)
                             if scopes.level(v) == "village" and scopes.contains(township, v)}
    table = _table()
    if table is not None:
        with table:
            try:
                found.update((d.code, d.name) for d in table.children(township) if d.level == "village")
            except LaowuError:  # the township is not in the table: the register's villages only
                pass
            for code in [c for c, name in found.items() if name == c]:
                known = table.get(code)
                found[code] = known.name if known else code
    return sorted(found.items())


def name(code: str) -> str:
    """A place's name from the division table, else its code."""
    table = _table()
    if table is None:
        return code
    with table:
        known = table.get(code)
    return known.name if known else code
