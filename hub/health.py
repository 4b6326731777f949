"""`GET /v1/health`: what a person (or a monitor) asks first — is this hub well, and what does it hold.

Two answers from one address. A Laowu client names our media type (`Accept` or `Content-Type:
application/vnd.laowu+msgpack`; release 0.1.0's nodes send the latter on every request) and gets the
small msgpack `{v, home, time}` it reads the hub's clock from before saying hello. Everyone else —
a browser, `curl`, a monitoring probe — gets readable JSON:

    {"status": "ok", "version": "0.2.0", "schema": 2, "database": {"ok": true, "revision": "0003_…",
     "backend": "postgresql"}, "home": "513225000000", "hub": "ab12cd34", "time": "2026-11-28T09:12:01+08:00",
     "time_ms": …, "clock_offset_ms": 0, "upstream": {"url": …, "reachable": true, "last_sync": …,
     "last_error": null}, "queues": {"pending": 0, "quarantined": 0, "forks": 0, "conflicts": 0},
     "last_contact": {"513225103201": "2026-11-28T09:11:40+08:00"}}

The status is 200 when the database answers, 503 (with the same JSON, `"status": "degraded"`) when it
does not, so a probe can alert on the code alone.
"""
from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import text

from node import migrations
from node.engine.schema import SCHEMA_VERSION
from node.engine.store import Store
from node.version import release
from protocol import codec, messages
from protocol.keys import short_id


def wants_msgpack(headers: Any) -> bool:
    return messages.CONTENT_TYPE in headers.get("accept", "") or messages.CONTENT_TYPE in headers.get("content-type", "")


def clock_answer(store: Store) -> bytes:
    """What a node reads the hub's time from (unchanged since 0.1.0)."""
    return codec.pack({"v": 1, "home": store.home, "time": store.hlc.physical()})


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(seconds))


def readable(store: Store, *, upstream: Any = None, last_contact: dict[str, float] | None = None) -> tuple[int, bytes]:
    """(HTTP status, JSON body). `upstream` is the relay's `Background` loop, when this hub relays."""
    db: dict[str, Any] = {"ok": True, "backend": store.engine.dialect.name}
    queues: dict[str, int] | None = None
    try:
        with store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            db["revision"] = ",".join(migrations.current(conn) or ())
        st = store.status()
        queues = {"pending": st.pending, "quarantined": st.quarantined, "forks": st.forks,
                  "conflicts": st.conflicts, "feeds": st.feeds}
    except Exception as exc:  # whatever the database says, the answer is "not well", never a 500
        db.update(ok=False, error=f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    now_ms = store.hlc.physical()
    up: dict[str, Any] | None = None
    if upstream is not None:
        last = getattr(upstream, "last", None)
        up = {"url": upstream.client.url, "reachable": None if last is None and not upstream.failures else upstream.failures == 0,
              "last_error": upstream.last_error, "failures": upstream.failures}
    body = {
        "status": "ok" if db["ok"] else "degraded",
        "version": release(), "schema": SCHEMA_VERSION, "database": db,
        "home": store.home, "hub": short_id(store.author),
        "time": _iso(now_ms / 1000), "time_ms": now_ms, "clock_offset_ms": store.hlc.offset_ms,
        "upstream": up, "queues": queues,
        "last_contact": {place: _iso(at) for place, at in sorted((last_contact or {}).items())},
    }
    return (200 if db["ok"] else 503), json.dumps(body, ensure_ascii=False, indent=1).encode()
