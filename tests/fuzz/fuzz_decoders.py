"""Fuzz targets: every decoder a peer's bytes reach. The only acceptable outcomes are success or a
`protocol.errors.RemoteError`; anything else (IndexError, TypeError, RecursionError, MemoryError,
KeyError, a LocalError, ...) is a crash.

    .venv/bin/python tests/fuzz/fuzz_decoders.py TARGET [libFuzzer flags] [corpus dirs]   (atheris)

Targets:

    envelope      protocol.changeset.open_envelope
    admit         protocol.admit.admit against the sandbox trust, then the per-change value checks
                  `Store.apply` runs before touching its database (conflict.row.check_values)
    admit-signed  the same, with the input as a changeset *body* signed by the sandbox village key:
                  mutations cannot forge signatures, so this is how the fuzzer reaches past them
    cert          decode_certificate, decode_revocation, Trust.add_certificate / add_revocation
    cert-signed   the same, the input a body signed by the sandbox county key
    bundle        protocol.bundle.decode
    messages      every sync message decoder: Hello, Welcome, Push, PushResult, Pull, Batch, EnrollRequest,
                  TimeRequest, TimeAnswer
    answer        protocol.messages.verify_answer: a hub answer's signature header over the request/answer
    session       protocol.session.open_token: a token, its key proof header and the body it covers
    redaction     protocol.redaction.decode and check_issuer; redaction-signed: the input a record
                  body signed by the sandbox county key
    ruling-signed a changeset body signed by the sandbox county key, admitted, then the release-ruling
                  checks every replica runs (node.engine.release: refusal, arriving) and the stamp cap

`check(target, data)` runs one input the way the fuzzer does; tests/fuzz/test_fuzz_crashers.py
replays tests/fixtures/fuzz-corpus/ and tests/fixtures/fuzz-crashers/ through it on every run,
without atheris. The sandbox is tests/conftest.py's (same seeds, same keys), judged at its NOW_MS.
"""
from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CORPUS = FIXTURES / "fuzz-corpus"
CRASHERS = FIXTURES / "fuzz-crashers"
NOW_MS = 1_700_000_000_000  # tests/conftest.py's fixed "now", inside the sandbox certificates' validity
PROVINCE, COUNTY, TOWNSHIP, VILLAGE, SIBLING = "510000000000", "513225000000", "513225103000", "513225103201", "513225103202"


FUZZING = __name__ == "__main__" and len(sys.argv) > 1
if FUZZING:  # coverage for our own code only: msgpack and cryptography are C, the rest is not a target
    import atheris

    instrumented: contextlib.AbstractContextManager[Any] = atheris.instrument_imports(include=["protocol", "conflict"])
else:
    instrumented = contextlib.nullcontext()

with instrumented:
    from conflict.row import check_values
    from node import domain  # noqa: F401  (registers the replicated tables' policies, as node/engine/store.py does)
    from node.engine import schema
    from node.sandbox import Sandbox
    from node.engine import release as releases
    from protocol import body2, bundle, certs, changeset, clock, messages, redaction, release, sealed, session
    from protocol.admit import admit
    from protocol.errors import BadPassphrase, RemoteError

registry = schema.registry()


def sandbox() -> Any:
    """tests/conftest.py's `build_sandbox()`: the same seeds, so the same keys and certificates."""
    box = Sandbox.create(PROVINCE)
    box.enroll(COUNTY, "county", PROVINCE)
    box.enroll(TOWNSHIP, "township", COUNTY)
    box.enroll(VILLAGE, "village", COUNTY)
    box.enroll(SIBLING, "village", COUNTY)
    return box


BOX = sandbox()
TRUST = BOX.trust()
VILLAGE_KEY = BOX.members[VILLAGE].key
COUNTY_KEY = BOX.members[COUNTY].key


def fresh_trust() -> Any:
    """A copy of the sandbox trust that one input may change without touching the next."""
    t = certs.Trust(TRUST.root)
    t.certs = dict(TRUST.certs)
    t.revocations = dict(TRUST.revocations)
    return t


def signed(key: Any, body: bytes) -> bytes:
    return msgpack.packb({"body": body, "sig": key.sign(body)}, use_bin_type=True)


def _admit(data: bytes) -> None:
    cs = admit(data, TRUST, NOW_MS)
    check_values(cs.changes, registry)


def _cert(data: bytes) -> None:
    for step in (certs.decode_certificate, certs.decode_revocation, fresh_trust().add_certificate,
                 fresh_trust().add_revocation):
        try:
            step(data)
        except RemoteError:
            pass


def _messages(data: bytes) -> None:
    for cls in (messages.Hello, messages.Welcome, messages.Push, messages.PushResult, messages.Pull, messages.Batch,
                messages.EnrollRequest, messages.TimeRequest, messages.TimeAnswer):
        try:
            cls.decode(data)  # type: ignore[attr-defined]
        except RemoteError:
            pass


def _v2_payload(data: bytes) -> None:
    """A body v2 payload as decompressed bytes: wrapped in a stored zstd frame and signed, so mutations
    reach the payload checks (canonical form, codebook numbers, hlc deltas) instead of zstd's."""
    frame = body2.stored_frame(data[:body2.MAX_PAYLOAD_BYTES])
    carriers = [[body2.CARRIER_TABLE, body2.CARRIER_ROW, body2.CARRIER_FIELD, frame[i:i + body2.CHUNK], V2_HLC]
                for i in range(0, len(frame), body2.CHUNK)]
    body = msgpack.packb({"v": 1, "author": VILLAGE_KEY.public, "scope": VILLAGE, "seq": 1, "prev": None,
                          "schema": body2.CARRIER_SCHEMA, "changes": carriers}, use_bin_type=True)
    _admit(signed(VILLAGE_KEY, body))


V2_HLC = NOW_MS << 16  # the carrier hlc of the v2 seeds: their highest change is stamped at NOW_MS

SESSION_SECRET = bytes(32)


def _answer(data: bytes) -> None:
    """data = header (128 bytes: the signature in hex) ‖ request length (2 bytes) ‖ request ‖ answer."""
    header, n = data[:128].decode("latin-1"), int.from_bytes(data[128:130], "big")
    request, answer = data[130:130 + n], data[130 + n:]
    messages.verify_answer(COUNTY_KEY.public, header, "/v1/pull", request, 200, answer)


def _session(data: bytes) -> None:
    """data = token length (1 byte) ‖ token ‖ proof length (1 byte) ‖ proof header ‖ body."""
    n = data[0] if data else 0
    token, rest = data[1:1 + n], data[1 + n:]
    m = rest[0] if rest else 0
    proof, body = rest[1:1 + m].decode("latin-1"), rest[1 + m:]
    session.open_token(SESSION_SECRET, token, NOW_MS, address="127.0.0.1", path="/v1/push", body=body, proof=proof)


def _redaction(data: bytes) -> None:
    redaction.check_issuer(TRUST, redaction.decode(data), NOW_MS)


def _ruling(data: bytes) -> None:
    cs = admit(signed(COUNTY_KEY, data), TRUST, NOW_MS, clock.MAX_HLC)
    check_values(cs.changes, registry)
    releases.refusal(cs, TRUST)
    for _, (_, cap) in releases.arriving([cs]).items():
        release.capped(cs.changes, cap)


TARGETS: dict[str, Callable[[bytes], object]] = {
    "envelope": lambda data: changeset.open_envelope(data),
    "admit": _admit,
    "admit-signed": lambda data: _admit(signed(VILLAGE_KEY, data)),
    "cert": _cert,
    "cert-signed": lambda data: _cert(signed(COUNTY_KEY, data)),
    "bundle": lambda data: bundle.decode(data),
    "messages": _messages,
    "answer": _answer,
    "session": _session,
    "redaction": _redaction,
    "redaction-signed": lambda data: _redaction(signed(COUNTY_KEY, data)),
    "ruling-signed": _ruling,
    "sealed": lambda data: _sealed(data),
    "changeset-v2": _v2_payload,
}


def _sealed(data: bytes) -> None:
    """An encrypted bundle is someone else's bytes: any header, parameters or length is refused as a wrong
    passphrase or a damaged file (a LocalError the operator reads), never a crash or an unbounded scrypt."""
    try:
        sealed.open_sealed(SEALED_PASSPHRASE, data, b"bundle", "bundle")
    except BadPassphrase:
        pass


SEALED_PASSPHRASE = "fuzz passphrase"


def check(target: str, data: bytes) -> None:
    """Run one input; a RemoteError is a refusal, fine. Anything else propagates: a crash."""
    try:
        TARGETS[target](data)
    except RemoteError:
        pass


def main() -> None:
    target = sys.argv[1]
    if target not in TARGETS:
        sys.exit(f"unknown target {target!r}; one of {', '.join(TARGETS)}")

    def one(data: bytes) -> None:
        check(target, data)

    atheris.Setup([sys.argv[0], *sys.argv[2:]], one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
