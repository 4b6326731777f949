"""A fault-injecting TCP proxy in front of a hub, on loopback (asyncio, in a thread of its own).

It reads just enough HTTP/1.1 to know where each request and each answer ends (Content-Length or
chunked framing), and for every request on a client connection draws an action from a seeded
schedule: one `random.Random` per connection, seeded with (seed, connection number), so a failing
run names the seed that replays its schedule. The actions:

    pass          forward the request on a fresh upstream connection, return the answer
    cut_request   forward the head and half the body, then close both sides: the hub reads a body cut short
    cut_response  forward the request, return the head and half of the answer's body, then close:
                  the hub did the work and the client never hears about it
    stall         forward the request, then hold the answer past the client's timeout and close
    late          hold the request past the client's timeout, then deliver it anyway (the hub works
                  for a client that has given up and perhaps already retried)
    dup           deliver the request twice, on two connections, and return the first answer
    dup_second    deliver it twice and return the second answer (a retransmission the hub saw twice)
    dup_late      return the answer, then replay the request a moment later in the background

`rewrite(path, answer)`, when given, is a network attacker: it returns the answer the client gets;
`tamper(path, request)` likewise returns the request the hub gets (or just reads it: a wiretap).

`counts` says how often each action was drawn, `by_path` the same per endpoint, `statuses` the
HTTP status of every answer the hub gave (a 5xx is a bug of ours, DESIGN §8).
"""
from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType

ACTIONS = ("pass", "cut_request", "cut_response", "stall", "late", "dup", "dup_second", "dup_late")
FAULTS = ACTIONS[1:]


@dataclass(frozen=True)
class Message:
    """One HTTP/1.1 request or answer as it crossed the wire: head (with its blank line) and body."""

    head: bytes
    body: bytes

    @property
    def raw(self) -> bytes:
        return self.head + self.body

    @property
    def start(self) -> list[str]:
        return self.head.split(b"\r\n", 1)[0].decode("latin-1").split()

    def cut(self) -> bytes:
        """Half of it: into the body when there is one, else into the head."""
        if self.body:
            return self.head + self.body[: len(self.body) // 2]
        return self.head[: len(self.head) // 2]


async def read_message(reader: asyncio.StreamReader) -> Message | None:
    """The next whole message, or None when the peer closed cleanly between messages."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise ConnectionError("message head cut short") from exc
    headers: dict[str, str] = {}
    for line in head.split(b"\r\n")[1:]:
        name, sep, value = line.decode("latin-1").partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        parts = []
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0].strip(), 16)
            parts.append(size_line + await reader.readexactly(size + 2))  # chunk and its CRLF (or the final CRLF)
            if size == 0:
                break
        return Message(head, b"".join(parts))
    return Message(head, await reader.readexactly(int(headers.get("content-length", "0"))))


class FaultProxy:
    """`with FaultProxy(port, seed=1, rates={"cut_request": 0.05, ...}, hold=1.5) as p:` clients
    talk to `p.url`; every request is forwarded to 127.0.0.1:`port` unless its action says otherwise.
    `hold` is how long a stalled or late message waits: longer than the clients' timeout."""

    def __init__(self, upstream_port: int, *, seed: int, rates: Mapping[str, float], hold: float,
                 rewrite: Callable[[str, Message], Message] | None = None,
                 tamper: Callable[[str, Message], Message] | None = None) -> None:
        unknown = set(rates) - set(FAULTS)
        if unknown or sum(rates.values()) > 1:
            raise ValueError(f"rates must be fault actions summing to at most 1: {dict(rates)}")
        self.upstream = ("127.0.0.1", upstream_port)
        self.seed = seed
        self.rates = dict(rates)
        self.hold = hold
        self.rewrite = rewrite  # a network attacker: (path, answer) → the answer the client gets
        self.tamper = tamper  # (path, request) → the request the hub gets
        self.counts: Counter[str] = Counter()
        self.by_path: Counter[tuple[str, str]] = Counter()
        self.statuses: Counter[int] = Counter()
        self.connections = 0
        self.port = 0
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fault-proxy", daemon=True)
        self.tasks: set[asyncio.Task[None]] = set()
        self.server: asyncio.base_events.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def faults(self) -> int:
        return sum(n for action, n in self.counts.items() if action != "pass")

    # -- lifecycle (called from the test's thread) ------------------------------------------------

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=10)
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()

    async def _start(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = int(self.server.sockets[0].getsockname()[1])

    async def _stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    # -- the schedule ---------------------------------------------------------------------------------

    def _draw(self, rnd: random.Random) -> str:
        x = rnd.random()
        for action in FAULTS:
            x -= self.rates.get(action, 0.0)
            if x < 0:
                return action
        return "pass"

    def _track(self) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # -- one client connection ------------------------------------------------------------------------

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._track()
        n = self.connections
        self.connections += 1
        rnd = random.Random(f"{self.seed}/{n}")
        try:
            while True:
                req = await read_message(reader)
                if req is None:
                    return
                action = self._draw(rnd)
                path = req.start[1] if len(req.start) > 1 else "?"
                self.counts[action] += 1
                self.by_path[(action, path)] += 1
                if self.tamper is not None:
                    req = self.tamper(path, req)
                if action == "cut_request":
                    await self._deliver(req.cut(), wait=False)
                    return
                if action == "late":
                    await asyncio.sleep(self.hold)
                    await self._deliver(req.raw)
                    return
                resp = await self._deliver(req.raw)
                if resp is None:
                    return  # the hub is unreachable: the client sees its connection closed
                if action == "cut_response":
                    writer.write(resp.cut())
                    await writer.drain()
                    return
                if action == "stall":
                    await asyncio.sleep(self.hold)
                    return
                if action in ("dup", "dup_second"):
                    again = await self._deliver(req.raw)
                    if action == "dup_second" and again is not None:
                        resp = again
                elif action == "dup_late":
                    asyncio.get_running_loop().create_task(self._replay(req.raw, rnd.uniform(0.05, 0.5)))
                if self.rewrite is not None:
                    resp = self.rewrite(path, resp)
                writer.write(resp.raw)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            return
        except asyncio.CancelledError:  # the proxy is closing: end quietly, the client sees a closed connection
            return
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass

    async def _replay(self, raw: bytes, delay: float) -> None:
        self._track()
        try:
            await asyncio.sleep(delay)
            await self._deliver(raw)
        except asyncio.CancelledError:
            return

    async def _deliver(self, raw: bytes, *, wait: bool = True) -> Message | None:
        """Send `raw` to the hub on a fresh connection; its answer (None when there was none).
        With `wait=False`, close right after sending: the hub reads a request cut short."""
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            return None
        try:
            up_writer.write(raw)
            await up_writer.drain()
            if not wait:
                return None
            resp = await read_message(up_reader)
            if resp is not None and len(resp.start) > 1 and resp.start[1].isdigit():
                self.statuses[int(resp.start[1])] += 1
            return resp
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            return None
        finally:
            up_writer.close()
            try:
                await up_writer.wait_closed()
            except (ConnectionError, OSError):
                pass
