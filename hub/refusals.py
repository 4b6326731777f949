"""How a peer's mistakes become HTTP answers: the hub's own refusals and their status codes.

Shared by the sync endpoints (`hub.app`) and the filing download (`hub.filings.route`), so neither
imports the other.
"""
from __future__ import annotations

from starlette.requests import Request

from protocol.session import PROOF_HEADER

from protocol.errors import (
    BadSignature,
    CertificateError,
    ClockAhead,
    DecodeError,
    NotAllowed,
    OutOfScope,
    RemoteError,
    Revoked,
    TooLarge,
    Unauthorized,
)


class EnrollWaiting(Unauthorized):
    """An enrollment request without a code, queued for a county operator: not granted yet, not refused.

    Still a 401, so a node of an older release reports it as it always did; a current node reads the code
    and tells its operator to wait (exit 4), not that something went wrong."""

    code = "enroll-waiting"


class Stale(RemoteError):
    code = "stale"


class RateLimited(RemoteError):
    code = "rate-limited"


class Replayed(RemoteError):
    """A request whose key proof the hub has taken before, or dated outside its window (`hub.replay`)."""

    code = "replayed"


STATUS: list[tuple[type[RemoteError], int]] = [
    (TooLarge, 413),
    (DecodeError, 400),
    (Unauthorized, 401),
    (BadSignature, 403),
    (CertificateError, 403),
    (Revoked, 403),
    (OutOfScope, 403),
    (NotAllowed, 403),
    (Stale, 409),
    (Replayed, 409),
    (RateLimited, 429),
    (ClockAhead, 409),
]


def status_for(exc: RemoteError) -> int:
    for cls, code in STATUS:
        if isinstance(exc, cls):
            return code
    return 400



class Caller(str):
    """Who made a request: its address (what rate limits count by; a legacy token is bound to it),
    and what `protocol.session` checks a key-bound token against: the path and the key proof."""

    path: str
    proof: str
    proven: bytes | None  # the token whose proof over this request's body was checked (push_check, then push)

    def __new__(cls, address: str, path: str = "", proof: str = "") -> Caller:
        self = super().__new__(cls, address)
        self.path, self.proof, self.proven = path, proof, None
        return self


def client_of(request: Request) -> Caller:
    query = request.url.query
    return Caller(request.client.host if request.client else "", request.url.path + (f"?{query}" if query else ""),
                  request.headers.get(PROOF_HEADER, ""))


