"""Fixtures of the desk tests: one desk world per module (hubs, node, desk server), a logged-in client,
a Chromium per module for the browser tests; and where the browser tests put their screenshots:
$LAOWU_SCREENSHOTS (docs/screenshots/ when regenerating the README's pictures), else a temporary directory."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from browserkit import chromium, login, signed_in
from deskkit import PASSWORD, USER, DeskWorld
from playwright.sync_api import Browser, Page


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


@pytest.fixture()
def desk(browser: Browser, world: DeskWorld) -> Iterator[Page]:
    """A Chromium page signed in to the module's desk as its operator."""
    assert world.desk is not None
    with signed_in(browser, world.desk.url, USER, PASSWORD) as p:
        yield p


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, one per module (a module that needs its own defines its own)."""
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = os.environ.get("LAOWU_SCREENSHOTS")
    path = Path(where) if where else tmp_path_factory.mktemp("screens")
    path.mkdir(parents=True, exist_ok=True)
    return path
