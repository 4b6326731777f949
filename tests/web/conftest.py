"""Fixtures of the desk tests: one desk world per module (hubs, node, desk server), a logged-in client."""
from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from deskkit import DeskWorld


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeskWorld]:
    w = DeskWorld(tmp_path_factory.mktemp("desk"))
    w.serve()
    yield w
    w.close()


@pytest.fixture()
def client(world: DeskWorld) -> Iterator[httpx.Client]:
    assert world.desk is not None
    with httpx.Client(base_url=world.desk.url, follow_redirects=False, timeout=30) as c:
        world.login(c)
        yield c
