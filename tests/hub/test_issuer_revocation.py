"""A revoked or expired issuer issues nothing (issue 9 item 1, docs/trust.md), replayed against real
hubs on loopback: a revoked township backdating a village certificate, a revoked county revoking its
own villages, a chosen top serial, and a squatting township in another county."""
from __future__ import annotations

import os
import time

from hubkit import COUNTY, PROVINCE, TOWNSHIP, VILLAGE, World, error_of, feed, hello_body, post, push, session, value

from hub import enroll
from protocol import certs, clock
from protocol.changeset import DELETE_FIELD, DELETE_VALUE, Change, seal
from protocol.keys import KeyPair

YEAR_MS = 365 * 24 * 3600 * 1000
OTHER_COUNTY, OTHER_TOWNSHIP = "513226000000", "513226101000"


def _posting(world: World) -> bytes:
    """The village registers a job posting and it reaches the county and the province."""
    row = os.urandom(16)
    world.node(VILLAGE).write("job_posting", row, {"title": "采茶零工"})
    world.sync(VILLAGE)
    world.relay()
    assert value(world.province, "job_posting", row, "title") == "采茶零工"
    return row


def test_a_revoked_township_backdating_a_village_certificate_is_refused_everywhere(world: World) -> None:
    row = _posting(world)
    township = world.member(TOWNSHIP)
    world.sync(TOWNSHIP)  # the county learns the township's certificate
    enroll.revoke(world.county, township.key.public, "township laptop stolen")
    world.relay()
    thief = KeyPair.from_seed(b"tests/hub/thief village")
    now = clock.wall_ms()
    backdated = certs.issue(township.key, thief.public, "village", [VILLAGE], now - 2 * YEAR_MS, now + YEAR_MS, 99)
    chain = [world.box.members[PROVINCE].cert, world.box.members[COUNTY].cert, township.cert, backdated]
    delete = seal(thief, VILLAGE, 1, None, [Change("job_posting", row, DELETE_FIELD, DELETE_VALUE, clock.pack(now - YEAR_MS))])
    carrier = world.member("513225103202")
    for url, hub in ((world.county_url, world.county), (world.province_url, world.province)):
        resp = post(url, "/v1/hello", hello_body(thief, hub.author, VILLAGE, chain))
        assert resp.status_code == 403 and error_of(resp) in ("revoked", "unknown-author"), resp.content
        token = session(url, hub.author, carrier.key, "513225103202", world.chain("513225103202"))
        [result] = push(url, token, [delete.envelope], chain)
        assert result["status"] == "refused"
        assert value(hub, "job_posting", row, "title") == "采茶零工"


def test_an_expired_township_backdating_a_village_certificate_is_refused_everywhere(world: World) -> None:
    """Outside its validity an issuer issues nothing, whatever time the certificate and the changes
    claim: a township key whose certificate ran out a year ago (never revoked) certifies a thief for
    a village, dated inside its own old validity; the thief's ghost posting, stamped then too, is
    refused at the county and the province, and so is its hello."""
    _posting(world)
    now = clock.wall_ms()
    old = KeyPair.from_seed(b"tests/hub/expired township")
    expired = certs.issue(world.member(COUNTY).key, old.public, "township", [TOWNSHIP], now - 3 * YEAR_MS,
                          now - YEAR_MS, 41)
    thief = KeyPair.from_seed(b"tests/hub/thief of the expired township")
    backdated = certs.issue(old, thief.public, "village", [VILLAGE], now - 2 * YEAR_MS - 3600_000, now + YEAR_MS, 7)
    chain = [world.box.members[PROVINCE].cert, world.box.members[COUNTY].cert, expired, backdated]
    ghost = os.urandom(16)
    then = clock.pack(now - 2 * YEAR_MS)
    forged = seal(thief, VILLAGE, 1, None, [Change("job_posting", ghost, "title", "高薪招工(假)", then)])
    carrier = world.member("513225103202")
    for url, hub in ((world.county_url, world.county), (world.province_url, world.province)):
        resp = post(url, "/v1/hello", hello_body(thief, hub.author, VILLAGE, chain))
        assert (resp.status_code, error_of(resp)) == (403, "certificate-expired"), resp.content
        token = session(url, hub.author, carrier.key, "513225103202", world.chain("513225103202"))
        [result] = push(url, token, [forged.envelope], chain)
        assert (result["status"], result["code"]) == ("refused", "unknown-author"), result  # never learnt
        assert value(hub, "job_posting", ghost, "title") is None
        assert thief.public not in hub.trust.certs


def test_an_expired_township_revokes_nothing_of_its_villages(world: World) -> None:
    """A township key whose certificate runs out (never revoked) cannot then wipe what its village
    wrote while both were valid: its revocation, pushed to the county and the province after the
    expiry, is refused, and the village's posting stays. The certificate lasts a few seconds, so the
    expiry is real at the hubs' own clocks."""
    life_ms = 5_000
    now = clock.wall_ms()
    brief = KeyPair.from_seed(b"tests/hub/short-lived township")
    township = certs.issue(world.member(COUNTY).key, brief.public, "township", [TOWNSHIP], now - 3600_000, now + life_ms, 42)
    key = KeyPair.from_seed(b"tests/hub/village of the short-lived township")
    village = certs.issue(brief, key.public, "village", [VILLAGE], now - 3600_000, now + YEAR_MS, 8)
    chain = world.chain(TOWNSHIP)[:2] + [township, village]
    [cs] = feed(key, VILLAGE, 1)
    row = cs.changes[0].row
    carrier = world.member("513225103202")
    urls = ((world.county_url, world.county), (world.province_url, world.province))
    for url, hub in urls:
        token = session(url, hub.author, key, VILLAGE, chain)
        assert push(url, token, [cs.envelope], chain)[0]["status"] == "accepted"
    time.sleep(max(0.0, (now + life_ms - clock.wall_ms()) / 1000) + 0.3)  # the township's certificate has run out
    wipe = certs.revoke(brief, key.public, {VILLAGE: 0}, clock.wall_ms(), "an expired township wipes its village")
    for url, hub in urls:
        token = session(url, hub.author, carrier.key, "513225103202", world.chain("513225103202"))
        push(url, token, [], revocations=[wipe])
        assert key.public not in hub.trust.revocations
        assert value(hub, "job_posting", row, "title") == "posting 1"


def test_a_revoked_county_cannot_revoke_its_villages_at_the_province(world: World) -> None:
    row = _posting(world)
    village = world.node(VILLAGE)
    county_key = world.member(COUNTY).key
    rogue = certs.revoke(county_key, village.author, {VILLAGE: 0}, clock.wall_ms(), "rogue")
    # The rogue revocation reaches the province first: it wipes the village's posting there...
    token = session(world.province_url, world.province.author, world.member(TOWNSHIP).key, TOWNSHIP, world.chain(TOWNSHIP))
    push(world.province_url, token, [], revocations=[rogue])
    assert value(world.province, "job_posting", row, "title") is None
    # ...until the province revokes the county key, keeping the certificates it knew the county had
    # signed but not its revocations: the rogue revocation stops standing and the posting comes back.
    enroll.revoke(world.province, county_key.public, "county hub key stolen", keep_revocations=False)
    assert value(world.province, "job_posting", row, "title") == "采茶零工"
    assert village.author not in world.province.trust.revocations
    # Sent again afterwards, it is refused outright and changes nothing.
    again = certs.revoke(county_key, village.author, {VILLAGE: 0}, clock.wall_ms(), "rogue again")
    push(world.province_url, token, [], revocations=[again])
    assert value(world.province, "job_posting", row, "title") == "采茶零工"
    assert world.province.trust.verify_chain(village.author, clock.wall_ms()).issuer == county_key.public


def test_an_ancestor_revokes_a_key_its_child_certified(world: World) -> None:
    township = world.member(TOWNSHIP)
    key = KeyPair.from_seed(b"tests/hub/village of the township")
    now = clock.wall_ms()
    cert = certs.issue(township.key, key.public, "village", [VILLAGE], now - 3600_000, now + YEAR_MS, 5)
    chain = world.chain(TOWNSHIP) + [cert]
    token = session(world.province_url, world.province.author, key, VILLAGE, chain)
    [first] = feed(key, VILLAGE, 1)
    assert push(world.province_url, token, [first.envelope], chain)[0]["status"] == "accepted"
    rev = certs.revoke(world.member(COUNTY).key, key.public, {VILLAGE: 1}, now, "stolen")  # the county, not the issuer
    push(world.province_url, token, [], revocations=[rev])
    resp = post(world.province_url, "/v1/hello", hello_body(key, world.province.author, VILLAGE, chain))
    assert (resp.status_code, error_of(resp)) == (403, "revoked")


def test_a_chosen_top_serial_does_not_block_recertification(world: World) -> None:
    township = world.member(TOWNSHIP)
    key = KeyPair.from_seed(b"tests/hub/top serial village")
    now = clock.wall_ms()
    top = certs.issue(township.key, key.public, "village", [VILLAGE], now - 3600_000, now + YEAR_MS, 2**64 - 1)
    token = session(world.province_url, world.province.author, key, VILLAGE, world.chain(TOWNSHIP) + [top])
    renewed = certs.issue(world.member(COUNTY).key, key.public, "village", ["513225103202"], now - 3600_000,
                          now + YEAR_MS, 3)
    token = session(world.province_url, world.province.author, key, "513225103202", world.chain(COUNTY)[:2] + [renewed])
    assert world.province.trust.certs[key.public].serial == 3
    [cs] = feed(key, "513225103202", 1)
    assert push(world.province_url, token, [cs.envelope])[0]["status"] == "accepted"


def test_a_township_of_another_county_cannot_squat_a_village_key(world: World) -> None:
    box = world.box
    other = box.enroll(OTHER_COUNTY, "county", PROVINCE)
    squatter = box.enroll(OTHER_TOWNSHIP, "township", OTHER_COUNTY)
    victim = world.node(VILLAGE)
    now = clock.wall_ms()
    squat = certs.issue(squatter.key, victim.author, "village", ["513226101201"], now - 3600_000, now + YEAR_MS, 2**64 - 1)
    chain = [box.members[PROVINCE].cert, other.cert, squatter.cert]
    token = session(world.province_url, world.province.author, squatter.key, OTHER_TOWNSHIP, chain)
    push(world.province_url, token, [], chain + [squat])
    assert world.province.trust.certs[victim.author].issuer == squatter.key.public  # learnt first
    row = _posting(world)  # the county relays the village's changeset with its real chain
    assert value(world.province, "job_posting", row, "title") == "采茶零工"
    assert world.province.trust.certs[victim.author].issuer == world.member(COUNTY).key.public
    resp = post(world.province_url, "/v1/hello", hello_body(victim.key, world.province.author, VILLAGE, world.chain(VILLAGE)))  # type: ignore[arg-type]
    assert resp.status_code == 200
