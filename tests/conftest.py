"""Shared test setup: one deterministic province, small on purpose.

The sandbox is derived from fixed seeds, so its keys and certificates are the same on every run;
`tests/fixtures/make_bad_envelopes.py` builds its corpus against `build_sandbox()` for that reason.
Changing the enrollment order here changes every key: regenerate the corpus if you do.
"""
from __future__ import annotations

from pathlib import Path

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


# The slowest test files, in seconds of one pytest-xdist worker (four workers on the project's 2-core
# machine while other work loaded it, 2026-11-28; only their order matters). `make test` hands out whole
# files (`--dist loadfile`) in collection order, so a long file collected last kept one worker busy for
# minutes after the others ran dry; started first, the long files overlap the many short ones.
SLOW_FILES = {
    "tests/hub/test_identity_e2e.py": 685, "tests/node/test_cli.py": 471, "tests/sim/test_sim.py": 459,
    "tests/hub/test_erasure_e2e.py": 325, "tests/sim/test_regressions.py": 256, "tests/node/test_at_rest.py": 240,
    "tests/hub/test_exit_codes.py": 231, "tests/hub/test_uneven_fleet.py": 156, "tests/hub/test_backup.py": 150,
    "tests/hub/test_console_cli.py": 129, "tests/test_dist.py": 125, "tests/faults/test_hub_kill_pg.py": 109,
    "tests/hub/test_secrets.py": 107, "tests/hub/test_release_upgrade.py": 104, "tests/hub/test_wire_rollout.py": 88,
    "tests/faults/test_hub_kill.py": 88, "tests/node/test_cli_honest.py": 84, "tests/node/test_store_convergence.py": 82,
    "tests/conflict/test_convergence.py": 79, "tests/faults/test_node_kill.py": 60, "tests/node/test_cross_village.py": 53,
    "tests/hub/test_filings.py": 52, "tests/conflict/test_policies.py": 49, "tests/hub/test_issuer_revocation.py": 42,
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Longest files first (a stable sort: tests keep their order within a file, the rest theirs)."""
    root = Path(str(config.rootpath))

    def weight(item: pytest.Item) -> int:
        return SLOW_FILES.get(Path(str(item.path)).relative_to(root).as_posix(), 0)

    items.sort(key=lambda item: -weight(item))


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
