"""admit(): every check a changeset passes on arrival, in order; ClockAhead only for the genuine (DESIGN §3, §5)."""
from __future__ import annotations

import msgpack
import pytest

from node.sandbox import NOT_AFTER, NOT_BEFORE, Sandbox
from protocol import certs, clock
from protocol.admit import admit
from protocol.certs import Trust
from protocol.changeset import Change, Changeset, seal
from protocol.errors import (
    BadSignature,
    CertificateExpired,
    ClockAhead,
    OutOfScope,
    Revoked,
    UnknownAuthor,
)
from protocol.keys import KeyPair

COUNTY, VILLAGE, SIBLING = "513225000000", "513225103201", "513225103202"
ROW = bytes(16)
MINUTE = 60_000
YEAR = 365 * 24 * 3600 * 1000


def stamped(key: KeyPair, at_ms: int, scope: str = VILLAGE, seq: int = 1) -> Changeset:
    prev = None if seq == 1 else bytes(32)
    return seal(key, scope, seq, prev, [Change("person", ROW, "name", "王秀英", clock.pack(at_ms))])


def forged(cs: Changeset) -> bytes:
    """The same envelope with one byte of its signature changed."""
    outer = msgpack.unpackb(cs.envelope)
    sig = bytes([outer["sig"][0] ^ 1]) + outer["sig"][1:]
    return msgpack.packb({"body": outer["body"], "sig": sig}, use_bin_type=True)


@pytest.fixture
def key(sandbox: Sandbox) -> KeyPair:
    return sandbox.members[VILLAGE].key


def test_a_genuine_changeset_is_admitted_as_itself(key: KeyPair, trust: Trust, now_ms: int) -> None:
    cs = stamped(key, now_ms)
    assert admit(cs.envelope, trust, now_ms) == cs


def test_a_changeset_stamped_within_the_drift_bound_is_admitted(key: KeyPair, trust: Trust, now_ms: int) -> None:
    cs = stamped(key, now_ms + clock.DEFAULT_MAX_AHEAD_MS)
    assert admit(cs.envelope, trust, now_ms).id == cs.id


def test_a_future_stamped_changeset_is_clock_ahead(key: KeyPair, trust: Trust, now_ms: int) -> None:
    with pytest.raises(ClockAhead):
        admit(stamped(key, now_ms + clock.DEFAULT_MAX_AHEAD_MS + 1).envelope, trust, now_ms)


def test_the_drift_bound_is_configurable(key: KeyPair, trust: Trust, now_ms: int) -> None:
    cs = stamped(key, now_ms + 2 * MINUTE)
    with pytest.raises(ClockAhead):
        admit(cs.envelope, trust, now_ms, max_ahead_ms=MINUTE)
    admit(cs.envelope, trust, now_ms, max_ahead_ms=3 * MINUTE)


def test_a_forged_future_changeset_is_a_bad_signature_not_clock_ahead(key: KeyPair, trust: Trust, now_ms: int) -> None:
    with pytest.raises(BadSignature):
        admit(forged(stamped(key, now_ms + YEAR)), trust, now_ms)


def test_a_future_changeset_out_of_scope_is_out_of_scope_not_clock_ahead(key: KeyPair, trust: Trust, now_ms: int) -> None:
    with pytest.raises(OutOfScope):
        admit(stamped(key, now_ms + YEAR, scope=SIBLING).envelope, trust, now_ms)


def test_a_future_changeset_by_an_unknown_author_is_unknown_not_clock_ahead(trust: Trust, now_ms: int) -> None:
    with pytest.raises(UnknownAuthor):
        admit(stamped(KeyPair.from_seed(b"tests/admit/stranger"), now_ms + YEAR).envelope, trust, now_ms)


def test_a_future_changeset_past_a_revocation_is_revoked_not_clock_ahead(
    sandbox: Sandbox, key: KeyPair, trust: Trust, now_ms: int
) -> None:
    trust.add_revocation(certs.revoke(sandbox.members[COUNTY].key, key.public, {VILLAGE: 0}, now_ms, "stolen"))
    with pytest.raises(Revoked):
        admit(stamped(key, now_ms + YEAR).envelope, trust, now_ms)


def test_a_future_changeset_is_judged_against_the_certificate_at_arrival_time(key: KeyPair, trust: Trust) -> None:
    # Stamped past the certificate's end but arriving while it is valid: early, not expired.
    arrival = NOT_AFTER - MINUTE
    with pytest.raises(ClockAhead):
        admit(stamped(key, NOT_AFTER + YEAR).envelope, trust, arrival)


def test_a_changeset_is_judged_at_the_time_it_was_written(key: KeyPair, trust: Trust) -> None:
    # Written while the certificate was valid, delivered after it expired: a village offline past renewal.
    cs = stamped(key, NOT_AFTER - MINUTE)
    assert admit(cs.envelope, trust, NOT_AFTER + YEAR).id == cs.id


def test_a_changeset_written_after_the_certificate_expired_is_refused(key: KeyPair, trust: Trust) -> None:
    with pytest.raises(CertificateExpired):
        admit(stamped(key, NOT_AFTER + MINUTE).envelope, trust, NOT_AFTER + YEAR)


def test_a_changeset_stamped_before_the_certificate_began_is_refused(key: KeyPair, trust: Trust, now_ms: int) -> None:
    with pytest.raises(CertificateExpired):
        admit(stamped(key, NOT_BEFORE - MINUTE).envelope, trust, now_ms)


def test_a_changeset_without_changes_is_judged_at_arrival_time(key: KeyPair, trust: Trust, now_ms: int) -> None:
    empty = seal(key, VILLAGE, 1, None, [])
    assert admit(empty.envelope, trust, now_ms).changes == ()
    with pytest.raises(CertificateExpired):
        admit(empty.envelope, trust, NOT_AFTER + 1)
