"""What the store and hub benchmarks run on: one sandbox province and villages of realistic people.

People come from `node.domain.generate` (seeded: the same village every run). Each person is one card, one
signed changeset of ~17 field changes on the village's feed, holding what `Store.write` writes for a
new card: the scope, then the values `node.domain.card.clean_person` leaves, then one set add per
skill, each with its own clock stamp. The county is 昭觉县 (513431, Liangshan); its villages hang
under 新城镇 (513431100).

A village database is made by sealing those changesets directly and applying them to the village's
own store in large batches, as a node restored from a backup receives its own feed back: seconds,
where 5,000 separate write and seal transactions take half a minute. `village()` checks the first
card against a real `Store.write` + `Store.seal`, so the shortcut cannot drift from the write path.
Databases are built once per run, in a temporary directory removed at exit, with fsync off while
building (`synchronous=OFF`: the file is the same, only the build is faster); a benchmark copies the
file it needs and opens the copy with the node's own settings (WAL, `synchronous=FULL`).
`RawUpsert` is the baseline the apply and ingest rates are set against.
"""
from __future__ import annotations

import atexit
import functools
import itertools
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, select

from conflict.orset import add_op
from node.engine import tables as t
from node.domain import generate
from node.engine import schema
from node.engine.db import make_engine
from conflict.row import SALT
from node.engine.redact import salted
from node.domain import card
from node.sandbox import Member, Sandbox
from node.engine.store import Store
from protocol import clock, codec
from protocol.changeset import BODIES, Change, Value, body_changes, seal

PROVINCE = "510000000000"
COUNTY = "513431000000"  # 四川省凉山彝族自治州昭觉县
VILLAGE = "513431100201"  # the village of the store figures and of bootstrap: 5,000 people
HUB_VILLAGES = tuple(f"513431100{202 + i}" for i in range(16))  # the concurrent clients of bench.hub
TODAY = date(2025, 6, 1)  # ages are counted on it; inside the sandbox certificates' validity
BIG = 5_000  # people in VILLAGE


@dataclass
class World:
    box: Sandbox
    county: Member
    villages: dict[str, Member]
    spare: Member  # a second device of VILLAGE: a new laptop bootstrapping from the hub

    def chain(self, m: Member) -> list[bytes]:
        """The certificates from the root down to `m` (a village or the county)."""
        root = self.box.members[PROVINCE].cert
        return [root, m.cert] if m is self.county else [root, self.county.cert, m.cert]


@functools.cache
def world() -> World:
    """Keys derive from the sandbox seed and the enrollment order, which is fixed here."""
    box = Sandbox.create(PROVINCE, seed="laowu-bench")
    county = box.enroll(COUNTY, "county", PROVINCE)
    villages = {code: box.enroll(code, "village", COUNTY) for code in (VILLAGE, *HUB_VILLAGES)}
    spare = box.enroll(VILLAGE, "village", COUNTY)
    return World(box, county, villages, spare)


@functools.cache
def tmpdir() -> Path:
    path = Path(tempfile.mkdtemp(prefix="laowu-bench-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


_serial = itertools.count(1)


def fresh_path(label: str) -> Path:
    """A new database path in the run's directory (never reused)."""
    return tmpdir() / f"{label}-{next(_serial)}.sqlite"


def people(code: str, n: int, seed: int) -> list[generate.Person]:
    return generate.people(random.Random(seed), COUNTY, f"村{code[-3:]}", n, county="昭觉县", township="新城镇",
                           city="西昌", today=TODAY)


def form(p: generate.Person) -> dict[str, Any]:
    """A generated person as the card form an operator fills in (`ops.register_person` takes it)."""
    f: dict[str, Any] = {
        "id_number": p["id_number"], "name": p["name"], "phone": p["phone"], "education": p["education"],
        "skills": p["skills"], "health": p["health"], "poverty_status": p["poverty_status"],
        "two_after": p["lianghousheng"], "household_address": p["household_address"],
        "employment": "已就业" if p["employed"] else "未就业", "region_class": p["work_region_class"],
        "employer": p["employer"], "position": p["position"], "monthly_pay": p["monthly_pay"],
        "satisfaction": p["satisfaction"], "willing_to_migrate": p["willing_to_migrate"],
        "intended_region": p["intended_region_class"], "intended_industry": p["intended_industry"],
        "intended_pay": p["expected_pay"],
    }
    return {k: v for k, v in f.items() if v is not None}


def card_write(code: str, p: generate.Person) -> tuple[bytes, list[tuple[str, Value]]]:
    """A new row id in village `code` and the (field, value) pairs of one card, as one `Store.write`
    takes them."""
    values, skills, certificates = card.clean_person(form(p), today=TODAY)
    row = schema.new_row_id(code)
    items: list[tuple[str, Value]] = list(values.items())
    items += [("skills", add_op(s)) for s in skills] + [("certificates", add_op(c)) for c in certificates]
    return row, items


def build_engine(path: Path) -> Engine:
    """The node's engine with fsync off: for building datasets only."""
    engine = make_engine(path)

    @event.listens_for(engine, "connect")
    def _no_fsync(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        dbapi_conn.execute("PRAGMA synchronous=OFF")

    return engine


def node_store(code: str, path: Path | str | Engine, member: Member | None = None) -> Store:
    w = world()
    m = member or w.villages[code]
    return Store.create(path, m.key, code, w.box.root.public, w.chain(m))


def hub_store(target: Path | str | Engine) -> Store:
    w = world()
    return Store.create(target, w.county.key, COUNTY, w.box.root.public, w.chain(w.county))


_built: dict[tuple[str, int, int], Path] = {}
BUILD_BATCH = 500  # changesets per apply() while building


def card_changes(code: str, p: generate.Person, hlc: clock.HLC) -> list[Change]:
    """The changes `Store.write` makes for a new card of `p` in village `code`."""
    row, items = card_write(code, p)
    return [Change("person", row, f, v, hlc.now()) for f, v in [("scope", code), *salted("person", items)]]


def village(code: str, n: int, seed: int) -> Path:
    """A village node database with `n` registered people, one changeset each (built once per run).

    Never open it in place: `copy` it first."""
    key = (code, n, seed)
    if key not in _built:
        started = time.perf_counter()
        m = world().villages[code]
        folk = people(code, n, seed)
        hlc = clock.HLC()
        envs, prev = [], None
        for seq, p in enumerate(folk, 1):
            cs = seal(m.key, code, seq, prev, card_changes(code, p, hlc))
            envs.append(cs.envelope)
            prev = cs.id
        _check_like_write(code, folk[0], envs[0])
        path = tmpdir() / f"village-{code}-{n}-{seed}.sqlite"
        store = node_store(code, build_engine(path))
        for i in range(0, len(envs), BUILD_BATCH):
            outcomes = store.apply(envs[i : i + BUILD_BATCH])
            if any(o["status"] != "accepted" for o in outcomes):
                raise AssertionError(f"the village refused its own changesets: {outcomes[0]}")
        store.close()
        _check_closed(path)
        _built[key] = path
        print(f"  built {path.name}: {n} people in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return _built[key]


def village_day(code: str, n: int, seed: int) -> Path:
    """A village node database with `n` people registered by `Store.write` and sealed by one
    `Store.seal`, as a node seals a day's work when it syncs with a hub that reads body v2: one
    changeset for the lot, not pushed yet (built once per run; `copy` it first)."""
    key = (code, -n, seed)
    if key not in _built:
        path = tmpdir() / f"village-{code}-{n}-{seed}-day.sqlite"
        store = node_store(code, build_engine(path))
        for p in people(code, n, seed):
            store.write("person", *card_write(code, p))
        store.learn_bodies(BODIES)  # what the county's hello answer tells it
        sealed = store.seal()
        store.close()
        if len(sealed) != 1 or sealed[0].body != 2:
            raise AssertionError(f"a day of {n} cards sealed as {len(sealed)} changesets, not one v2")
        _check_closed(path)
        _built[key] = path
    return _built[key]


def _check_like_write(code: str, p: generate.Person, envelope: bytes) -> None:
    """The first card, written and sealed by a real store, gives the same changes but for the stamps."""
    store = node_store(code, build_engine(fresh_path("check")))
    try:
        row, items = card_write(code, p)
        store.write("person", row, items)
        (real,) = store.seal()
    finally:
        store.close()
    made = open_unchecked(envelope)
    # Row ids and the erasure salt are random: ids compared by place, salts by being there, the rest as it is.
    if [[c[0], schema.row_place(c[1]), c[2], c[3] if c[2] != SALT else len(c[3])] for c in made] != [
            [c.table, schema.row_place(c.row), c.field, c.value if c.field != SALT else len(c.value)]
            for c in real.changes]:
        raise AssertionError("bench.datasets no longer makes the changes Store.write makes: update card_changes")


def open_unchecked(envelope: bytes) -> list[list[Any]]:
    """The changes of an envelope (body v1 or v2) as wire lists, signature not checked."""
    return list(body_changes(codec.unpack(envelope, max_bytes=1 << 20, what="envelope")["body"])[1])


def copy(src: Path, label: str) -> Path:
    dst = fresh_path(label)
    shutil.copyfile(src, dst)
    return dst


def _check_closed(path: Path) -> None:
    """A closed SQLite database has folded its WAL back into the file: the file alone is the database."""
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise RuntimeError(f"{path} still has a write-ahead log; close every connection before copying it")


def envelopes(path: Path) -> list[bytes]:
    """The applied changesets of a database's log, in log order."""
    store = Store.open(path, None)
    try:
        with store.engine.connect() as conn:
            q = select(t.log.c.envelope).where(t.log.c.status == "applied").order_by(t.log.c.pos)
            return [r.envelope for r in conn.execute(q)]
    finally:
        store.close()


def changes_in(envs: list[bytes]) -> int:
    """Field changes in envelopes (without checking signatures)."""
    return sum(len(open_unchecked(env)) for env in envs)


class RawUpsert:
    """The floor for storing the same rows: plain `sqlite3`, one table with the columns and indexes of
    the store's `person` table, the final rows upserted with one `executemany` of INSERT ... ON
    CONFLICT (id) DO UPDATE in one transaction, under the node's pragmas (WAL, synchronous=FULL)."""

    def __init__(self, source: Path) -> None:
        """`source`: a database whose `person` table holds the rows (its materialized values)."""
        con = sqlite3.connect(source)
        try:
            self.ddl = [sql for (sql,) in con.execute(
                "SELECT sql FROM sqlite_master WHERE tbl_name = 'person' AND sql IS NOT NULL ORDER BY type DESC")]
            cur = con.execute("SELECT * FROM person ORDER BY id")
            self.columns = [d[0] for d in cur.description]
            self.rows = cur.fetchall()
        finally:
            con.close()
        names = ", ".join(self.columns)
        marks = ", ".join("?" for _ in self.columns)
        sets = ", ".join(f"{c} = excluded.{c}" for c in self.columns if c != "id")
        self.sql = f"INSERT INTO person ({names}) VALUES ({marks}) ON CONFLICT (id) DO UPDATE SET {sets}"

    def prepare(self) -> Callable[[], None]:
        """A fresh database with the empty table (untimed); returns the timed upsert."""
        con = sqlite3.connect(fresh_path("raw"), isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        for sql in self.ddl:
            con.execute(sql)

        def upsert() -> None:
            con.execute("BEGIN IMMEDIATE")
            con.executemany(self.sql, self.rows)
            con.execute("COMMIT")
            con.close()

        return upsert
