"""The checks every changeset passes on arrival, in one place (DESIGN §3): decode, signature,
certificate chain to the pinned root, feed scope within the author's scopes, revocation cut-off,
and the clock bound. Chain position is `feed.place`'s job; storage calls both.
"""
from __future__ import annotations

from protocol import clock
from protocol.certs import Trust
from protocol.changeset import Changeset, open_envelope
from protocol.errors import ClockAhead


def admit(envelope: bytes, trust: Trust, now_ms: int, max_ahead_ms: int = clock.DEFAULT_MAX_AHEAD_MS) -> Changeset:
    """Return the verified changeset or raise the RemoteError that says why it is refused.

    ClockAhead is raised last, after every other check passed: the caller quarantines such a
    changeset (it is genuine, only early) rather than refusing it.
    """
    cs = open_envelope(envelope)
    # Certificates are judged at the time the changeset says it was written, so a village offline
    # past its certificate's renewal still delivers what it wrote while valid.
    written_ms = clock.physical_ms(cs.max_hlc) if cs.changes else now_ms
    trust.check_write(cs.author, cs.scope, cs.seq, min(written_ms, now_ms))
    if clock.is_ahead(cs.max_hlc, now_ms, max_ahead_ms):
        raise ClockAhead(
            f"changeset {cs.id.hex()[:12]} is stamped {clock.format_hlc(cs.max_hlc)}, more than "
            f"{max_ahead_ms // 1000}s ahead of {clock.format_ms(now_ms)}: quarantined"
        )
    return cs
