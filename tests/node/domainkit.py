"""Helpers for the domain tests (broker, placement, rules, ops): valid ID numbers, people and brokers
entered through the write API, and syncing real stores with each other.

Dates are fixed, so every test reads the same on any day: TODAY is inside the sandbox certificates'
validity and after every date the tests write.
"""
from __future__ import annotations

from datetime import date
from typing import Any

import msgpack
from sqlalchemy import select
from stdnum.cn import ric

from node.engine import tables as t
from node.domain import ops
from node.engine.store import Store

TODAY = date(2024, 6, 1)
REGION = "513225"  # the test county's code: ID numbers issued there


def ident(birth: date, region: str = REGION, seq: int = 1) -> str:
    """A valid 18-digit ID number; odd `seq` is a man, even a woman."""
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


def card(n: int = 1, **more: Any) -> dict[str, Any]:
    """The form of test person `n`, born 1990."""
    return {"id_number": ident(date(1990, 3, 7), seq=2 * n + 1), "name": f"工人{n}", "phone": "13812345678",
            "education": "初中", **more}


def filed_broker(store: Store, n: int = 1, scope: str | None = None) -> bytes:
    """A broker filed before 2023-12-31, entered as filed (no retraining), in `scope`."""
    return ops.broker_apply(store, {"id_number": ident(date(1980, 5, 1), seq=100 + 2 * n + 1),
                                    "name": f"经纪人{n}", "phone": "13912345678",
                                    "filed_on": "2021-03-01"},
                            scope=scope, today=TODAY, already_filed=True)


def sync(*stores: Store) -> None:
    """Seal every store, then pass each one what every other lacks and may see, until nothing moves."""
    for s in stores:
        s.seal()
    moved = True
    while moved:
        moved = False
        for a in stores:
            for b in stores:
                if a is b:
                    continue
                envs, _ = a.envelopes_for(b.vector(), b.home)
                for out in b.apply(envs) if envs else []:
                    assert out["status"] in ("accepted", "duplicate"), out
                    moved |= out["status"] == "accepted"


def conflicts(store: Store) -> list[tuple[bytes, str, list[bytes], str]]:
    """The conflict queue: (key, kind, rows, detail), by key."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(t.conflicts).order_by(t.conflicts.c.key)).all()
    return [(r.key, r.kind, list(msgpack.unpackb(r.rows)), r.detail) for r in rows]


def audit(store: Store) -> list[Any]:
    with store.engine.connect() as conn:
        return conn.execute(select(t.audit).order_by(t.audit.c.n)).all()
