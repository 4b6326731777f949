"""Erasure on hubs, on SQLite and on PostgreSQL (node/redact.py): the county's record reaches the
province by relay and the village by pull; no envelope any hub holds or serves keeps the values,
and a node that syncs for the first time afterwards receives none of them. On PostgreSQL the
erasure ends with VACUUM of the engine tables (docs/erasure.md says what that does and does not do)."""
from __future__ import annotations

from hubkit import TOWNSHIP, VILLAGE, World, log_envelopes

from node.erase import erase_person
from node.redact import verify_feeds
from protocol import codec

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
