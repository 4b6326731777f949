"""Enrollment, revocation and re-keying: the county (or province) operator's certificate work.

A node makes its own key and an `EnrollRequest`; the operator approves it (online with a one-time
code, or as a file) and the hub issues a certificate for exactly the place asked, within its own
scopes. Revocation keeps what the key wrote up to the heads the hub holds; re-keying issues a
successor certificate and revokes the old key at those heads, so a restored laptop cannot fork.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from node.engine import tables as t
from node.engine.db import upsert
from node.engine.store import Store
from protocol import certs, codec, messages, redaction, scope
from protocol.errors import ConfigError, InvalidValue, NotAllowed, RemoteError
from protocol.keys import KeyPair, short_id

if TYPE_CHECKING:  # the network client (httpx) only when there is an upstream to ask: see hub/cli.py
    from node.sync.client import SyncClient

YEAR_MS = 365 * 24 * 3600 * 1000


def _issuer(store: Store) -> tuple[certs.Certificate, KeyPair]:
    if store.key is None:
        raise ConfigError("this hub was opened without its key: cannot sign")
    cert = store.trust.certs.get(store.key.public)
    if cert is None:
        raise ConfigError("this hub has no certificate yet: install the one the province issued")
    return cert, store.key


def next_serial(store: Store) -> int:
    with store.transaction() as conn:
        r = conn.execute(select(t.meta.c.value).where(t.meta.c.key == "serial").with_for_update()).first()
        serial = (codec.unpack(r.value, max_bytes=64, what="serial") if r else 1) + 1
        conn.execute(upsert(conn.dialect.name, t.meta, ["key"]), {"key": "serial", "value": codec.pack(serial)})
    return int(serial)


def approve(store: Store, req: messages.EnrollRequest, *, years: int = 3, succeeds: bytes | None = None) -> bytes:
    """Issue a certificate for `req` if this hub may; the request's own signature was checked on decode."""
    mine, key = _issuer(store)
    if req.role not in certs.MAY_ISSUE[mine.role]:
        raise NotAllowed(f"a {mine.role} hub may not issue {req.role} certificates")
    if scope.level(req.code) != req.role:
        raise NotAllowed(f"{req.code} is a {scope.level(req.code)} code, not a {req.role}")
    if not mine.may_write(req.code):
        raise NotAllowed(f"{req.code} is outside this hub's scopes {list(mine.scopes)}")
    now = store.hlc.physical()
    raw = certs.issue(key, req.pub, req.role, [req.code], now - 3600_000, now + years * YEAR_MS, next_serial(store),
                      succeeds=succeeds)
    store.add_certificate(raw)
    return raw


def held_heads(store: Store, author: bytes) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {r.scope: r.seq for r in conn.execute(select(t.heads.c.scope, t.heads.c.seq).where(t.heads.c.author == author))}


def ask_upstream(upstream: SyncClient | None) -> str:
    """Sync with the hub above before cutting, so the cut-off covers what it holds: a laptop that
    synced with the province while the county was down keeps what the province acknowledged.
    Returns what happened, for the preview; an unreachable province is said, not hidden."""
    if upstream is None:
        return "未询问上级 upstream not asked: what only the province holds past these heads waits for review"
    from node.sync.client import SyncFailed

    try:
        return f"已与上级同步 synced with {upstream.url}: {upstream.sync().line()}"
    except (SyncFailed, RemoteError) as exc:
        raise ConfigError(f"上级平台不可达,未撤销 / could not reach the upstream hub to learn its heads, nothing "
                          f"revoked: {exc}; try again, or revoke without --upstream (what it holds past the "
                          "cut-off then waits for review)") from exc


def revoke(store: Store, subject: bytes, reason: str, cutoffs: dict[str, int] | None = None, *,
           keep_revocations: bool = True, upstream: SyncClient | None = None) -> bytes:
    """Revoke `subject`, keeping each of its feeds up to the head this hub holds (or `cutoffs`), and
    keeping the certificates (and, unless told not to, the revocations) it signed that this hub
    knows: nothing else it ever signed, before or after, is valid anywhere (protocol.certs).
    With `upstream`, this hub first syncs with the hub above, so its heads include what that holds."""
    _, key = _issuer(store)
    if upstream is not None:
        ask_upstream(upstream)
    kept = kept_by_default(store, subject, keep_revocations)
    raw = certs.revoke(key, subject, cutoffs if cutoffs is not None else held_heads(store, subject), store.hlc.physical(),
                       reason, kept)
    store.add_revocation(raw)
    return raw


def kept_by_default(store: Store, subject: bytes, keep_revocations: bool = True) -> list[bytes]:
    """What a revocation of `subject` keeps: what it signed that we know now. A county hub re-keyed
    keeps its revocations of stolen laptops; a county key gone rogue should not (`keep_revocations`)."""
    revs = {certs.digest(r) for r in store.revocations()}
    out = [d for d in store.trust.signed_by(subject) if keep_revocations or d not in revs]
    with store.engine.connect() as conn:  # erasures it signed stand too: they were known before
        out += [rec.id for r in conn.execute(select(t.redactions.c.raw))
                if (rec := redaction.decode(r.raw)).issuer == subject]
    return sorted(set(out))


def rekey(store: Store, old: bytes, req: messages.EnrollRequest, *,
          upstream: SyncClient | None = None) -> tuple[bytes, bytes]:
    """A laptop restored from backup gets a new key: a successor certificate, the old key revoked at
    our heads (after syncing with `upstream`, so what the province holds of it is kept too)."""
    cert = approve(store, req, succeeds=old)
    rev = revoke(store, old, "re-keyed after restore from backup", upstream=upstream)
    return cert, rev


OTP_TTL_MS = 24 * 3600 * 1000  # a code read out by phone is used the same day; after 24 h ask for a new one
OTP_DIGITS = 12  # 10^12 codes: at the per-client limit of hub.app a guesser needs longer than codes live


def new_otp() -> str:
    """A one-time code to read aloud: 12 digits in groups of four (the dashes are optional when typed)."""
    digits = f"{secrets.randbelow(10**OTP_DIGITS):0{OTP_DIGITS}d}"
    return "-".join(digits[i : i + 4] for i in range(0, OTP_DIGITS, 4))


def _norm(otp: str) -> str:
    return otp.replace("-", "").replace(" ", "")


def add_otp(store: Store, otp: str, place: str, role: str, ttl_ms: int = OTP_TTL_MS) -> None:
    """Record a one-time enrollment code handed to a village operator by phone or on paper."""
    scope.check_code(place, "place")
    with store.transaction() as conn:
        conn.execute(upsert(conn.dialect.name, t.meta, ["key"]),
                     {"key": f"otp/{_norm(otp)}", "value": codec.pack([place, role, store.hlc.physical() + ttl_ms])})


def peek_otp(store: Store, otp: str) -> tuple[str, str, int] | None:
    """(place, role, expires) of a code without using it up; None when unknown or malformed."""
    with store.engine.connect() as conn:
        r = conn.execute(select(t.meta.c.value).where(t.meta.c.key == f"otp/{_norm(otp)}")).first()
    if r is None:
        return None
    item = codec.unpack(r.value, max_bytes=256, what="otp")
    if not isinstance(item, list) or len(item) != 3:  # a code of 0.1.0 had no expiry: treated as expired
        return str(item[0]), str(item[1]), 0
    return str(item[0]), str(item[1]), int(item[2])


def take_otp(store: Store, otp: str, place: str, role: str) -> str:
    """Use up a one-time code if it was issued for exactly (place, role) and has not expired.

    Returns "ok", "unknown", "expired" or "mismatch". A real code tried with the wrong place or role
    is NOT used up (a typo must not burn the operator's code; guessing is bounded per client)."""
    with store.transaction() as conn:
        key = f"otp/{_norm(otp)}"
        r = conn.execute(select(t.meta.c.value).where(t.meta.c.key == key).with_for_update()).first()
        if r is None:
            return "unknown"
        item = codec.unpack(r.value, max_bytes=256, what="otp")
        expires = int(item[2]) if isinstance(item, list) and len(item) == 3 else 0
        if expires < store.hlc.physical():
            conn.execute(t.meta.delete().where(t.meta.c.key == key))
            return "expired"
        if (str(item[0]), str(item[1])) != (place, role):
            return "mismatch"
        conn.execute(t.meta.delete().where(t.meta.c.key == key))
        return "ok"


def find_key(store: Store, text: str) -> bytes:
    """The key an operator typed: its 64-hex id, or the 8-character short id the node displays.

    Looked up among the keys this hub knows (certificates and feeds); an unknown or ambiguous
    short id is a clear error, never a guess."""
    text = text.strip().lower()
    if len(text) == 64:
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass
    known: set[bytes] = set(store.trust.certs)
    with store.engine.connect() as conn:
        known.update(r[0] for r in conn.execute(select(t.heads.c.author).distinct()))
    found = [k for k in known if short_id(k) == text or (len(text) >= 8 and k.hex().startswith(text))]
    if len(found) == 1:
        return found[0]
    if not found:
        raise InvalidValue("key", f"本平台不认识密钥“{text}”:请核对节点显示的8位编号 / no key {text!r} is known here: "
                           "check the 8-character id the node shows")
    raise InvalidValue("key", f"“{text}”对应多个密钥,请输入完整的64位编号 / {text!r} matches several keys: give the "
                       "full 64-character id")


@dataclass(frozen=True)
class RevokePreview:
    """What a revocation at this hub's heads would keep and cut, for the operator to read before confirming."""

    subject: bytes
    describe: str  # the certificate, as people read it
    cutoffs: dict[str, int]  # feed scope → last seq kept
    kept: int  # changesets of the key applied here, all kept
    cut: list[tuple[str, int, str]]  # (scope, seq, where: pending | held | quarantined) beyond the cut-off
    signed: int = 0  # certificates and revocations the key signed that the revocation keeps
    upstream: str = ""  # whether the hub above was asked for its heads first


def revoke_preview(store: Store, subject: bytes, upstream: SyncClient | None = None) -> RevokePreview:
    """What `revoke` would do, after asking `upstream` (if given) for what it holds."""
    asked = ask_upstream(upstream)
    cutoffs = held_heads(store, subject)
    cert = store.trust.certs.get(subject)
    with store.engine.connect() as conn:
        kept = conn.execute(select(func.count()).select_from(t.log).where(
            t.log.c.author == subject, t.log.c.status == "applied")).scalar_one()
        cut = [(r.scope, r.seq, r.status) for r in conn.execute(
            select(t.log.c.scope, t.log.c.seq, t.log.c.status).where(t.log.c.author == subject, t.log.c.status != "applied"))
            if r.seq > cutoffs.get(r.scope, 0)]
        cut += [(r.scope, r.seq, "quarantined") for r in conn.execute(
            select(t.quarantine.c.scope, t.quarantine.c.seq).where(t.quarantine.c.author == subject))]
    return RevokePreview(subject, cert.describe() if cert else short_id(subject), cutoffs, int(kept), sorted(cut),
                         len(kept_by_default(store, subject)), asked)
