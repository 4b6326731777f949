"""Running a hub: uvicorn on a host and port, in the foreground or in a thread (tests, demo)."""
from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

from hub.app import Hub, create_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerThread:
    """A real uvicorn server on loopback in a background thread; `url` once started. Serves a hub,
    or any ASGI app (the village desk in its tests and benchmark)."""

    def __init__(self, hub: Hub | Any, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        app = create_app(hub) if isinstance(hub, Hub) else hub
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                timeout_keep_alive=5, limit_concurrency=256)
        self.server = uvicorn.Server(config)
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


def serve(hub: Hub, host: str, port: int, *, tls: tuple[str, str] | None = None, max_connections: int = 256) -> None:
    """Serve until stopped. `tls` is (certificate file, key file). log_config=None: uvicorn's records go
    through the process's logging (node.logs.setup), its per-request access lines quieted there."""
    uvicorn.run(create_app(hub), host=host, port=port, log_config=None, timeout_keep_alive=5,
                limit_concurrency=max_connections,
                ssl_certfile=tls[0] if tls else None, ssl_keyfile=tls[1] if tls else None)
