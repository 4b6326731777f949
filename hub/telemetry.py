"""What a hub tells its operators about its traffic: structured log events and Prometheus metrics.

The HTTP handlers call a few methods here (a push's outcomes, a refused request, a contact, an
enrollment); each writes one log event (`node.logs`: counts, codes, place codes, short ids, never
personal data) and updates the metrics served at `/metrics` (docs/operations.md lists them):

    laowu_changesets_total{status}          changesets offered by pushes: accepted, duplicate, pending,
                                            held, quarantined, fork, refused (ingest rate: rate(...[5m]))
    laowu_refusals_total{code}              refusals by code, per changeset and per request
    laowu_requests_total{path,status}       requests answered, by endpoint and HTTP status
    laowu_last_contact_timestamp_seconds{place}   when each village (or township, county) last spoke to us
    laowu_pending, laowu_quarantined, laowu_forks, laowu_conflicts, laowu_feeds   the queues, read from the
                                            store at each scrape
    laowu_build_info{version,schema,database}

Each hub has its own registry: several hubs in one process (tests, the simulator) never mix counts.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from node import logs, migrations
from node.engine.schema import SCHEMA_VERSION
from node.engine.store import Store
from node.version import release
from protocol.errors import LaowuError, RemoteError
from protocol.keys import short_id

log = logging.getLogger("laowu.hub")
disable_created_metrics()  # a `_created` twin of every counter series is noise on a dashboard


class _Queues(Collector):
    """The store's queue sizes, read when Prometheus scrapes (five COUNT queries)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterable[GaugeMetricFamily]:
        st = self.store.status()
        for name, value, help in (
            ("laowu_pending", st.pending, "changesets waiting for an earlier seq of their feed"),
            ("laowu_quarantined", st.quarantined, "changesets stamped too far ahead, held for staff or time"),
            ("laowu_forks", st.forks, "forked feeds reported (two changesets at one feed position)"),
            ("laowu_conflicts", st.conflicts, "unresolved semantic conflicts for county staff"),
            ("laowu_feeds", st.feeds, "feeds held"),
        ):
            yield GaugeMetricFamily(name, help, value=value)


class Telemetry:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.registry = CollectorRegistry()
        self.changesets = Counter("laowu_changesets", "changesets offered by pushes, by outcome", ["status"],
                                  registry=self.registry)
        self.refusals = Counter("laowu_refusals", "refusals by code, per changeset and per request", ["code"],
                                registry=self.registry)
        self.requests = Counter("laowu_requests", "requests answered, by endpoint and HTTP status",
                                ["path", "status"], registry=self.registry)
        self.contact_at = Gauge("laowu_last_contact_timestamp_seconds", "when each place last spoke to this hub",
                                ["place"], registry=self.registry)
        info = Gauge("laowu_build_info", "the running build", ["version", "schema", "database"], registry=self.registry)
        info.labels(release(), str(SCHEMA_VERSION), ",".join(migrations.heads())).set(1)
        self.registry.register(_Queues(store))
        self.last_contact: dict[str, float] = {}
        self.refused_by_place: dict[str, int] = {}  # changesets refused per pushing place since start (the console)

    def metrics(self) -> bytes:
        return generate_latest(self.registry)

    def contact(self, place: str) -> None:
        now = time.time()
        self.last_contact[place] = now
        self.contact_at.labels(place).set(now)

    def answered(self, path: str, status: int) -> None:
        self.requests.labels(path, str(status)).inc()

    def pushed(self, author: bytes, home: str, results: Sequence[dict[str, Any]]) -> None:
        counts: dict[str, int] = {}
        for r in results:
            status = str(r.get("status"))
            counts[status] = counts.get(status, 0) + 1
            self.changesets.labels(status).inc()
            if status == "refused":
                self.refused_by_place[home] = self.refused_by_place.get(home, 0) + 1
            if status in ("refused", "quarantined", "fork"):
                code = str(r.get("code") or status)
                self.refusals.labels(code).inc()
                cs = r.get("id")
                logs.event(log, f"push.{status}", logging.WARNING, peer=short_id(author), place=home,
                           changeset=cs.hex()[:12] if isinstance(cs, bytes) else None, code=code,
                           reason=r.get("reason"))
        logs.event(log, "push", peer=short_id(author), place=home, outcomes=counts)

    def refused(self, method: str, path: str, status: int, exc: RemoteError) -> None:
        self.refusals.labels(exc.code).inc()
        logs.event(log, "request.refused", logging.WARNING, method=method, path=path, status=status, code=exc.code,
                   reason=str(exc))

    def failed(self, method: str, path: str, exc: LaowuError) -> None:
        logs.event(log, "request.failed", logging.ERROR, method=method, path=path, code=exc.code, error=str(exc))

    def enrolled(self, place: str, role: str, subject: bytes) -> None:
        logs.event(log, "enroll", place=place, role=role, key=short_id(subject))
