"""kill -9 of a village node during pull (DESIGN §8: "each pulled batch is applied in one
transaction together with the cursor that covers it"; nothing acknowledged is fetched twice).

A hub (`laowu-hub serve`) holds ~3.4 MB for village 513225103201: a second laptop's registrations,
the county's edits of them, the county's postings, interleaved in its log with a sibling village's
feed the node must never see. The node's `laowu-node sync` runs in a forked child (forker.py; the
console script itself runs once, uninterrupted, as the reference) and is SIGKILLed at random
moments, LAOWU_FAULT_POINTS times (default 10), then run again until it completes, on fresh copies
of the node until the kill points are spent. After each kill the node's database is checked.
"""
from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from faultkit import COUNTY, POINTS, VILLAGES, Figures, build_world, fault_seed, feed, hub_dir, node_store, postings
from pull_campaign import node_kill

from hub.app import Hub
from hub.server import ServerThread
from node.engine.store import Store
from node.sync.client import SyncClient
from protocol import messages


@pytest.fixture(scope="module")
def pulls(tmp_path_factory: pytest.TempPathFactory) -> Figures:
    return node_kill(Path(tmp_path_factory.mktemp("node-kill")), POINTS, seed=fault_seed())


def test_every_kill_of_a_pulling_node_leaves_a_database_that_passes_integrity_check(pulls: Figures) -> None:
    assert pulls.kill_points >= POINTS, pulls.summary()
    assert len(pulls.integrity) == pulls.kill_points and set(pulls.integrity) == {"ok"}, pulls.summary()


def test_the_pull_is_big_enough_to_be_killed_between_batches(pulls: Figures) -> None:
    assert pulls.notes["visible"]["bytes"] > 3 << 20, pulls.summary()  # several 1 MiB pull batches


def test_a_killed_pull_cursor_never_skips_or_runs_ahead_of_the_data(pulls: Figures) -> None:
    assert pulls.skipped == [], pulls.summary()


def test_nothing_pulled_is_half_applied_or_applied_twice_after_a_kill(pulls: Figures) -> None:
    assert pulls.torn == [], pulls.summary()


def test_a_node_killed_during_pull_converges_with_the_hub_when_run_again(pulls: Figures) -> None:
    assert pulls.errors == [] and pulls.divergence == [] and pulls.converged, pulls.summary()


class _Pushes(httpx.HTTPTransport):
    """Counts the envelopes a client sends in pushes."""

    def __init__(self) -> None:
        super().__init__(verify=False)
        self.envelopes = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/push":
            self.envelopes += len(messages.Push.decode(request.read()).envelopes)
        return super().handle_request(request)


def test_what_a_node_pulled_is_not_pushed_back_to_the_hub_it_came_from(tmp_path: Path) -> None:
    """Regression, found by the campaign above: a node pushed every changeset it had just pulled
    back to the same hub (a first pull of 4 MB sent 4 MB back over the village's link), because
    its push cursor did not move past them. Local work waiting to be pushed still goes."""
    w = build_world()
    village = VILLAGES[0]
    url = hub_dir(w, tmp_path / "hub", seed=feed(w.laptops["v1b"].key, village, 40, tag="v1b")
                  + postings(w.county.key, COUNTY, 10))
    hub_store = Store.open(url, w.county.key)
    node = node_store(w, "v1", tmp_path / "v1.sqlite")
    waiting = node_store(w, "v3", tmp_path / "v3.sqlite")
    waiting.write("person", b"\x01" * 16, {"id_number": "513225199001011234", "name": "本地"})
    try:
        with ServerThread(Hub(hub_store)) as server:
            pushes = _Pushes()
            client = SyncClient(node, server.url, w.county.key.public, budget=4096, transport=pushes)
            assert client.sync().pulled == 50
            assert pushes.envelopes == 0
            node.write("person", b"\x02" * 16, {"id_number": "513225199001015678", "name": "新登记"})
            assert client.sync().pushed == 1 and pushes.envelopes == 1
            client.close()

            pushes = _Pushes()  # sealed before pulling: pushed, with what was pulled after it
            client = SyncClient(waiting, server.url, w.county.key.public, budget=4096, transport=pushes)
            waiting.seal()
            report = client.sync()
            client.close()
            assert report.pulled == 10 and report.pushed == 1 and pushes.envelopes >= 1
            assert hub_store.vector()[(waiting.author, waiting.home)] == 1
    finally:
        node.close()
        waiting.close()
        hub_store.close()
