"""The node the desk serves: its store and config, the hubs it may sync with, and the sync badge.

The badge counts *records* waiting to reach a hub (rows touched by open changes or by our
subtree's changesets past every hub's push cursor), not field changes: a card of 17 fields is 1.
The count is cached under a fingerprint of the log and the open changes, so a page render costs
two small queries until something is written or applied.

Whether the county hub answers is learned by a background probe of its `/v1/health` every 20 s
(it touches no database), so no page waits for the network.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
from sqlalchemy import func, select

from node.engine import tables as t
from node.engine import synclog
from node.engine.store import Store
from node.web import messages
from protocol import codec
from protocol.changeset import body_changes, envelope_parts
from protocol.errors import RemoteError


class NodeDir(Protocol):
    """A node directory (`node.cli.main.Node`), named here without importing the CLI."""

    dir: Path

    def store(self) -> Store: ...

    def config(self) -> dict[str, Any]: ...


@dataclass
class Prober:
    """Asks a hub's /v1/health now and then, in its own thread; `online` is the last answer."""

    url: str
    interval: float = 20.0
    online: bool = False
    _stop: threading.Event = field(default_factory=threading.Event)

    def check(self) -> bool:
        try:
            self.online = httpx.get(self.url.rstrip("/") + "/v1/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            self.online = False
        return self.online

    def start(self) -> None:
        def run() -> None:
            while not self._stop.is_set():
                self.check()
                self._stop.wait(self.interval)
        threading.Thread(target=run, name="laowu-probe", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()


@dataclass
class Desk:
    node: NodeDir
    store: Store
    config: dict[str, Any]
    prober: Prober
    _badge_key: tuple[Any, ...] = ()
    _badge_count: int = 0

    @property
    def hub(self) -> str:
        return str(self.config["hub"]).rstrip("/")

    @property
    def place(self) -> str:
        return self.store.home

    def push_cursor(self) -> int:
        """Our log position the furthest hub acknowledged: past it, a record has reached no hub."""
        with self.store.engine.connect() as conn:
            return int(conn.execute(select(func.coalesce(func.max(t.peers.c.push_cursor), 0))).scalar_one())

    def unsynced(self) -> int:
        """Records (table, row) written here or carried here that no hub has acknowledged yet."""
        cursor = self.push_cursor()
        with self.store.engine.connect() as conn:
            key = (cursor, *conn.execute(select(func.count(), func.max(t.open_changes.c.n))).one(),
                   conn.execute(select(func.max(t.log.c.pos))).scalar_one())
            if key == self._badge_key:
                return self._badge_count
            rows: set[tuple[str, bytes]] = set()
            for r in conn.execute(select(t.open_changes.c.change)):
                tb, row, *_ = codec.unpack(r.change, max_bytes=1 << 24, what="open change")
                rows.add((tb, row))
            q = select(t.log.c.envelope).where(t.log.c.status == "applied", t.log.c.pos > cursor,
                                               synclog.within(t.log.c.scope, self.store.home))
            for r in conn.execute(q):
                rows |= _rows_of(r.envelope)
        self._badge_key, self._badge_count = key, len(rows)
        return len(rows)

    def last_sync(self) -> int | None:
        with self.store.engine.connect() as conn:
            found = conn.execute(select(func.max(t.peers.c.last_sync))).scalar_one()
        return int(found) if found else None

    def badge(self) -> dict[str, Any]:
        return {"unsynced": self.unsynced(), "last_sync": messages.local_time(self.last_sync()),
                "online": self.prober.online}

    def actor_name(self, author: bytes) -> str:
        """Who wrote with a key, as a person reads it: this computer, or a place's role and short id."""
        if author == self.store.author:
            return "本机"
        cert = self.store.trust.certs.get(author)
        if cert is None:
            return "未知密钥"
        roles = {"village": "村", "township": "乡镇", "county": "县", "prefecture": "市", "province": "省"}
        return f"{roles.get(cert.role, cert.role)} {cert.scopes[0] if cert.scopes else ''}({cert.describe().split()[1]})"


def _rows_of(envelope: bytes | None) -> set[tuple[str, bytes]]:
    if envelope is None:
        return set()
    try:
        return {(c[0], c[1]) for c in body_changes(envelope_parts(envelope)[0])[1]}
    except (RemoteError, KeyError, TypeError, IndexError):
        return set()
