"""Who may talk to a hub and what it may write (DESIGN §3, §8). A peer's bad, forged or stale input
is answered with a 4xx and a reason, never a 500."""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator

import httpx
import pytest
from hubkit import (
    COUNTY,
    SIBLING,
    VILLAGE,
    World,
    error_of,
    feed,
    hello_body,
    log_envelopes,
    post,
    push,
    session,
)

from hub.app import TOKEN_TTL_MS
from protocol import certs, codec, messages
from protocol.keys import KeyPair

YEAR_MS = 365 * 24 * 3600 * 1000


def test_push_of_a_scope_outside_the_certificate_is_refused(world: World) -> None:
    village = world.member(VILLAGE)
    token = session(world.county_url, world.county.author, village.key, VILLAGE, world.chain(VILLAGE))
    forged = feed(village.key, SIBLING, 1)[0]  # a genuine signature over the sibling's scope
    [result] = push(world.county_url, token, [forged.envelope])
    assert (result["status"], result["code"]) == ("refused", "out-of-scope")
    assert forged.id not in log_envelopes(world.county)


def test_hello_with_expired_certificate_is_403(world: World) -> None:
    key = KeyPair.from_seed(b"tests/hub expired")
    now = world.county.hlc.physical()
    cert = certs.issue(world.member(COUNTY).key, key.public, "village", ["513225103209"], now - 2 * YEAR_MS,
                       now - YEAR_MS, 900)
    resp = post(world.county_url, "/v1/hello", hello_body(key, world.county.author, "513225103209",
                                                           world.chain(COUNTY)[:2] + [cert]))
    assert (resp.status_code, error_of(resp)) == (403, "certificate-expired")


def test_hello_from_unknown_key_is_403(world: World) -> None:
    key = KeyPair.from_seed(b"tests/hub stranger")
    resp = post(world.county_url, "/v1/hello", hello_body(key, world.county.author, VILLAGE, []))
    assert (resp.status_code, error_of(resp)) == (403, "unknown-author")


def test_hello_with_forged_signature_is_403(world: World) -> None:
    village = world.member(VILLAGE)
    genuine = messages.Hello.decode(hello_body(village.key, world.county.author, VILLAGE, world.chain(VILLAGE)))
    forged = dataclasses.replace(genuine, sig=bytes([genuine.sig[0] ^ 1]) + genuine.sig[1:])
    resp = post(world.county_url, "/v1/hello", forged.encode())
    assert (resp.status_code, error_of(resp)) == (403, "bad-signature")


def test_hello_signed_for_another_hub_is_403(world: World) -> None:
    village = world.member(VILLAGE)
    resp = post(world.county_url, "/v1/hello", hello_body(village.key, world.province.author, VILLAGE, world.chain(VILLAGE)))
    assert (resp.status_code, error_of(resp)) == (403, "bad-signature")


def test_replayed_hello_is_409(world: World) -> None:
    village = world.member(VILLAGE)
    body = hello_body(village.key, world.county.author, VILLAGE, world.chain(VILLAGE))
    assert post(world.county_url, "/v1/hello", body).status_code == 200
    resp = post(world.county_url, "/v1/hello", body)
    assert (resp.status_code, error_of(resp)) == (409, "stale")


@pytest.mark.parametrize("path", ["/v1/push", "/v1/pull"])
def test_bad_or_expired_session_token_is_401(world: World, path: str) -> None:
    village = world.member(VILLAGE)
    expired = world.county_hub.token(village.key.public, VILLAGE, world.county.hlc.physical() - TOKEN_TTL_MS - 1000)
    good = session(world.county_url, world.county.author, village.key, VILLAGE, world.chain(VILLAGE))
    for token in (expired, os.urandom(len(good)), good[:-1], b""):
        body = (messages.Push(token, [], [], []) if path == "/v1/push" else messages.Pull(token, 0, 1 << 16, False)).encode()
        resp = post(world.county_url, path, body)
        assert (resp.status_code, error_of(resp)) == (401, "unauthorized")


MALFORMED = {
    "not msgpack": b"\xc1\xc1\xc1",
    "cut short": codec.pack({"v": 1, "token": b"x" * 40})[:-10],
    "not a map": codec.pack([1, 2, 3]),
    "keys missing": codec.pack({"v": 1}),
    "trailing bytes": codec.pack({"v": 1}) + b"\x00",
}


@pytest.mark.parametrize("path", ["/v1/hello", "/v1/push", "/v1/pull", "/v1/enroll"])
def test_malformed_body_is_400(world: World, path: str) -> None:
    for what, body in MALFORMED.items():
        resp = post(world.county_url, path, body)
        assert resp.status_code == 400, (what, resp.content)


def test_oversized_body_is_413(world: World) -> None:
    big = b"\x00" * (messages.MAX_REQUEST_BYTES + 1)
    assert post(world.county_url, "/v1/push", big).status_code == 413  # declared by content-length

    def chunked() -> Iterator[bytes]:
        for _ in range(messages.MAX_REQUEST_BYTES // (1 << 20) + 1):
            yield b"\x00" * (1 << 20)

    with httpx.Client(base_url=world.county_url) as http:
        resp = http.post("/v1/hello", content=chunked())  # no length declared: counted as it arrives
    assert (resp.status_code, error_of(resp)) == (413, "too-large")


def test_push_of_too_many_envelopes_is_413(world: World) -> None:
    village = world.member(VILLAGE)
    token = session(world.county_url, world.county.author, village.key, VILLAGE, world.chain(VILLAGE))
    body = messages.Push(token, [b"x"] * (messages.MAX_PUSH_ENVELOPES + 1), [], []).encode()
    resp = post(world.county_url, "/v1/push", body)
    assert (resp.status_code, error_of(resp)) == (413, "too-large")
