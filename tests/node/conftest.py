"""Fixtures for the node tests: one deterministic province and SQLite stores on it.

The helpers behind them live in `storekit.py` (plain functions, shared with the crash worker
subprocess, which cannot use fixtures).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from storekit import Clock, Province, build_province

from node.domain.rules import RULES
from node.engine.store import Store


@pytest.fixture(scope="session")
def province() -> Province:
    """Keys and certificates: county, township, village-a and village-b (one village), sibling."""
    return build_province()


@pytest.fixture
def clock() -> Clock:
    """A wall clock at NOW_MS that the test moves by hand; stores made by `make_store` share it."""
    return Clock()


@pytest.fixture
def make_store(province: Province, clock: Clock, tmp_path: Path) -> Iterator[Callable[..., Store]]:
    """`make_store("county")` → a fresh SQLite store of that key in tmp_path, closed at teardown."""
    made: list[Store] = []

    def make(name: str, file: str | None = None, **kw: Any) -> Store:
        kw.setdefault("wall", clock)
        store = province.create(name, tmp_path / (file or f"{name}.db"), **kw)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture
def village(make_store: Callable[..., Store]) -> Store:
    """Village 513225103201's laptop (village-a), running the domain's semantic rules."""
    return make_store("village-a", rules=RULES)


@pytest.fixture
def county(make_store: Callable[..., Store]) -> Store:
    """The county hub 513225000000's store, running the domain's semantic rules."""
    return make_store("county", rules=RULES)


@pytest.fixture
def sibling(make_store: Callable[..., Store]) -> Store:
    """Village 513225103202, next door to `village`: neither sees the other's records."""
    return make_store("sibling", rules=RULES)
