"""Semantic conflicts: what no merge rule settles is reported, under the same key on every replica.

The rows converge by their field policies; a `Rule` reads the merged rows through a `RowView` and
says "a person must decide this". Here: one person placed by two brokers at once, each broker on
an offline laptop. Every replica runs the rule after every changeset it receives (as a store does
after each merge) and queues what it reports by `key`; whatever the delivery order, every replica
ends with the same one conflict.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hypothesis import given, settings
from hypothesis import strategies as st

from conflict.semantic import Rule, RowValues, RowView, SemanticConflict
from node.engine.replica import Replica
from protocol.changeset import Value

if TYPE_CHECKING:
    from conftest import Province

EXAMPLES = int(os.environ.get("LAOWU_PROPERTY_EXAMPLES", "0"))  # soak runs raise every count

T0 = 1_700_000_000_000
PERSON = hashlib.sha256(b"keyed hash of 513225199001011234").digest()[:16]
OTHER_PERSON = hashlib.sha256(b"keyed hash of 513225198502023456").digest()[:16]
X, Y, Z = (hashlib.sha256(name).digest()[:16] for name in (b"placement X", b"placement Y", b"placement Z"))


class ValuesView:
    """A `RowView` over `Replica.values()`: live rows only (a deleted row is a tombstone)."""

    def __init__(self, replica: Replica) -> None:
        self.rows = replica.values()

    def find(self, table: str, **equals: Value) -> list[tuple[bytes, RowValues]]:
        return [
            (row, values)
            for (t, row), values in self.rows.items()
            if t == table and values is not None and all(values.get(k) == v for k, v in equals.items())
        ]


class OnePersonTwoBrokers:
    """Two live placements of one person by different brokers: which one stands is for staff."""

    kind = "one-person-two-brokers"
    tables: tuple[str, ...] = ("placement",)

    def check(self, table: str, row: bytes, values: RowValues, view: RowView) -> list[SemanticConflict]:
        if values.get("stage") == "revoked" or values.get("person") is None:
            return []
        live = [(r, v) for r, v in view.find(table, person=values["person"]) if v.get("stage") != "revoked"]
        brokers = sorted({str(v.get("broker")) for _, v in live})
        if len(brokers) < 2:
            return []
        rows = tuple(r for r, _ in live)
        return [SemanticConflict(self.kind, table, rows, f"placed by {', '.join(brokers)}")]


RULES: list[Rule] = [OnePersonTwoBrokers()]


@dataclass
class Node:
    replica: Replica
    queue: dict[bytes, SemanticConflict]

    def receive(self, envelope: bytes) -> None:
        """Merge, then run the rules over the merged rows, as a store does."""
        self.replica.receive(envelope)
        self.queue.update((c.key, c) for c in reported(self.replica))


def reported(replica: Replica) -> list[SemanticConflict]:
    view = ValuesView(replica)
    return [
        conflict
        for (table, row), values in view.rows.items()
        if values is not None
        for rule in RULES
        if table in rule.tables
        for conflict in rule.check(table, row, values, view)
    ]


def place(replica: Replica, row: bytes, person: bytes, broker: str, stage: str) -> bytes:
    for field, value in (("person", person), ("broker", broker), ("stage", stage), ("employer", "某电子厂")):
        replica.write("placement", row, field, value)
    cs = replica.commit()
    assert cs is not None
    return cs.envelope


def offline_placements(province: Province) -> tuple[dict[str, Node], list[bytes]]:
    """Broker 1 on one village laptop, broker 2 on the other, both offline; the county hub."""
    nodes = {n: Node(province.replica(n, lambda: T0), {}) for n in ("village-a", "village-b", "county")}
    envelopes = [
        place(nodes["village-a"].replica, X, PERSON, "broker-1", "signed"),
        place(nodes["village-a"].replica, Z, OTHER_PERSON, "broker-1", "planned"),
        place(nodes["village-b"].replica, Y, PERSON, "broker-2", "planned"),
    ]
    return nodes, envelopes


@settings(max_examples=EXAMPLES or 100, deadline=None)
@given(data=st.data())
def test_every_replica_reports_the_same_conflict_whatever_the_delivery_order(
    province: Province, data: st.DataObject
) -> None:
    nodes, envelopes = offline_placements(province)
    deliveries = [(name, e) for name in nodes for e in envelopes]
    duplicates = data.draw(st.lists(st.sampled_from(deliveries), max_size=6), label="duplicates")
    for name, envelope in data.draw(st.permutations(deliveries + duplicates), label="order"):
        nodes[name].receive(envelope)
    expected = SemanticConflict(OnePersonTwoBrokers.kind, "placement", (X, Y), "").key
    assert {name: set(node.queue) for name, node in nodes.items()} == {name: {expected} for name in nodes}
    first, *others = [node.replica.values() for node in nodes.values()]
    assert all(values == first for values in others)


def test_revoking_one_placement_settles_the_conflict_on_every_replica(province: Province) -> None:
    nodes, envelopes = offline_placements(province)
    county = nodes["county"].replica
    for envelope in envelopes:
        county.receive(envelope)
    assert len(reported(county)) == 2  # one per placement involved, both under one key
    county.write("placement", Y, "stage", "revoked")  # county staff decide: broker 1's placement stands
    resolution = county.commit(province.home("village-a"))  # the placement's own place
    assert resolution is not None
    for node in nodes.values():
        for envelope in [*envelopes, resolution.envelope]:
            node.receive(envelope)
        assert reported(node.replica) == []


def test_a_conflict_key_names_its_kind_and_rows_not_their_order_or_detail() -> None:
    one = SemanticConflict("one-person-two-brokers", "placement", (X, Y), "placed by broker-1, broker-2")
    same = SemanticConflict("one-person-two-brokers", "placement", (Y, X), "seen from the other row")
    assert one.key == same.key
    assert one.key != SemanticConflict("one-broker-two-villages", "placement", (X, Y), "").key
    assert one.key != SemanticConflict("one-person-two-brokers", "placement", (X, Z), "").key
