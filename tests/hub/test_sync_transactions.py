"""A node's sync reads what it needs before the network in one transaction and writes what it
learnt after in one (`node.sync.prior`, docs/engine.md "hello + pull"), against a real hub on
loopback; a change saved before a sync is still sealed and pushed by it, and one saved while a
sync is under way by the next."""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import httpx
from hubkit import VILLAGE, World
from sqlalchemy import event

from node.engine.store import Store
from node.sync import legacy


@contextmanager
def transactions(store: Store) -> Iterator[list[str]]:
    """The transactions `store` opens meanwhile: "write" for one that wrote, else "read"."""
    seen: list[str] = []

    def began(conn: object) -> None:
        seen.append("read")

    def wrote(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().split(None, 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"} and seen:
            seen[-1] = "write"

    event.listen(store.engine, "begin", began)
    event.listen(store.engine, "before_cursor_execute", wrote)
    try:
        yield seen
    finally:
        event.remove(store.engine, "begin", began)
        event.remove(store.engine, "before_cursor_execute", wrote)


def test_a_sync_in_step_reads_once_before_the_network_and_writes_once_after(world: World) -> None:
    village = world.node(VILLAGE)
    first = os.urandom(16)
    village.write("job_posting", first, {"title": "第一次"})
    assert world.sync(VILLAGE).counts == {"accepted": 1}
    assert legacy.signs(village, world.county.author) and legacy.binds(village, world.county.author)

    with transactions(village) as seen:
        report = world.sync(VILLAGE)
    assert (report.pushed, report.pulled, report.sealed) == (0, 0, 0)
    assert seen == ["read", "write"], seen  # cursors, pins, heads, open and unpushed; then the cursor and time
    # That write's commit does not wait for the disk; every connection the store pools still does.
    with ExitStack() as stack:
        conns = [stack.enter_context(village.engine.connect()) for _ in range(5)]
        assert {c.connection.dbapi_connection.execute("PRAGMA synchronous").fetchone()[0] for c in conns} == {2}

    second = os.urandom(16)
    village.write("job_posting", second, {"title": "第二次"})
    report = world.sync(VILLAGE)
    assert (report.sealed, report.pushed) == (1, 1)
    assert ("job_posting", second) in world.county.values("job_posting")


class SaveDuringHello(httpx.HTTPTransport):
    """A real transport that, once the hub has answered the hello, saves a change at the village:
    an operator's save landing while the sync talks to the hub."""

    def __init__(self, village: Store, row: bytes) -> None:
        super().__init__()
        self.village, self.row = village, row

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        resp = super().handle_request(request)
        if request.url.path == "/v1/hello":
            self.village.write("job_posting", self.row, {"title": "同步中保存"})
        return resp


def test_a_change_saved_during_a_sync_goes_with_the_next(world: World) -> None:
    village = world.node(VILLAGE)
    world.sync(VILLAGE)
    late = os.urandom(16)
    report = world.client(village, transport=SaveDuringHello(village, late)).sync()
    assert report.sealed == 0  # read before the hello: nothing waited to be sealed then
    assert ("job_posting", late) in village.values("job_posting")
    report = world.sync(VILLAGE)
    assert (report.sealed, report.pushed) == (1, 1)
    assert ("job_posting", late) in world.county.values("job_posting")
