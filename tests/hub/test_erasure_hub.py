"""Erasure on hubs, on SQLite and on PostgreSQL (node/engine/redact.py): the county's record reaches the
province by relay and the village by pull; no envelope any hub holds or serves keeps the values,
and a node that syncs for the first time afterwards receives none of them. On PostgreSQL the
erasure ends with VACUUM of the engine tables (docs/erasure.md says what that does and does not do)."""
from __future__ import annotations

import hashlib

from hubkit import TOWNSHIP, VILLAGE, World, log_envelopes, push, session, snapshot

from node.domain.erase import erase_person
from node.engine.redact import forget, verify_feeds
from protocol import clock, codec
from protocol import redaction as rd
from protocol.changeset import Change, envelope_parts, redacted_envelope, seal

NAME, ID_NUMBER = "上官翠芬", "513225199203041126"
PERSON = int(VILLAGE).to_bytes(5, "big") + b"\x5a" * 11


def secrets() -> list[bytes]:
    return [NAME.encode(), ID_NUMBER.encode(), codec.pack(NAME), codec.pack(ID_NUMBER)]


def test_an_erasure_reaches_every_hub_and_no_envelope_keeps_the_values(world: World) -> None:
    village = world.node(VILLAGE)
    village.write("person", PERSON, {"id_number": ID_NUMBER, "name": NAME, "health": "残疾", "monthly_pay": 5432})
    world.sync(VILLAGE)
    world.relay()
    assert any(s in env for env in log_envelopes(world.province).values() for s in secrets())

    done = erase_person(world.county, PERSON, "本人申请删除")
    assert done.changesets == 1
    assert forget(world.county, full=True) >= 0  # an operator's VACUUM (FULL) while the hub serves
    world.relay()  # the county seals its record and pushes it up
    world.sync(VILLAGE)  # the village pulls it
    late = world.node(TOWNSHIP)
    world.sync(TOWNSHIP)  # a replica whose first sync comes after the erasure

    for store in (world.county, world.province, village, late):
        envelopes = log_envelopes(store).values()
        assert envelopes and not any(s in env for env in envelopes for s in secrets()), store.home
        assert store.values("person").get(("person", PERSON), "absent") in (None, "absent")
        assert verify_feeds(store) >= 1
    assert ("person", PERSON) in late.values("person")  # it holds the tombstone, never the values


def test_a_redaction_forged_by_a_village_is_refused_at_the_hub_and_changes_nothing(world: World) -> None:
    """The attack: a village key "redacts" its own registration (to unsay what it signed, or slip a
    different body in under the original id) with a record it signed itself. Replayed against a
    real hub: refused, and the hub holds exactly what it held before."""
    village = world.member(VILLAGE)
    stamp = clock.pack(clock.wall_ms())
    cs = seal(village.key, VILLAGE, 1, None, [Change("person", PERSON, "scope", VILLAGE, stamp),
                                              Change("person", PERSON, "id_number", ID_NUMBER, stamp),
                                              Change("person", PERSON, "name", NAME, stamp)])
    body, sig = envelope_parts(cs.envelope)
    new = rd.redact_body(body, {("person", PERSON)})
    assert new is not None
    item = rd.Item(cs.id, cs.author, cs.scope, cs.seq, cs.prev, hashlib.sha256(new).digest())
    forged = redacted_envelope(new, sig, rd.make(village.key, VILLAGE, [("person", PERSON)], [item], clock.wall_ms(), "x"))
    token = session(world.county_url, world.county.author, village.key, VILLAGE, world.chain(VILLAGE))
    before = snapshot(world.county)
    outcome = push(world.county_url, token, [forged])[0]
    assert (outcome["status"], outcome["code"]) == ("refused", "not-allowed")
    assert snapshot(world.county) == before
