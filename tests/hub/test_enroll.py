"""Online enrollment with a one-time code (DESIGN §3): the county operator hands out a code for one
place and role; a new laptop makes its key, sends a signed request with the code, and gets its
certificate. A code works once."""
from __future__ import annotations

import os
import threading
import time

import httpx
from hubkit import CT, World, error_of, post

from hub import enroll
from node.engine.store import Store
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
                         world.box.root.public, answer["certs"])
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


def test_a_one_time_code_expires(world: World) -> None:
    enroll.add_otp(world.county, "4821-0937-5521", NEW_VILLAGE, "village", ttl_ms=-1)  # issued, and its day is over
    resp = post(world.county_url, "/v1/enroll", _request(world, b"tests/hub late laptop", "482109375521").encode())
    assert (resp.status_code, error_of(resp)) == (401, "unauthorized")
    assert "expired" in codec.unpack(resp.content, max_bytes=1 << 16, what="error")["reason"]
    assert enroll.OTP_TTL_MS == 24 * 3600 * 1000


def test_a_real_code_tried_with_the_wrong_place_is_not_used_up(world: World) -> None:
    enroll.add_otp(world.county, "731946201844", NEW_VILLAGE, "village")
    typo = messages.EnrollRequest.make(KeyPair.from_seed(b"tests/hub typo"), "513225103206", "village", "王会计",
                                       world.county.hlc.physical(), otp="731946201844")
    resp = post(world.county_url, "/v1/enroll", typo.encode())
    assert (resp.status_code, error_of(resp)) == (401, "unauthorized")
    assert post(world.county_url, "/v1/enroll", _request(world, b"tests/hub right", "731946201844").encode()).status_code == 200


def test_new_codes_are_twelve_digits_read_in_groups_of_four() -> None:
    codes = {enroll.new_otp() for _ in range(50)}
    assert len(codes) == 50
    assert all(len(c) == 14 and c.replace("-", "").isdigit() and c.count("-") == 2 for c in codes)


def test_enrollment_attempts_are_rate_limited_per_client(world: World) -> None:
    enroll.add_otp(world.county, "111122223333", NEW_VILLAGE, "village")
    for i in range(10):  # a guesser: ten wrong codes
        resp = post(world.county_url, "/v1/enroll", _request(world, b"guess %d" % i, f"{i:012d}").encode())
        assert resp.status_code == 401
    resp = post(world.county_url, "/v1/enroll", _request(world, b"tests/hub guesser", "111122223333").encode())
    assert (resp.status_code, error_of(resp)) == (429, "rate-limited")  # even the right code, from this client, now
    # Another client (another address on loopback) is not held up by the guesser.
    with httpx.Client(base_url=world.county_url, transport=httpx.HTTPTransport(local_address="127.0.0.2")) as other:
        resp = other.post("/v1/enroll", content=_request(world, b"tests/hub honest", "111122223333").encode(), headers=CT)
    assert resp.status_code == 200, resp.content


def test_a_flood_of_bad_enrollments_never_takes_the_write_lock_and_writes_go_on(world: World) -> None:
    """Two clients hammering /v1/enroll with 16 MiB bodies once slowed every write from 53 ms to a 12 s
    median: decoding ran under the global write lock. Now a refused enrollment never takes it."""
    village = world.node("513225103201")
    url, stop = world.county_url, threading.Event()
    n = (16 << 20) - 64
    junk = [b"\xdd" + n.to_bytes(4, "big") + b"\x80" * n, os.urandom(1 << 20),
            _request(world, b"flood", "000000000000").encode()]

    def hammer(address: str) -> None:
        with httpx.Client(base_url=url, timeout=60,
                          transport=httpx.HTTPTransport(local_address=address)) as http:
            i = 0
            while not stop.is_set():
                http.post("/v1/enroll", content=junk[i % len(junk)], headers=CT)
                i += 1

    threads = [threading.Thread(target=hammer, args=(a,), daemon=True) for a in ("127.0.0.3", "127.0.0.4")]
    for th in threads:
        th.start()
    try:
        worst = 0.0
        for n in range(5):
            village.write("job_posting", os.urandom(16), {"title": f"written during the flood {n}"})
            started = time.monotonic()
            report = world.sync("513225103201")
            worst = max(worst, time.monotonic() - started)
            assert report.pushed == 1
    finally:
        stop.set()
        for th in threads:
            th.join(timeout=60)
    assert world.county_hub.locked["/v1/enroll"] == 0
    assert world.county_hub.locked["/v1/push"] >= 5
    assert worst < 10.0, f"a sync took {worst:.1f} s while /v1/enroll was hammered"
