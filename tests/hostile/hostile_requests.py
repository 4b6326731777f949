"""Hostile request bodies for /v1/hello, /v1/push, /v1/pull and /v1/enroll: each category and the
refusal it must get (HTTP status, `error` code of the msgpack {v, error, reason} body).

Shape of the body, any endpoint                           400 unless said otherwise
    random-bytes, not-a-map                               malformed | truncated | unknown-version
    truncated, huge-length                                truncated
    trailing-bytes, wrong-type, missing-key, extra-key,   malformed
      duplicate-key, reordered-keys, nan-float,
      huge-int, bad-code, deep-nesting, ext-type
    wrong-version                                         unknown-version (an int) | malformed
    too-many-items, oversize-body, oversize-chunked       413 too-large
Sessions (push and pull)
    token-tampered, token-forged, token-wrong-length,     401 unauthorized
      token-expired
    token-revoked-key                                     403 revoked
    token-unenrolled                                      403 unknown-author
    token-expired-cert                                    403 certificate-expired
    token-unproven, token-foreign-proof                   401 unauthorized (a key-bound token without its
                                                          key's proof, or with another key's over the body)
Hello
    hello-forged-sig, hello-wrong-hub, hello-tampered     403 bad-signature
    hello-replayed, hello-stale                           409 stale
    hello-unenrolled                                      403 unknown-author
    hello-forged-cert                                     403 (the certificate's refusal) | 400
    hello-expired-cert / hello-revoked                    403 certificate-expired / revoked
    hello-wrong-home                                      403 not-allowed
    hello-out-of-scope                                    403 out-of-scope
Enrollment
    enroll-forged-sig                                     403 bad-signature
    enroll-no-otp                                         401 enroll-waiting (queued for an operator)
    enroll-wrong-otp, enroll-replayed,                    401 unauthorized
      enroll-otp-mismatch
    enroll-otp-forbidden                                  403 not-allowed
Time (POST /v1/time, the signed clock a far-off node asks for)
    time-malformed                                        400 (a decode error)
Push
    push-forged-certs                                     200, no results, trust unchanged
"""
from __future__ import annotations

import dataclasses
import hashlib
import hmac
import math
import random
from collections.abc import Callable, Iterator
from typing import Any

import msgpack

from hostile_envelopes import DECODE, MALFORMED, depth, flip, huge_header, nested, pack, raw_map
from hostilekit import COUNTY, FAR_VILLAGE, PROVINCE, SIBLING, TOWNSHIP, VILLAGE, HostileWorld, Request
from hub import enroll
from hub.app import HELLO_WINDOW_MS, TOKEN_TTL_MS
from protocol import certs, clock, messages, session
from protocol.keys import KeyPair

PATHS = ("/v1/hello", "/v1/push", "/v1/pull", "/v1/enroll")
SAMPLES: list[Any] = [None, True, False, 0, 7, -1, 2**64 - 1, 1.5, math.nan, math.inf, "", "513225103201", b"",
                      bytes(32), [], {}, {"v": 1}]
WRONG_LISTS: list[Any] = [[1], ["x"], [None], [[b""]], [math.nan], [{}]]
BAD_CODES = ["51322510320", "5132251032011", "000000000000", "", "51322510320a", "513225103201 ", "０13225103201",
             "013225103201", "5" * 400]
TOO_LARGE = 16 << 20


def kind(x: Any) -> str:
    return "bool" if isinstance(x, bool) else type(x).__name__


def bad(codes: str) -> frozenset[str]:
    return frozenset(codes.split())


class RequestGen:
    """Builds one hostile request per call of a category, from legitimate bodies made fresh."""

    def __init__(self, w: HostileWorld, rng: random.Random) -> None:
        self.w = w
        self.rng = rng
        self.k = w.keys
        self.otps = 0
        self.categories: dict[str, Callable[[], Request]] = {
            name[4:].replace("_", "-"): getattr(self, name) for name in dir(self) if name.startswith("req_")
        }

    # -- legitimate bodies, as maps in canonical order ------------------------------------------------

    def legit(self, path: str) -> dict[str, Any]:
        w, rng = self.w, self.rng
        if path == "/v1/hello":
            return dict(msgpack.unpackb(w.hello_body("village", VILLAGE, nonce=rng.randbytes(16))))
        if path == "/v1/push":  # its one envelope is junk: even a push that got through would change nothing
            return {"v": 1, "token": w.token("village"), "envelopes": [rng.randbytes(24)], "certs": [], "revocations": []}
        if path == "/v1/pull":
            return {"v": 1, "token": w.token("village"), "cursor": 0, "budget": 1 << 16, "own": False}
        req = messages.EnrollRequest.make(KeyPair.from_seed(rng.randbytes(8)), "513225103209", "village", "hostile",
                                          clock.wall_ms())
        return dict(msgpack.unpackb(req.encode()))

    def path(self, *among: str) -> str:
        return self.rng.choice(among or PATHS)

    def field(self, m: dict[str, Any], *, kinds: tuple[str, ...] = ()) -> str:
        keys = [k for k in m if k != "v" and (not kinds or kind(m[k]) in kinds)]
        return self.rng.choice(keys)

    def req(self, category: str, path: str, body: bytes | Callable[[], bytes], status: int, codes: frozenset[str],
            **kw: Any) -> Request:
        build = body if callable(body) else (lambda: body)
        return Request(category, path, build, frozenset({status}), codes, **kw)

    def mutated(self, category: str, change: Callable[[dict[str, Any]], bytes], codes: frozenset[str],
                *paths: str, status: int = 400) -> Request:
        path = self.path(*paths)
        # Built when sent, not when generated: tokens and hello times stay fresh in a long soak.
        return self.req(category, path, lambda: change(self.legit(path)), status, codes)

    # -- the shape of a body ----------------------------------------------------------------------------

    def req_random_bytes(self) -> Request:
        n = self.rng.choice([0, 1, 2, self.rng.randint(3, 64), self.rng.randint(65, 4096)])
        return self.req("random-bytes", self.path(), self.rng.randbytes(n), 400, DECODE)

    def req_not_a_map(self) -> Request:
        body = pack(self.rng.choice([None, 1, -1, "hello", b"\x01", [1, 2], [], 1.5, True, [{"v": 1}]]))
        return self.req("not-a-map", self.path(), body, 400, MALFORMED)

    def req_truncated(self) -> Request:
        def cut(m: dict[str, Any]) -> bytes:
            raw = pack(m)
            return raw[: self.rng.randrange(len(raw))]
        return self.mutated("truncated", cut, bad("truncated"))

    def req_huge_length(self) -> Request:
        def lie(m: dict[str, Any]) -> bytes:
            header = huge_header(self.rng, len(pack(m)) + 200)
            if self.rng.random() < 0.2:
                return header + pack(m)
            return raw_map(list(m.items()), {self.rng.randrange(len(m)): header})
        return self.mutated("huge-length", lie, bad("truncated"))

    def req_trailing_bytes(self) -> Request:
        return self.mutated("trailing-bytes", lambda m: pack(m) + self.rng.randbytes(self.rng.randint(1, 64)), MALFORMED)

    def req_wrong_type(self) -> Request:
        def swap(m: dict[str, Any]) -> bytes:
            k = self.field(m)
            choices = [s for s in SAMPLES if kind(s) != kind(m[k])]
            if isinstance(m[k], list):
                choices += WRONG_LISTS
            m[k] = self.rng.choice(choices)
            return pack(m)
        return self.mutated("wrong-type", swap, MALFORMED)

    def req_missing_key(self) -> Request:
        def drop(m: dict[str, Any]) -> bytes:
            del m[self.rng.choice(list(m))]
            return pack(m)
        return self.mutated("missing-key", drop, MALFORMED)

    def req_extra_key(self) -> Request:
        def add(m: dict[str, Any]) -> bytes:
            items = list(m.items())
            key = self.rng.choice(["x", "V", "extra", "token2", "", "sig2", b"v", b"token", 1, -1])
            items.insert(self.rng.randrange(len(items) + 1), (key, self.rng.choice(SAMPLES)))
            return raw_map(items)
        return self.mutated("extra-key", add, MALFORMED)

    def req_duplicate_key(self) -> Request:
        def repeat(m: dict[str, Any]) -> bytes:
            items = list(m.items())
            k, v = items[self.rng.randrange(len(items))]
            again = v if self.rng.random() < 0.5 else self.rng.choice(SAMPLES)
            items.insert(self.rng.randrange(len(items) + 1), (k, again))
            return raw_map(items)
        return self.mutated("duplicate-key", repeat, MALFORMED)

    def req_reordered_keys(self) -> Request:
        def shuffle(m: dict[str, Any]) -> bytes:
            items = list(m.items())
            while list(dict(items)) == list(m):
                self.rng.shuffle(items)
            return raw_map(items)
        return self.mutated("reordered-keys", shuffle, MALFORMED)

    def req_wrong_version(self) -> Request:
        if self.rng.random() < 0.6:
            v: Any = self.rng.choice([0, 2, 3, 127, 255, 65535, 2**32, 2**64 - 1, -1, -(2**63)])
            codes = bad("unknown-version")
        else:
            v = self.rng.choice(["1", 1.0, True, None, b"\x01", [1], {"v": 1}, math.nan])
            codes = MALFORMED

        def version(m: dict[str, Any]) -> bytes:
            m["v"] = v
            return pack(m)
        return self.mutated("wrong-version", version, codes)

    def req_nan_float(self) -> Request:
        def nan(m: dict[str, Any]) -> bytes:
            numbers = [k for k in m if k != "v" and kind(m[k]) in ("int", "bool")]
            k = self.rng.choice(numbers) if numbers and self.rng.random() < 0.7 else "v"
            m[k] = self.rng.choice([math.nan, -math.nan, math.inf, -math.inf, -0.0, 0.0, 1e308, 5e-324])
            return pack(m)
        return self.mutated("nan-float", nan, MALFORMED)

    def req_huge_int(self) -> Request:
        def huge(m: dict[str, Any]) -> bytes:
            k = self.field(m, kinds=("int",))
            m[k] = self.rng.choice([2**63, 2**64 - 1, -1, -(2**63), -(2**31)] + ([2**40, 2**41] if k == "budget" else []))
            return pack(m)
        return self.mutated("huge-int", huge, MALFORMED, "/v1/hello", "/v1/pull", "/v1/enroll")

    def req_bad_code(self) -> Request:
        def code(m: dict[str, Any]) -> bytes:
            m["home" if "home" in m else "code"] = self.rng.choice(BAD_CODES)
            return pack(m)
        return self.mutated("bad-code", code, MALFORMED, "/v1/hello", "/v1/enroll")

    def req_deep_nesting(self) -> Request:
        levels = depth(self.rng)

        def deep(m: dict[str, Any]) -> bytes:
            if self.rng.random() < 0.15:
                return nested(levels, self.rng)
            items = list(m.items())
            i = self.rng.randrange(1, len(items))
            return raw_map(items, {i: nested(levels, self.rng)})
        return self.mutated("deep-nesting", deep, MALFORMED)

    def req_ext_type(self) -> Request:
        def ext(m: dict[str, Any]) -> bytes:
            value = self.rng.choice([msgpack.ExtType(self.rng.randrange(128), self.rng.randbytes(4)),
                                     msgpack.Timestamp(self.rng.randrange(2**32), 0)])
            if self.rng.random() < 0.2:
                return pack(value)
            m[self.field(m)] = value
            return pack(m)
        return self.mutated("ext-type", ext, MALFORMED)

    def req_too_many_items(self) -> Request:
        path, key, n = self.rng.choice([("/v1/hello", "certs", 17), ("/v1/push", "envelopes", 513),
                                        ("/v1/push", "certs", 1025), ("/v1/push", "revocations", 10_001)])

        def many(m: dict[str, Any]) -> bytes:
            m[key] = [b""] * (n + self.rng.randint(0, 50))
            return pack(m)
        return self.req("too-many-items", path, lambda: many(self.legit(path)), 413, bad("too-large"))

    def req_oversize_body(self) -> Request:
        n = TOO_LARGE + self.rng.randint(1, 1 << 20)
        return self.req("oversize-body", self.path(), lambda: b"\x00" * n, 413, bad("too-large"))

    def req_oversize_chunked(self) -> Request:
        def chunks() -> Iterator[bytes]:
            for _ in range(TOO_LARGE // (1 << 20) + 2):
                yield b"\x00" * (1 << 20)
        return Request("oversize-chunked", self.path(), chunks, frozenset({413}), bad("too-large"))

    # -- sessions ------------------------------------------------------------------------------------

    def token_request(self, category: str, token: Callable[[], bytes], status: int, codes: frozenset[str]) -> Request:
        path = self.path("/v1/push", "/v1/pull")

        def body() -> bytes:
            m = self.legit(path)
            m["token"] = token()
            return pack(m)
        return self.req(category, path, body, status, codes)

    def req_token_tampered(self) -> Request:
        return self.token_request("token-tampered", lambda: flip(self.w.token("village"), self.rng, self.rng.randint(1, 3)),
                                  401, bad("unauthorized"))

    def req_token_forged(self) -> Request:
        def forged() -> bytes:
            if self.rng.random() < 0.5:
                return self.rng.randbytes(84)
            payload = self.k.village.public + VILLAGE.encode() + (clock.wall_ms() + 60_000).to_bytes(8, "big")
            return payload + hmac.new(self.rng.randbytes(32), payload, hashlib.sha256).digest()
        return self.token_request("token-forged", forged, 401, bad("unauthorized"))

    def req_token_wrong_length(self) -> Request:
        def sized() -> bytes:
            good = self.w.token("village")
            return self.rng.choice([b"", good[:-1], good + b"\x00", self.rng.randbytes(self.rng.randint(1, 300))])
        return self.token_request("token-wrong-length", sized, 401, bad("unauthorized"))

    def req_token_expired(self) -> Request:
        def expired() -> bytes:
            gone = clock.wall_ms() - TOKEN_TTL_MS - self.rng.choice([1_000, 60_000, 10**9])
            return self.w.mint(self.k.village.public, VILLAGE, gone)
        return self.token_request("token-expired", expired, 401, bad("unauthorized"))

    def req_token_revoked_key(self) -> Request:
        return self.token_request("token-revoked-key", lambda: self.w.mint(self.k.stolen.public, VILLAGE, clock.wall_ms()),
                                  403, bad("revoked"))

    def req_token_unenrolled(self) -> Request:
        return self.token_request("token-unenrolled", lambda: self.w.mint(self.k.stranger.public, VILLAGE, clock.wall_ms()),
                                  403, bad("unknown-author"))

    def req_token_unproven(self) -> Request:
        """A key-bound token read off the wire, sent without the key's proof (or with a junk one)."""
        junk = self.rng.choice(["", "00" * 64, self.rng.randbytes(64).hex(), "not hex", session.WILL_PROVE])
        req = self.token_request("token-unproven", lambda: self.w.mint_bound(self.k.village.public, VILLAGE,
                                                                             clock.wall_ms()), 401, bad("unauthorized"))
        return dataclasses.replace(req, headers=lambda body: {session.PROOF_HEADER: junk} if junk else {})

    def req_token_foreign_proof(self) -> Request:
        """A key-bound token of the village, each request signed by another key (the sibling's, a stranger's)."""
        key = self.rng.choice([self.k.sibling, self.k.stranger])
        req = self.token_request("token-foreign-proof", lambda: self.w.mint_bound(self.k.village.public, VILLAGE,
                                                                                  clock.wall_ms()), 401, bad("unauthorized"))

        def proof(body: bytes) -> dict[str, str]:
            m = msgpack.unpackb(body)
            return {session.PROOF_HEADER: session.prove(key, req.path, m["token"], body, 1, clock.wall_ms())}
        return dataclasses.replace(req, headers=proof)

    def req_token_stale_proof(self) -> Request:
        """A key-bound token of the village with its own key's proof, dated outside the hub's window
        (a captured request sent again minutes later, or from far ahead): refused as a replay."""
        skew = self.rng.choice([-session.FRESH_MS - self.rng.randint(1_000, 10**9),
                                session.AHEAD_MS + self.rng.randint(1_000, 10**9)])
        req = self.token_request("token-stale-proof", lambda: self.w.mint_bound(self.k.village.public, VILLAGE,
                                                                                clock.wall_ms()), 409, bad("replayed"))

        def proof(body: bytes) -> dict[str, str]:
            m = msgpack.unpackb(body)
            return {session.PROOF_HEADER: session.prove(self.k.village, req.path, m["token"], body,
                                                        self.rng.randint(1, 1 << 40), clock.wall_ms() + skew)}
        return dataclasses.replace(req, headers=proof)

    def req_token_expired_cert(self) -> Request:
        key = self.rng.choice([self.k.expired, self.k.early])
        return self.token_request("token-expired-cert", lambda: self.w.mint(key.public, VILLAGE, clock.wall_ms()),
                                  403, bad("certificate-expired"))

    # -- hello ----------------------------------------------------------------------------------------

    def hello(self, category: str, body: Callable[[], bytes], status: int, codes: str, **kw: Any) -> Request:
        return self.req(category, "/v1/hello", body, status, bad(codes), **kw)

    def req_hello_forged_sig(self) -> Request:
        def forged() -> bytes:
            m = self.legit("/v1/hello")
            m["sig"] = self.rng.choice([self.rng.randbytes(64), bytes(64), flip(m["sig"], self.rng, 1),
                                        self.k.stranger.sign(b"hello"), self.k.sibling.sign(m["nonce"])])
            return pack(m)
        return self.hello("hello-forged-sig", forged, 403, "bad-signature")

    def req_hello_wrong_hub(self) -> Request:
        hub = self.rng.choice([self.k.root.public, self.k.stranger.public, self.k.village.public, self.rng.randbytes(32)])
        return self.hello("hello-wrong-hub", lambda: self.w.hello_body("village", VILLAGE, hub=hub, nonce=self.rng.randbytes(16)),
                          403, "bad-signature")

    def req_hello_tampered(self) -> Request:
        def tampered() -> bytes:
            m = self.legit("/v1/hello")
            k = self.rng.choice(["author", "home", "time", "nonce"])
            m[k] = {"author": self.k.sibling.public, "home": SIBLING, "time": m["time"] + 1,
                    "nonce": self.rng.randbytes(16)}[k]
            return pack(m)
        return self.hello("hello-tampered", tampered, 403, "bad-signature")

    def req_hello_replayed(self) -> Request:
        used = self.w.hello_body("village", VILLAGE, nonce=self.rng.randbytes(16))

        def first() -> None:
            resp = self.w.http.post("/v1/hello", content=used)
            assert resp.status_code == 200, resp.content
        return self.hello("hello-replayed", lambda: used, 409, "stale", prepare=first)

    def req_hello_stale(self) -> Request:
        def stale() -> bytes:
            now = clock.wall_ms()
            off = self.rng.choice([HELLO_WINDOW_MS + 5_000, HELLO_WINDOW_MS + 60_000, 86400_000, 50 * 365 * 86400_000])
            at = self.rng.choice([now + off, max(now - off, 0), 0])
            return self.w.hello_body("village", VILLAGE, at=at, nonce=self.rng.randbytes(16))
        return self.hello("hello-stale", stale, 409, "stale")

    def req_hello_unenrolled(self) -> Request:
        key = self.rng.choice(["stranger", "stranger", "random"])

        def stranger() -> bytes:
            kp = self.k.stranger if key == "stranger" else KeyPair.from_seed(self.rng.randbytes(8))
            chain = self.rng.choice([[], self.k.chain["village"][:2]])
            return messages.Hello.make(kp, self.w.store.author, VILLAGE, chain, 0, clock.wall_ms(), self.rng.randbytes(16)).encode()
        return self.hello("hello-unenrolled", stranger, 403, "unknown-author")

    def req_hello_forged_cert(self) -> Request:
        k, rng, now = self.k, self.rng, clock.wall_ms()
        stranger = KeyPair.from_seed(rng.randbytes(8))
        far_future = now + 365 * 86400_000
        options: list[tuple[bytes, int, str]] = [
            (certs.issue(stranger, stranger.public, "village", [VILLAGE], 0, far_future, 5), 403, "unknown-author"),
            (certs.issue(stranger, stranger.public, "province", [PROVINCE], 0, far_future, 5), 403, "unknown-author"),
            (certs.issue(k.village, stranger.public, "village", [VILLAGE], 0, far_future, 5), 403, "not-allowed"),
            (certs.issue(k.village, k.village.public, "county", [COUNTY], 0, far_future, 99), 403, "not-allowed"),
            (certs.issue(k.township, stranger.public, "village", ["513225104201"], 0, far_future, 5), 403, "not-allowed"),
            (certs.issue(k.township, stranger.public, "county", [TOWNSHIP], 0, far_future, 5), 403, "not-allowed"),
            (certs.issue(k.township, k.village.public, "township", [TOWNSHIP], 0, far_future, 99), 403, "not-allowed"),
            (certs.issue(k.far, stranger.public, "village", [FAR_VILLAGE], 0, far_future, 5), 403, "not-allowed"),
            (self.resigned(certs.issue(k.county, stranger.public, "village", [VILLAGE], 0, far_future, 5)), 403, "bad-signature"),
            (self.resigned(certs.issue(k.root, k.village.public, "county", [COUNTY], 0, far_future, 10**6)), 403, "bad-signature"),
            (rng.randbytes(rng.randint(0, 200)), 400, "malformed truncated unknown-version"),
        ]
        raw, status, codes = rng.choice(options)
        return self.hello("hello-forged-cert", lambda: self.w.hello_body("village", VILLAGE, nonce=self.rng.randbytes(16),
                                                                          certs=[*self.k.chain["village"], raw]),
                          status, codes)

    def resigned(self, raw: bytes) -> bytes:
        """A certificate whose body names a real issuer, signed by a stranger."""
        body = msgpack.unpackb(raw)["body"]
        return pack({"body": body, "sig": self.k.stranger.sign(body)})

    def req_hello_expired_cert(self) -> Request:
        name = self.rng.choice(["expired", "early"])
        return self.hello("hello-expired-cert", lambda: self.w.hello_body(name, VILLAGE, nonce=self.rng.randbytes(16)),
                          403, "certificate-expired")

    def req_hello_revoked(self) -> Request:
        return self.hello("hello-revoked", lambda: self.w.hello_body("stolen", VILLAGE, nonce=self.rng.randbytes(16)),
                          403, "revoked")

    def req_hello_wrong_home(self) -> Request:
        home = self.rng.choice([SIBLING, TOWNSHIP, COUNTY, PROVINCE, FAR_VILLAGE, "513225103299"])
        return self.hello("hello-wrong-home", lambda: self.w.hello_body("village", home, nonce=self.rng.randbytes(16)),
                          403, "not-allowed")

    def req_hello_out_of_scope(self) -> Request:
        return self.hello("hello-out-of-scope", lambda: self.w.hello_body("far", FAR_VILLAGE, nonce=self.rng.randbytes(16)),
                          403, "out-of-scope")

    # -- enrollment --------------------------------------------------------------------------------------

    def enroll_body(self, code: str = "513225103209", role: str = "village", otp: str = "") -> bytes:
        key = KeyPair.from_seed(self.rng.randbytes(8))
        return messages.EnrollRequest.make(key, code, role, "hostile", clock.wall_ms(), otp).encode()

    def req_enroll_forged_sig(self) -> Request:
        def forged() -> bytes:
            m = self.legit("/v1/enroll")
            how = self.rng.choice(["sig", "code", "role", "otp-free", "operator"])
            if how == "sig":
                m["sig"] = self.rng.choice([self.rng.randbytes(64), flip(m["sig"], self.rng, 1), self.k.village.sign(b"x")])
            else:
                m[{"code": "code", "role": "role", "otp-free": "time", "operator": "operator"}[how]] = {
                    "code": "513225103208", "role": "township", "otp-free": m["time"] + 1, "operator": "someone else"}[how]
            return pack(m)
        return self.req("enroll-forged-sig", "/v1/enroll", forged, 403, bad("bad-signature"))

    def req_enroll_no_otp(self) -> Request:
        # queued for a county operator, never granted by itself (still a 401 for older nodes)
        return self.req("enroll-no-otp", "/v1/enroll", lambda: self.enroll_body(), 401, bad("enroll-waiting"))

    def req_enroll_wrong_otp(self) -> Request:
        otp = self.rng.choice(["123456", "hostile-setup-otp ", "", self.rng.randbytes(6).hex(), "x" * 5000, "otp/../"])
        return self.req("enroll-wrong-otp", "/v1/enroll", lambda: self.enroll_body(otp=otp or "0"), 401, bad("unauthorized"))

    def req_enroll_replayed(self) -> Request:
        return self.req("enroll-replayed", "/v1/enroll", self.w.enroll_body, 401, bad("unauthorized"))

    def one_time(self, place: str, role: str) -> tuple[str, Callable[[], None]]:
        self.otps += 1
        otp = f"hostile-otp-{self.otps}-{self.rng.randrange(10**9)}"
        return otp, lambda: enroll.add_otp(self.w.store, otp, place, role)

    def req_enroll_otp_mismatch(self) -> Request:
        """A genuine one-time code, used for another place or role: refused, and the code is not spent."""
        otp, prepare = self.one_time("513225103211", "village")
        code, role = self.rng.choice([("513225103212", "village"), ("513225103211", "township"), (SIBLING, "village")])
        return self.req("enroll-otp-mismatch", "/v1/enroll", lambda: self.enroll_body(code, role, otp), 401,
                        bad("unauthorized"), prepare=prepare)

    def req_enroll_otp_forbidden(self) -> Request:
        """A code an operator should never have issued: this hub may not sign what it asks for."""
        place, role = self.rng.choice([(COUNTY, "county"), (PROVINCE, "province"), ("513225104000", "village"),
                                       (VILLAGE, "township"), (FAR_VILLAGE, "village"), ("513225103213", "admin"),
                                       ("513226000000", "county")])
        otp, prepare = self.one_time(place, role)
        return self.req("enroll-otp-forbidden", "/v1/enroll", lambda: self.enroll_body(place, role, otp), 403,
                        bad("not-allowed"), prepare=prepare)

    # -- time ------------------------------------------------------------------------------------------

    def req_time_malformed(self) -> Request:
        rng = self.rng
        body = rng.choice([
            pack({"v": 1, "nonce": rng.randbytes(rng.choice([0, 15, 17, 64]))}),  # nonce of the wrong length
            pack({"v": 1}), pack({"nonce": rng.randbytes(16), "v": 1}),  # missing key, keys out of order
            pack({"v": 1, "nonce": rng.randbytes(16), "time": 2**62}),  # a client may not set the time
            pack({"v": 1, "nonce": "x" * 16}), nested(rng.randint(33, 2000), rng), rng.randbytes(rng.randint(1, 64)),
            b"\xdd\x00\xff\xff\xff" + b"\x80" * 4096,  # an inflated array of empty maps
        ])
        return self.req("time-malformed", "/v1/time", body, 400, DECODE)

    # -- push ------------------------------------------------------------------------------------------

    def req_push_forged_certs(self) -> Request:
        k, rng = self.k, self.rng
        stranger = KeyPair.from_seed(rng.randbytes(8))
        year = 365 * 86400_000
        forged_certs = [
            certs.issue(stranger, stranger.public, "village", [VILLAGE], 0, clock.wall_ms() + year, 5),
            certs.issue(k.village, stranger.public, "village", [VILLAGE], 0, clock.wall_ms() + year, 5),
            certs.issue(k.sibling, k.village.public, "village", [SIBLING], 0, clock.wall_ms() + year, 10**6),
            certs.issue(k.township, k.county.public, "village", [VILLAGE], 0, clock.wall_ms() + year, 10**6),
            # a chosen top serial from below the county's own certificate of the key: changes nothing
            certs.issue(k.township, k.village.public, "village", [VILLAGE], 0, clock.wall_ms() + year, 2**64 - 1),
            self.resigned(certs.issue(k.county, stranger.public, "township", [TOWNSHIP], 0, clock.wall_ms() + year, 5)),
            rng.randbytes(rng.randint(0, 100)),
            *self.k.chain["village"],  # genuine and already held: changes nothing either
        ]
        forged_revs = [
            certs.revoke(stranger, k.village.public, {VILLAGE: 0}, clock.wall_ms(), "forged"),
            certs.revoke(k.sibling, k.village.public, {VILLAGE: 0}, clock.wall_ms(), "sibling"),
            certs.revoke(k.village, k.township.public, {TOWNSHIP: 0}, clock.wall_ms(), "upward"),
            certs.revoke(k.root, k.root.public, {}, clock.wall_ms(), "the root revokes itself"),  # never
            certs.revoke(k.stolen, k.village.public, {VILLAGE: 0}, clock.wall_ms(), "by a revoked key"),
            self.resigned(certs.revoke(k.county, k.village.public, {VILLAGE: 0}, clock.wall_ms(), "resigned")),
            self.resigned(certs.revoke(k.root, k.county.public, {COUNTY: 0}, clock.wall_ms(), "resigned")),
            rng.randbytes(rng.randint(0, 100)),
        ]
        picked_certs = rng.sample(forged_certs, rng.randint(0, 3))
        picked_revs = rng.sample(forged_revs, rng.randint(0 if picked_certs else 1, 3))
        return Request("push-forged-certs", "/v1/push",
                       lambda: messages.Push(self.w.token("village"), [], picked_certs, picked_revs).encode(),
                       frozenset({200}), frozenset(), empty_ok=True)
