"""Sync messages (DESIGN §8): frozen dataclasses with strict msgpack codecs, `v` first.

    POST /v1/hello  Hello → Welcome   the client proves its key by signing a fresh (time, nonce)
                                      for this hub; the hub answers its time (clock offset), a
                                      session token, its heads of the client's own feeds (a laptop
                                      restored from backup must not fork), and whether it holds
                                      anything new for the client past its cursor.
    POST /v1/push   Push → PushResult envelopes, bounded per request; one result each.
    POST /v1/pull   Pull → Batch      the client's cursor (the hub's log position it has applied)
                                      and a byte budget; the hub answers envelopes the client may
                                      see, the certificates to verify them, the new cursor, `more`.

A cursor per (peer, scope) means a first sync of a subtree reads only that subtree, and a no-op
sync is one small round trip.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from protocol import changeset, codec, scope
from protocol.errors import BadSignature, Malformed, TooLarge
from protocol.keys import AUTHOR_LEN, SIG_LEN, KeyPair, verify

VERSION = 1
CONTENT_TYPE = "application/vnd.laowu+msgpack"
MAX_REQUEST_BYTES = 16 << 20
MAX_PUSH_ENVELOPES = 512
HELLO_CONTEXT = b"laowu/hello/v1\x00"
NONCE_LEN = 16


# A sync message carries envelopes, certificates and revocations as byte strings: its maps and arrays
# are few (one result map per pushed envelope at most), however large it is.
MAX_CONTAINERS = 4 * MAX_PUSH_ENVELOPES + 1024
MAX_ITEMS = 100_000


def _load(data: bytes, keys: tuple[str, ...], what: str) -> Any:
    return codec.expect_map(codec.unpack(data, max_bytes=MAX_REQUEST_BYTES, what=what, max_containers=MAX_CONTAINERS,
                                         max_len=MAX_ITEMS), keys, what)


def _bytes_list(raw: Any, what: str, limit: int) -> list[bytes]:
    codec.expect(raw, list, what)
    if len(raw) > limit:
        raise TooLarge(f"{what}: {len(raw)} items, the limit is {limit}")
    return [codec.expect(x, bytes, f"{what}[]") for x in raw]


@dataclass(frozen=True)
class Hello:
    author: bytes
    home: str
    certs: list[bytes]
    cursor: int
    time: int
    nonce: bytes
    sig: bytes

    KEYS = ("v", "author", "home", "certs", "cursor", "time", "nonce", "sig")

    @staticmethod
    def signed_bytes(hub: bytes, author: bytes, home: str, time: int, nonce: bytes) -> bytes:
        return HELLO_CONTEXT + hub + author + home.encode() + time.to_bytes(8, "big") + nonce

    @classmethod
    def make(cls, key: KeyPair, hub: bytes, home: str, certs: list[bytes], cursor: int, time: int, nonce: bytes) -> Hello:
        sig = key.sign(cls.signed_bytes(hub, key.public, home, time, nonce))
        return cls(key.public, home, certs, cursor, time, nonce, sig)

    def verify_for(self, hub: bytes) -> None:
        verify(self.author, self.sig, self.signed_bytes(hub, self.author, self.home, self.time, self.nonce))

    def encode(self) -> bytes:
        return codec.pack({"v": VERSION, "author": self.author, "home": self.home, "certs": self.certs,
                           "cursor": self.cursor, "time": self.time, "nonce": self.nonce, "sig": self.sig})

    @classmethod
    def decode(cls, data: bytes) -> Hello:
        m = _load(data, cls.KEYS, "hello")
        return cls(
            author=codec.expect_bytes(m["author"], AUTHOR_LEN, "hello.author"),
            home=scope.check_code(m["home"], "hello.home"),
            certs=_bytes_list(m["certs"], "hello.certs", 16),
            cursor=codec.expect_uint(m["cursor"], "hello.cursor", 63),
            time=codec.expect_uint(m["time"], "hello.time", 63),
            nonce=codec.expect_bytes(m["nonce"], NONCE_LEN, "hello.nonce"),
            sig=codec.expect_bytes(m["sig"], SIG_LEN, "hello.sig"),
        )


@dataclass(frozen=True)
class Welcome:
    hub: bytes
    home: str
    time: int
    token: bytes
    heads: list[tuple[str, int, bytes]]  # (scope, seq, id) of the client's own feeds
    more: bool  # the hub holds envelopes past the client's cursor that it may see
    revocations: list[bytes]

    KEYS = ("v", "hub", "home", "time", "token", "heads", "more", "revocations")

    def encode(self) -> bytes:
        return codec.pack({"v": VERSION, "hub": self.hub, "home": self.home, "time": self.time, "token": self.token,
                           "heads": [list(h) for h in self.heads], "more": self.more, "revocations": self.revocations})

    @classmethod
    def decode(cls, data: bytes) -> Welcome:
        m = _load(data, cls.KEYS, "welcome")
        heads = []
        for h in codec.expect(m["heads"], list, "welcome.heads"):
            if not isinstance(h, list) or len(h) != 3:
                raise Malformed("welcome.heads: expected [scope, seq, id]")
            heads.append((scope.check_code(h[0]), codec.expect_uint(h[1], "head.seq", 63), codec.expect_bytes(h[2], 32, "head.id")))
        return cls(
            hub=codec.expect_bytes(m["hub"], AUTHOR_LEN, "welcome.hub"),
            home=scope.check_code(m["home"], "welcome.home"),
            time=codec.expect_uint(m["time"], "welcome.time", 63),
            token=codec.expect(m["token"], bytes, "welcome.token"),
            heads=heads,
            more=codec.expect(m["more"], bool, "welcome.more"),
            revocations=_bytes_list(m["revocations"], "welcome.revocations", 100_000),
        )


@dataclass(frozen=True)
class Push:
    token: bytes
    envelopes: list[bytes]
    certs: list[bytes]  # certificates of relayed authors (a township carrying its villages' bundles)
    revocations: list[bytes]  # revocations travel up as well as down

    KEYS = ("v", "token", "envelopes", "certs", "revocations")

    def encode(self) -> bytes:
        return codec.pack({"v": VERSION, "token": self.token, "envelopes": self.envelopes, "certs": self.certs,
                           "revocations": self.revocations})

    @classmethod
    def decode(cls, data: bytes) -> Push:
        m = _load(data, cls.KEYS, "push")
        return cls(
            token=codec.expect(m["token"], bytes, "push.token"),
            envelopes=_bytes_list(m["envelopes"], "push.envelopes", MAX_PUSH_ENVELOPES),
            certs=_bytes_list(m["certs"], "push.certs", 1024),
            revocations=_bytes_list(m["revocations"], "push.revocations", 10_000),
        )


@dataclass(frozen=True)
class PushResult:
    results: list[dict[str, Any]]  # {id, status, code, reason}

    KEYS = ("v", "results")

    def encode(self) -> bytes:
        return codec.pack({"v": VERSION, "results": [
            {"id": r.get("id"), "status": r["status"], "code": r.get("code", ""), "reason": r.get("reason", "")}
            for r in self.results]})

    @classmethod
    def decode(cls, data: bytes) -> PushResult:
        m = _load(data, cls.KEYS, "push result")
        return cls(results=list(codec.expect(m["results"], list, "push.results")))


@dataclass(frozen=True)
class Pull:
    token: bytes
    cursor: int
    budget: int
    own: bool  # also send the caller's own changesets: only a laptop restored from backup needs them

    KEYS = ("v", "token", "cursor", "budget", "own")

    def encode(self) -> bytes:
        return codec.pack({"v": VERSION, "token": self.token, "cursor": self.cursor, "budget": self.budget,
                           "own": self.own})

    @classmethod
    def decode(cls, data: bytes) -> Pull:
        m = _load(data, cls.KEYS, "pull")
        return cls(
            token=codec.expect(m["token"], bytes, "pull.token"),
            cursor=codec.expect_uint(m["cursor"], "pull.cursor", 63),
            budget=codec.expect_uint(m["budget"], "pull.budget", 40),
            own=codec.expect(m["own"], bool, "pull.own"),
        )


@dataclass(frozen=True)
class Batch:
    envelopes: list[bytes]
    certs: list[bytes]
    cursor: int
    more: bool

    KEYS = ("v", "envelopes", "certs", "cursor", "more")

    def encode(self) -> bytes:
        return codec.pack({"v": VERSION, "envelopes": self.envelopes, "certs": self.certs,
                           "cursor": self.cursor, "more": self.more})

    @classmethod
    def decode(cls, data: bytes) -> Batch:
        m = _load(data, cls.KEYS, "batch")
        return cls(
            envelopes=_bytes_list(m["envelopes"], "batch.envelopes", 1_000_000),
            certs=_bytes_list(m["certs"], "batch.certs", 1_000_000),
            cursor=codec.expect_uint(m["cursor"], "batch.cursor", 63),
            more=codec.expect(m["more"], bool, "batch.more"),
        )


@dataclass(frozen=True)
class SnapshotRequest:
    """Ask for a hub-made SQLite replica of the session's scope (a new node's first sync)."""

    token: bytes

    KEYS = ("v", "token")

    def encode(self) -> bytes:
        return codec.pack({"v": VERSION, "token": self.token})

    @classmethod
    def decode(cls, data: bytes) -> SnapshotRequest:
        m = _load(data, cls.KEYS, "snapshot request")
        return cls(token=codec.expect(m["token"], bytes, "snapshot.token"))


SNAPSHOT_TYPE = "application/vnd.sqlite3"
SNAPSHOT_CURSOR_HEADER = "x-laowu-cursor"


@dataclass(frozen=True)
class EnrollRequest:
    """A new node's key asking for a certificate; signed by that key. Travels online or as a file."""

    pub: bytes
    code: str  # the place it will serve
    role: str
    operator: str  # who asked, for the county operator to check
    time: int
    otp: str  # one-time code given by the county for online enrollment; "" for a file request
    sig: bytes

    KEYS = ("v", "pub", "code", "role", "operator", "time", "otp", "sig")

    @staticmethod
    def signed_bytes(pub: bytes, code: str, role: str, operator: str, time: int) -> bytes:
        return codec.pack([b"laowu/enroll/v1", pub, code, role, operator, time])

    @classmethod
    def make(cls, key: KeyPair, code: str, role: str, operator: str, time: int, otp: str = "") -> EnrollRequest:
        return cls(key.public, code, role, operator, time, otp, key.sign(cls.signed_bytes(key.public, code, role, operator, time)))

    def encode(self) -> bytes:
        return codec.pack({"v": VERSION, "pub": self.pub, "code": self.code, "role": self.role, "operator": self.operator,
                           "time": self.time, "otp": self.otp, "sig": self.sig})

    @classmethod
    def decode(cls, data: bytes) -> EnrollRequest:
        m = _load(data, cls.KEYS, "enroll request")
        req = cls(
            pub=codec.expect_bytes(m["pub"], AUTHOR_LEN, "enroll.pub"),
            code=scope.check_code(m["code"], "enroll.code"),
            role=codec.expect(m["role"], str, "enroll.role"),
            operator=codec.expect(m["operator"], str, "enroll.operator"),
            time=codec.expect_uint(m["time"], "enroll.time", 63),
            otp=codec.expect(m["otp"], str, "enroll.otp"),
            sig=codec.expect_bytes(m["sig"], SIG_LEN, "enroll.sig"),
        )
        verify(req.pub, req.sig, cls.signed_bytes(req.pub, req.code, req.role, req.operator, req.time))
        return req


# Every answer of a hub is signed by the hub's key over the request it answers (DESIGN §3: a node
# adopts nothing from a hub it has not verified). The network is not trusted: rewriting the time in a
# welcome once moved a node's clock to 2090 and blocked its feed; a rewritten pull cursor or push
# result could make a node skip data or believe the hub holds what it never received.
SIG_HEADER = "x-laowu-sig"
# The changeset body formats a hub or node reads, on every answer and request (docs/wire-format.md
# "Rollout"). A header, not a message field: earlier releases decode messages with exact keys, and
# ignore headers. Unsigned: a forged one can only make a node seal the other format, which every
# replica still holds or applies.
BODIES_HEADER = "laowu-bodies"


def bodies_header() -> str:
    return ",".join(str(b) for b in changeset.BODIES)


def parse_bodies(value: str | None) -> tuple[int, ...]:
    """The formats a peer says it reads; (1,) when it says nothing (an earlier release) or nonsense."""
    got = {int(p) for p in (value or "")[:32].split(",") if p.strip().isdigit() and len(p.strip()) <= 3}
    return tuple(sorted(got | {1}))
ANSWER_CONTEXT = b"laowu/answer/v1\x00"


def answer_signed_bytes(path: str, request: bytes, status: int, response: bytes, extra: bytes = b"") -> bytes:
    """What a hub signs for one answer: the path, the digest of the request it answers (so an answer
    cannot be replayed to another request), the status, the digest of the answer, and `extra`
    (a snapshot's cursor header)."""
    return (ANSWER_CONTEXT + path.encode() + b"\x00" + hashlib.sha256(request).digest() + status.to_bytes(2, "big")
            + hashlib.sha256(response).digest() + extra)


def sign_answer(key: KeyPair, path: str, request: bytes, status: int, response: bytes, extra: bytes = b"") -> str:
    return key.sign(answer_signed_bytes(path, request, status, response, extra)).hex()


def verify_answer(hub: bytes, header: str | None, path: str, request: bytes, status: int, response: bytes,
                  extra: bytes = b"") -> None:
    """Raise BadSignature unless `header` is `hub`'s signature of this answer to this request."""
    try:
        sig = bytes.fromhex(header or "")
    except ValueError:
        sig = b""
    if len(sig) != SIG_LEN:
        raise BadSignature(f"the answer to {path} carries no signature of the hub: altered on the way, or not our hub")
    verify(hub, sig, answer_signed_bytes(path, request, status, response, extra))


@dataclass(frozen=True)
class TimeRequest:
    """Ask a hub its time (POST /v1/time); the fresh nonce makes the signed answer unreplayable."""

    nonce: bytes

    KEYS = ("v", "nonce")

    def encode(self) -> bytes:
        return codec.pack({"v": VERSION, "nonce": self.nonce})

    @classmethod
    def decode(cls, data: bytes) -> TimeRequest:
        m = _load(data, cls.KEYS, "time request")
        return cls(nonce=codec.expect_bytes(m["nonce"], NONCE_LEN, "time.nonce"))


@dataclass(frozen=True)
class TimeAnswer:
    home: str
    time: int

    KEYS = ("v", "home", "time")

    def encode(self) -> bytes:
        return codec.pack({"v": VERSION, "home": self.home, "time": self.time})

    @classmethod
    def decode(cls, data: bytes) -> TimeAnswer:
        m = _load(data, cls.KEYS, "time answer")
        return cls(home=scope.check_code(m["home"], "time.home"), time=codec.expect_uint(m["time"], "time.time", 63))


def error_body(code: str, reason: str) -> bytes:
    return codec.pack({"v": VERSION, "error": code, "reason": reason})
