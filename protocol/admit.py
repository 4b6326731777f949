"""The checks every changeset passes on arrival, in one place (DESIGN §3): decode, signature,
certificate chain to the pinned root, feed scope within the author's scopes, revocation cut-off,
and the clock bound. Chain position is `feed.place`'s job; storage calls both.

Values nest at most `MAX_VALUE_DEPTH` lists and maps deep. msgpack decodes about a thousand levels,
which is enough to overflow whatever walks a value recursively on every replica (repr in an error
message, json, the merge policies): a set change nested ~1000 deep was a 500 for the whole push.
"""
from __future__ import annotations

from typing import Any

from protocol import clock
from protocol.certs import Trust
from protocol.changeset import DELETE_FIELD, Changeset, open_envelope
from protocol.errors import ClockAhead, Malformed
from protocol.redaction import check_issuer

MAX_VALUE_DEPTH = 32


def admit(envelope: bytes | Changeset, trust: Trust, now_ms: int,
          max_ahead_ms: int = clock.DEFAULT_MAX_AHEAD_MS) -> Changeset:
    """Return the verified changeset or raise the RemoteError that says why it is refused.

    `envelope` may be a changeset `open_envelope` already made from the bytes (a hub's verify
    worker, `hub.verify`): decoded and signature-checked by the same function, so only the checks
    after it run here. ClockAhead is raised last, after every other check passed: the caller
    quarantines such a changeset (it is genuine, only early) rather than refusing it.
    """
    cs = opened(envelope)
    for i, change in enumerate(cs.changes):
        if isinstance(change.value, (list, dict)) and _too_deep(change.value):
            raise Malformed(f"changeset.changes[{i}]: the value nests deeper than {MAX_VALUE_DEPTH} levels")
    # Certificates are judged at the time the changeset says it was written, so a village offline
    # past its certificate's renewal still delivers what it wrote while valid.
    written_ms = clock.physical_ms(cs.max_hlc) if cs.changes else now_ms
    trust.check_write(cs.author, cs.scope, cs.seq, min(written_ms, now_ms))
    if any(c.field == DELETE_FIELD for c in cs.changes):
        # A delete absorbs every later edit, so it needs current authority: the author's chain valid
        # at the receiver's own clock when it arrives, whatever time the delete claims (an expired,
        # never-revoked key's backdated delete is refused). docs/trust.md §7.
        trust.verify_chain(cs.author, now_ms)
    if cs.redaction is not None:  # the issuer's signature stands in for the author's over this body
        check_issuer(trust, cs.redaction, now_ms)
    if clock.is_ahead(cs.max_hlc, now_ms, max_ahead_ms):
        raise ClockAhead(
            f"changeset {cs.id.hex()[:12]} is stamped {clock.format_hlc(cs.max_hlc)}, more than "
            f"{max_ahead_ms // 1000}s ahead of {clock.format_ms(now_ms)}: quarantined"
        )
    return cs


def opened(envelope: bytes | Changeset) -> Changeset:
    """The changeset of an envelope: opened now, or as a verify worker already opened it."""
    return envelope if isinstance(envelope, Changeset) else open_envelope(envelope)


def _too_deep(value: list[Any] | dict[str, Any]) -> bool:
    """Whether `value` nests more than MAX_VALUE_DEPTH levels; level by level, never recursively."""
    level: list[Any] = [value]
    for _ in range(MAX_VALUE_DEPTH):
        level = [x for v in level if isinstance(v, (list, dict)) for x in (v.values() if isinstance(v, dict) else v)]
        if not level:
            return False
    return any(isinstance(v, (list, dict)) for v in level)
