"""Fixtures for the fault campaigns: fresh PostgreSQL databases (their size and seed: faultkit.py).

`pg_db` hands out fresh databases on the PostgreSQL server at LAOWU_TEST_PG_URL (as tests/hub does:
default postgresql://postgres@127.0.0.1:5432/test), dropped at the end of the session. An
unreachable server skips the PostgreSQL campaign with the reason, except under CI (CI=true),
where it fails.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.engine import make_url

PG_URL = os.environ.get("LAOWU_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _connect(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, connect_timeout=5, autocommit=True)


@pytest.fixture(scope="session")
def pg_db() -> Iterator[Callable[[str], str]]:
    """`pg_db(label)` → the URL of a new, empty PostgreSQL database."""
    try:
        with _connect(PG_URL) as conn:
            conn.execute(b"SELECT 1")
    except Exception as exc:  # whatever stops us reaching it means the same thing here
        shown = make_url(PG_URL).render_as_string(hide_password=True)
        why = " ".join(f"{type(exc).__name__}: {exc}".split())
        message = f"PostgreSQL not reachable at {shown} ({why})"
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail(message + ": CI is set, where the PostgreSQL hub kill campaign must run: "
                        "start PostgreSQL or set LAOWU_TEST_PG_URL")
        pytest.skip(message + ": the PostgreSQL hub kill campaign skipped")
    made: list[str] = []

    def new(label: str) -> str:
        name = f"laowu_f_{label}_{uuid.uuid4().hex[:10]}"
        with _connect(PG_URL) as conn:
            conn.execute(f'CREATE DATABASE "{name}"'.encode())
        made.append(name)
        return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)

    yield new
    with _connect(PG_URL) as conn:
        for name in made:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
