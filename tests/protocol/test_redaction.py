"""Specs of redaction records (protocol/redaction.py) and redacted envelopes (protocol/changeset.py).

A village writes three changesets in one feed, the second carrying a person's values; the county
redacts it. The redacted envelope must admit with the county's record in place of the village's
signature, keep its original id so the feed still chains, and be refused whenever anything about
the record is off: forged, issued by a key that may not redact, bound to another body, or issued
after its key was revoked.
"""
from __future__ import annotations

import hashlib

import pytest

from node.sandbox import Sandbox
from protocol import certs, codec
from protocol import redaction as rd
from protocol.admit import admit
from protocol.certs import Trust
from protocol.changeset import Change, Changeset, envelope_parts, open_envelope, redacted_envelope, seal
from protocol.errors import BadSignature, Malformed, NotAllowed, RemoteError, Revoked
from protocol.keys import KeyPair

COUNTY = "513225000000"
TOWNSHIP = "513225103000"
VILLAGE = "513225103201"
SIBLING = "513225103202"
NAME = "韦秀英"
ID_NUMBER = "513225199001011237"
PERSON = int(VILLAGE).to_bytes(5, "big") + b"\x01" * 11
OTHER = int(VILLAGE).to_bytes(5, "big") + b"\x02" * 11


def feed(box: Sandbox, now_ms: int) -> list[Changeset]:
    key = box.members[VILLAGE].key
    h = (now_ms - 60_000) << 16
    one = seal(key, VILLAGE, 1, None, [Change("person", OTHER, "name", "张三", h)])
    two = seal(key, VILLAGE, 2, one.id, [Change("person", PERSON, "name", NAME, h + 1),
                                          Change("person", PERSON, "id_number", ID_NUMBER, h + 2),
                                          Change("person", OTHER, "phone", "13800000001", h + 3)])
    three = seal(key, VILLAGE, 3, two.id, [Change("person", OTHER, "phone", "13800000002", h + 4)])
    return [one, two, three]


def redact(issuer: KeyPair, cs: Changeset, now_ms: int, rows: list[rd.RowKey] | None = None,
           body: bytes | None = None, at: int | None = None, scope: str = VILLAGE) -> bytes:
    """The redacted envelope of `cs` with a record by `issuer` (optionally lying about the body)."""
    rows = rows or [("person", PERSON)]
    orig, sig = envelope_parts(cs.envelope)
    new = body if body is not None else rd.redact_body(orig, set(rows))
    assert new is not None
    item = rd.Item(cs.id, cs.author, cs.scope, cs.seq, cs.prev, hashlib.sha256(new).digest())
    record = rd.make(issuer, scope, rows, [item], now_ms if at is None else at, "本人申请")
    return redacted_envelope(new, sig, record)


def test_a_redacted_envelope_admits_with_its_original_id_and_without_the_values(sandbox: Sandbox, trust: Trust,
                                                                              now_ms: int) -> None:
    one, two, three = feed(sandbox, now_ms)
    env = redact(sandbox.members[COUNTY].key, two, now_ms)
    cs = admit(env, trust, now_ms)
    assert cs.id == two.id and three.prev == cs.id  # the chain runs through the original id
    assert [c.field for c in cs.changes] == ["phone"]  # the other row's change is intact
    assert NAME.encode() not in env and ID_NUMBER.encode() not in env
    assert codec.pack(NAME) not in env and codec.pack(ID_NUMBER) not in env
    assert cs.max_hlc == two.max_hlc


def test_every_feed_with_a_redacted_changeset_still_verifies_end_to_end(sandbox: Sandbox, trust: Trust,
                                                                       now_ms: int) -> None:
    one, two, three = feed(sandbox, now_ms)
    envs = [one.envelope, redact(sandbox.members[COUNTY].key, two, now_ms), three.envelope]
    prev = None
    for seq, env in enumerate(envs, 1):
        cs = admit(env, trust, now_ms)
        assert (cs.seq, cs.prev) == (seq, prev)
        prev = cs.id


def test_a_township_covering_the_place_may_redact(sandbox: Sandbox, trust: Trust, now_ms: int) -> None:
    box = sandbox
    member = box.enroll("513225103001", "township", COUNTY, scopes=(TOWNSHIP,))
    trust.add_certificate(member.cert)
    _, two, _ = feed(box, now_ms)
    assert admit(redact(member.key, two, now_ms), trust, now_ms).id == two.id


def test_a_forged_record_is_refused(sandbox: Sandbox, trust: Trust, now_ms: int) -> None:
    _, two, _ = feed(sandbox, now_ms)
    env = codec.unpack(redact(sandbox.members[COUNTY].key, two, now_ms), max_bytes=1 << 20, what="t")
    rec = codec.unpack(env["redaction"], max_bytes=1 << 20, what="t")
    rec["sig"] = bytes(64)
    env["redaction"] = codec.pack(rec)
    with pytest.raises(BadSignature):
        admit(codec.pack(env), trust, now_ms)


def test_a_record_by_a_village_key_is_refused(sandbox: Sandbox, trust: Trust, now_ms: int) -> None:
    _, two, _ = feed(sandbox, now_ms)
    with pytest.raises(NotAllowed):
        admit(redact(sandbox.members[VILLAGE].key, two, now_ms), trust, now_ms)


def test_a_record_by_a_key_not_covering_the_place_is_refused(sandbox: Sandbox, trust: Trust, now_ms: int) -> None:
    other = sandbox.enroll("513226000000", "county", "510000000000")
    trust.add_certificate(other.cert)
    _, two, _ = feed(sandbox, now_ms)
    with pytest.raises(NotAllowed):
        admit(redact(other.key, two, now_ms), trust, now_ms)
    with pytest.raises(NotAllowed):  # naming a place it covers does not help: the feed is the village's
        admit(redact(other.key, two, now_ms, scope="513226000000"), trust, now_ms)


def test_a_body_whose_hash_the_record_does_not_name_is_refused(sandbox: Sandbox, trust: Trust, now_ms: int) -> None:
    _, two, _ = feed(sandbox, now_ms)
    good = redact(sandbox.members[COUNTY].key, two, now_ms)
    env = codec.unpack(good, max_bytes=1 << 20, what="t")
    body = codec.unpack(env["body"], max_bytes=1 << 20, what="t")
    body["changes"][2][3] = "13899999999"  # the body altered after the record was made
    env["body"] = codec.pack(body)
    with pytest.raises(Malformed, match="not named"):
        admit(codec.pack(env), trust, now_ms)


def test_a_redacted_body_that_keeps_an_erased_value_is_refused(sandbox: Sandbox, trust: Trust, now_ms: int) -> None:
    _, two, _ = feed(sandbox, now_ms)
    orig, _ = envelope_parts(two.envelope)
    with pytest.raises(Malformed, match="still carries"):  # signed over the unredacted body: values kept
        admit(redact(sandbox.members[COUNTY].key, two, now_ms, body=orig), trust, now_ms)


def test_a_record_for_another_feed_position_is_refused(sandbox: Sandbox, trust: Trust, now_ms: int) -> None:
    _, two, three = feed(sandbox, now_ms)
    orig, sig = envelope_parts(two.envelope)
    new = rd.redact_body(orig, {("person", PERSON)})
    assert new is not None
    item = rd.Item(two.id, two.author, two.scope, 3, three.prev, hashlib.sha256(new).digest())
    rec = rd.make(sandbox.members[COUNTY].key, VILLAGE, [("person", PERSON)], [item], now_ms, "x")
    with pytest.raises(Malformed, match="another feed position"):
        admit(redacted_envelope(new, sig, rec), trust, now_ms)


def test_a_record_issued_after_its_key_was_revoked_is_refused(sandbox: Sandbox, trust: Trust, now_ms: int) -> None:
    _, two, _ = feed(sandbox, now_ms)
    before = redact(sandbox.members[COUNTY].key, two, now_ms, at=now_ms - 10_000)
    after = redact(sandbox.members[COUNTY].key, two, now_ms, at=now_ms - 1_000)
    kept = [certs.digest(sandbox.members[VILLAGE].cert), rd.decode(codec.unpack(before, max_bytes=1 << 20, what="t")["redaction"]).id]
    trust.add_revocation(certs.revoke(sandbox.root, sandbox.members[COUNTY].key.public, {}, now_ms - 5_000, "stolen",
                                      kept))
    assert admit(before, trust, now_ms).id == two.id  # issued while the key was good: still stands
    with pytest.raises(Revoked):
        admit(after, trust, now_ms)


def test_the_author_signature_still_guards_an_unredacted_envelope(sandbox: Sandbox, trust: Trust, now_ms: int) -> None:
    _, two, _ = feed(sandbox, now_ms)
    env = codec.unpack(two.envelope, max_bytes=1 << 20, what="t")
    body = codec.unpack(env["body"], max_bytes=1 << 20, what="t")
    body["changes"][0][3] = None  # redacted by hand, with no record
    env["body"] = codec.pack(body)
    with pytest.raises(BadSignature):
        open_envelope(codec.pack(env))


def test_redact_body_keeps_deletes_and_other_rows(sandbox: Sandbox, now_ms: int) -> None:
    key = sandbox.members[COUNTY].key
    cs = seal(key, VILLAGE, 1, None, [Change("person", PERSON, "name", NAME, 5), Change("person", PERSON, "*", "delete", 6),
                                      Change("person", OTHER, "name", "张三", 7)])
    body, _ = envelope_parts(cs.envelope)
    out = rd.redact_body(body, {("person", PERSON)})
    assert out is not None
    changes = codec.unpack(out, max_bytes=1 << 20, what="t")["changes"]
    assert changes == [["person", PERSON, "name", None, 5], ["person", PERSON, "*", "delete", 6],
                       ["person", OTHER, "name", "张三", 7]]
    assert rd.redact_body(out, {("person", PERSON)}) is None  # nothing left to redact
    assert rd.values_of(body, {("person", PERSON)}) == [NAME]


@pytest.mark.parametrize("mutate", ["no-rows", "rows", "seq", "extra"])
def test_a_malformed_record_is_a_remote_error(sandbox: Sandbox, now_ms: int, mutate: str) -> None:
    key = sandbox.members[COUNTY].key
    item = [b"\x00" * 32, key.public, VILLAGE, 2, b"\x01" * 32, b"\x02" * 32]
    body = {"v": 1, "issuer": key.public, "scope": VILLAGE, "rows": [["person", PERSON]], "items": [item],
            "at": now_ms, "reason": "x"}
    if mutate == "no-rows":
        body["rows"] = []
    elif mutate == "rows":
        body["rows"] = [["person", b"short"]]
    elif mutate == "seq":
        body["items"] = [[*item[:3], 1, b"\x01" * 32, item[5]]]
    else:
        body["extra"] = 1
    raw = codec.pack(body)
    with pytest.raises(RemoteError):
        rd.decode(codec.pack({"body": raw, "sig": key.sign(raw)}))
