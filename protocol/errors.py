"""Every error Laowu raises, split by who caused it (after h11 and httpx).

    LaowuError
    ├── LocalError                 our own misuse: fix the caller, never blame the peer
    │   ├── ConfigError            a setting, path or argument is wrong
    │   ├── BadPassphrase          the key file would not open with that passphrase
    │   ├── ClockPoisoned          our clock ran ahead of trusted time; resync before writing
    │   └── InvalidValue           a value a local user typed is not acceptable (bad ID number, ...)
    └── RemoteError                a peer sent bad, forged or stale data: answer 4xx with `code`
        ├── DecodeError            bytes are not a well-formed message
        │   ├── Truncated          the bytes stop before the message ends
        │   ├── TooLarge           over a hard size limit
        │   ├── UnknownVersion     a `v` we do not speak
        │   └── Malformed          wrong keys, types or ranges
        ├── BadSignature           the signature does not match the bytes and the key
        ├── CertificateError       the author's certificate chain does not reach the pinned root
        │   ├── UnknownAuthor      no certificate for this key
        │   ├── CertificateExpired outside the certificate's validity period
        │   └── NotAllowed         the issuer may not grant this role or scope
        ├── OutOfScope             the feed scope is outside what the certificate may write
        ├── Revoked                written after the key's revocation cut-off
        ├── ChainBroken            `prev` does not match the feed's previous changeset
        ├── ForkDetected           a different changeset already holds this (feed, seq)
        └── ClockAhead             stamped further ahead of our clock than the drift bound

Remote errors carry a short stable `code` that goes on the wire; the message says what was wrong
and, where it helps, what to do.
"""
from __future__ import annotations


class LaowuError(Exception):
    """Base of every Laowu error."""

    code = "error"


class LocalError(LaowuError):
    """We misused something: a bug or a bad local setting, not the peer's fault."""

    code = "local"


class ConfigError(LocalError):
    code = "config"


class BadPassphrase(LocalError):
    code = "bad-passphrase"


class ClockPoisoned(LocalError):
    code = "clock-poisoned"


class InvalidValue(LocalError):
    """A value entered locally fails validation; `field` names it for the form that shows it."""

    code = "invalid-value"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class RemoteError(LaowuError):
    """A peer sent something we refuse. Hubs answer these with a 4xx and `code`, never a 500."""

    code = "remote"


class DecodeError(RemoteError):
    code = "decode"


class Truncated(DecodeError):
    code = "truncated"


class TooLarge(DecodeError):
    code = "too-large"


class UnknownVersion(DecodeError):
    code = "unknown-version"


class Malformed(DecodeError):
    code = "malformed"


class BadSignature(RemoteError):
    code = "bad-signature"


class CertificateError(RemoteError):
    code = "certificate"


class UnknownAuthor(CertificateError):
    code = "unknown-author"


class CertificateExpired(CertificateError):
    code = "certificate-expired"


class NotAllowed(CertificateError):
    code = "not-allowed"


class OutOfScope(RemoteError):
    code = "out-of-scope"


class Unauthorized(RemoteError):
    """No valid session for this request: no token, a foreign or expired one, or no proof of its key."""
    code = "unauthorized"


class Revoked(RemoteError):
    code = "revoked"


class PastCutoff(Revoked):
    """A genuine changeset of a revoked key, past its revocation's cut-off: refused, and kept by the
    replica for county review (docs/trust.md §2), never merged unless a later revocation keeps it."""


class ChainBroken(RemoteError):
    code = "chain-broken"


class ForkDetected(RemoteError):
    """Two different changesets claim one (feed, seq). Both are kept as proof, neither is merged."""

    code = "fork"

    def __init__(self, message: str, proof: tuple[bytes, bytes] | None = None) -> None:
        super().__init__(message)
        self.proof = proof


class ClockAhead(RemoteError):
    """Held in quarantine, not applied and not dropped: released by staff or when time catches up."""

    code = "clock-ahead"
