"""Partial replication (DESIGN §2): a replica receives its own subtree and its ancestors' feeds,
never a sibling village's people."""
from __future__ import annotations

from hubkit import SIBLING, TOWNSHIP, VILLAGE, World, log_envelopes, value

from node.engine.schema import new_row_id
from protocol.changeset import open_envelope

PEOPLE = {VILLAGE: ("513225199001011239", "张三"), SIBLING: ("513225199202024327", "李四")}


def _register_both(world: World) -> dict[str, bytes]:
    rows = {}
    for code, (id_number, name) in PEOPLE.items():
        rows[code] = new_row_id(code)
        world.node(code).write("person", rows[code], {"id_number": id_number, "name": name})
    for code in (VILLAGE, SIBLING, VILLAGE):  # the first village syncs again after its sibling pushed
        world.sync(code)
    return rows


def test_village_never_receives_a_sibling_villages_person(world: World) -> None:
    rows = _register_both(world)
    for code, other in ((VILLAGE, SIBLING), (SIBLING, VILLAGE)):
        node = world.node(code)
        assert ("person", rows[code]) in node.values()
        assert ("person", rows[other]) not in node.values()
        assert {open_envelope(e).scope for e in log_envelopes(node).values()} == {code}


def test_county_and_township_receive_both_villages(world: World) -> None:
    rows = _register_both(world)
    world.sync(TOWNSHIP)
    for replica in (world.county, world.node(TOWNSHIP)):
        assert {value(replica, "person", rows[c], "name") for c in PEOPLE} == {"张三", "李四"}
