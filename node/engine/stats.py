"""Planner statistics kept current (issue 13 item 6): ANALYZE after bulk loads and as the log grows.

Both backends choose a plan from table statistics. Without them PostgreSQL guesses (a hub whose server
runs with autovacuum off never gets any: ingest per changeset grew 3x from 10k to 100k persons, plans
made for tiny tables), and SQLite picks an index by its shape alone (the log's `status` index for a
pull that should walk `pos`). So statistics are refreshed:

* after a bulk load, at once: a bootstrap, a migration (`refresh`);
* as a store's log grows (`Statistics.wrote`, from `Store.apply`): once the changesets applied since
  the last refresh reach `MIN_ROWS` or `FRACTION` of the log, whichever is more, so a refresh costs
  a constant share of ingest however large the hub grows; and at most `PERIOD_S` after a write, so a
  quiet hub catches up too.

`FRACTION` is half the log, not autovacuum's 10%. A refresh costs in proportion to the tables (up to
its sample), and what a hub needs from it is the shape of the data, which growth barely changes:
PostgreSQL scales the row counts of old statistics by a table's current size at every plan, so the
plan-for-tiny-tables failure is gone after the first refresh. At 10% a 20,000-person county spent
0.8 ms of every changeset's ingest on ANALYZE (1.4 s every 1,800 changesets), twice its share at a
tenth of the size, where `MIN_ROWS` spaced the refreshes (bench/scale.py, docs/operations.md).

PostgreSQL: `ANALYZE` (samples 300 × default_statistics_target rows per table; a few hundred ms at a
million rows, and it takes no lock that stops reads or writes). SQLite: `ANALYZE` bounded by
`PRAGMA analysis_limit`, the work `PRAGMA optimize` does for a table it judges stale, run for every
table because after a bulk load we know they all are (the stdlib sqlite3 here is 3.40, before
`PRAGMA optimize=0x10002` could be told so).
"""
from __future__ import annotations

import logging
import time

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

log = logging.getLogger("laowu.stats")

MIN_ROWS = 1_000
FRACTION = 0.5
PERIOD_S = 3_600.0
SQLITE_ANALYSIS_LIMIT = 1_000  # rows sampled per index: enough to rank indexes, a few ms each


def refresh(engine: Engine) -> None:
    """Recompute the planner's statistics for every table of the database now."""
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql(f"PRAGMA analysis_limit={SQLITE_ANALYSIS_LIMIT}")
        conn.exec_driver_sql("ANALYZE")


class Statistics:
    """When a store refreshes its statistics as it grows (see the module docstring)."""

    def __init__(self, engine: Engine, held: int = 0) -> None:
        self.engine = engine
        self.since = 0  # changesets applied since the last refresh
        self.base = held  # changesets the log held at the last refresh (at open: what it holds)
        self.last = time.monotonic()

    def due(self) -> bool:
        if not self.since:
            return False
        return self.since >= max(MIN_ROWS, FRACTION * self.base) or time.monotonic() - self.last >= PERIOD_S

    def wrote(self, n: int) -> bool:
        """Count `n` changesets applied (after their commit); refresh when due. True if it did."""
        self.since += n
        return self.due() and self.settle()

    def settle(self) -> bool:
        """Refresh now if anything was applied since the last refresh (the end of a bulk load)."""
        if not self.since:
            return False
        started = time.perf_counter()
        try:
            refresh(self.engine)
        except OperationalError as exc:  # the changesets are committed; only the plans wait for the next try
            log.warning("statistics not refreshed: %s", exc)
            return False
        self.base += self.since
        log.info("statistics refreshed after %d changesets in %.0f ms", self.since, (time.perf_counter() - started) * 1e3)
        self.since, self.last = 0, time.monotonic()
        return True
