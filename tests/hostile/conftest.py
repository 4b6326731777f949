"""One county hub on loopback for the whole session, under attack by tests/hostile/ (see hostilekit)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from hostilekit import HostileWorld


@pytest.fixture(scope="session")
def hostile_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileWorld]:
    w = HostileWorld(tmp_path_factory.mktemp("hostile"))
    try:
        yield w
    finally:
        w.close()
