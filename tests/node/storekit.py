"""Helpers shared by the store tests, their fixtures (conftest.py) and the crash worker subprocess.

One deterministic province of real keys and certificates (derived from a fixed seed, so a failing
hypothesis example or a crash run replays exactly), SQLite stores on it, and the checks that read
a store's database back: a full dump for "changes nothing", the materialized tables, and the
invariants a crash must not break.
"""
from __future__ import annotations

import atexit
import os
import random
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import msgpack
from sqlalchemy import event, select, text

from conflict.row import RowState, merge_row

from node.engine import tables as t
from node.engine import schema
from node.domain.person import Person
from node.engine.replica import Replica
from node.sandbox import Member, Sandbox
from node.engine.store import Store
from protocol.certs import Trust
from protocol.changeset import Change, Value, seal

PROVINCE = "510000000000"
COUNTY = "513225000000"
TOWNSHIP = "513225103000"
VILLAGE = "513225103201"
SIBLING = "513225103202"  # the village next door: same township, never sees VILLAGE's people
NOW_MS = 1_700_000_000_000  # 2023-11-14, inside the sandbox certificates' validity
MINUTE = 60_000

Values = dict[tuple[str, bytes], dict[str, Value] | None]


def scratch(prefix: str) -> tempfile.TemporaryDirectory[str]:
    """A temporary directory in memory where there is one: property tests check convergence, not
    durability (test_crash.py does that on disk), and fsync on a busy disk would dominate them."""
    shm = "/dev/shm"
    return tempfile.TemporaryDirectory(prefix=prefix, dir=shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None)


_TEMPLATES: dict[tuple[str, bytes], Path] = {}
_TEMPLATE_DIR: list[tempfile.TemporaryDirectory[str]] = []


class Clock:
    """A wall clock the test moves by hand: `Store(..., wall=clock)`."""

    def __init__(self, ms: int = NOW_MS) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


@dataclass
class Province:
    """Keys by name: county, township, village-a and village-b (two laptops of VILLAGE), sibling."""

    box: Sandbox
    members: dict[str, Member] = field(default_factory=dict)

    def home(self, name: str) -> str:
        return self.members[name].scopes[0]

    def certs(self) -> list[bytes]:
        """Every certificate, issuers first."""
        return [self.box.members[PROVINCE].cert] + [m.cert for n, m in self.members.items() if n != "province"]

    def trust(self) -> Trust:
        trust = Trust(self.box.root.public)
        for raw in self.certs():
            trust.add_certificate(raw)
        return trust

    def create(self, name: str, path: str | Path, wall: Callable[[], int] | None = None, **kw: Any) -> Store:
        member = self.members[name]
        return Store.create(str(path), member.key, self.home(name), self.box.root.public, self.certs(),
                            wall=wall or Clock(), **kw)

    def fresh(self, name: str, path: str | Path, wall: Callable[[], int] | None = None) -> Store:
        """Like `create`, from a copy of a template database made once per process: creating the
        tables takes longer than a whole property-test example should."""
        key = (name, self.members[name].key.public)
        template = _TEMPLATES.get(key)
        if template is None:
            if not _TEMPLATE_DIR:
                _TEMPLATE_DIR.append(scratch("laowu-templates-"))
                atexit.register(_TEMPLATE_DIR[0].cleanup)
            template = Path(_TEMPLATE_DIR[0].name) / f"{name}-{len(_TEMPLATES)}.db"
            self.create(name, template).close()  # the last connection closing checkpoints the WAL
            _TEMPLATES[key] = template
        shutil.copyfile(template, path)
        return self.open(name, path, wall=wall)

    def open(self, name: str, path: str | Path, wall: Callable[[], int] | None = None, **kw: Any) -> Store:
        return Store.open(str(path), self.members[name].key, wall=wall or Clock(), **kw)

    def replica(self, name: str, wall: Callable[[], int] | None = None) -> Replica:
        """The in-memory implementation, for cross-checking a store."""
        member = self.members[name]
        return Replica(member.key, self.home(name), self.trust(), schema.registry(), wall=wall or Clock())


def build_province() -> Province:
    box = Sandbox.create(PROVINCE, seed="tests/node")
    p = Province(box)
    p.members["county"] = box.enroll(COUNTY, "county", PROVINCE)
    p.members["township"] = box.enroll(TOWNSHIP, "township", COUNTY)
    p.members["village-a"] = box.enroll(VILLAGE, "village", COUNTY)
    p.members["village-b"] = box.enroll(VILLAGE, "village", COUNTY)  # a second laptop in the same village
    p.members["sibling"] = box.enroll(SIBLING, "village", COUNTY)
    return p


def person(n: int, place: str = VILLAGE) -> tuple[bytes, str]:
    """Row id and ID number of test person `n` registered in `place` (the number is a fixed-width
    stand-in, not validated here). The id is placed like every new record's, and the same in every
    process (the crash worker and its test compute it alike)."""
    id_number = f"5132251990{n:07d}X"[:18]
    return schema.derived_row_id(place, b"tests/node person", str(n).encode()), id_number


def history(province: Province, n: int = 300, seed: int = 7) -> list[bytes]:
    """`n` signed changesets of three feeds, interleaved: the two laptops of VILLAGE and the county
    (writing in VILLAGE too). Registrations, edits of rows another feed registered (sometimes
    before that registration is delivered), skills added, and a few deletes: one bundle's worth of
    a busy week, for the crash and disk-full tests."""
    rnd = random.Random(seed)
    authors = [province.members[name].key for name in ("village-a", "village-b", "county")]
    heads: list[tuple[int, bytes | None]] = [(0, None)] * len(authors)
    out: list[bytes] = []
    stamp = NOW_MS << 16
    for i in range(n):
        a = i % len(authors)
        changes = []
        for _ in range(rnd.randint(3, 6)):
            stamp += 1
            row, id_number = person(rnd.randrange(n // 2))
            kind = rnd.random()
            if kind < 0.35:
                changes += [Change("person", row, f, v, stamp) for f, v in
                            (("scope", VILLAGE), ("id_number", id_number), ("name", f"工人{i}"))]
            elif kind < 0.7:
                changes.append(Change("person", row, "phone", f"138{rnd.randrange(10**8):08d}", stamp))
            elif kind < 0.97:
                changes.append(Change("person", row, "skills", ["+", rnd.choice(["电工", "焊工", "厨师"])], stamp))
            else:
                changes.append(Change("person", row, "*", "delete", stamp))
        seq, prev = heads[a]
        cs = seal(authors[a], VILLAGE, seq + 1, prev, changes)
        heads[a] = (cs.seq, cs.id)
        out.append(cs.envelope)
    return out


# -- reading a database back ---------------------------------------------------------------------


def dump(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted: equal dumps mean nothing changed."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with store.engine.connect() as conn:
        for tbl in t.metadata.sorted_tables:
            out[tbl.name] = sorted((tuple(r) for r in conn.execute(select(tbl))), key=repr)
    return out


def people(store: Store) -> dict[str, dict[str, Any]]:
    """The materialized person table, by row id."""
    with store.engine.connect() as conn:
        return {r.id: dict(r._mapping) for r in conn.execute(select(Person.__table__))}  # type: ignore[attr-defined]


def expected_people(values: Values) -> dict[str, dict[str, Any]]:
    """What the person table must hold for these merged values: live rows with their required fields."""
    out: dict[str, dict[str, Any]] = {}
    for (tbl, row), v in values.items():
        if tbl != "person" or v is None or v.get("id_number") is None or v.get("name") is None or v.get("scope") is None:
            continue
        out[row.hex()] = schema.materialize(Person, row.hex(), v)
    return out


def integrity(path: str | Path) -> str:
    con = sqlite3.connect(str(path))
    try:
        return str(con.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        con.close()


def applied_log(store: Store) -> list[Any]:
    with store.engine.connect() as conn:
        return conn.execute(select(t.log).where(t.log.c.status == "applied")
                            .order_by(t.log.c.author, t.log.c.scope, t.log.c.seq)).all()


def check_whole(store: Store, province: Province, observer: str, replica: Replica | None = None) -> Replica:
    """No half-applied state. Heads agree with the log; every applied changeset verifies and is chained; the merge
    state is exactly the applied changesets plus the open local changes (an in-memory replica fed
    exactly those holds the same values); the materialized rows agree with the merge state.

    Pass the replica a previous check returned to feed it only what is new (no open changes then).
    """
    log = applied_log(store)
    with store.engine.connect() as conn:
        heads = {(r.author, r.scope): (r.seq, r.id) for r in conn.execute(select(t.heads))}
        open_changes = [Change(*msgpack.unpackb(r.change)) for r in conn.execute(select(t.open_changes.c.change))]
    by_feed: dict[tuple[bytes, str], list[Any]] = {}
    for r in log:
        by_feed.setdefault((r.author, r.scope), []).append(r)
    assert set(by_feed) == set(heads), "a feed has applied changesets but no head, or a head but no log"
    for feed, rows in by_feed.items():
        assert [r.seq for r in rows] == list(range(1, len(rows) + 1)), f"applied seqs of {feed} are not contiguous"
        assert heads[feed] == (rows[-1].seq, rows[-1].id), f"head of {feed} does not match its log"
    if replica is None:
        replica = province.replica(observer, wall=Clock(NOW_MS + 24 * 3600_000))
    for r in log:  # in feed order: each must verify and be the next link of its chain
        if r.seq not in replica.held.get((r.author, r.scope), {}):  # a replica passed in continues
            assert replica.receive(r.envelope).status == "accepted", f"applied changeset {r.seq} of {r.scope} is not chained"
    registry = schema.registry()
    for c in open_changes:  # written and committed locally, not sealed yet
        key = (c.table, c.row)
        replica.rows[key], _ = merge_row(replica.rows.get(key, RowState()), c.table, [(c, store.author)], registry)
    values = store.values()
    assert values == replica.values(), "the merge state is not exactly the applied and open changes"
    assert people(store) == expected_people(values), "materialized rows differ from the merge state"
    return replica


@contextmanager
def transactions(store: Store) -> Iterator[list[int]]:
    """Count the transactions `store` begins inside the block. On SQLite each one, a read's too, is
    BEGIN IMMEDIATE (`node.engine.db`): it takes the database's write lock, and a write's commit is an fsync."""
    seen: list[int] = []

    def count(_conn: object) -> None:
        seen.append(1)

    event.listen(store.engine, "begin", count)
    try:
        yield seen
    finally:
        event.remove(store.engine, "begin", count)


def sqlite_pages(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(text("PRAGMA page_count")).scalar_one())


def files_in(path: str | Path) -> list[str]:
    return sorted(os.listdir(path))
