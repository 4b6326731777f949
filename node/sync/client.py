"""The node's side of sync (DESIGN §8): hello, pull, seal, push; and a background loop.

Order matters. After hello the node *pulls first*: a laptop restored from a backup receives its own
later changesets back from the hub before it seals anything, so it continues its feed instead of
forking it. Then it seals open local changes and pushes what the hub lacks. Each pulled batch is
applied in one transaction together with the cursor that covers it, so a cut at any byte resumes
exactly where it stopped and nothing acknowledged is fetched twice. Sync never blocks local work:
it runs in its own thread with its own connections; SQLite WAL lets writes go on beside it.

Every hub answer is signed; a hub of release 0.1.0 signs none. Such a hub is still synced with, in
compatibility mode (docs/trust.md §9, `node.sync.legacy`): only while this node has never seen that
hub key sign, only hello, pull and push, and adopting only what carries signatures of its own
(changesets, certificates, revocations): no clock correction, and no cursor saved.
"""
from __future__ import annotations

import functools
import logging
import os
import random
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import httpx

from node import backup, logs
from node.engine import synclog
from node.engine.db import unwaited
from node.engine.store import Store
from node.sync import legacy, prior
from protocol import certs, codec, messages, session
from protocol.errors import ConfigError, LocalError, RemoteError

log = logging.getLogger("laowu.sync")

DEFAULT_BUDGET = 1 << 20
PUSH_BATCH = 256
PUSH_BYTES = 4 << 20


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """Certificates an https:// hub may present: the system's store, or the CA file a county gave
    out with a self-signed hub certificate (`laowu-node init --ca-file`)."""
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot read the CA file {ca_file}: {exc}") from exc


@functools.cache
def _plain_context() -> ssl.SSLContext:
    """The context handed to httpx for an http:// hub, built once per process: httpx wants one even
    when no TLS is spoken, and building the default one (loading the system's CA store) took 100 ms
    of CPU, more than the sync itself. Verifying as the default does, should it ever be used."""
    return ssl.create_default_context()


class SyncFailed(LocalError):
    """The hub refused or could not be reached; the message says which and why. Nothing is lost.

    `status` and `error` are the hub's HTTP status and error code when it answered at all."""

    code = "sync-failed"

    def __init__(self, message: str, status: int | None = None, error: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error = error


def _unreachable(url: str, exc: httpx.HTTPError) -> str:
    """Why a hub could not be reached, in the words an operator can act on (no `[Errno 111]`)."""
    if isinstance(exc, httpx.ConnectError) and "CERTIFICATE_VERIFY_FAILED" in str(exc):
        why = ("平台的 TLS 证书不受信任 the hub's TLS certificate is not trusted: give the county's CA file "
               "(`laowu-node init --ca-file`), or check that this is really your hub")
    elif isinstance(exc, httpx.ConnectError):
        why = "连不上(网络断开、地址不对或平台没有运行) / cannot connect: network down, wrong address or hub not running"
    elif isinstance(exc, httpx.TimeoutException):
        why = "等待应答超时(网络太慢或平台太忙) / timed out: the network is slow or the hub is busy"
    else:
        why = f"连接中断 / the connection broke off ({type(exc).__name__})"
    return f"{url}: {why}"


@dataclass
class SyncReport:
    hub: str
    pushed: int = 0
    pulled: int = 0
    sealed: int = 0
    refused: list[dict[str, object]] = field(default_factory=list)
    round_trips: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    offset_ms: int = 0
    restored_feeds: int = 0
    restamped: int = 0  # open changes stamped far ahead (a wrong laptop clock), re-stamped before sealing
    counts: dict[str, int] = field(default_factory=dict)  # outcomes by status, pulled and pushed
    unsigned: bool = False  # the hub signed none of its answers (release 0.1.0): compatibility mode

    def count(self, outcomes: list[dict[str, object]]) -> None:
        for o in outcomes:
            status = str(o.get("status"))
            self.counts[status] = self.counts.get(status, 0) + 1

    def line(self) -> str:
        return (f"pushed {self.pushed}, pulled {self.pulled}, sealed {self.sealed}, refused {len(self.refused)}; "
                f"{self.round_trips} round trips, {self.bytes_sent + self.bytes_received} bytes"
                + ("; " + legacy.NOTE if self.unsigned else ""))


class SyncClient:
    def __init__(self, store: Store, url: str, hub: bytes, *, budget: int = DEFAULT_BUDGET,
                 transport: httpx.BaseTransport | None = None, timeout: float = 30.0, ca_file: str | None = None,
                 restamp: bool = True) -> None:
        self.store = store
        self.restamp = restamp  # re-stamp open changes written under a clock far ahead (Store.restamp_ahead)
        self.url = url.rstrip("/")
        self.hub = hub
        self.budget = budget
        self.http = httpx.Client(base_url=self.url, transport=transport, timeout=timeout, verify=self._tls(ca_file),
                                 headers={"content-type": messages.CONTENT_TYPE,
                                          messages.BODIES_HEADER: messages.bodies_header()})
        self.unsigned = False  # this sync's hub answered unsigned (compatibility mode): nothing unverified is kept
        self.pinned = False  # this hub's signature was seen (and remembered: `legacy.pin`)
        self.bound = False  # this hub's key-bound token was seen (and remembered: `legacy.pin_binding`)
        self.proving: tuple[bytes, int] = (b"", 0)  # the token proofs are made for, and the last sequence number

    def _tls(self, ca_file: str | None) -> ssl.SSLContext:
        """For an https:// hub, a context built now (a CA file replaced since is read again)."""
        return tls_context(ca_file) if self.url.startswith("https:") or ca_file else _plain_context()

    def close(self) -> None:
        self.http.close()

    def _post(self, path: str, body: bytes, report: SyncReport, token: bytes | None = None) -> bytes:
        return self._exchange(path, body, report, token).content

    def _exchange(self, path: str, body: bytes, report: SyncReport, token: bytes | None = None) -> httpx.Response:
        """POST `body`; with `token`, the request carries our key's proof over it (`protocol.session`)."""
        report.round_trips += 1
        report.bytes_sent += len(body)
        try:
            resp = self.http.post(path, content=body, headers=self.proof(path, token, body))
        except httpx.HTTPError as exc:
            raise SyncFailed(_unreachable(self.url, exc)) from exc
        report.bytes_received += len(resp.content)
        if resp.status_code != 200:
            error = None
            try:
                err = codec.unpack(resp.content, max_bytes=1 << 16, what="error")
                error = str(err.get("error"))
                why = f"{error}: {err.get('reason')}"
            except (RemoteError, AttributeError):
                why = resp.text[:200]
            raise SyncFailed(f"{self.url}{path} answered {resp.status_code} ({why})", resp.status_code, error)
        self.check_answer(path, body, resp)
        return resp

    def proof(self, path: str, token: bytes | None, body: bytes) -> dict[str, str]:
        """The header proving a request made with `token` comes from the key that earned it; on a
        hello, the promise to prove (so the hub binds the token to our key, not to our address)."""
        if self.store.key is None:
            return {}
        if path == "/v1/hello":
            return {session.PROOF_HEADER: session.WILL_PROVE}
        if not token:
            return {}
        seq = self.proving[1] + 1 if self.proving[0] == token else 1  # numbered from 1 for each token
        self.proving = (token, seq)
        return {session.PROOF_HEADER: session.prove(self.store.key, path, token, body, seq, self.store.hlc.physical())}

    def check_answer(self, path: str, body: bytes, resp: httpx.Response, extra: bytes = b"") -> None:
        """Adopt nothing the hub did not sign (DESIGN §3): every answer carries the hub's signature
        over it and the request it answers; a network that rewrote it (a time, a cursor, a result) is
        caught here, and nothing of the answer is used. An answer with no signature at all is taken
        only in compatibility mode (`legacy.refusal` says when); the first signed one pins the hub for good."""
        header = resp.headers.get(messages.SIG_HEADER)
        why = None
        if header is None:
            restored = backup.restored_since(self.store.engine) is not None
            why = legacy.refusal(self.store, self.hub, path, restored)
            if why is None:
                self.unsigned = True
                return
        try:
            messages.verify_answer(self.hub, header, path, body, resp.status_code, resp.content, extra)
        except RemoteError as exc:
            raise SyncFailed(f"{self.url}{path}: 应答未经枢纽签名 the answer is not signed by hub "
                             f"{self.hub.hex()[:8]} ({why or exc}); check the network, or use TLS", resp.status_code,
                             "bad-signature") from exc
        if not self.pinned:
            legacy.pin(self.store, self.hub)
            self.pinned = True

    def _hello(self, cursor: int, report: SyncReport) -> messages.Welcome:
        store = self.store
        assert store.key is not None
        sent_at = time.monotonic()
        hello = messages.Hello.make(store.key, self.hub, store.home, store.trust.chains({store.author}), cursor,
                                    store.hlc.physical(), session.promising_nonce(messages.NONCE_LEN))
        answer = self._exchange("/v1/hello", hello.encode(), report)
        welcome = messages.Welcome.decode(answer.content)
        if not self.unsigned:  # an unsigned time could move our clock anywhere: ours stays as it is
            self._check_binding(welcome.token)
            store.hlc.correct(welcome.time, int((time.monotonic() - sent_at) * 1000))
        elif welcome.hub != self.hub:
            raise SyncFailed(f"{self.url}: 这不是本机配置的平台 this is not the configured hub {self.hub.hex()[:8]} "
                             f"(it says it is {welcome.hub.hex()[:8]})", 200, "wrong-hub")
        store.learn_bodies(messages.parse_bodies(answer.headers.get(messages.BODIES_HEADER)))
        return welcome

    def _check_binding(self, token: bytes) -> None:
        """Our hello promised, under its signature, to prove every request, so a current hub answers
        with a key-bound token; a 0.2.0 hub cannot read the promise and binds the token to our address.
        Once this hub has given a key-bound token in a signed welcome it is pinned (`legacy.pin_binding`),
        and an address-bound one from it later is refused: nothing is synced on it."""
        if session.is_key_bound(token):
            if not self.bound:
                legacy.pin_binding(self.store, self.hub)
                self.bound = True
        elif self.bound or legacy.binds(self.store, self.hub):  # read again: another sync may have pinned it
            raise SyncFailed(f"{self.url}: {legacy.UNBOUND}", 200, "downgrade")

    def _learn_time(self, report: SyncReport) -> None:
        """Correct our clock from the hub's signed time (POST /v1/time with a fresh nonce): a hello
        from a clock far off is refused, and an unsigned time could move our clock anywhere."""
        sent_at = time.monotonic()
        answer = self._post("/v1/time", messages.TimeRequest(os.urandom(messages.NONCE_LEN)).encode(), report)
        try:
            hub_ms = messages.TimeAnswer.decode(answer).time
        except RemoteError as exc:
            raise SyncFailed(f"{self.url}/v1/time: cannot read the hub's time: {exc}") from exc
        self.store.hlc.correct(hub_ms, int((time.monotonic() - sent_at) * 1000))

    def sync(self, progress: Callable[[str, int, int], None] | None = None) -> SyncReport:
        """One full exchange with the hub. Raises SyncFailed; local data is never at risk."""
        try:
            report = self._sync(progress)
        except SyncFailed as exc:
            logs.event(log, "sync.failed", logging.WARNING, hub=self.url, status=exc.status, code=exc.error,
                       error=str(exc))
            raise
        logs.event(log, "sync", hub=self.url, pushed=report.pushed, pulled=report.pulled, sealed=report.sealed,
                   refused=len(report.refused), outcomes=report.counts, offset_ms=report.offset_ms,
                   round_trips=report.round_trips, bytes=report.bytes_sent + report.bytes_received)
        for r in report.refused:
            logs.event(log, "sync.refused", logging.WARNING, hub=self.url, changeset=_short(r.get("id")),
                       code=r.get("code"), reason=r.get("reason"))
        if report.unsigned:
            logs.event(log, "sync.unsigned", logging.WARNING, hub=self.url)
        if report.restored_feeds:
            logs.event(log, "sync.restored", logging.WARNING, hub=self.url, feeds=report.restored_feeds)
        return report

    def _sync(self, progress: Callable[[str, int, int], None] | None) -> SyncReport:
        report = SyncReport(self.url)
        self.unsigned = False
        store = self.store
        known = prior.read(store, self.url, self.hub)  # one transaction for what the sync needs before the network
        pull_cursor, push_cursor = known.pull_cursor, known.push_cursor
        self.pinned, self.bound = self.pinned or known.signs, self.bound or known.binds
        offset_before = store.hlc.offset_ms
        try:
            welcome = self._hello(pull_cursor, report)
        except SyncFailed as exc:
            if exc.error != "stale":
                raise
            # A laptop clock far off (a dead CMOS battery) is outside the hub's hello window: learn
            # the hub's time first, then say hello again. Without this it could never sync (§5).
            self._learn_time(report)
            welcome = self._hello(pull_cursor, report)
        # Compatibility mode (an unsigned welcome): cursors move in memory for this exchange only and
        # are never saved, so nothing an unsigned answer claims (a cursor, "accepted") outlives it.
        keep = not self.unsigned
        report.unsigned = self.unsigned
        report.offset_ms = store.hlc.offset_ms - offset_before
        unplaced = self._revocations(welcome.revocations)
        report.restored_feeds = sum(1 for sc, seq, _ in welcome.heads if seq > known.heads.get(sc, 0))

        more = welcome.more or report.restored_feeds > 0
        settled = not more  # nothing pulled: the log past the push cursor is as `known` found it
        while more:
            batch = messages.Batch.decode(self._post(
                "/v1/pull", messages.Pull(welcome.token, pull_cursor, self.budget, report.restored_feeds > 0).encode(), report,
                welcome.token))
            store.learn_certificates(batch.certs, batch.envelopes)  # a refused one: its envelopes say why
            # A revocation of a key we had no certificate for is placed now, before that key's
            # envelopes in this batch are applied: its cut-off applies to them.
            unplaced = self._revocations(unplaced) if unplaced else []
            cursor = batch.cursor
            outcomes = store.apply(batch.envelopes,
                                   also=(lambda conn: synclog.save_cursor(conn, self.url, pull=cursor)) if keep else None)
            accepted = {o["id"] for o in outcomes if o.get("status") == "accepted"}
            report.pulled += len(accepted)
            report.refused += [o for o in outcomes if o.get("status") == "refused"]
            report.count(outcomes)
            pull_cursor, more = batch.cursor, batch.more
            if accepted and keep:  # what the hub just gave us is not what it lacks: not pushed back
                push_cursor = synclog.skip_pulled(store, self.url, push_cursor, accepted)
            if progress:
                progress("pull", report.pulled, 0)

        if known.open_changes:  # a change saved during this sync is sealed by the next
            if self.restamp:  # written under a clock the hello just corrected
                report.restamped = store.restamp_ahead()
            report.sealed = len(store.seal())
        settled = settled and not report.sealed and not known.unpushed
        pushed_to = None  # a push cursor moved past nothing to push: saved with the sync's time
        # Revocations the hub lacks go with the next push, with the revoked keys' certificates so
        # the hub can place them; with nothing else to push they still go, in a push of their own
        # (a county that revoked a stolen laptop's key must tell the province at its next sync).
        revocations = store.revocations()
        theirs = set(welcome.revocations)
        revoked = {certs.decode_revocation(r).subject for r in revocations if r not in theirs}
        while True:
            envs: list[bytes] = []
            authors: set[bytes] = set()
            last = push_cursor
            if not settled:  # else nothing to push, as read before the hello: not read again
                envs, authors, last = synclog.unpushed(store, push_cursor, PUSH_BATCH, PUSH_BYTES)
            if not envs:
                if last != push_cursor and keep:
                    pushed_to = last
                if revoked:
                    self._post("/v1/push", messages.Push(welcome.token, [], store.trust.chains(revoked),
                                                         revocations).encode(), report, welcome.token)
                break
            push = messages.Push(welcome.token, envs, store.trust.chains(authors | revoked), revocations)
            revoked = set()
            result = messages.PushResult.decode(self._post("/v1/push", push.encode(), report, welcome.token))
            statuses = [r.get("status") for r in result.results]
            report.pushed += statuses.count("accepted")
            report.refused += [r for r in result.results if r.get("status") == "refused"]
            if "pending" in statuses and push_cursor > 0:
                # The hub lacks something we thought it had (it was restored from a backup): start over.
                push_cursor = 0
                if keep:
                    self._save(push=0)
                continue
            report.count(result.results)
            push_cursor = last
            if keep:
                self._save(push=last)
            if progress:
                progress("push", report.pushed, 0)
        # The sync's time, and a push cursor moved past nothing: lost to a power cut, the next sync
        # finds them again, so the commit does not wait for the disk (4 ms of a 9 ms sync here).
        with unwaited(store.engine) as conn:
            synclog.save_cursor(conn, self.url, push=pushed_to, when=store.hlc.physical())
        return report

    def _revocations(self, raws: list[bytes]) -> list[bytes]:
        """Add revocations to our store; return those we cannot place yet (their key is unknown to us)."""
        unplaced = []
        for raw in raws:
            try:
                self.store.add_revocation(raw, self.store.hlc.physical())
            except RemoteError:
                unplaced.append(raw)  # placed once a pulled batch brings the key's certificate, or next time
        return unplaced

    def _save(self, *, push: int) -> None:
        with self.store.transaction() as conn:
            synclog.save_cursor(conn, self.url, push=push)


def _short(cs_id: object) -> str | None:
    return cs_id.hex()[:12] if isinstance(cs_id, bytes) else None


class Background:
    """Sync on a timer in a daemon thread: backoff with jitter on failure, never in the way of writes."""

    def __init__(self, client: SyncClient, interval: float = 60.0, max_backoff: float = 900.0) -> None:
        self.client = client
        self.interval = interval
        self.max_backoff = max_backoff
        self.stop = threading.Event()
        self.last: SyncReport | None = None
        self.last_error: str | None = None
        self.failures = 0
        self.thread = threading.Thread(target=self._run, name="laowu-sync", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                self.last = self.client.sync()
                self.failures, self.last_error = 0, None
                wait = self.interval
            except (SyncFailed, RemoteError) as exc:
                self.failures += 1
                self.last_error = str(exc)
                wait = min(self.max_backoff, self.interval * 2 ** min(self.failures, 10))
            self.stop.wait(wait * random.uniform(0.5, 1.0))

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
