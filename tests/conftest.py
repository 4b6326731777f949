"""Shared test setup: one deterministic province, small on purpose.

The sandbox is derived from fixed seeds, so its keys and certificates are the same on every run;
`tests/fixtures/make_bad_envelopes.py` builds its corpus against `build_sandbox()` for that reason.
Changing the enrollment order here changes every key: regenerate the corpus if you do.
"""
from __future__ import annotations

import pytest

from node.sandbox import Sandbox
from protocol.certs import Trust

PROVINCE = "510000000000"
COUNTY = "513225000000"
TOWNSHIP = "513225103000"
VILLAGE = "513225103201"
SIBLING = "513225103202"
# A fixed "now" inside the sandbox certificates' validity (2020-09 .. 2040): 2023-11-14T22:13:20Z.
NOW_MS = 1_700_000_000_000


def build_sandbox() -> Sandbox:
    box = Sandbox.create(PROVINCE)
    box.enroll(COUNTY, "county", PROVINCE)
    box.enroll(TOWNSHIP, "township", COUNTY)
    box.enroll(VILLAGE, "village", COUNTY)
    box.enroll(SIBLING, "village", COUNTY)
    return box


@pytest.fixture
def sandbox() -> Sandbox:
    """Province 510000000000 → county 513225000000 → township 513225103000, villages 201 and 202."""
    return build_sandbox()


@pytest.fixture
def trust(sandbox: Sandbox) -> Trust:
    """A replica's trust store pinned at the sandbox root, knowing every sandbox certificate."""
    return sandbox.trust()


@pytest.fixture
def now_ms() -> int:
    """The fixed "now" tests judge certificates and clock bounds at."""
    return NOW_MS
