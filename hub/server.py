"""Running a hub: uvicorn on a host and port, in the foreground or in a thread (tests, demo).

A hub faces the network, so the server itself is bounded (issue 9): at most `MAX_CONNECTIONS` open
connections and requests (past that uvicorn answers 503 at once, and the ones already open go on);
a connection that has not sent a whole request head within `HEADER_TIMEOUT_S` is closed (idle or
slow-header sockets once exhausted a hub's descriptors: 1,030 of them stopped it); an idle
keep-alive connection is closed after `KEEP_ALIVE_S`; a request head may not exceed 64 KiB; the
process raises its open-file limit as far as the system allows. Bodies have their own size and time
limits in `hub.app.read_body`.

Given a certificate and key, it serves TLS (uvicorn's ssl options); nodes trust the hub's
certificate through the system store or a CA file (`laowu-node init --ca-file`).
"""
from __future__ import annotations

import asyncio
import resource
import socket
import threading
import time
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from hub.app import Hub, create_app

MAX_CONNECTIONS = 2048
HEADER_TIMEOUT_S = 10.0
KEEP_ALIVE_S = 5
MAX_HEAD_BYTES = 64 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class GuardedH11(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, plus a deadline for each request head: uvicorn times out idle
    keep-alive connections but not a socket that connects and never (or slowly) sends a request."""

    header_timeout = HEADER_TIMEOUT_S
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def _arm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = self.loop.call_later(self.header_timeout, self._expired)

    def _expired(self) -> None:
        self._deadline = None
        if self.cycle is None or self.cycle.response_complete:  # still waiting for a whole request head
            self.transport.close()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        super().connection_lost(exc)


def _protocol(header_timeout: float) -> type[GuardedH11]:
    return type("GuardedH11", (GuardedH11,), {"header_timeout": header_timeout})


def raise_file_limit() -> int:
    """Let the process hold as many sockets as the system allows (the soft limit is often 1,024)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        except (ValueError, OSError):
            return soft
    return want


def config(app: Any, host: str, port: int, *, certfile: str | None = None, keyfile: str | None = None,
           header_timeout: float = HEADER_TIMEOUT_S, max_connections: int = MAX_CONNECTIONS,
           log_level: str = "warning", **extra: Any) -> uvicorn.Config:
    """The one uvicorn configuration every hub (`create_app(hub)`) runs with, in tests as in production."""
    kw: dict[str, Any] = {}
    if certfile:
        kw.update(ssl_certfile=certfile, ssl_keyfile=keyfile)
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, http=_protocol(header_timeout),
                          timeout_keep_alive=KEEP_ALIVE_S, limit_concurrency=max_connections,
                          h11_max_incomplete_event_size=MAX_HEAD_BYTES, **kw, **extra)


class ServerThread:
    """A real uvicorn server on loopback in a background thread; `url` once started. Serves a hub,
    or any ASGI app (the village desk in its tests and benchmark)."""

    def __init__(self, hub: Hub | Any, port: int | None = None, **kw: Any) -> None:
        self.port = port or free_port()
        self.url = f"{'https' if kw.get('certfile') else 'http'}://127.0.0.1:{self.port}"
        kw.setdefault("max_connections", 256)
        app = create_app(hub) if isinstance(hub, Hub) else hub
        self.server = uvicorn.Server(config(app, "127.0.0.1", self.port, **kw))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("hub server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve(hub: Hub, host: str, port: int, *, tls: tuple[str, str] | None = None,
          max_connections: int = MAX_CONNECTIONS) -> None:
    """Serve until stopped. `tls` is (certificate file, key file). log_config=None: uvicorn's records go
    through the process's logging (node.logs.setup), its per-request access lines quieted there."""
    raise_file_limit()
    uvicorn.Server(config(create_app(hub), host, port, certfile=tls[0] if tls else None, keyfile=tls[1] if tls else None,
                          max_connections=max_connections, log_config=None)).run()
