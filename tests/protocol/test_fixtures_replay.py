"""Captured bad envelopes, replayed on every run: each stays refused with exactly the code it had.

The corpus in tests/fixtures/bad_envelopes/ was written by tests/fixtures/make_bad_envelopes.py against
the deterministic sandbox of tests/conftest.py, plus the certificates and revocation in
extra_trust.msgpack. It is judged at the conftest's fixed `now_ms`, inside the certificates' validity.
"""
from __future__ import annotations

import json
from pathlib import Path

import msgpack
import pytest

from protocol.admit import admit
from protocol.certs import Trust
from protocol.errors import RemoteError

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "bad_envelopes"
INDEX: dict[str, str] = json.loads((CORPUS / "index.json").read_text())
# Every refusal admit() can give; each must have at least one captured example.
ADMIT_CODES = {
    "truncated",
    "too-large",
    "unknown-version",
    "malformed",
    "bad-signature",
    "unknown-author",
    "certificate-expired",
    "out-of-scope",
    "revoked",
    "clock-ahead",
}


@pytest.fixture
def corpus_trust(trust: Trust) -> Trust:
    extra = msgpack.unpackb((CORPUS / "extra_trust.msgpack").read_bytes())
    for cert in extra["certs"]:
        trust.add_certificate(cert)
    for rev in extra["revocations"]:
        trust.add_revocation(rev)
    return trust


@pytest.mark.parametrize("name", sorted(INDEX))
def test_a_captured_bad_envelope_is_refused_with_its_recorded_code(name: str, corpus_trust: Trust, now_ms: int) -> None:
    data = (CORPUS / name).read_bytes()
    with pytest.raises(RemoteError) as refused:
        admit(data, corpus_trust, now_ms)
    assert refused.value.code == INDEX[name]


def test_the_index_lists_exactly_the_files_in_the_corpus() -> None:
    assert {p.name for p in CORPUS.glob("*.bin")} == set(INDEX)


def test_the_corpus_has_an_example_of_every_refusal_admit_gives() -> None:
    assert set(INDEX.values()) == ADMIT_CODES
    assert len(INDEX) >= 20
