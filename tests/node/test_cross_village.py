"""No cross-village write lands (DESIGN §4 "Ownership", node/engine/ownership.py).

Hypothesis runs the random multi-village edit scripts of `test_store_convergence` with hostile
writes mixed in: a key writing a record of another place from its own feed (a sibling village's
key, a village writing the township's or county's record, a county writing a village card from its
county feed): an edit with a stamp ahead of every honest one, a move of the record into the
writer's place, or a delete. The hostile changesets are genuine (real keys, valid signatures) and
are offered to every store. The property: every store refuses every one of them with `not-owner`,
and every store ends byte-for-byte where the same script without the hostile writes ends: no record
changes place or value through another place's key, and replicas still converge.
"""
from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import test_store_convergence as conv
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from storekit import COUNTY, NOW_MS, SIBLING, TOWNSHIP, VILLAGE, Clock, people, person, scratch

from node.engine.schema import row_place
from protocol import clock
from protocol.changeset import DELETE_FIELD, DELETE_VALUE, Change, seal

EXAMPLES = int(os.environ.get("LAOWU_PROPERTY_EXAMPLES", "0"))
NODES = ("county", "township", "village-a", "sibling")
ROWS = [VILLAGE, VILLAGE, SIBLING, TOWNSHIP, COUNTY]


class Hostile(conv.World):
    """The convergence world, where `("hostile", i, r, how)` makes store i's key write row r from
    its own home feed although the row belongs to another place."""

    def __init__(self, root: Path, names: list[str], rows: list[str], rnd: random.Random) -> None:
        super().__init__(root, names, rows, rnd)
        self.attacks = 0

    def run(self, op: tuple[Any, ...]) -> None:
        if op[0] != "hostile":
            return super().run(op)
        i, r, how = op[1], op[2], op[3]
        row, _, owner = self.rows[r]
        store = self.stores[i]
        if owner == store.home:
            return  # its own record: not an attack
        stamp = clock.pack(max(c.ms for c in self.clocks) + 60_000)  # would win every lww field
        change = {"edit": Change("person", row, "name", "冒名顶替", stamp),
                  "move": Change("person", row, "scope", store.home, stamp),
                  "delete": Change("person", row, DELETE_FIELD, DELETE_VALUE, stamp)}[how]
        store.seal()  # the attack continues the writer's own feed, as a tampered laptop's would
        with store.engine.connect() as conn:
            head = store._head(conn, (store.author, store.home))
        cs = seal(conv.PROVINCE.members[self.names[i]].key, store.home, head.seq + 1 if head else 1,
                  head.id if head else None, [change])
        self.attacks += 1
        for other in self.stores:  # a store that never sees the writer's feed refuses it as out of scope
            [out] = other.apply([cs.envelope])
            assert (out["status"], out["code"]) in (("refused", "not-owner"), ("refused", "out-of-scope")), out


def hostile_ops(n_stores: int, n_rows: int) -> st.SearchStrategy[list[tuple[Any, ...]]]:
    s, r = st.integers(0, n_stores - 1), st.integers(0, n_rows - 1)
    hostile = st.tuples(st.just("hostile"), s, r, st.sampled_from(["edit", "move", "delete"]))
    return st.lists(st.one_of(conv.one_op(n_stores, n_rows), hostile), min_size=5, max_size=28)


def outcome(names: list[str], script: list[tuple[Any, ...]], seed: int) -> tuple[list[Any], int]:
    with scratch("laowu-hostile-") as tmp:
        world = Hostile(Path(tmp), names, ROWS, random.Random(seed))
        try:
            for op in script:
                world.run(op)
            world.settle()
            world.check()
            for s in world.stores:
                for rec in people(s).values():
                    assert rec["scope"] == row_place(bytes.fromhex(rec["id"])), "a record changed place"
            return [(s.values(), people(s)) for s in world.stores], world.attacks
        finally:
            world.close()


@settings(max_examples=EXAMPLES or 20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_no_record_changes_place_or_value_through_another_places_key(data: st.DataObject, seed: int) -> None:
    names = data.draw(st.lists(st.sampled_from(NODES), min_size=2, max_size=4, unique=True), label="stores")
    script = data.draw(hostile_ops(len(names), len(ROWS)), label="script")
    with_attacks, attacks = outcome(names, script, seed)
    honest, _ = outcome(names, [op for op in script if op[0] != "hostile"], seed)
    assert with_attacks == honest, f"{attacks} hostile writes changed what the stores hold"


def test_the_in_memory_replica_refuses_a_sibling_write_alike() -> None:
    county = conv.PROVINCE.replica("county", wall=Clock())
    row, id_number = person(1, VILLAGE)
    village = conv.PROVINCE.members["village-a"].key
    made = seal(village, VILLAGE, 1, None, [Change("person", row, "scope", VILLAGE, clock.pack(NOW_MS)),
                                            Change("person", row, "id_number", id_number, clock.pack(NOW_MS))])
    assert county.receive(made.envelope).status == "accepted"
    sibling = conv.PROVINCE.members["sibling"].key
    attack = seal(sibling, SIBLING, 1, None, [Change("person", row, "name", "冒名", clock.pack(NOW_MS) + 1)])
    got = county.receive(attack.envelope)
    assert (got.status, got.code) == ("refused", "not-owner")
