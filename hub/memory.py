"""An in-memory transport to hubs, with faults: many replicas in one process, no sockets (STYLE: a
transport seam with an in-memory implementation, after httpx's MockTransport).

`MemoryTransport` is an `httpx.BaseTransport` that hands a request body straight to the `Hub`
method its path names (`/v1/hello`, `/v1/push`, `/v1/pull`, `/v1/enroll`, `/v1/health`,
`/v1/snapshot`) and answers what `hub.app.endpoint` would: the method's bytes
with 200, a `RemoteError` as `status_for(exc)` with `messages.error_body`, any other `LaowuError`
as 503. Hubs are found by the request's host, so one transport can serve a whole province:

    >>> net = Network(random.Random(7), drop=0.05, lose=0.05)
    >>> t = MemoryTransport({"county.sim": county_hub}, net, link="village-513225103201")
    >>> SyncClient(village, "http://county.sim", county_store.author, transport=t).sync()

`Network` holds the faults, drawn from one seeded `random.Random` so a run replays from its seed:

* drop       the request is lost before the hub sees it (the client gets a ConnectError);
* lose       the hub did the work, the answer is lost on the way back (ReadError);
* duplicate  the request reaches the hub twice in a row (a retransmission); the client hears the
             first answer;
* delay      a copy of the request is held and delivered later, after requests sent since
             (a reordered retransmission); its answer goes nowhere;
* partitions `down` names links (or hosts) that are cut: every request on them fails at once.

Request bodies are counted per link (`sent[link]`), whether or not they arrive.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx

from hub.app import Hub, status_for
from hub.refusals import Caller
from protocol import codec, messages
from protocol.session import PROOF_HEADER
from protocol.errors import LaowuError, RemoteError

Handler = Callable[[bytes], bytes]


@dataclass
class Network:
    """Fault settings and state shared by every transport of one simulated world."""

    rng: random.Random = field(default_factory=lambda: random.Random(0))
    drop: float = 0.0
    lose: float = 0.0
    duplicate: float = 0.0
    delay: float = 0.0
    down: set[str] = field(default_factory=set)  # link names or hosts that are cut
    sent: dict[str, int] = field(default_factory=dict)  # request bytes per link
    requests: dict[str, int] = field(default_factory=dict)  # requests per link
    held: list[tuple[str, str, bytes]] = field(default_factory=list)  # delayed copies: (host, path, body)
    proofs: dict[tuple[str, str, bytes], str] = field(default_factory=dict)  # their key proof headers
    failures: list[str] = field(default_factory=list)  # hub answers that were not a RemoteError: bugs

    def quiet(self) -> None:
        """No more faults from now on (a healing phase); delayed copies still arrive."""
        self.drop = self.lose = self.duplicate = self.delay = 0.0
        self.down.clear()

    def chance(self, p: float) -> bool:
        # Always draw, so a run's random stream does not depend on which faults are switched on.
        return self.rng.random() < p


class MemoryTransport(httpx.BaseTransport):
    """Route requests to `hubs` (host → Hub) in this process, through `network`'s faults."""

    def __init__(self, hubs: Mapping[str, Hub], network: Network | None = None, *, link: str = "") -> None:
        self.hubs = hubs
        self.network = network or Network()
        self.link = link

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        net = self.network
        host, path = request.url.host, request.url.path
        body = request.read()
        net.sent[self.link] = net.sent.get(self.link, 0) + len(body)
        net.requests[self.link] = net.requests.get(self.link, 0) + 1
        if self.link in net.down or host in net.down:
            raise httpx.ConnectError(f"link {self.link or host} is down", request=request)
        hub = self.hubs.get(host)
        if hub is None:
            raise httpx.ConnectError(f"no hub at {host}", request=request)
        drop, lose, dup, delay = (net.chance(p) for p in (net.drop, net.lose, net.duplicate, net.delay))
        self._deliver_held(host)
        if drop:
            raise httpx.ConnectError("request lost on the way to the hub", request=request)
        caller = Caller("", path, request.headers.get(PROOF_HEADER, ""))  # the key proof travels with each copy
        if delay and request.method == "POST":
            net.held.append((host, path, body))
            net.proofs[(host, path, body)] = caller.proof
        status, content, headers = self.answer(hub, request.method, path, body, caller)
        if dup:
            self.answer(hub, request.method, path, body, Caller("", path, caller.proof))  # the copy's answer goes nowhere
        if lose:
            raise httpx.ReadError("answer lost on the way back", request=request)
        return httpx.Response(status, content=content, headers=headers)

    def _deliver_held(self, host: str) -> None:
        """Let some delayed copies for this hub arrive now, before the request that overtook them."""
        net = self.network
        keep = []
        for item in net.held:
            if item[0] == host and net.rng.random() < 0.5:
                self.answer(self.hubs[host], "POST", item[1], item[2], Caller("", item[1], net.proofs.pop(item, "")))
            else:
                keep.append(item)
        net.held[:] = keep

    def flush(self) -> None:
        """Deliver every delayed copy now."""
        held, self.network.held[:] = list(self.network.held), []
        for host, path, body in held:
            proof = self.network.proofs.pop((host, path, body), "")
            if host in self.hubs:
                self.answer(self.hubs[host], "POST", path, body, Caller("", path, proof))

    def answer(self, hub: Hub, method: str, path: str, body: bytes,
               caller: Caller | None = None) -> tuple[int, bytes, dict[str, str]]:
        """What the hub's HTTP endpoint answers: (status, body, headers)."""
        who = caller if caller is not None else Caller("", path)
        ct = {"content-type": messages.CONTENT_TYPE}

        def signed(status: int, out: bytes) -> tuple[int, bytes, dict[str, str]]:
            return status, out, {**ct, messages.SIG_HEADER: hub.sign_answer(path, body, status, out),
                                 messages.BODIES_HEADER: messages.bodies_header()}

        handlers: dict[tuple[str, str], Handler] = {
            ("POST", "/v1/hello"): lambda b: hub.hello(b, who),
            ("POST", "/v1/push"): lambda b: hub.push(b, who),
            ("POST", "/v1/pull"): lambda b: hub.pull(b, who),
            ("POST", "/v1/enroll"): lambda b: hub.enroll(b, who),
            ("POST", "/v1/time"): lambda b: hub.time(b, who),
            ("GET", "/v1/health"): lambda _: codec.pack(
                {"v": 1, "home": hub.store.home, "time": hub.store.hlc.physical()}),
        }
        try:
            if (method, path) == ("POST", "/v1/snapshot"):  # the file itself, as `snapshot_endpoint` answers
                data, cursor = hub.snapshot(body, who)
                return 200, data, {"content-type": messages.SNAPSHOT_TYPE, messages.SNAPSHOT_CURSOR_HEADER: str(cursor),
                                   messages.SIG_HEADER: hub.sign_answer(path, body, 200, data, str(cursor).encode())}
            handler = handlers.get((method, path))
            if handler is None:
                return 404, messages.error_body("not-found", f"{method} {path}"), ct
            return signed(200, handler(body))
        except RemoteError as exc:
            return signed(status_for(exc), messages.error_body(exc.code, str(exc)))
        except LaowuError as exc:
            return signed(503, messages.error_body(exc.code, str(exc)))
        except Exception as exc:  # a bug of ours: the server would answer 500
            self.network.failures.append(f"{method} {path}: {type(exc).__name__}: {exc}")
            return 500, messages.error_body("internal", f"{type(exc).__name__}: {exc}"), ct
