"""A network that cuts, stalls and duplicates (DESIGN §8): three village laptops (two of them in one
village) sync with a real hub process through proxy.FaultProxy, whose seeded schedule cuts requests
and answers mid-body, holds them past the clients' one-second timeout, delivers them late, and
delivers them twice. They write between rounds (new people, edits of the same people on both
laptops of a village) until every kind of fault has struck, then sync on until a round is quiet.
"""
from __future__ import annotations

import logging
import socket
import time
from pathlib import Path

import httpx
import pytest
from faultkit import Figures, build_world, fault_seed, hub_dir
from network_campaign import through_proxy
from proxy import FAULTS

from hub.app import Hub
from hub.server import ServerThread
from node.engine.store import Store


@pytest.fixture(scope="module")
def flaky(tmp_path_factory: pytest.TempPathFactory) -> Figures:
    return through_proxy(Path(tmp_path_factory.mktemp("proxy")), seed=fault_seed())


def test_every_kind_of_network_fault_struck(flaky: Figures) -> None:
    assert all(flaky.faults.get(kind, 0) >= 1 for kind in FAULTS), flaky.summary()
    assert flaky.notes["failed_syncs"] > 0, flaky.summary()


def test_nothing_acknowledged_through_a_faulty_network_is_missing(flaky: Figures) -> None:
    assert flaky.acknowledged > 0 and flaky.lost == [], flaky.summary()


def test_duplicated_requests_cause_no_fork_and_no_double_apply(flaky: Figures) -> None:
    assert flaky.torn == [], flaky.summary()


def test_replicas_converge_after_a_faulty_network_goes_quiet(flaky: Figures) -> None:
    assert set(flaky.integrity) == {"ok"}, flaky.summary()
    assert flaky.errors == [] and flaky.divergence == [] and flaky.converged, flaky.summary()


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(record.getMessage())


def test_a_request_cut_mid_body_is_the_clients_doing_not_a_server_error(tmp_path: Path) -> None:
    """Regression: a cut request body raised starlette's ClientDisconnect through the endpoint, and
    uvicorn logged "Exception in ASGI application" with a traceback for every pulled cable."""
    w = build_world()
    url = hub_dir(w, tmp_path / "hub")
    store = Store.open(url, w.county.key)
    records = _Records()
    server = ServerThread(Hub(store))  # uvicorn configures its loggers here: listen after this
    logging.getLogger("uvicorn.error").addHandler(records)
    try:
        with server:
            with socket.create_connection(("127.0.0.1", server.port)) as s:
                s.sendall(b"POST /v1/push HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/vnd.laowu+msgpack\r\n"
                          b"content-length: 1000\r\n\r\n" + b"\x85" * 10)
                time.sleep(0.2)  # the hub is reading the body when the cable is pulled
            time.sleep(0.5)
            assert httpx.get(server.url + "/v1/health", timeout=5).status_code == 200
    finally:
        logging.getLogger("uvicorn.error").removeHandler(records)
        store.close()
    assert records.seen == []
