"""Certificates and revocations: who may write where (DESIGN §3).

A certificate binds a public key to a role, the scopes it may write, a validity period and a serial,
signed by its issuer. Chains end at the province root key pinned on every replica. The issuing rules:

    province   → prefecture, county          (the root is its own, self-signed, province certificate)
    prefecture → county
    county     → township, village
    township   → village

A subject's scopes must lie inside its issuer's. A revocation names a key and, per feed scope, the
last seq that stays valid: what a stolen laptop wrote before the theft is kept, the rest is refused.
A successor certificate (`succeeds`) re-keys a laptop restored from backup: it comes with a
revocation of the old key at the heads the hub holds, so the old feed can never fork.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from protocol import codec, scope
from protocol.errors import (
    CertificateExpired,
    Malformed,
    NotAllowed,
    OutOfScope,
    Revoked,
    UnknownAuthor,
)
from protocol.keys import AUTHOR_LEN, SIG_LEN, KeyPair, short_id, verify

VERSION = 1
MAX_CERT_BYTES = 4096
MAX_SCOPES = 64
ROLES = ("province", "prefecture", "county", "township", "village")
MAY_ISSUE: dict[str, tuple[str, ...]] = {
    "province": ("province", "prefecture", "county"),
    "prefecture": ("county",),
    "county": ("township", "village"),
    "township": ("village",),
    "village": (),
}
_CERT_KEYS = ("v", "serial", "issuer", "subject", "role", "scopes", "not_before", "not_after", "succeeds")
_REV_KEYS = ("v", "issuer", "subject", "cutoffs", "at", "reason")
_SIGNED_KEYS = ("body", "sig")


@dataclass(frozen=True)
class Certificate:
    serial: int
    issuer: bytes
    subject: bytes
    role: str
    scopes: tuple[str, ...]
    not_before: int
    not_after: int
    succeeds: bytes | None
    raw: bytes = field(repr=False, compare=False)

    def may_write(self, feed_scope: str) -> bool:
        return any(scope.contains(s, feed_scope) for s in self.scopes)

    def describe(self) -> str:
        return f"{self.role} {short_id(self.subject)} for {','.join(self.scopes)} (serial {self.serial})"


@dataclass(frozen=True)
class Revocation:
    issuer: bytes
    subject: bytes
    cutoffs: dict[str, int]
    at: int
    reason: str
    raw: bytes = field(repr=False, compare=False)

    def allows(self, feed_scope: str, seq: int) -> bool:
        return seq <= self.cutoffs.get(feed_scope, 0)


def _sign(issuer: KeyPair, body: bytes) -> bytes:
    return codec.pack({"body": body, "sig": issuer.sign(body)})


def _open(data: bytes, what: str) -> tuple[bytes, bytes]:
    outer = codec.expect_map(codec.unpack(data, max_bytes=MAX_CERT_BYTES, what=what), _SIGNED_KEYS, what, None)
    body = codec.expect(outer["body"], bytes, f"{what}.body")
    sig = codec.expect_bytes(outer["sig"], SIG_LEN, f"{what}.sig")
    return body, sig


def issue(
    issuer: KeyPair,
    subject: bytes,
    role: str,
    scopes: list[str] | tuple[str, ...],
    not_before: int,
    not_after: int,
    serial: int,
    succeeds: bytes | None = None,
) -> bytes:
    """Sign a certificate. Rules are checked again by every verifier; this only signs."""
    if role not in ROLES:
        raise Malformed(f"unknown role {role!r}")
    for s in scopes:
        scope.check_code(s)
    body = codec.pack(
        {
            "v": VERSION,
            "serial": serial,
            "issuer": issuer.public,
            "subject": subject,
            "role": role,
            "scopes": sorted(scopes),
            "not_before": not_before,
            "not_after": not_after,
            "succeeds": succeeds,
        }
    )
    return _sign(issuer, body)


def decode_certificate(data: bytes) -> Certificate:
    """Parse and check the issuer's signature. Chain and validity are `Trust.verify_chain`'s job."""
    body, sig = _open(data, "certificate")
    m = codec.expect_map(codec.unpack(body, max_bytes=MAX_CERT_BYTES, what="certificate body"), _CERT_KEYS, "certificate")
    if codec.pack(m) != body:
        raise Malformed("certificate body is not in canonical form")
    issuer = codec.expect_bytes(m["issuer"], AUTHOR_LEN, "certificate.issuer")
    verify(issuer, sig, body)
    role = codec.expect(m["role"], str, "certificate.role")
    if role not in ROLES:
        raise Malformed(f"certificate.role: unknown role {role!r}")
    scopes = codec.expect(m["scopes"], list, "certificate.scopes")
    if not scopes or len(scopes) > MAX_SCOPES:
        raise Malformed(f"certificate.scopes: between 1 and {MAX_SCOPES} scopes, got {len(scopes)}")
    succeeds = m["succeeds"]
    if succeeds is not None:
        succeeds = codec.expect_bytes(succeeds, AUTHOR_LEN, "certificate.succeeds")
    return Certificate(
        serial=codec.expect_uint(m["serial"], "certificate.serial"),
        issuer=issuer,
        subject=codec.expect_bytes(m["subject"], AUTHOR_LEN, "certificate.subject"),
        role=role,
        scopes=tuple(scope.check_code(s, "certificate.scopes") for s in scopes),
        not_before=codec.expect_uint(m["not_before"], "certificate.not_before"),
        not_after=codec.expect_uint(m["not_after"], "certificate.not_after"),
        succeeds=succeeds,
        raw=bytes(data),
    )


def revoke(issuer: KeyPair, subject: bytes, cutoffs: dict[str, int], at: int, reason: str) -> bytes:
    for s in cutoffs:
        scope.check_code(s, "revocation.cutoffs")
    body = codec.pack(
        {"v": VERSION, "issuer": issuer.public, "subject": subject, "cutoffs": dict(sorted(cutoffs.items())), "at": at, "reason": reason}
    )
    return _sign(issuer, body)


def decode_revocation(data: bytes) -> Revocation:
    body, sig = _open(data, "revocation")
    m = codec.expect_map(codec.unpack(body, max_bytes=MAX_CERT_BYTES, what="revocation body"), _REV_KEYS, "revocation")
    if codec.pack(m) != body:
        raise Malformed("revocation body is not in canonical form")
    issuer = codec.expect_bytes(m["issuer"], AUTHOR_LEN, "revocation.issuer")
    verify(issuer, sig, body)
    cutoffs = codec.expect(m["cutoffs"], dict, "revocation.cutoffs")
    return Revocation(
        issuer=issuer,
        subject=codec.expect_bytes(m["subject"], AUTHOR_LEN, "revocation.subject"),
        cutoffs={scope.check_code(k, "revocation.cutoffs"): codec.expect_uint(v, "revocation.cutoff") for k, v in cutoffs.items()},
        at=codec.expect_uint(m["at"], "revocation.at"),
        reason=codec.expect(m["reason"], str, "revocation.reason"),
        raw=bytes(data),
    )


def issuing_order(raws: list[bytes]) -> list[bytes]:
    """Certificates sorted so each issuer comes before what it issued (roles only issue downward)."""
    return sorted(raws, key=lambda raw: ROLES.index(decode_certificate(raw).role))


class Trust:
    """The certificates and revocations a replica knows, anchored at the pinned province root.

    Pure bookkeeping: callers feed it bytes they received and ask it questions; nothing here does I/O.
    """

    def __init__(self, root: bytes) -> None:
        self.root = root
        self.certs: dict[bytes, Certificate] = {}
        self.revocations: dict[bytes, Revocation] = {}

    def add_certificate(self, data: bytes) -> Certificate:
        """Accept a certificate whose chain reaches the root (the issuer must already be known)."""
        cert = decode_certificate(data)
        self._check_issuer(cert)
        known = self.certs.get(cert.subject)
        if known is not None and not self._issued_above(cert.issuer, known):
            # Otherwise any issuer could re-certify a key it does not own with a higher serial:
            # a stolen township key demoting the county hub, or the root itself, to a village.
            raise NotAllowed(
                f"{short_id(cert.subject)} is certified by {short_id(known.issuer)}; only that issuer "
                f"or one above it may re-certify it, not {short_id(cert.issuer)}"
            )
        if known is None or cert.serial > known.serial:
            self.certs[cert.subject] = cert
        return self.certs[cert.subject]

    def add_revocation(self, data: bytes) -> Revocation:
        rev = decode_revocation(data)
        target = self.certs.get(rev.subject)
        allowed = rev.issuer == self.root or (target is not None and target.issuer == rev.issuer)
        if not allowed:
            raise NotAllowed(
                f"revocation of {short_id(rev.subject)} signed by {short_id(rev.issuer)}, "
                "who neither issued its certificate nor is the province root"
            )
        old = self.revocations.get(rev.subject)
        if old is not None:
            # Two revocations of one key: the stricter cut-off per feed wins, on every replica alike.
            merged = {k: min(old.cutoffs.get(k, 0), rev.cutoffs.get(k, 0)) for k in {*old.cutoffs, *rev.cutoffs}}
            rev = Revocation(rev.issuer, rev.subject, merged, min(old.at, rev.at), rev.reason, rev.raw)
        self.revocations[rev.subject] = rev
        return rev

    def _issued_above(self, issuer: bytes, cert: Certificate) -> bool:
        """True when `issuer` signed `cert` or a certificate above it in its chain."""
        seen: set[bytes] = set()
        while cert.subject not in seen:
            if cert.issuer == issuer:
                return True
            seen.add(cert.subject)
            parent = self.certs.get(cert.issuer)
            if parent is None:
                return False
            cert = parent
        return False

    def _check_issuer(self, cert: Certificate) -> None:
        if cert.issuer == self.root and cert.subject == self.root:
            if cert.role != "province":
                raise NotAllowed("the root certificate must have the province role")
            return
        issuer = self.certs.get(cert.issuer)
        if issuer is None:
            raise UnknownAuthor(
                f"certificate {cert.describe()} was issued by {short_id(cert.issuer)}, "
                "whose own certificate we do not hold: send the issuer's certificate first"
            )
        if cert.role not in MAY_ISSUE[issuer.role]:
            raise NotAllowed(f"a {issuer.role} may not issue a {cert.role} certificate")
        for s in cert.scopes:
            if not issuer.may_write(s):
                raise NotAllowed(f"scope {s} is outside the issuer's scopes {list(issuer.scopes)}")
            if scope.LEVELS.index(scope.level(s)) < scope.LEVELS.index(cert.role):
                raise NotAllowed(f"a {cert.role} certificate cannot cover the wider place {s}")

    def verify_chain(self, author: bytes, now_ms: int) -> Certificate:
        """The author's certificate if it and every issuer above it are valid at `now_ms`."""
        cert = self.certs.get(author)
        if cert is None:
            raise UnknownAuthor(f"no certificate for key {short_id(author)}: enroll it with the county first")
        leaf = cert
        seen: set[bytes] = set()
        while True:
            if not cert.not_before <= now_ms <= cert.not_after:
                raise CertificateExpired(f"certificate {cert.describe()} is not valid at this time")
            if cert.subject == self.root:
                return leaf
            if cert.subject in seen:
                raise NotAllowed("certificate chain loops")
            seen.add(cert.subject)
            rev = self.revocations.get(cert.issuer)
            if rev is not None and cert.not_before > rev.at:
                raise Revoked(f"certificate {cert.describe()} was issued by a key revoked before it")
            parent = self.certs.get(cert.issuer)
            if parent is None:
                raise UnknownAuthor(f"chain of {leaf.describe()} stops at unknown key {short_id(cert.issuer)}")
            cert = parent

    def check_write(self, author: bytes, feed_scope: str, seq: int, now_ms: int) -> Certificate:
        """Everything about the author that decides whether changeset (author, scope, seq) is allowed."""
        cert = self.verify_chain(author, now_ms)
        if not cert.may_write(feed_scope):
            raise OutOfScope(f"{cert.describe()} may not write scope {feed_scope}")
        rev = self.revocations.get(author)
        if rev is not None and not rev.allows(feed_scope, seq):
            raise Revoked(
                f"key {short_id(author)} was revoked ({rev.reason}); seq {seq} of scope {feed_scope} "
                f"is past the cut-off {rev.cutoffs.get(feed_scope, 0)}"
            )
        return cert

    def chains(self, authors: set[bytes]) -> list[bytes]:
        """The certificates that let a receiver verify `authors`, issuers first, each once."""
        out: list[bytes] = []
        seen: set[bytes] = set()

        def visit(subject: bytes) -> None:
            cert = self.certs.get(subject)
            if cert is None or subject in seen:
                return
            seen.add(subject)
            if cert.issuer != subject:
                visit(cert.issuer)
            out.append(cert.raw)

        for a in sorted(authors):
            visit(a)
        return out

    def export(self) -> list[bytes]:
        """Certificates in issuing order (root first), ready to send to a peer."""
        out: list[bytes] = []
        done: set[bytes] = set()

        def visit(c: Certificate) -> None:
            if c.subject in done:
                return
            done.add(c.subject)
            if c.issuer != c.subject and c.issuer in self.certs:
                visit(self.certs[c.issuer])
            out.append(c.raw)

        for c in self.certs.values():
            visit(c)
        return out
