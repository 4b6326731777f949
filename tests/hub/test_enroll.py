"""Online enrollment with a one-time code (DESIGN §3): the county operator hands out a code for one
place and role; a new laptop makes its key, sends a signed request with the code, and gets its
certificate. A code works once."""
from __future__ import annotations

import os

from hubkit import PERSON_KEY, World, error_of, post

from hub import enroll
from node.store import Store
from protocol import certs, codec, messages
from protocol.keys import KeyPair

NEW_VILLAGE = "513225103205"


def _request(world: World, seed: bytes, otp: str) -> messages.EnrollRequest:
    return messages.EnrollRequest.make(KeyPair.from_seed(seed), NEW_VILLAGE, "village", "王会计",
                                       world.county.hlc.physical(), otp=otp)


def test_online_enrollment_with_one_time_code(world: World) -> None:
    enroll.add_otp(world.county, "731946", NEW_VILLAGE, "village")
    req = _request(world, b"tests/hub new laptop", "731946")
    resp = post(world.county_url, "/v1/enroll", req.encode())
    assert resp.status_code == 200
    answer = codec.unpack(resp.content, max_bytes=1 << 20, what="enroll answer")
    cert = certs.decode_certificate(answer["cert"])
    assert (cert.subject, cert.role, cert.scopes) == (req.pub, "village", (NEW_VILLAGE,))

    # The laptop starts its store with the chain it was given and syncs at once.
    store = Store.create(str(world.tmp / "new.sqlite"), KeyPair.from_seed(b"tests/hub new laptop"), NEW_VILLAGE,
                         world.box.root.public, answer["certs"], PERSON_KEY)
    world.nodes[NEW_VILLAGE] = store
    row = os.urandom(16)
    store.write("job_posting", row, {"title": "first record of a new village"})
    world.client(store).sync()
    assert ("job_posting", row) in world.county.values()


def test_used_one_time_code_is_refused(world: World) -> None:
    enroll.add_otp(world.county, "731946", NEW_VILLAGE, "village")
    assert post(world.county_url, "/v1/enroll", _request(world, b"tests/hub laptop 1", "731946").encode()).status_code == 200
    resp = post(world.county_url, "/v1/enroll", _request(world, b"tests/hub laptop 2", "731946").encode())
    assert (resp.status_code, error_of(resp)) == (401, "unauthorized")
