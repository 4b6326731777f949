"""Certificates and revocations: who may write where, anchored at the pinned province root (DESIGN §3)."""
from __future__ import annotations

import msgpack
import pytest

from node.sandbox import NOT_AFTER, NOT_BEFORE, Sandbox
from protocol import certs
from protocol.certs import Trust
from protocol.errors import (
    BadSignature,
    CertificateExpired,
    Malformed,
    NotAllowed,
    OutOfScope,
    Revoked,
    UnknownAuthor,
)
from protocol.keys import KeyPair

PROVINCE, COUNTY, TOWNSHIP = "510000000000", "513225000000", "513225103000"
VILLAGE, SIBLING = "513225103201", "513225103202"
OTHER_COUNTY_VILLAGE = "513226100201"
DAY = 24 * 3600 * 1000


def newcomer(name: str) -> KeyPair:
    return KeyPair.from_seed(f"tests/certs/{name}".encode())


def issue(
    issuer: KeyPair,
    subject: KeyPair,
    role: str,
    scopes: list[str],
    serial: int = 100,
    not_before: int = NOT_BEFORE,
    not_after: int = NOT_AFTER,
    succeeds: bytes | None = None,
) -> bytes:
    return certs.issue(issuer, subject.public, role, scopes, not_before, not_after, serial, succeeds)


# -- chains ------------------------------------------------------------------------------------


def test_a_village_chain_reaches_the_pinned_root(sandbox: Sandbox, trust: Trust, now_ms: int) -> None:
    village = sandbox.members[VILLAGE]
    cert = trust.verify_chain(village.key.public, now_ms)
    assert (cert.role, cert.scopes, cert.issuer) == ("village", (VILLAGE,), sandbox.members[COUNTY].key.public)


def test_certificates_decode_to_what_was_issued(sandbox: Sandbox) -> None:
    county = sandbox.members[COUNTY]
    cert = certs.decode_certificate(county.cert)
    assert (cert.issuer, cert.subject, cert.role, cert.scopes) == (sandbox.root.public, county.key.public, "county", (COUNTY,))
    assert (cert.not_before, cert.not_after, cert.succeeds, cert.raw) == (NOT_BEFORE, NOT_AFTER, None, county.cert)


def test_the_root_certificate_must_have_the_province_role(sandbox: Sandbox) -> None:
    trust = Trust(sandbox.root.public)
    with pytest.raises(NotAllowed):
        trust.add_certificate(issue(sandbox.root, sandbox.root, "county", [COUNTY]))


def test_a_self_signed_certificate_of_another_root_is_from_an_unknown_author(trust: Trust) -> None:
    pretender = newcomer("pretender")
    with pytest.raises(UnknownAuthor):
        trust.add_certificate(issue(pretender, pretender, "province", [PROVINCE]))


def test_a_certificate_from_an_unknown_issuer_is_refused(trust: Trust) -> None:
    stranger, subject = newcomer("stranger"), newcomer("subject")
    with pytest.raises(UnknownAuthor):
        trust.add_certificate(issue(stranger, subject, "village", [VILLAGE]))


def test_an_author_without_a_certificate_is_unknown(trust: Trust, now_ms: int) -> None:
    with pytest.raises(UnknownAuthor):
        trust.verify_chain(newcomer("nobody").public, now_ms)


def test_a_chain_that_stops_at_an_unknown_issuer_is_refused(sandbox: Sandbox, now_ms: int) -> None:
    trust = Trust(sandbox.root.public)  # knows the village's certificate but not its county's
    trust.certs[sandbox.members[VILLAGE].key.public] = certs.decode_certificate(sandbox.members[VILLAGE].cert)
    with pytest.raises(UnknownAuthor):
        trust.verify_chain(sandbox.members[VILLAGE].key.public, now_ms)


def test_a_tampered_certificate_has_a_bad_signature(sandbox: Sandbox) -> None:
    outer = msgpack.unpackb(sandbox.members[VILLAGE].cert)
    body = outer["body"].replace(VILLAGE.encode(), SIBLING.encode())
    forged = msgpack.packb({"body": body, "sig": outer["sig"]}, use_bin_type=True)
    with pytest.raises(BadSignature):
        sandbox.trust().add_certificate(forged)


def test_issue_refuses_an_unknown_role(sandbox: Sandbox) -> None:
    with pytest.raises(Malformed):
        issue(sandbox.members[COUNTY].key, newcomer("x"), "mayor", [VILLAGE])


# -- issuing rules -----------------------------------------------------------------------------


def test_a_village_certificate_may_not_issue_certificates(sandbox: Sandbox, trust: Trust) -> None:
    village = sandbox.members[VILLAGE]
    with pytest.raises(NotAllowed):
        trust.add_certificate(issue(village.key, newcomer("accomplice"), "village", [VILLAGE]))


def test_a_township_may_issue_village_certificates_inside_it(sandbox: Sandbox, trust: Trust, now_ms: int) -> None:
    subject = newcomer("new-village")
    trust.add_certificate(issue(sandbox.members[TOWNSHIP].key, subject, "village", ["513225103203"]))
    assert trust.verify_chain(subject.public, now_ms).scopes == ("513225103203",)


def test_a_county_may_not_issue_a_scope_outside_its_own(sandbox: Sandbox, trust: Trust) -> None:
    with pytest.raises(NotAllowed):
        trust.add_certificate(issue(sandbox.members[COUNTY].key, newcomer("x"), "village", [OTHER_COUNTY_VILLAGE]))


def test_a_county_may_not_issue_one_scope_outside_its_own_among_several(sandbox: Sandbox, trust: Trust) -> None:
    with pytest.raises(NotAllowed):
        trust.add_certificate(issue(sandbox.members[COUNTY].key, newcomer("x"), "township", [TOWNSHIP, "513226100000"]))


def test_a_county_may_not_issue_a_county_certificate(sandbox: Sandbox, trust: Trust) -> None:
    with pytest.raises(NotAllowed):
        trust.add_certificate(issue(sandbox.members[COUNTY].key, newcomer("x"), "county", [COUNTY]))


def test_a_certificate_may_not_cover_a_place_wider_than_its_role(sandbox: Sandbox, trust: Trust) -> None:
    with pytest.raises(NotAllowed):
        trust.add_certificate(issue(sandbox.members[COUNTY].key, newcomer("x"), "village", [TOWNSHIP]))


def test_an_issuer_may_not_recertify_a_key_it_did_not_certify(sandbox: Sandbox, trust: Trust, now_ms: int) -> None:
    county = sandbox.members[COUNTY].key
    demotion = issue(sandbox.members[TOWNSHIP].key, county, "village", [VILLAGE], serial=10**9)
    with pytest.raises(NotAllowed):
        trust.add_certificate(demotion)
    assert trust.verify_chain(county.public, now_ms).role == "county"


def test_nobody_below_the_root_may_recertify_the_root(sandbox: Sandbox, trust: Trust, now_ms: int) -> None:
    with pytest.raises(NotAllowed):
        trust.add_certificate(issue(sandbox.members[TOWNSHIP].key, sandbox.root, "village", [VILLAGE], serial=10**9))
    assert trust.certs[sandbox.root.public].role == "province"


def test_the_issuer_renews_a_certificate_with_a_higher_serial(sandbox: Sandbox, trust: Trust) -> None:
    village = sandbox.members[VILLAGE].key
    county = sandbox.members[COUNTY].key
    renewed = trust.add_certificate(issue(county, village, "village", [VILLAGE], serial=50, not_after=NOT_AFTER + DAY))
    assert renewed.not_after == NOT_AFTER + DAY
    assert trust.add_certificate(issue(county, village, "village", [VILLAGE], serial=49)).serial == 50


def test_an_issuer_above_the_original_may_recertify_a_key(sandbox: Sandbox, trust: Trust) -> None:
    held = newcomer("held")
    trust.add_certificate(issue(sandbox.members[TOWNSHIP].key, held, "village", ["513225103203"], serial=7))
    county_cert = trust.add_certificate(issue(sandbox.members[COUNTY].key, held, "village", ["513225103203"], serial=8))
    assert county_cert.issuer == sandbox.members[COUNTY].key.public


# -- validity ----------------------------------------------------------------------------------


def test_an_expired_certificate_is_refused(sandbox: Sandbox, trust: Trust) -> None:
    with pytest.raises(CertificateExpired):
        trust.verify_chain(sandbox.members[VILLAGE].key.public, NOT_AFTER + 1)


def test_a_certificate_is_not_valid_before_its_start(sandbox: Sandbox, trust: Trust) -> None:
    with pytest.raises(CertificateExpired):
        trust.verify_chain(sandbox.members[VILLAGE].key.public, NOT_BEFORE - 1)


def test_a_certificate_is_valid_on_both_edges_of_its_period(sandbox: Sandbox, trust: Trust) -> None:
    author = sandbox.members[VILLAGE].key.public
    trust.verify_chain(author, NOT_BEFORE)
    trust.verify_chain(author, NOT_AFTER)


def test_an_expired_issuer_expires_the_chain_below_it(sandbox: Sandbox, now_ms: int) -> None:
    county, village = newcomer("short-county"), newcomer("long-village")
    trust = Trust(sandbox.root.public)
    trust.add_certificate(sandbox.members[PROVINCE].cert)
    trust.add_certificate(issue(sandbox.root, county, "county", [COUNTY], not_after=now_ms - DAY))
    trust.add_certificate(issue(county, village, "village", [VILLAGE]))
    with pytest.raises(CertificateExpired):
        trust.verify_chain(village.public, now_ms)


# -- revocation --------------------------------------------------------------------------------


def revoke(issuer: KeyPair, subject: KeyPair, cutoffs: dict[str, int], at: int = NOT_BEFORE + DAY) -> bytes:
    return certs.revoke(issuer, subject.public, cutoffs, at, "laptop stolen")


def test_a_revocation_keeps_seqs_up_to_the_cutoff_and_refuses_later_ones(sandbox: Sandbox, trust: Trust, now_ms: int) -> None:
    village = sandbox.members[VILLAGE].key
    trust.add_revocation(revoke(sandbox.members[COUNTY].key, village, {VILLAGE: 3}))
    trust.check_write(village.public, VILLAGE, 3, now_ms)
    with pytest.raises(Revoked):
        trust.check_write(village.public, VILLAGE, 4, now_ms)


def test_a_revocation_refuses_every_seq_of_a_feed_it_does_not_name(sandbox: Sandbox, trust: Trust, now_ms: int) -> None:
    township = sandbox.members[TOWNSHIP].key
    trust.add_revocation(revoke(sandbox.members[COUNTY].key, township, {TOWNSHIP: 9}))
    with pytest.raises(Revoked):
        trust.check_write(township.public, VILLAGE, 1, now_ms)


def test_a_revocation_by_someone_other_than_the_issuer_is_not_allowed(sandbox: Sandbox, trust: Trust) -> None:
    victim = sandbox.members[VILLAGE].key
    for impostor in (sandbox.members[SIBLING].key, sandbox.members[TOWNSHIP].key, newcomer("stranger")):
        with pytest.raises(NotAllowed):
            trust.add_revocation(revoke(impostor, victim, {VILLAGE: 0}))
    assert trust.revocations == {}


def test_the_root_may_revoke_any_key(sandbox: Sandbox, trust: Trust, now_ms: int) -> None:
    village = sandbox.members[VILLAGE].key
    trust.add_revocation(revoke(sandbox.root, village, {VILLAGE: 0}))
    with pytest.raises(Revoked):
        trust.check_write(village.public, VILLAGE, 1, now_ms)


def test_a_forged_revocation_has_a_bad_signature(sandbox: Sandbox, trust: Trust) -> None:
    outer = msgpack.unpackb(revoke(sandbox.members[COUNTY].key, sandbox.members[VILLAGE].key, {VILLAGE: 3}))
    forged = msgpack.packb({"body": outer["body"].replace(b"laptop", b"LAPTOP"), "sig": outer["sig"]}, use_bin_type=True)
    with pytest.raises(BadSignature):
        trust.add_revocation(forged)


@pytest.mark.parametrize("order", ["lenient-first", "strict-first"])
def test_two_revocations_merge_to_the_stricter_cutoff(sandbox: Sandbox, trust: Trust, now_ms: int, order: str) -> None:
    village, county = sandbox.members[VILLAGE].key, sandbox.members[COUNTY].key
    lenient, strict = revoke(county, village, {VILLAGE: 5}), revoke(sandbox.root, village, {VILLAGE: 3})
    for rev in (lenient, strict) if order == "lenient-first" else (strict, lenient):
        trust.add_revocation(rev)
    assert trust.revocations[village.public].cutoffs == {VILLAGE: 3}
    trust.check_write(village.public, VILLAGE, 3, now_ms)
    with pytest.raises(Revoked):
        trust.check_write(village.public, VILLAGE, 4, now_ms)


def test_a_revoked_key_issues_nothing_its_revocation_does_not_keep(sandbox: Sandbox, trust: Trust, now_ms: int) -> None:
    county, village = sandbox.members[COUNTY].key, sandbox.members[VILLAGE]
    kept = [certs.digest(village.cert)]
    trust.add_revocation(certs.revoke(sandbox.root, county.public, {COUNTY: 0}, now_ms, "stolen", kept))
    # The thief backdates not_before to two years ago: the time it claims decides nothing.
    late = newcomer("issued-by-thief")
    with pytest.raises(Revoked):
        trust.add_certificate(issue(county, late, "village", ["513225103203"], not_before=now_ms - 730 * DAY))
    assert late.public not in trust.certs
    trust.verify_chain(village.key.public, now_ms)  # known before the revocation and kept by it
    with pytest.raises(Revoked):
        trust.verify_chain(sandbox.members[SIBLING].key.public, now_ms)  # not kept: re-certify it


def test_a_certificate_learnt_before_its_issuers_revocation_is_refused_unless_kept(sandbox: Sandbox, now_ms: int) -> None:
    trust = sandbox.trust()
    county = sandbox.members[COUNTY].key
    late = newcomer("learnt-first")
    trust.add_certificate(issue(county, late, "village", ["513225103203"], not_before=now_ms - 730 * DAY))
    trust.add_revocation(certs.revoke(sandbox.root, county.public, {COUNTY: 0}, now_ms, "stolen"))
    with pytest.raises(Revoked):
        trust.verify_chain(late.public, now_ms)


def test_a_revocation_signed_by_a_revoked_key_is_refused_and_stops_standing(sandbox: Sandbox, now_ms: int) -> None:
    county, village = sandbox.members[COUNTY].key, sandbox.members[VILLAGE].key
    rogue = certs.revoke(county, village.public, {VILLAGE: 0}, now_ms, "rogue county")
    kept = [certs.digest(sandbox.members[VILLAGE].cert)]  # the village's certificate, not the rogue revocation
    of_county = certs.revoke(sandbox.root, county.public, {COUNTY: 0}, now_ms, "county key stolen", kept)
    first = sandbox.trust()
    first.add_revocation(of_county)
    with pytest.raises(Revoked):
        first.add_revocation(rogue, now_ms)
    second = sandbox.trust()
    second.add_revocation(rogue, now_ms)  # arrived first: in force until the county's revocation
    assert village.public in second.revocations
    second.add_revocation(of_county, now_ms)
    assert village.public not in second.revocations
    second.check_write(village.public, VILLAGE, 5, now_ms)


def test_an_expired_key_revokes_nothing(sandbox: Sandbox, now_ms: int) -> None:
    county = sandbox.members[COUNTY].key
    trust = sandbox.trust()
    with pytest.raises(CertificateExpired):
        trust.add_revocation(certs.revoke(county, sandbox.members[VILLAGE].key.public, {VILLAGE: 0}, now_ms, "x"),
                             NOT_AFTER + DAY)


def test_any_ancestor_may_revoke_a_key_below_it(sandbox: Sandbox, now_ms: int) -> None:
    trust = sandbox.trust()
    township = sandbox.members[TOWNSHIP].key
    under = newcomer("village-of-township")
    trust.add_certificate(issue(township, under, "village", [VILLAGE]))
    trust.add_revocation(certs.revoke(sandbox.members[COUNTY].key, under.public, {VILLAGE: 1}, now_ms, "stolen"), now_ms)
    with pytest.raises(Revoked):
        trust.check_write(under.public, VILLAGE, 2, now_ms)


def test_a_chosen_top_serial_does_not_block_recertification_by_an_ancestor(sandbox: Sandbox, now_ms: int) -> None:
    trust = sandbox.trust()
    township, county = sandbox.members[TOWNSHIP].key, sandbox.members[COUNTY].key
    key = newcomer("top-serial")
    for first, second in ((2**64 - 1, 7), (7, 2**64 - 1)):
        trust = sandbox.trust()
        by_township = issue(township, key, "village", [VILLAGE], serial=2**64 - 1)
        by_county = issue(county, key, "village", [SIBLING], serial=7)
        for raw in (by_township, by_county) if first > second else (by_county, by_township):
            try:
                trust.add_certificate(raw)
            except NotAllowed:
                pass
        assert trust.certs[key.public].issuer == county.public


def test_the_first_issuer_to_certify_a_key_cannot_squat_it(sandbox: Sandbox, now_ms: int) -> None:
    trust = sandbox.trust()
    other_county = sandbox.enroll("513226000000", "county", PROVINCE)
    other_township = sandbox.enroll("513226101000", "township", "513226000000")
    trust.add_certificate(other_county.cert)
    trust.add_certificate(other_township.cert)
    victim = sandbox.members[VILLAGE].key
    squat = issue(other_township.key, victim, "village", ["513226101201"], serial=2**64 - 1)
    fresh = Trust(sandbox.root.public)
    for raw in (sandbox.members[PROVINCE].cert, sandbox.members[COUNTY].cert, other_county.cert, other_township.cert, squat):
        fresh.add_certificate(raw)
    with pytest.raises(NotAllowed):
        fresh.add_certificate(sandbox.members[VILLAGE].cert)  # not endorsed by the key: refused
    fresh.add_certificate(sandbox.members[VILLAGE].cert, endorsed=VILLAGE)  # the key signed for its village
    fresh.check_write(victim.public, VILLAGE, 1, now_ms)


# -- writing -----------------------------------------------------------------------------------


def test_a_key_may_write_inside_its_scopes_only(sandbox: Sandbox, trust: Trust, now_ms: int) -> None:
    township = sandbox.members[TOWNSHIP].key.public
    trust.check_write(township, VILLAGE, 1, now_ms)
    trust.check_write(township, TOWNSHIP, 1, now_ms)
    with pytest.raises(OutOfScope):
        trust.check_write(township, COUNTY, 1, now_ms)
    with pytest.raises(OutOfScope):
        trust.check_write(sandbox.members[VILLAGE].key.public, SIBLING, 1, now_ms)


def test_a_successor_certificate_issued_by_the_county_is_accepted(sandbox: Sandbox, trust: Trust, now_ms: int) -> None:
    old, county = sandbox.members[VILLAGE].key, sandbox.members[COUNTY].key
    successor = newcomer("restored-laptop")
    cert = trust.add_certificate(issue(county, successor, "village", [VILLAGE], succeeds=old.public))
    trust.add_revocation(revoke(county, old, {VILLAGE: 12}, at=now_ms))
    assert cert.succeeds == old.public
    assert trust.check_write(successor.public, VILLAGE, 1, now_ms).subject == successor.public
    trust.check_write(old.public, VILLAGE, 12, now_ms)
    with pytest.raises(Revoked):
        trust.check_write(old.public, VILLAGE, 13, now_ms)


def test_export_sends_certificates_in_an_order_a_fresh_replica_accepts(sandbox: Sandbox, trust: Trust, now_ms: int) -> None:
    fresh = Trust(sandbox.root.public)
    exported = trust.export()
    assert exported[0] == sandbox.members[PROVINCE].cert
    for raw in exported:
        fresh.add_certificate(raw)
    assert fresh.verify_chain(sandbox.members[SIBLING].key.public, now_ms).scopes == (SIBLING,)


def test_the_certificate_chain_of_the_sandbox_is_deterministic() -> None:
    a, b = Sandbox.create(), Sandbox.create()
    assert a.root.public == b.root.public
    assert a.enroll(COUNTY, "county", PROVINCE).cert == b.enroll(COUNTY, "county", PROVINCE).cert
