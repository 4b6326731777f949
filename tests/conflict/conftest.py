"""One throwaway province for the replica-level properties (convergence, semantic conflicts).

Real keys and real certificate chains from `node.sandbox`, derived from a fixed seed so a failing
hypothesis example replays exactly. Several keys per place: two laptops in one village, a sibling
village, the township, the county hub and the province root, each with its own certificate.

The fixture is session-scoped (hypothesis runs many examples per test function); the `Province`
it returns is read-only, and each example builds fresh replicas from it.

Example counts: each property here states its own; `LAOWU_PROPERTY_EXAMPLES=N` runs every one of
them N times instead (soak runs: `LAOWU_PROPERTY_EXAMPLES=20000 pytest tests/conflict`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pytest

from conflict.registry import Registry
from node.engine.replica import Replica
from node.sandbox import Member, Sandbox
from protocol.certs import Trust

PROVINCE = "510000000000"
COUNTY = "513225000000"
TOWNSHIP = "513225103000"
VILLAGE = "513225103201"
SIBLING = "513225103202"  # the village next door: same township, never sees VILLAGE's people
STAGES = ("planned", "signed", "started", "stable")  # placement stages; "revoked" absorbs


def registry() -> Registry:
    """The field policies the properties exercise; every other field is lww."""
    r = Registry()
    r.declare_set("person", "skills")
    r.declare_lattice("placement", "stage", STAGES, absorbing="revoked")
    return r


@dataclass(frozen=True)
class Province:
    members: dict[str, Member]  # by author name: "village-a", "county", ...
    trust: Trust  # read-only for replicas: they only ask it questions
    registry: Registry

    def home(self, name: str) -> str:
        return self.members[name].scopes[0]

    def replica(self, name: str, wall: Callable[[], int]) -> Replica:
        member = self.members[name]
        return Replica(member.key, self.home(name), self.trust, self.registry, wall=wall)


@pytest.fixture(scope="session")
def province() -> Province:
    box = Sandbox.create(PROVINCE, seed="tests/conflict")
    members = {
        "province": box.members[PROVINCE],
        "county": box.enroll(COUNTY, "county", PROVINCE),
        "township": box.enroll(TOWNSHIP, "township", COUNTY),
        "village-a": box.enroll(VILLAGE, "village", COUNTY),
        # A second laptop in the same village: Sandbox keys members by place, so we keep both here.
        "village-b": box.enroll(VILLAGE, "village", COUNTY),
        "sibling": box.enroll(SIBLING, "village", COUNTY),
    }
    trust = Trust(box.root.public)
    for member in members.values():  # issuers first: dict order is enrollment order
        trust.add_certificate(member.cert)
    return Province(members, trust, registry())
