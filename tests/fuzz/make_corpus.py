"""Write the seed corpora of the fuzz targets from real messages (and the libFuzzer dictionary), and
the crash inputs the hostile generator (tests/hostile/) found, as regressions for the fuzz targets.

    .venv/bin/python tests/fuzz/make_corpus.py

Deterministic: the keys are the sandbox's (seeded), time is tests/conftest.py's NOW_MS, nonces are
fixed; Ed25519 and msgpack are deterministic, so running it again writes the same bytes. Output:
tests/fixtures/fuzz-corpus/<target>/<name>, a few small files per target, tests/fuzz/msgpack.dict,
and tests/fixtures/fuzz-crashers/<target>/found-by-hostile-*. Crashers the fuzzer finds are written
by tests/fuzz/run.py as crash-<sha1> beside them; this script never touches those.
"""
from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

import msgpack

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fuzz_decoders import (  # noqa: E402
    BOX, CORPUS, COUNTY, CRASHERS, NOW_MS, SEALED_PASSPHRASE, SESSION_SECRET, SIBLING, TARGETS, VILLAGE)

from protocol import body2, bundle, certs, clock, messages, redaction, release, sealed, session  # noqa: E402
from protocol.changeset import Change, seal  # noqa: E402

ROW = bytes.fromhex("00112233445566778899aabbccddeeff")
JOB = bytes.fromhex("ffeeddccbbaa99887766554433221100")
DICT = Path(__file__).resolve().parent / "msgpack.dict"


def pack(obj: object) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def corpus() -> dict[str, dict[str, bytes]]:
    village, county = BOX.members[VILLAGE].key, BOX.members[COUNTY].key
    h = clock.pack(NOW_MS)
    first = seal(village, VILLAGE, 1, None, [
        Change("person", ROW, "scope", VILLAGE, h), Change("person", ROW, "id_number", "513225199001011236", h),
        Change("person", ROW, "name", "王秀英", h), Change("person", ROW, "skills", ["+", "焊工"], h),
        Change("person", ROW, "monthly_pay", 4200, h), Change("person", ROW, "two_after", True, h)])
    second = seal(village, VILLAGE, 2, first.id, [
        Change("person", ROW, "skills", ["-", "焊工", [[h, village.public]]], h + 1),
        Change("job_posting", JOB, "title", "采茶工", h + 1), Change("job_posting", JOB, "*", "delete", h + 2)])
    by_county = seal(county, COUNTY, 1, None, [Change("job_posting", JOB, "pay", 3.5, h), Change("x", JOB, "y", None, h)])
    v2 = seal(village, VILLAGE, 1, None, [
        Change("person", ROW, "scope", VILLAGE, h - 2), Change("person", ROW, "name", "王秀英", h - 1),
        Change("person", ROW, "skills", ["+", "焊工"], h), Change("notes", JOB, "text", b"\x00", h - 3),
        Change("person", JOB, "*", "delete", h - 4)], schema=2, body=2)
    envelopes = {"seq1": first.envelope, "seq2": second.envelope, "county": by_county.envelope,
                 "sibling-scope": seal(village, SIBLING, 1, None, [Change("t", ROW, "f", b"\x00", h)]).envelope,
                 "v2": v2.envelope}
    bodies = {name: msgpack.unpackb(env)["body"] for name, env in envelopes.items()}

    root_cert = BOX.members["510000000000"].cert
    county_cert, village_cert = BOX.members[COUNTY].cert, BOX.members[VILLAGE].cert
    successor = certs.issue(county, bytes(range(32)), "village", [VILLAGE], NOW_MS, NOW_MS + 10**10, 77, succeeds=village.public)
    revocation = certs.revoke(county, village.public, {VILLAGE: 2, SIBLING: 0}, NOW_MS, "laptop stolen")
    # A v2 revocation of a county key keeping what it signed (protocol.certs: a revoked key issues nothing else).
    keeping = certs.revoke(BOX.root, county.public, {COUNTY: 1}, NOW_MS, "county key stolen",
                           [certs.digest(village_cert), certs.digest(revocation)])
    signed_things = {"root": root_cert, "county": county_cert, "village": village_cert, "successor": successor,
                     "revocation": revocation, "revocation-keeping": keeping}

    vector = {(village.public, VILLAGE): 2, (county.public, COUNTY): 1}
    full = bundle.encode(bundle.Bundle(village.public, NOW_MS, vector, [first.envelope, second.envelope],
                                       [root_cert, county_cert, village_cert], [revocation]))
    empty = bundle.encode(bundle.Bundle(village.public, NOW_MS, {}, []))

    hub = county.public
    nonce = bytes(range(16))
    hello = messages.Hello.make(village, hub, VILLAGE, [root_cert, county_cert, village_cert], 3, NOW_MS, nonce)
    token = village.public + VILLAGE.encode() + (NOW_MS + 1800_000).to_bytes(8, "big") + bytes(32)
    msgs = {
        "hello": hello.encode(),
        "welcome": messages.Welcome(hub, COUNTY, NOW_MS, token, [(VILLAGE, 2, second.id)], True, [revocation]).encode(),
        "push": messages.Push(token, [first.envelope, second.envelope], [village_cert], [revocation]).encode(),
        "push-result": messages.PushResult([{"id": first.id, "status": "accepted"},
                                            {"id": None, "status": "refused", "code": "malformed", "reason": "x"}]).encode(),
        "pull": messages.Pull(token, 12, 1 << 20, False).encode(),
        "batch": messages.Batch([first.envelope], [root_cert, county_cert], 14, True).encode(),
        "enroll": messages.EnrollRequest.make(village, VILLAGE, "village", "王主任", NOW_MS, "123456").encode(),
        "time-request": messages.TimeRequest(nonce).encode(),
        "time-answer": messages.TimeAnswer(COUNTY, NOW_MS).encode(),
    }
    pull = messages.Pull(token, 12, 1 << 20, False).encode()
    answer = messages.Batch([first.envelope], [root_cert], 14, False).encode()
    answered = messages.sign_answer(county, "/v1/pull", pull, 200, answer).encode() + len(pull).to_bytes(2, "big") + pull + answer
    bound = session.mint(SESSION_SECRET, village.public, VILLAGE, NOW_MS + 1800_000, key_bound=True, sid=bytes(8))
    proof = session.prove(village, "/v1/push", bound, pull, 1, NOW_MS).encode()
    sessions = {"key-bound": bytes([len(bound)]) + bound + bytes([len(proof)]) + proof + pull,
                "address-bound": bytes([84]) + session.mint(SESSION_SECRET, village.public, VILLAGE, NOW_MS + 1, key_bound=False,
                                                            address="127.0.0.1") + b"\x00" + pull,
                "no-proof": bytes([len(bound)]) + bound + b"\x00" + pull}
    record = redaction.make(county, VILLAGE, [("person", ROW)], [], NOW_MS, "erased at the person's request")
    rulings = {"cap": msgpack.unpackb(seal(county, VILLAGE, 1, None, [
        Change(release.TABLE, release.row_id(VILLAGE, first.id), release.CHANGESET, first.id, h),
        Change(release.TABLE, release.row_id(VILLAGE, first.id), release.CAP, h - 5, h)]).envelope)["body"]}
    return {
        "answer": {"pull": answered},
        "session": sessions,
        "redaction": {"record": record},
        "redaction-signed": {"record": msgpack.unpackb(record)["body"]},
        "ruling-signed": rulings,
        "envelope": {**envelopes, "truncated": first.envelope[:40]},
        "admit": dict(envelopes),
        "admit-signed": bodies,
        "cert": signed_things,
        "cert-signed": {name: msgpack.unpackb(raw)["body"] for name, raw in signed_things.items()},
        "bundle": {"full": full, "empty": empty},
        "messages": msgs,
        "sealed": {"bundle": sealed_fixed(empty, 15), "cheap": sealed_fixed(empty, 1), "header-only": sealed_fixed(b"", 1)[:40]},
        "changeset-v2": {"card": v2_payload(v2.envelope), "empty": msgpack.packb([2, []])},
    }


def v2_payload(envelope: bytes) -> bytes:
    """The decompressed payload of a v2 envelope (the changeset-v2 target wraps it again)."""
    body = msgpack.unpackb(msgpack.unpackb(envelope)["body"])
    return body2._decompress(b"".join(c[3] for c in body["changes"]))


def sealed_fixed(plaintext: bytes, log2n: int) -> bytes:
    """protocol.sealed's layout with a fixed salt and nonce (seal() draws them at random), so the corpus
    is the same bytes every run; `log2n` 1 gives the fuzzer a seed that costs no scrypt time."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    salt, nonce = bytes(16), bytes(12)
    header = sealed.MAGIC + bytes([sealed.VERSION, log2n, sealed.R, sealed.P]) + salt + nonce
    key = Scrypt(salt=salt, length=32, n=1 << log2n, r=sealed.R, p=sealed.P).derive(SEALED_PASSPHRASE.encode())
    return header + AESGCM(key).encrypt(nonce, plaintext, header + b"bundle")


def nested(depth: int, leaf: bytes = b"\xc0") -> bytes:
    return b"\x91" * depth + leaf


def crashers() -> dict[str, dict[str, bytes]]:
    """Inputs that were crashes (RecursionError: a 500 on the hub) before the fixes they name.

    scope.check_code repr()'d any peer object in its error; a list nested ~1000 deep overflowed it
    wherever a place code is read: hello.home, changeset.scope, certificate scopes, vector scopes.
    A set change nested as deep overflowed conflict/orset.py's repr the same way; protocol/admit.py
    now refuses values nested deeper than MAX_VALUE_DEPTH before any merge policy sees them.
    """
    village, county = BOX.members[VILLAGE].key, BOX.members[COUNTY].key
    h = pack(clock.pack(NOW_MS))
    hello = msgpack.unpackb(messages.Hello.make(village, county.public, VILLAGE, [], 0, NOW_MS, bytes(16)).encode())
    hello_raw = b"\x88" + b"".join(pack(k) + (nested(1010) if k == "home" else pack(v)) for k, v in hello.items())
    body = {"v": 1, "author": village.public, "scope": VILLAGE, "seq": 1, "prev": None, "schema": 1, "changes": []}
    deep_scope = b"\x87" + b"".join(pack(k) + (nested(1010) if k == "scope" else pack(v)) for k, v in body.items())
    set_op = (b"\x87" + b"".join(pack(k) + pack(v) for k, v in body.items() if k != "changes") + pack("changes")
              + b"\x91\x95" + pack("person") + pack(ROW) + pack("skills") + nested(1000, pack("焊工")) + h)
    cert = msgpack.unpackb(msgpack.unpackb(BOX.members[VILLAGE].cert)["body"])
    cert_raw = b"\x89" + b"".join(pack(k) + (b"\x91" + nested(1010) if k == "scopes" else pack(v)) for k, v in cert.items())
    header = {"v": 1, "sender": village.public, "created": NOW_MS, "vector": [[village.public, VILLAGE, 1]],
              "certs": [], "revocations": []}
    header_raw = b"\x86" + b"".join(
        pack(k) + (b"\x91\x93" + pack(village.public) + nested(1010) + pack(1) if k == "vector" else pack(v))
        for k, v in header.items())
    data = bundle.MAGIC + bytes([bundle.VERSION]) + len(header_raw).to_bytes(4, "big") + header_raw + bytes(4)
    return {
        "messages": {"found-by-hostile-hello-home-nested-1010": hello_raw},
        "envelope": {"found-by-hostile-scope-nested-1010": signed(village, deep_scope)},
        "admit": {"found-by-hostile-set-op-nested-1000": signed(village, set_op),
                  "found-by-hostile-scope-nested-1010": signed(village, deep_scope)},
        "admit-signed": {"found-by-hostile-set-op-nested-1000": set_op},
        "cert": {"found-by-hostile-scopes-nested-1010": signed(county, cert_raw)},
        "cert-signed": {"found-by-hostile-scopes-nested-1010": cert_raw},
        "bundle": {"found-by-hostile-vector-scope-nested-1010": data + hashlib.sha256(data).digest()},
    }


def signed(key: object, body: bytes) -> bytes:
    return pack({"body": body, "sig": key.sign(body)})  # type: ignore[attr-defined]


def dictionary() -> list[bytes]:
    """msgpack-encoded key names and markers, so mutations can splice whole tokens."""
    words = ["v", "body", "sig", "author", "scope", "seq", "prev", "schema", "changes", "serial", "issuer", "subject",
             "role", "scopes", "not_before", "not_after", "succeeds", "cutoffs", "at", "reason", "sender", "created",
             "vector", "certs", "revocations", "kept", "home", "cursor", "time", "nonce", "hub", "token", "heads", "more",
             "envelopes", "results", "budget", "own", "pub", "code", "operator", "otp", "status", "id", "+", "-", "*",
             "rows", "items", "lw_release", "lw_redaction", "record", "cap", "changeset",
             "delete", "village", "county", "township", "province", VILLAGE, COUNTY]
    return [pack(w) for w in words] + [b"LAOWUBDL\x01", b"\xc4\x20", b"\xc4\x40", b"\xc4\x10", b"\xcf", b"\xdd\xff\xff\xff\xff"]


def main() -> None:
    made = corpus()
    assert set(made) == set(TARGETS), set(TARGETS) ^ set(made)
    for target, files in made.items():
        out = CORPUS / target
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        for name, data in files.items():
            (out / name).write_bytes(data)
    for target, files in crashers().items():
        out = CRASHERS / target
        out.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (out / name).write_bytes(data)
    DICT.write_text("".join('"' + "".join("\\x%02x" % b for b in word) + '"\n' for word in dictionary()))
    print(f"wrote {sum(len(f) for f in made.values())} seeds for {len(made)} targets to {CORPUS}, and {DICT.name}")


if __name__ == "__main__":
    main()
