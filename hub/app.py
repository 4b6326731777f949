"""The hub's HTTP face (DESIGN §8): Starlette endpoints over a `node.engine.store.Store`.

Every request body is msgpack with `v` first, read with a size cap and a time limit. A peer's bad,
forged or stale input is answered 4xx with `{error, reason}`; a 500 means a bug of ours. Writes to
the store are serialized by one lock (SQLite has one writer); reads run beside them. A push's
envelopes are decoded and signature-checked before that lock, in verify worker processes when the
hub has any (`hub.verify`), so the writer only places and merges.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
import time
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import Connection
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from hub import enroll
from hub import health as health_answer
from hub.filings.route import filing_endpoint
from hub.refusals import Caller, EnrollWaiting, RateLimited, Stale, Unauthorized, client_of, status_for  # noqa: F401  (re-exported)
from hub.replay import ReplayGuard
from hub.snapshot import make_snapshot
from hub.telemetry import Telemetry
from hub.verify import Opened, VerifyPool
from node.engine import synclog
from node.engine.store import Store
from protocol import certs as certmod
from protocol import clock, codec, messages, scope, session
from protocol.errors import (
    LaowuError,
    NotAllowed,
    OutOfScope,
    RemoteError,
    Revoked,
    TooLarge,
    Truncated,
)
from protocol.keys import short_id

log = logging.getLogger("laowu.hub")

TOKEN_TTL_MS = 30 * 60 * 1000
ENROLL_TRIES = 10  # failed enrollments a client may make per window before it is told to wait
ENROLL_WINDOW_S = 15 * 60
HELLO_WINDOW_MS = 10 * 60 * 1000
BODY_TIMEOUT_S = 30.0
MAX_PULL_BUDGET = 8 << 20


@dataclass
class Hub:
    """The state a hub process serves from: its store, a token secret, recent hello nonces, the key
    proofs taken per session (`hub.replay`), failed enrollments per client, and how often each path
    took the write lock (`locked`: a request refused while decoding never takes it, so a flood of bad
    requests cannot stall every write)."""

    store: Store
    secret: bytes = field(default_factory=lambda: os.urandom(32))
    nonces: OrderedDict[bytes, int] = field(default_factory=OrderedDict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    failed_enrolls: dict[str, deque[float]] = field(default_factory=dict)
    locked: Counter[str] = field(default_factory=Counter)
    replays: ReplayGuard = field(default_factory=ReplayGuard)  # key proofs taken: none is taken twice
    enroll_tries: int = ENROLL_TRIES
    upstream: Any = None  # the relay's `Background` loop on a county hub: /v1/health reports on it
    verify_workers: int = 0  # processes opening pushed envelopes outside the write lock (hub.verify)
    telemetry: Telemetry = field(init=False)
    verifier: VerifyPool = field(init=False)

    def __post_init__(self) -> None:
        self.telemetry = Telemetry(self.store)
        self.verifier = VerifyPool(self.verify_workers)

    def token(self, author: bytes, home: str, now: int, client: str = "", *, key_bound: bool = False) -> bytes:
        """A session token for the key that said hello (`protocol.session`): bound to that key, every
        request proving it, or — for a client that cannot prove (0.1.0) — to the client's address."""
        return session.mint(self.secret, author, home, now + TOKEN_TTL_MS, key_bound=key_bound, address=str(client))

    def session(self, token: bytes, now: int, client: str = "", body: bytes | None = b"",
                conn: Connection | None = None) -> tuple[bytes, str]:
        """Who this request speaks for: its token, checked with the request's key proof (`client` is a
        `Caller`: its path and proof header) or, for an address-bound token, the client's address.
        `body=None`: the proof over this request's body was checked already (`push_check`, same Caller).
        A key proof is taken once: the same request sent again is refused (`hub.replay`)."""
        proven = body is None and getattr(client, "proven", None) == token
        got = session.open_token(self.secret, token, now, address=str(client), path=getattr(client, "path", ""),
                                 body=body or b"", proof=getattr(client, "proof", ""), proven=proven)
        if got.proof is not None:
            self.replays.admit(token, got.proof.seq, got.proof.sent_ms, now)
        if isinstance(client, Caller):
            client.proven = token
        self._check_key(got.author, conn)
        self.telemetry.contact(got.home)
        return got.author, got.home

    def _check_key(self, author: bytes, conn: Connection | None = None) -> certmod.Certificate:
        self.store.reload_trust(conn)  # a revocation written by `laowu-hub revoke` while we serve
        cert = self.store.trust.verify_chain(author, self.store.hlc.physical())
        rev = self.store.trust.revocations.get(author)
        if rev is not None:
            raise Revoked(f"key {short_id(author)} was revoked ({rev.reason}): it may not sync")
        return cert

    def remember_nonce(self, nonce: bytes, now: int) -> None:
        while self.nonces and next(iter(self.nonces.values())) < now - 2 * HELLO_WINDOW_MS:
            self.nonces.popitem(last=False)
        if nonce in self.nonces:
            raise Stale("this hello was already used: a replay")
        self.nonces[nonce] = now
        if len(self.nonces) > 100_000:
            self.nonces.popitem(last=False)

    # -- endpoints (sync code, run in a thread) -------------------------------------------------

    def hello_check(self, body: bytes, client: str = "") -> messages.Hello:
        """Decode a hello and check its signature, outside the write lock."""
        msg = messages.Hello.decode(body)
        msg.verify_for(self.store.author)
        return msg

    def push_check(self, body: bytes, client: str = "") -> CheckedPush:
        """Decode a push and check its session, then open its envelopes (decode, signature) in the
        verify workers, all outside the write lock."""
        msg = messages.Push.decode(body)
        self.session(msg.token, self.store.hlc.physical(), client, body)
        return CheckedPush(msg, self.verifier.open(msg.envelopes))

    def hello(self, body: bytes | messages.Hello, client: str = "") -> bytes:
        msg = body if isinstance(body, messages.Hello) else messages.Hello.decode(body)
        now = self.store.hlc.physical()
        msg.verify_for(self.store.author)
        if abs(msg.time - now) > HELLO_WINDOW_MS:
            raise Stale(
                f"hello stamped {clock.format_ms(msg.time)}, hub time is {clock.format_ms(now)}: "
                "the client clock is far off; the hub's time is in this answer's error only"
            )
        self.remember_nonce(msg.nonce, now)
        refused = self.store.learn_certificates(msg.certs, endorsed=(msg.author, msg.home))
        if refused:
            raise refused[0]
        with synclog.reading(self.store) as conn:  # after learning: a certificate learnt is a write of its own
            cert = self._check_key(msg.author, conn)
            if msg.home not in cert.scopes:
                raise NotAllowed(f"{cert.describe()} may not subscribe as {msg.home}")
            if not scope.visible_to(self.store.home, msg.home):
                raise OutOfScope(f"this hub serves {self.store.home}, not {msg.home}")
            heads = synclog.heads_of(self.store, msg.author, conn)
            more = synclog.has_after(self.store, msg.cursor, msg.home, msg.author, conn)
        welcome = messages.Welcome(
            hub=self.store.author,
            home=self.store.home,
            time=now,
            token=self.token(msg.author, msg.home, now, client,  # the promise: signed in the nonce, or the header
                             key_bound=session.promises(msg.nonce) or getattr(client, "proof", "") == session.WILL_PROVE),
            heads=heads,
            more=more,
            revocations=self.store.revocations(),
        )
        self.telemetry.contact(msg.home)
        return welcome.encode()

    def push(self, body: bytes | messages.Push | CheckedPush, client: str = "") -> bytes:
        raw = body if isinstance(body, bytes) else None  # None: push_check proved this request's key already
        if not isinstance(body, CheckedPush):
            body = CheckedPush.unopened(body if isinstance(body, messages.Push) else messages.Push.decode(body))
        msg = body.msg
        author, home = self.session(msg.token, self.store.hlc.physical(), client, raw)
        for why in self.store.learn_certificates(msg.certs, msg.envelopes):
            log.info("push from %s: certificate refused: %s", short_id(author), why)
        for raw in msg.revocations:
            try:
                self.store.add_revocation(raw, self.store.hlc.physical())
            except RemoteError as exc:
                log.info("push from %s: revocation refused: %s", short_id(author), exc)
        results = self.store.apply(body.opened, carrier=home)
        self.telemetry.pushed(author, home, results)
        return messages.PushResult(results).encode()

    def pull(self, body: bytes, client: str = "") -> bytes:
        msg = messages.Pull.decode(body)
        with synclog.reading(self.store) as conn:
            author, home = self.session(msg.token, self.store.hlc.physical(), client, body, conn)
            budget = min(max(msg.budget, 1), MAX_PULL_BUDGET)
            envs, authors, cursor, more = synclog.after(self.store, msg.cursor, home, budget,
                                                        None if msg.own else author, conn)
        return messages.Batch(envs, self.store.trust.chains(set(authors)), cursor, more).encode()

    def snapshot(self, body: bytes, client: str = "") -> tuple[bytes, int]:
        """A SQLite replica of what the session may see, and the log position it covers."""
        msg = messages.SnapshotRequest.decode(body)
        author, home = self.session(msg.token, self.store.hlc.physical(), client, body)
        with tempfile.TemporaryDirectory(prefix="laowu-snap-") as d:
            path = Path(d) / "snapshot.sqlite"
            cursor, _ = make_snapshot(self.store, home, author, path)
            return path.read_bytes(), cursor

    def time(self, body: bytes, client: str = "") -> bytes:
        """The hub's clock, for a node too far off to say hello; signed with the node's nonce (the
        answer's signature covers the request), so a network in between can neither alter nor replay it."""
        messages.TimeRequest.decode(body)
        return messages.TimeAnswer(self.store.home, self.store.hlc.physical()).encode()

    def sign_answer(self, path: str, request: bytes, status: int, response: bytes, extra: bytes = b"") -> str:
        if self.store.key is None:
            return ""
        return messages.sign_answer(self.store.key, path, request, status, response, extra)

    def enroll_check(self, body: bytes, client: str = "") -> messages.EnrollRequest:
        """Everything an enrollment can be refused for without writing: the client's recent failures,
        the request's own signature, and whether its code exists for that place (outside the lock)."""
        tries = self.failed_enrolls.setdefault(client, deque())
        while tries and tries[0] < time.monotonic() - ENROLL_WINDOW_S:
            tries.popleft()
        if len(tries) >= self.enroll_tries:
            raise RateLimited(f"{len(tries)} failed enrollments from this address in {ENROLL_WINDOW_S // 60} minutes: "
                              "wait, then check the code with the county operator")
        try:
            req = messages.EnrollRequest.decode(body)
            if not req.otp:  # no code: asking a county operator to approve it in the console (hub.requests)
                return req
            known = enroll.peek_otp(self.store, req.otp) if req.otp else None
            if known is None:
                raise Unauthorized("一次性码无效 unknown or used one-time code: ask the county for a new one")
            if known[2] < self.store.hlc.physical():
                raise Unauthorized("一次性码已过期 this one-time code has expired: ask the county for a new one")
            if known[:2] != (req.code, req.role):
                raise Unauthorized("一次性码与地点不符 this one-time code was issued for another place or role "
                                   "(it is still valid for the right one)")
        except RemoteError:
            tries.append(time.monotonic())
            raise
        return req

    def enroll(self, body: bytes | messages.EnrollRequest, client: str = "") -> bytes:
        """Online enrollment with a one-time code handed out by a county operator."""
        req = body if isinstance(body, messages.EnrollRequest) else self.enroll_check(body, client)
        if not req.otp:
            return self.enroll_queued(req)
        verdict = enroll.take_otp(self.store, req.otp, req.code, req.role)
        if verdict != "ok":
            raise Unauthorized(f"one-time code {verdict}: ask the county for a new one")
        cert = self.issue_for(req)
        self.telemetry.enrolled(req.code, req.role, req.pub)
        return codec.pack({"v": 1, "certs": self.store.trust.chains({req.pub}), "cert": cert})

    def enroll_queued(self, req: messages.EnrollRequest) -> bytes:
        """A request without a code waits for an operator (console: 登记与密钥); asked again once approved,
        it gets its certificate chain, the same answer as an enrollment with a code."""
        from hub import requests

        try:
            found = requests.get(self.store, req.pub) or requests.add(self.store, req.encode(), "online")
        except TooLarge as exc:  # the queue is full: the same refusal as a wrong code, with why
            raise Unauthorized(str(exc)) from None
        if found.state == "approved":
            return codec.pack({"v": 1, "certs": self.store.trust.chains({req.pub}),
                               "cert": self.store.trust.certs[req.pub].raw})
        if found.state == "refused":
            raise Unauthorized(f"登记申请被县里拒绝 the county refused this enrollment: {found.note}")
        raise EnrollWaiting(f"登记申请已提交,请告诉县里工作人员密钥编号 {found.short},批准后再试 the request is waiting for "
                           f"a county operator: tell them the key id {found.short}, then try again once approved")

    def issue_for(self, req: messages.EnrollRequest) -> bytes:
        return enroll.approve(self.store, req)


@dataclass(frozen=True)
class CheckedPush:
    """A push whose session was checked, with each envelope or the changeset a verify worker opened from it."""

    msg: messages.Push
    opened: list[Opened]

    @classmethod
    def unopened(cls, msg: messages.Push) -> CheckedPush:
        return cls(msg, list(msg.envelopes))


async def read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > messages.MAX_REQUEST_BYTES:
        raise TooLarge(f"request of {declared} bytes exceeds {messages.MAX_REQUEST_BYTES}")
    chunks: list[bytes] = []
    size = 0

    async def collect() -> None:
        nonlocal size
        async for chunk in request.stream():
            size += len(chunk)
            if size > messages.MAX_REQUEST_BYTES:
                raise TooLarge(f"request exceeds {messages.MAX_REQUEST_BYTES} bytes")
            chunks.append(chunk)

    try:
        await asyncio.wait_for(collect(), BODY_TIMEOUT_S)
    except asyncio.TimeoutError as exc:
        raise Stale(f"request body not received within {BODY_TIMEOUT_S:.0f}s") from exc
    except ClientDisconnect as exc:  # a cable pulled mid-request: the peer's doing, not a crash of ours
        raise Truncated(f"the client went away after {size} bytes of the request body") from exc
    return b"".join(chunks)


def endpoint(hub: Hub, handler: Callable[[Any, str], bytes], *, write: bool,
             check: Callable[[bytes, str], Any] | None = None,
             inline: bool = False) -> Callable[[Request], Awaitable[Response]]:
    """`check` decodes and verifies the body in a worker thread before the write lock is taken: a
    malformed, forged or unauthorized request is refused without ever waiting for (or holding) it.
    `inline`: the check is cheap enough to run on the event loop itself (a hello's: decode and one
    signature, a tenth of a millisecond), where a trip to a worker thread and back cost a hello
    several milliseconds on a busy machine (measured: 3 ms median at load 5 on 2 cores)."""

    async def run(request: Request) -> Response:
        started = time.perf_counter()
        path, body = request.url.path, b""

        def answer(out: bytes, status: int = 200) -> Response:
            return Response(out, status_code=status, media_type=messages.CONTENT_TYPE,
                            headers={messages.SIG_HEADER: hub.sign_answer(path, body, status, out),
                                     messages.BODIES_HEADER: messages.bodies_header()})

        try:
            body = await read_body(request)
            client = client_of(request)
            if check is None:
                msg: Any = body
            else:
                msg = check(body, client) if inline else await run_in_threadpool(check, body, client)
            if write:
                async with hub.lock:
                    hub.locked[request.url.path] += 1
                    out = await run_in_threadpool(handler, msg, client)
            else:
                out = await run_in_threadpool(handler, msg, client)
            hub.telemetry.answered(request.url.path, 200)
            return answer(out)
        except RemoteError as exc:
            status = status_for(exc)
            hub.telemetry.refused(request.method, request.url.path, status, exc)
            hub.telemetry.answered(request.url.path, status)
            return answer(messages.error_body(exc.code, str(exc)), status)
        except LaowuError as exc:
            hub.telemetry.failed(request.method, request.url.path, exc)
            hub.telemetry.answered(request.url.path, 503)
            return answer(messages.error_body(exc.code, str(exc)), 503)
        finally:
            log.debug("%s took %.1f ms", request.url.path, (time.perf_counter() - started) * 1000)

    return run


def snapshot_endpoint(hub: Hub) -> Callable[[Request], Awaitable[Response]]:
    """Answers the file itself, not msgpack: a snapshot can be many megabytes."""

    async def run(request: Request) -> Response:
        try:
            body = await read_body(request)
            data, cursor = await run_in_threadpool(hub.snapshot, body, client_of(request))
        except RemoteError as exc:
            return Response(messages.error_body(exc.code, str(exc)), status_code=status_for(exc),
                            media_type=messages.CONTENT_TYPE)
        return Response(data, media_type=messages.SNAPSHOT_TYPE,
                        headers={messages.SNAPSHOT_CURSOR_HEADER: str(cursor),
                                 messages.SIG_HEADER: hub.sign_answer("/v1/snapshot", body, 200, data, str(cursor).encode())})

    return run


def create_app(hub: Hub) -> Starlette:
    async def health(request: Request) -> Response:
        if health_answer.wants_msgpack(request.headers):  # a node reading our clock (docs/operations.md)
            return Response(health_answer.clock_answer(hub.store), media_type=messages.CONTENT_TYPE)
        status, body = await run_in_threadpool(health_answer.readable, hub.store, upstream=hub.upstream,
                                               last_contact=hub.telemetry.last_contact)
        return Response(body, status_code=status, media_type="application/json; charset=utf-8")

    async def metrics(request: Request) -> Response:
        body = await run_in_threadpool(hub.telemetry.metrics)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    routes: list[BaseRoute] = [
        Route("/v1/hello", endpoint(hub, hub.hello, write=True, check=hub.hello_check, inline=True), methods=["POST"]),
        Route("/v1/push", endpoint(hub, hub.push, write=True, check=hub.push_check), methods=["POST"]),
        Route("/v1/pull", endpoint(hub, hub.pull, write=False), methods=["POST"]),
        Route("/v1/time", endpoint(hub, hub.time, write=False), methods=["POST"]),
        Route("/v1/enroll", endpoint(hub, hub.enroll, write=True, check=hub.enroll_check), methods=["POST"]),
        Route("/v1/snapshot", snapshot_endpoint(hub), methods=["POST"]),
        Route("/v1/health", health, methods=["GET"]),
        Route("/v1/filing/{name}", filing_endpoint(hub), methods=["GET"]),  # hub/filings/route.py
        Route("/metrics", metrics, methods=["GET"]),
    ]
    from hub.web.app import PREFIX
    from hub.web.console import console_app

    routes.append(Mount(PREFIX, app=console_app(hub)))  # the staff console (hub/web), same process and store
    routes.append(Route("/", lambda request: RedirectResponse(PREFIX + "/", status_code=303)))
    return Starlette(routes=routes, lifespan=lambda app: verify_workers(hub))


@contextlib.asynccontextmanager
async def verify_workers(hub: Hub) -> AsyncIterator[None]:
    """The hub's verify workers live as long as the served app: spawned (and ready) at startup, joined
    at shutdown, so neither uvicorn nor a test leaves a worker process behind."""
    await run_in_threadpool(hub.verifier.start)
    try:
        yield
    finally:
        await run_in_threadpool(hub.verifier.close)

