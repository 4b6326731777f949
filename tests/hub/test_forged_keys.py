"""Keys whose signatures anybody can make, replayed against a real hub (docs/trust.md §8).

With the identity point as public key, R = identity and S = 0 satisfy Ed25519's equation for every
message. OpenSSL, our verifier before 0.3.0, accepted such signatures: an enrollment request "signed"
so would have waited for a county operator's approval, and once approved anybody could write as that
village. The one verifier (libsodium) refuses small-order keys, so the hub refuses at the door.
"""
from __future__ import annotations

from hubkit import VILLAGE, World, error_of, post, push, session

from hub import requests
from protocol import codec, messages

IDENTITY = (1).to_bytes(32, "little")  # the identity point's encoding, a key of order 1
ANY_MESSAGE_SIG = IDENTITY + bytes(32)  # R = identity, S = 0
NEW_VILLAGE = "513225103206"


def test_an_enrollment_forged_for_the_identity_key_is_refused_and_never_queued(world: World) -> None:
    req = messages.EnrollRequest(IDENTITY, NEW_VILLAGE, "village", "王会计", world.county.hlc.physical(), "",
                                 ANY_MESSAGE_SIG)
    resp = post(world.county_url, "/v1/enroll", req.encode())
    assert resp.status_code == 403 and error_of(resp) == "bad-signature"
    assert requests.get(world.county, IDENTITY) is None


def test_a_changeset_forged_for_the_identity_key_is_a_bad_signature_not_an_unknown_author(world: World) -> None:
    body = codec.pack({"v": 1, "author": IDENTITY, "scope": VILLAGE, "seq": 1, "prev": None, "schema": 1,
                       "changes": [["job_posting", bytes(16), "title", "forged", 1]]})
    envelope = codec.pack({"body": body, "sig": ANY_MESSAGE_SIG})
    village = world.member(VILLAGE)
    token = session(world.county_url, world.county.author, village.key, VILLAGE, world.chain(VILLAGE))
    (result,) = push(world.county_url, token, [envelope])
    assert result["status"] == "refused" and result["code"] == "bad-signature"
