"""Helpers for the hub tests: a three-tier world on real servers, raw protocol calls, a cutting transport.

The world is a province hub and a county hub (real uvicorn on loopback, stores on the backend
under test: SQLite or PostgreSQL; each started on first use, so a test pays only for what it
touches), and a township and villages as SQLite node stores in tmp_path. The county relays to the
province as in production: its own store runs a `SyncClient` against the province. Keys and
certificates come from the deterministic test sandbox (`tests/conftest.py`), extended on demand.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from hub.app import Hub
from hub.server import ServerThread
from node.engine import tables as t
from node.sandbox import Member, Sandbox
from node.engine.store import Store
from node.sync.client import SyncClient, SyncReport
from protocol import clock, codec, messages
from protocol.changeset import Change, Changeset, Value, seal
from protocol.keys import KeyPair

PROVINCE = "510000000000"
COUNTY = "513225000000"
TOWNSHIP = "513225103000"
VILLAGE = "513225103201"
SIBLING = "513225103202"
PG_URL = os.environ.get("LAOWU_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
CT = {"content-type": messages.CONTENT_TYPE}


@dataclass
class Running:
    """One hub: its store, the Hub state it serves from, and its uvicorn server on loopback."""

    store: Store
    hub: Hub
    server: ServerThread


class World:
    """Province and county hubs serving on loopback (each started on first use), and node stores
    made on demand by `node(code)`. `new_db(label)` gives a fresh database URL for a hub store."""

    def __init__(self, box: Sandbox, tmp: Path, new_db: Callable[[str], str]) -> None:
        self.box = box
        self.tmp = tmp
        self.new_db = new_db
        self.hubs: dict[str, Running] = {}
        self.nodes: dict[str, Store] = {}
        self.clients: list[SyncClient] = []

    def _hub(self, code: str) -> Running:
        if code not in self.hubs:
            m = self.box.members[code]
            certs = [self.box.members[PROVINCE].cert] + ([m.cert] if code != PROVINCE else [])
            store = Store.create(self.new_db("province" if code == PROVINCE else "county"), m.key, code,
                                 self.box.root.public, certs)
            hub = Hub(store)
            running = Running(store, hub, ServerThread(hub).__enter__())
            self.hubs[code] = running
        return self.hubs[code]

    @property
    def province(self) -> Store:
        return self._hub(PROVINCE).store

    @property
    def county(self) -> Store:
        return self._hub(COUNTY).store

    @property
    def province_hub(self) -> Hub:
        return self._hub(PROVINCE).hub

    @property
    def county_hub(self) -> Hub:
        return self._hub(COUNTY).hub

    @property
    def province_url(self) -> str:
        return self._hub(PROVINCE).server.url

    @property
    def county_url(self) -> str:
        return self._hub(COUNTY).server.url

    def member(self, code: str) -> Member:
        if code not in self.box.members:
            role = "township" if code.endswith("000") else "village"
            self.box.enroll(code, role, COUNTY)
        return self.box.members[code]

    def chain(self, code: str) -> list[bytes]:
        """The certificates from the root down to `code`'s key."""
        root = self.box.members[PROVINCE].cert
        return [root, self.box.members[COUNTY].cert, self.member(code).cert]

    def node(self, code: str, *, wall: Callable[[], int] = clock.wall_ms) -> Store:
        """The SQLite node store of `code` (a village or the township), created on first use."""
        if code not in self.nodes:
            m = self.member(code)
            path = self.tmp / f"{code}.sqlite"
            self.nodes[code] = Store.create(str(path), m.key, code, self.box.root.public, self.chain(code),
                                            wall=wall)
        return self.nodes[code]

    def client(self, store: Store, to: str = "county", **kw: Any) -> SyncClient:
        hub = self._hub(COUNTY if to == "county" else PROVINCE)
        c = SyncClient(store, hub.server.url, hub.store.author, **kw)
        self.clients.append(c)
        return c

    def sync(self, code: str, to: str = "county") -> SyncReport:
        return self.client(self.node(code), to).sync()

    def relay(self) -> SyncReport:
        """The county hub syncs with the province: its store is a client like any other."""
        return self.client(self.county, "province").sync()

    def close(self) -> None:
        for c in self.clients:
            c.close()
        for s in self.nodes.values():
            s.close()
        for running in self.hubs.values():
            running.server.__exit__()
        for running in self.hubs.values():
            running.store.close()


@contextmanager
def serving(argv: Sequence[str], port: int, log: Path, env: dict[str, str], cwd: Path | None = None) -> Iterator[str]:
    """`laowu-hub serve …` (argv) as a real process on `port`: yields its URL once /v1/health answers,
    stops it with SIGTERM (as systemd does) at the end; what it prints goes to `log`."""
    url = f"http://127.0.0.1:{port}"
    with open(log, "wb") as out:
        proc = subprocess.Popen(list(argv), env=env, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(url + "/v1/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")[-2000:]
                time.sleep(0.2)
            yield url
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def key_copy(path: Path, tmp: Path, passphrase: str) -> KeyPair:
    """Load a key file through a copy in `tmp`: opening an older release's key file rewrites it in
    today's format, and a release fixture must stay exactly as its release made it."""
    copy = tmp / f"copy-of-{path.parent.name}-{path.name}"
    copy.write_bytes(path.read_bytes())
    return KeyPair.load(copy, passphrase)


# -- what a store holds ------------------------------------------------------------------------

def log_envelopes(store: Store) -> dict[bytes, bytes]:
    """id → verbatim envelope of every applied changeset."""
    with store.engine.connect() as conn:
        q = select(t.log.c.id, t.log.c.envelope).where(t.log.c.status == "applied")
        return {r.id: r.envelope for r in conn.execute(q)}


def value(store: Store, table: str, row: bytes, name: str) -> Value | None:
    """One merged field of one row as `store` holds it; None when the row or field is missing."""
    values = store.values(table).get((table, row))
    return None if values is None else values.get(name)


def table_rows(store: Store, table: Any) -> list[Any]:
    with store.engine.connect() as conn:
        return list(conn.execute(select(table)))


def snapshot(store: Store) -> dict[str, Any]:
    """Everything sync may change on a hub: merged rows, log, heads, quarantine, forks."""
    with store.engine.connect() as conn:
        log = sorted((r.id, r.status, r.pos) for r in conn.execute(select(t.log)))
        heads = sorted((r.author, r.scope, r.seq, r.id) for r in conn.execute(select(t.heads)))
    return {"values": store.values(), "log": log, "heads": heads, "status": store.status()}


# -- changesets made directly with a key ---------------------------------------------------------

def feed(key: KeyPair, scope: str, n: int, *, first: int = 1, prev: bytes | None = None) -> list[Changeset]:
    """`n` chained changesets of one new job posting each, signed by `key` for `scope` (any scope:
    the point is often that the key may not write it), starting at seq `first` after `prev`."""
    base = clock.pack(clock.wall_ms())
    out = []
    for i in range(n):
        row = os.urandom(16)
        changes = [Change("job_posting", row, "scope", scope, base + i),
                   Change("job_posting", row, "title", f"posting {first + i}", base + i)]
        cs = seal(key, scope, first + i, prev, changes)
        prev = cs.id
        out.append(cs)
    return out


# -- the protocol spoken by hand -----------------------------------------------------------------

def hello_body(key: KeyPair, hub: bytes, home: str, certs: list[bytes]) -> bytes:
    return messages.Hello.make(key, hub, home, certs, 0, clock.wall_ms(), os.urandom(messages.NONCE_LEN)).encode()


def post(url: str, path: str, body: bytes) -> httpx.Response:
    with httpx.Client(base_url=url, timeout=30) as http:
        return http.post(path, content=body, headers=CT)


def error_of(resp: httpx.Response) -> str:
    """The `error` code of a hub's 4xx answer."""
    return str(codec.unpack(resp.content, max_bytes=1 << 16, what="error")["error"])


def session(url: str, hub: bytes, key: KeyPair, home: str, certs: list[bytes]) -> bytes:
    """Say hello by hand and return the session token."""
    resp = post(url, "/v1/hello", hello_body(key, hub, home, certs))
    assert resp.status_code == 200, resp.content
    return messages.Welcome.decode(resp.content).token


def push(url: str, token: bytes, envelopes: list[bytes], certs: Sequence[bytes] = (),
         revocations: Sequence[bytes] = ()) -> list[dict[str, Any]]:
    resp = post(url, "/v1/push", messages.Push(token, envelopes, list(certs), list(revocations)).encode())
    assert resp.status_code == 200, resp.content
    return messages.PushResult.decode(resp.content).results


# -- a real transport that loses the connection ---------------------------------------------------

class Cut(httpx.HTTPTransport):
    """An HTTP transport that records what crosses it and loses the answer to the `cut_at`-th request
    to `path`: the hub did the work, the client never hears back (a cable pulled mid-response)."""

    def __init__(self, path: str | None = None, cut_at: int = 0) -> None:
        super().__init__()
        self.path = path
        self.cut_at = cut_at
        self.seen: dict[str, int] = {}
        self.sent: list[tuple[str, bytes, bytes]] = []  # (path, request body, response body)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        resp = super().handle_request(request)
        content = resp.read()
        path = request.url.path
        self.seen[path] = self.seen.get(path, 0) + 1
        if path == self.path and self.seen[path] == self.cut_at:
            raise httpx.ReadError("connection lost mid-response", request=request)
        self.sent.append((path, body, content))
        return resp

    def pulled(self) -> int:
        """Envelopes the client received in pull batches."""
        return sum(len(messages.Batch.decode(c).envelopes) for p, _, c in self.sent if p == "/v1/pull")

    def pushed(self) -> int:
        """Envelopes the client sent in pushes that it heard back about."""
        return sum(len(messages.Push.decode(b).envelopes) for p, b, _ in self.sent if p == "/v1/push")


def wait_for(what: str, check: Callable[[], Any], seconds: float = 90) -> None:
    """Poll `check` until it holds: the e2e tests wait for real hub processes to relay."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


def no_postgresql(message: str) -> None:
    """PostgreSQL is unreachable: skip on a developer's machine, fail under CI, where it must run."""
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail(message + "; CI is set, where PostgreSQL tests must run: start it or set LAOWU_TEST_PG_URL")
    pytest.skip(message)
