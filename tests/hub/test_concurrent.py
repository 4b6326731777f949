"""Many villages syncing with one county at the same moment all converge there (DESIGN §7, §8)."""
from __future__ import annotations

import os
import threading

from hubkit import VILLAGE, World, feed

from node.engine.store import Store
from node.sync.client import SyncClient, SyncReport

VILLAGES = [f"513225103{n:03d}" for n in range(201, 207)]


def test_concurrent_villages_converge_at_the_county(world: World) -> None:
    assert world.county_url  # the county hub starts before the threads race for it
    written: dict[str, set[bytes]] = {}
    for code in VILLAGES:
        node = world.node(code)
        written[code] = set()
        for i in range(4):
            row = os.urandom(16)
            node.write("job_posting", row, {"title": f"{code} posting {i}"})
            written[code].add(row)
            if i % 2:
                node.seal()  # some sealed ahead of time, some left for sync to seal
    clients = {code: world.client(world.node(code)) for code in VILLAGES}
    start = threading.Barrier(len(VILLAGES))
    reports: dict[str, SyncReport] = {}
    errors: list[BaseException] = []

    def run(code: str) -> None:
        try:
            start.wait()
            reports[code] = clients[code].sync()
        except BaseException as exc:  # reported below, with the village it happened to
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(code,)) for code in VILLAGES]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert errors == [] and len(reports) == len(VILLAGES)

    county = world.county.values("job_posting")
    for code in VILLAGES:
        assert {("job_posting", r) for r in written[code]} <= set(county)
        store: Store = world.node(code)
        assert world.county.vector()[(store.author, code)] == store.vector()[(store.author, code)] == 2
    assert world.county.status().pending == 0


def test_relay_and_village_delivering_the_same_changesets_at_once(world: World) -> None:
    """The county was down, so the village synced with the province; now the county's relay pulls
    those changesets from the province while the village pushes them to the county itself."""
    village = world.node(VILLAGE)
    village.apply([cs.envelope for cs in feed(world.member(VILLAGE).key, VILLAGE, 200)])
    world.sync(VILLAGE, to="province")
    relay, direct = world.client(world.county, "province"), world.client(village)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(client: SyncClient) -> None:
        try:
            start.wait()
            client.sync()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(c,)) for c in (relay, direct)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert errors == []
    assert world.county.vector()[(village.author, VILLAGE)] == 200
    assert world.county.status().forks == 0
