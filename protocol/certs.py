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

A revoked key issues nothing (docs/trust.md). Time claims cannot decide it (a thief backdates
`not_before`), so a revocation (v2) lists `kept`: the digests of the certificates and revocations
the key signed that stay valid, as known to whoever revoked it. Everything else the key signed,
before or after, whatever time it claims, is refused on every replica alike. Any ancestor of a key
in its certificate chain (or the root) may revoke it. A revocation signed by a revoked key stands
only if that key's revocation keeps it; when it stops standing, what it retracted comes back.
Which certificate of a key holds: the same issuer's highest serial, else an ancestor's re-issue
(serials are not compared across issuers, so a chosen 2^64-1 blocks nobody); an unrelated issuer's
certificate replaces a held one only when the key itself endorses it (a signed hello or changeset
for a place only the new certificate covers): the first issuer to certify a key cannot squat it.
"""
from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from protocol import codec, scope
from protocol.errors import (
    CertificateExpired,
    Malformed,
    NotAllowed,
    OutOfScope,
    PastCutoff,
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
REV_VERSION = 2
_REV_KEYS_V1 = ("v", "issuer", "subject", "cutoffs", "at", "reason")
_REV_KEYS = ("v", "issuer", "subject", "cutoffs", "kept", "at", "reason")
MAX_KEPT = 100  # digests a revocation may keep (a county issues a few dozen certificates)
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

    @property
    def digest(self) -> bytes:
        return digest(self.raw)


def digest(raw: bytes) -> bytes:
    """What a revocation's `kept` names: sha-256 of a certificate's or revocation's exact bytes."""
    return hashlib.sha256(raw).digest()


@dataclass(frozen=True)
class Revocation:
    issuer: bytes
    subject: bytes
    cutoffs: dict[str, int]
    at: int
    reason: str
    raw: bytes = field(repr=False, compare=False)
    kept: frozenset[bytes] = frozenset()

    def allows(self, feed_scope: str, seq: int) -> bool:
        return seq <= self.cutoffs.get(feed_scope, 0)

    @property
    def digest(self) -> bytes:
        return digest(self.raw)

    def merge(self, other: Revocation) -> Revocation:
        """Two revocations of one key: the stricter cut-off per feed and only what both keep."""
        cutoffs = {k: min(self.cutoffs.get(k, 0), other.cutoffs.get(k, 0)) for k in {*self.cutoffs, *other.cutoffs}}
        first, second = sorted((self, other), key=lambda r: r.digest)
        return Revocation(first.issuer, first.subject, cutoffs, min(self.at, other.at), first.reason, first.raw,
                          self.kept & other.kept)


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
    """Parse and check the issuer's signature. Chain and validity are `Trust.verify_chain`'s job.

    The same bytes always decode to the same certificate and verify alike, so what was decoded is
    kept (`_decoded`, bounded): every hello carries its sender's whole chain, and a hub reloading its
    trust re-adds every certificate it holds; each used to cost an Ed25519 verification per
    certificate per request. A refusal is not kept: bad bytes are checked again, and refused again."""
    return _decoded(bytes(data))


@functools.lru_cache(maxsize=16_384)
def _decoded(data: bytes) -> Certificate:
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


def revoke(issuer: KeyPair, subject: bytes, cutoffs: dict[str, int], at: int, reason: str,
           kept: Iterable[bytes] = ()) -> bytes:
    """Sign a revocation; `kept` are the digests of what `subject` signed that stays valid."""
    for s in cutoffs:
        scope.check_code(s, "revocation.cutoffs")
    kept = sorted(set(kept))
    if len(kept) > MAX_KEPT:
        raise Malformed(f"a revocation keeps at most {MAX_KEPT} certificates, not {len(kept)}")
    body = codec.pack({"v": REV_VERSION, "issuer": issuer.public, "subject": subject,
                       "cutoffs": dict(sorted(cutoffs.items())), "kept": kept, "at": at, "reason": reason})
    return _sign(issuer, body)


def decode_revocation(data: bytes) -> Revocation:
    """Parse and check the signature. A v1 revocation (0.1.0) keeps nothing its key signed."""
    body, sig = _open(data, "revocation")
    raw_map = codec.unpack(body, max_bytes=MAX_CERT_BYTES, what="revocation body")
    v1 = isinstance(raw_map, dict) and type(raw_map.get("v")) is int and raw_map.get("v") == 1
    m = codec.expect_map(raw_map, _REV_KEYS_V1 if v1 else _REV_KEYS, "revocation", 1 if v1 else REV_VERSION)
    if codec.pack(m) != body:
        raise Malformed("revocation body is not in canonical form")
    issuer = codec.expect_bytes(m["issuer"], AUTHOR_LEN, "revocation.issuer")
    verify(issuer, sig, body)
    cutoffs = codec.expect(m["cutoffs"], dict, "revocation.cutoffs")
    kept = [] if v1 else codec.expect(m["kept"], list, "revocation.kept")
    if len(kept) > MAX_KEPT:
        raise Malformed(f"revocation.kept: at most {MAX_KEPT} digests, got {len(kept)}")
    return Revocation(
        issuer=issuer,
        subject=codec.expect_bytes(m["subject"], AUTHOR_LEN, "revocation.subject"),
        cutoffs={scope.check_code(k, "revocation.cutoffs"): codec.expect_uint(v, "revocation.cutoff") for k, v in cutoffs.items()},
        at=codec.expect_uint(m["at"], "revocation.at"),
        reason=codec.expect(m["reason"], str, "revocation.reason"),
        raw=bytes(data),
        kept=frozenset(codec.expect_bytes(k, 32, "revocation.kept") for k in kept),
    )


def issuing_order(raws: list[bytes]) -> list[bytes]:
    """Certificates sorted so each issuer comes before what it issued (roles only issue downward)."""
    return sorted(raws, key=lambda raw: ROLES.index(decode_certificate(raw).role))


class Trust:
    """The certificates and revocations a replica knows, anchored at the pinned province root.

    Pure bookkeeping: callers feed it bytes they received and ask it questions; nothing here does I/O.
    `now_ms` given to `add_*` is the receiver's own clock when the item is first learnt: an issuer
    must be valid then (an expired key issues nothing new). `None` re-loads what was checked before.
    """

    def __init__(self, root: bytes) -> None:
        self.root = root
        self.certs: dict[bytes, Certificate] = {}
        self.revocations: dict[bytes, Revocation] = {}  # the revocation in force per key (merged)
        self._revs: dict[bytes, dict[bytes, Revocation]] = {}  # subject → digest → every one held

    def add_certificate(self, data: bytes, now_ms: int | None = None, *, endorsed: str | None = None) -> Certificate:
        """Accept a certificate whose chain reaches the root (the issuer must already be known).

        `endorsed` is a place the subject key itself signed for (its hello's home, or the scope of
        a changeset it signed that comes with this certificate)."""
        cert = decode_certificate(data)
        self._check_issuer(cert, now_ms)
        known = self.certs.get(cert.subject)
        if known is None or self._supersedes(cert, known, endorsed):
            self.certs[cert.subject] = cert
            self._recompute()
        return self.certs[cert.subject]

    def _supersedes(self, cert: Certificate, known: Certificate, endorsed: str | None) -> bool:
        if cert.digest == known.digest:
            return False
        if cert.issuer == known.issuer:
            return (cert.serial, cert.digest) > (known.serial, known.digest)
        if cert.subject != self.root and self._issued_above(cert.issuer, known):
            return True  # an ancestor re-certifies: its serials and the original's are not compared
        if self._issued_above(known.issuer, cert) or self._issued_above(cert.subject, self.certs.get(cert.issuer)):
            # Otherwise any issuer could re-certify a key it does not own: a stolen township key
            # demoting the county hub, or the root itself, to a village.
            raise NotAllowed(
                f"{short_id(cert.subject)} is certified by {short_id(known.issuer)}; only that issuer "
                f"or one above it may re-certify it, not {short_id(cert.issuer)}"
            )
        if endorsed is not None and cert.may_write(endorsed) and not known.may_write(endorsed):
            return True  # the key itself vouches for this place: the held certificate was a squat
        raise NotAllowed(
            f"{short_id(cert.subject)} is already certified by {short_id(known.issuer)} for "
            f"{','.join(known.scopes)}; {short_id(cert.issuer)}'s certificate is learnt only with "
            "a hello or a changeset the key signed for a place it covers"
        )

    def load_revocation(self, data: bytes) -> None:
        """Re-load a revocation checked when it was learnt; whether it is in force is recomputed."""
        rev = decode_revocation(data)
        self._revs.setdefault(rev.subject, {})[rev.digest] = rev
        self._recompute()

    def knows_revocation(self, data: bytes) -> bool:
        return any(digest(data) in revs for revs in self._revs.values())

    def add_revocation(self, data: bytes, now_ms: int | None = None) -> Revocation:
        """Hold a revocation signed by the root or an ancestor of the key, valid when learnt."""
        rev = decode_revocation(data)
        if rev.subject == self.root:
            raise NotAllowed("the province root key cannot be revoked; a new province starts afresh")
        if not self._may_revoke(rev):
            raise NotAllowed(
                f"revocation of {short_id(rev.subject)} signed by {short_id(rev.issuer)}, "
                "which is neither an issuer above it in its certificate chain nor the province root"
            )
        if now_ms is not None and rev.issuer != self.root:
            self.verify_chain(rev.issuer, now_ms)  # an expired or revoked-above key revokes nothing
        if not self._stands(rev):
            raise Revoked(f"revocation of {short_id(rev.subject)} was signed by {short_id(rev.issuer)} "
                          "after that key was revoked, and its revocation does not keep it")
        self._revs.setdefault(rev.subject, {})[rev.digest] = rev
        self._recompute()
        found = self.revocations.get(rev.subject)
        return found if found is not None else rev

    def _may_revoke(self, rev: Revocation) -> bool:
        if rev.issuer == self.root:
            return True
        target = self.certs.get(rev.subject)
        return target is not None and self._issued_above(rev.issuer, target)

    def _stands(self, rev: Revocation, eff: dict[bytes, Revocation | None] | None = None) -> bool:
        signer = (eff if eff is not None else self.revocations).get(rev.issuer)
        return signer is None or rev.digest in signer.kept

    def _recompute(self) -> None:
        """The revocation in force per key: of those that stand (their signer unrevoked, or revoked
        keeping them) and whose signer is still above the key, each revoking key's latest (`at`;
        a county raising its own cut-off after review), merged across keys to the stricter.
        Order-independent."""
        eff: dict[bytes, Revocation | None] = {}
        visiting: set[bytes] = set()

        def effective(subject: bytes) -> Revocation | None:
            if subject in eff:
                return eff[subject]
            if subject in visiting:
                return None
            visiting.add(subject)
            latest: dict[bytes, Revocation] = {}  # per revoking key, its latest word (a review raises it)
            for d in sorted(self._revs.get(subject, {})):
                rev = self._revs[subject][d]
                if not self._may_revoke(rev):
                    continue
                if rev.issuer != self.root:
                    signer = effective(rev.issuer)
                    if signer is not None and rev.digest not in signer.kept:
                        continue
                held = latest.get(rev.issuer)
                if held is None or (rev.at, rev.digest) > (held.at, held.digest):
                    latest[rev.issuer] = rev
            merged: Revocation | None = None
            for issuer in sorted(latest):
                merged = latest[issuer] if merged is None else merged.merge(latest[issuer])
            eff[subject] = merged
            return merged

        self.revocations = {s: r for s in sorted(self._revs) if (r := effective(s)) is not None}

    def all_revocations(self) -> list[bytes]:
        """Every revocation held, verbatim, in a stable order: what peers need to merge alike."""
        return [self._revs[s][d].raw for s in sorted(self._revs) for d in sorted(self._revs[s])]

    def signed_by(self, issuer: bytes) -> list[bytes]:
        """Digests of the certificates and revocations `issuer` signed that we hold: what a
        revocation of `issuer` keeps by default (they were known before it was revoked)."""
        out = [c.digest for c in self.certs.values() if c.issuer == issuer and c.subject != issuer]
        out += [r.digest for revs in self._revs.values() for r in revs.values() if r.issuer == issuer]
        return sorted(out)

    def _issued_above(self, issuer: bytes, cert: Certificate | None) -> bool:
        """True when `issuer` signed `cert` or a certificate above it in its chain."""
        seen: set[bytes] = set()
        while cert is not None and cert.subject not in seen:
            if cert.issuer == issuer:
                return True
            seen.add(cert.subject)
            cert = self.certs.get(cert.issuer)
        return False

    def _check_issuer(self, cert: Certificate, now_ms: int | None = None) -> None:
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
        rev = self.revocations.get(cert.issuer)
        if rev is not None and cert.digest not in rev.kept:
            raise Revoked(f"certificate {cert.describe()} was signed by the revoked key {short_id(cert.issuer)} "
                          "and its revocation does not keep it")
        if now_ms is not None:
            self.verify_chain(cert.issuer, now_ms)  # an expired issuer issues nothing new

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
            if rev is not None and cert.digest not in rev.kept:
                raise Revoked(f"certificate {cert.describe()} was signed by the revoked key "
                              f"{short_id(cert.issuer)} and its revocation does not keep it")
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
            raise PastCutoff(
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
