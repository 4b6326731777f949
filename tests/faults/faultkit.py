"""Helpers for the fault campaigns: a county world on disk, signed data, and the checks.

The world is the deterministic sandbox of keys (a province root, the county hub, village laptops)
written out as real directories: `hub_dir` makes what `laowu-hub serve --dir` opens (hub.key and a
store, SQLite or a PostgreSQL URL), `node_dir` what `laowu-node --dir` opens (an encrypted node.key,
node.sqlite, config.json). Setting them up in this process instead of through `init`/`approve`/
`enroll` saves a dozen interpreter starts per campaign; the processes under test are the real CLIs.

Data is signed here too: `feed()` seals chains of person registrations and edits with a member's
key, big or small, so a campaign controls how many bytes and changesets a sync moves.

Processes (hub servers, forked CLIs) are in faultprocs.py; the campaigns in ingest_campaign.py,
pull_campaign.py and network_campaign.py; what a campaign found is a `Figures`, defined here.

The checks read a store back and say what is wrong, as strings (an empty list means sound):
`whole()` (heads agree with the log, chains contiguous, the merge state is exactly the applied
changesets, the materialized rows agree with it), `visible_log()` (what a hub holds for a node, in
log order) and `integrity()` (SQLite's own check, or PostgreSQL's amcheck when it is there).
"""
from __future__ import annotations

import json
import os
import random
import sqlite3
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from node.engine import tables as t
from node.engine import schema
from node.engine.replica import Replica
from node.sandbox import Member, Sandbox
from node.engine.store import Store
from protocol import clock, scope
from protocol.certs import Trust
from protocol.changeset import Change, seal
from protocol.keys import KeyPair

PROVINCE = "510000000000"
COUNTY = "513225000000"
VILLAGES = ("513225103201", "513225103202", "513225103203", "513225103204")
PASSPHRASE = "faults-passphrase"
BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]
TABLES = ("person", "job_posting")
# Kill points of each SQLite campaign (a soak sets hundreds, or runs run.py); PostgreSQL takes a third.
POINTS = int(os.environ.get("LAOWU_FAULT_POINTS", "10"))
PG_POINTS = max(3, POINTS // 3)


def fault_seed() -> int | None:
    """LAOWU_FAULT_SEED replays a run: every campaign shows its seed in its figures and failures."""
    raw = os.environ.get("LAOWU_FAULT_SEED")
    return int(raw) if raw else None


# -- keys ------------------------------------------------------------------------------------------


@dataclass
class World:
    """The sandbox: province root, county hub key, and village laptops by name ("v1", "v1b", ...)."""

    box: Sandbox
    laptops: dict[str, Member] = field(default_factory=dict)

    @property
    def county(self) -> Member:
        return self.box.members[COUNTY]

    def chain(self, member: Member) -> list[bytes]:
        out = [self.box.members[PROVINCE].cert]
        if member is not self.box.members[PROVINCE]:
            out.append(self.county.cert)
        if member.role == "village":
            out.append(member.cert)
        return out

    def trust(self) -> Trust:
        """Pinned at the root, knowing every certificate (`Sandbox.trust` keeps one per place)."""
        trust = Trust(self.box.root.public)
        for raw in [self.box.members[PROVINCE].cert, self.county.cert] + [m.cert for m in self.laptops.values()]:
            trust.add_certificate(raw)
        return trust

    def replica(self, home: str) -> Replica:
        """An in-memory replica of `home` knowing every certificate: what a store must agree with."""
        return Replica(self.county.key, home, self.trust(), schema.registry())


def build_world() -> World:
    """County 513225000000 and four villages; "v1b" is a second laptop of village 1."""
    box = Sandbox.create(PROVINCE, seed="tests/faults")
    box.enroll(COUNTY, "county", PROVINCE)
    w = World(box)
    for i, code in enumerate(VILLAGES, 1):
        w.laptops[f"v{i}"] = box.enroll(code, "village", COUNTY)
    w.laptops["v1b"] = box.enroll(VILLAGES[0], "village", COUNTY)
    return w


# -- signed data -----------------------------------------------------------------------------------


def id_number(tag: str, seq: int, k: int) -> str:
    """The (stand-in) ID number of the `k`-th person registered by changeset `seq` of feed `tag`."""
    return f"{tag[:6]:0>6}{seq:07d}{k:04d}X"[:18]


def person_row(place: str, tag: str, seq: int, k: int) -> bytes:
    """The row id of that person: placed in `place` like every new record's, the same in every process."""
    return schema.derived_row_id(place, tag.encode(), seq.to_bytes(4, "big"), k.to_bytes(4, "big"))


def rows_of(tag: str, n: int, place: str, persons: int = 2) -> list[bytes]:
    """The person rows `feed(..., place, n, tag=tag, persons=persons)` registers."""
    return [person_row(place, tag, seq, k) for seq in range(1, n + 1) for k in range(persons)]


def feed(key: KeyPair, feed_scope: str, n: int, *, tag: str, persons: int = 2, pad: int = 0,
         edit: list[bytes] | None = None, seed: int = 0) -> list[bytes]:
    """`n` chained changesets by `key` in `feed_scope`: each registers `persons` people (their
    household address padded with `pad` characters, to make bytes), and edits a phone and adds a
    skill on a row of `edit` (rows of another feed) or of its own earlier rows. Stamps are now."""
    rnd = random.Random(f"{tag}/{seed}")
    stamp = clock.pack(clock.wall_ms() - 5_000)
    out: list[bytes] = []
    mine: list[bytes] = []
    prev = None
    filler = "村组路" * (pad // 3 + 1)
    for seq in range(1, n + 1):
        changes = []
        for k in range(persons):
            number = id_number(tag, seq, k)
            row = person_row(feed_scope, tag, seq, k)
            mine.append(row)
            stamp += 1
            changes += [Change("person", row, f, v, stamp) for f, v in (
                ("scope", feed_scope), ("id_number", number), ("name", f"工人{tag}-{seq}-{k}"),
                ("household_address", f"{feed_scope} {seq} {filler[:pad]}"))]
        pool = edit or mine
        row = pool[rnd.randrange(len(pool))]
        stamp += 1
        changes.append(Change("person", row, "phone", f"139{rnd.randrange(10**8):08d}", stamp))
        changes.append(Change("person", row, "skills", ["+", rnd.choice(["电工", "焊工", "厨师", "瓦工"])], stamp))
        cs = seal(key, feed_scope, seq, prev, changes)
        prev = cs.id
        out.append(cs.envelope)
    return out


def postings(key: KeyPair, feed_scope: str, n: int) -> list[bytes]:
    """`n` chained job postings (a county's own feed, seen by every village below it)."""
    stamp = clock.pack(clock.wall_ms() - 5_000)
    out, prev = [], None
    for seq in range(1, n + 1):
        row = schema.new_row_id(feed_scope)
        stamp += 1
        changes = [Change("job_posting", row, "scope", feed_scope, stamp),
                   Change("job_posting", row, "title", f"岗位 {seq}", stamp),
                   Change("job_posting", row, "pay_low", 3000 + seq, stamp)]
        cs = seal(key, feed_scope, seq, prev, changes)
        prev = cs.id
        out.append(cs.envelope)
    return out


def apply_all(store: Store, envelopes: Sequence[bytes], chunk: int = 200) -> None:
    for i in range(0, len(envelopes), chunk):
        out = store.apply(envelopes[i : i + chunk])
        bad = [o for o in out if o.get("status") != "accepted"]
        assert not bad, f"setup data refused: {bad[:2]}"


# -- directories the CLIs open ---------------------------------------------------------------------


def hub_dir(w: World, d: Path, db: str | None = None, seed: Sequence[bytes] = ()) -> str:
    """A county hub directory for `laowu-hub serve --dir d [--db URL]`, its store holding `seed`.
    The key is unencrypted, as on a server without LAOWU_PASSPHRASE. Returns the database URL."""
    d.mkdir(parents=True, exist_ok=True)
    w.county.key.save(d / "hub.key", None)
    url = db or f"sqlite:///{d / 'hub.sqlite'}"
    known = w.chain(w.county) + [m.cert for m in w.laptops.values()]  # as if each had said hello
    store = Store.create(url, w.county.key, COUNTY, w.box.root.public, known)
    try:
        apply_all(store, seed)
    finally:
        store.close()
    return url


def node_store(w: World, name: str, path: Path, seed: Sequence[bytes] = ()) -> Store:
    """A village laptop's SQLite store, holding `seed` (its own feed, sealed earlier)."""
    m = w.laptops[name]
    path.parent.mkdir(parents=True, exist_ok=True)
    store = Store.create(str(path), m.key, m.scopes[0], w.box.root.public, w.chain(m))
    apply_all(store, seed)
    return store


def node_dir(w: World, name: str, d: Path, hub_url: str) -> Path:
    """A node directory for `laowu-node --dir d`: encrypted key, empty store, config naming the hub."""
    m = w.laptops[name]
    d.mkdir(parents=True, exist_ok=True)
    m.key.save(d / "node.key", PASSPHRASE)
    node_store(w, name, d / "node.sqlite").close()
    cfg = {"place": m.scopes[0], "role": "village", "hub": hub_url, "hub_key": w.county.key.public.hex(),
           "operator": "fault campaign"}
    (d / "config.json").write_text(json.dumps(cfg))
    return d


def env() -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if k != "LAOWU_PASSPHRASE"}
    out["PYTHONUNBUFFERED"] = "1"
    return out


# -- reading stores back -----------------------------------------------------------------------------


def integrity(url: str) -> str:
    """"ok", or what the database's own check found. SQLite: PRAGMA integrity_check. PostgreSQL:
    amcheck's bt_index_check on every index of ours when the extension can be had, else "ok"."""
    if url.startswith("sqlite"):
        con = sqlite3.connect(url.split(":///", 1)[1])
        try:
            return str(con.execute("PRAGMA integrity_check").fetchone()[0])
        finally:
            con.close()
    from node.engine.db import make_engine

    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            try:
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS amcheck"))
            except Exception:  # no contrib package or no right to create it: nothing more to check
                return "ok"
            q = text("SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                     "JOIN pg_am a ON a.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace "
                     "WHERE n.nspname = 'public' AND a.amname = 'btree'")
            for (name,) in conn.execute(q).all():
                conn.execute(text("SELECT bt_index_check(CAST(:n AS regclass), true)"), {"n": name})
        return "ok"
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Entry:
    pos: int
    id: bytes
    author: bytes
    scope: str
    seq: int
    status: str
    envelope: bytes


def log_entries(store: Store) -> list[Entry]:
    """Every row of lw_log, applied first in log order, then the rest."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(t.log)).all()
    out = [Entry(r.pos or 0, r.id, r.author, r.scope, r.seq, r.status, r.envelope) for r in rows]
    return sorted(out, key=lambda e: (e.status != "applied", e.pos, e.author, e.scope, e.seq))


def visible_log(store: Store, home: str, skip_author: bytes | None = None) -> list[Entry]:
    """What a hub holds for a node of `home` (its subtree and ancestors), applied, in log order."""
    return [e for e in log_entries(store) if e.status == "applied" and scope.visible_to(home, e.scope)
            and e.author != skip_author]


def pull_cursor(store: Store, peer: str) -> int:
    with store.engine.connect() as conn:
        r = conn.execute(select(t.peers.c.pull_cursor).where(t.peers.c.peer == peer)).first()
    return int(r.pull_cursor) if r else 0


def materialized(store: Store) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    with store.engine.connect() as conn:
        for name in TABLES:
            tbl = schema.TABLES[name].__table__  # type: ignore[attr-defined]
            out[name] = {r.id: dict(r._mapping) for r in conn.execute(select(tbl))}
    return out


def expected_rows(values: dict[tuple[str, bytes], Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """What the materialized tables must hold for these merged values (live rows, required fields set)."""
    out: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in TABLES}
    for (tbl, row), v in values.items():
        if tbl not in out or v is None:
            continue
        cls = schema.TABLES[tbl]
        required = [c.name for c in cls.__table__.columns if not c.nullable and c.name != "id"]  # type: ignore[attr-defined]
        if all(v.get(name) is not None for name in required):
            out[tbl][row.hex()] = schema.materialize(cls, row.hex(), v)
    return out


def whole(store: Store, w: World, replica: Replica | None = None) -> tuple[list[str], Replica]:
    """Problems showing something half-applied or applied twice, and the replica that checked it.

    Heads agree with the log; each feed's applied seqs are 1..n and each link verifies and chains;
    every log id and position is unique; the merge state is exactly the applied changesets (an
    in-memory replica fed each once holds the same values); the materialized rows agree with it.
    Pass the replica a previous check returned to feed it only what is new."""
    problems: list[str] = []
    log = [e for e in log_entries(store) if e.status == "applied"]
    with store.engine.connect() as conn:
        heads = {(r.author, r.scope): (r.seq, r.id) for r in conn.execute(select(t.heads))}
        open_n = conn.execute(select(t.open_changes.c.n)).all()
    if open_n:
        problems.append(f"{len(open_n)} open local changes on a store that writes none here")
    positions = [e.pos for e in log]
    if len(set(positions)) != len(positions) or 0 in positions:
        problems.append("two applied changesets share a log position, or one has none")
    by_feed: dict[tuple[bytes, str], list[Entry]] = {}
    for e in sorted(log, key=lambda e: (e.author, e.scope, e.seq)):
        by_feed.setdefault((e.author, e.scope), []).append(e)
    if set(by_feed) != set(heads):
        problems.append("a feed has applied changesets but no head, or a head but no applied log")
    for feed_key, rows in by_feed.items():
        if [e.seq for e in rows] != list(range(1, len(rows) + 1)):
            problems.append(f"applied seqs of feed {feed_key[0].hex()[:8]}/{feed_key[1]} are not 1..{len(rows)}")
        elif heads.get(feed_key) != (rows[-1].seq, rows[-1].id):
            problems.append(f"head of feed {feed_key[0].hex()[:8]}/{feed_key[1]} does not match its log")
    if replica is None:
        replica = w.replica(store.home)
    for e in sorted(log, key=lambda e: (e.author, e.scope, e.seq)):
        if e.seq in replica.held.get((e.author, e.scope), {}):
            if replica.held[(e.author, e.scope)][e.seq].id != e.id:
                problems.append(f"applied changeset {e.seq} of {e.scope} changed after a crash")
            continue
        out = replica.receive(e.envelope)
        if out.status != "accepted":
            problems.append(f"applied changeset {e.seq} of {e.scope}: {out.status} {out.reason}")
    for feed_key, seq in replica.vector().items():
        if heads.get(feed_key, (0, b""))[0] < seq:
            problems.append(f"feed {feed_key[0].hex()[:8]}/{feed_key[1]} lost applied changesets a previous check saw")
    if len(problems) > 6:
        problems = problems[:5] + [f"... and {len(problems) - 5} more"]
    values = store.values()
    if values != replica.values():
        problems.append("the merge state is not exactly the applied changesets, each once")
    if materialized(store) != expected_rows(values):
        problems.append("the materialized tables differ from the merge state")
    return problems, replica


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def copy_sqlite(src: Path, dst: Path) -> None:
    """Copy a closed SQLite database (its WAL checkpointed by the last close)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(src.read_bytes())
    for suffix in ("-wal", "-shm"):
        Path(str(dst) + suffix).unlink(missing_ok=True)


# -- what a campaign found ---------------------------------------------------------------------------


@dataclass
class Figures:
    """What a campaign did and every problem it found, as strings: empty lists mean sound."""

    campaign: str
    seed: int
    kill_points: int = 0
    rounds: int = 0
    acknowledged: int = 0
    integrity: list[str] = field(default_factory=list)  # the database check after each kill
    lost: list[str] = field(default_factory=list)  # acknowledged (or pulled) changesets missing
    torn: list[str] = field(default_factory=list)  # half-applied or doubled state
    skipped: list[str] = field(default_factory=list)  # a pull cursor past data it does not hold
    divergence: list[str] = field(default_factory=list)  # replicas that did not converge at the end
    errors: list[str] = field(default_factory=list)  # anything unexpected (an exception, a refusal)
    faults: dict[str, int] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    lost_ids: set[bytes] = field(default_factory=set)  # distinct acknowledged changesets found missing

    @property
    def lost_count(self) -> int:
        return len(self.lost_ids)

    @property
    def converged(self) -> bool:
        return self.rounds > 0 and not self.divergence and not self.errors

    def summary(self) -> dict[str, Any]:
        return {"campaign": self.campaign, "seed": self.seed, "kill_points": self.kill_points,
                "rounds": self.rounds, "acknowledged": self.acknowledged, "acknowledged_lost": self.lost_count,
                "integrity_failures": sum(1 for r in self.integrity if r != "ok"), "half_applied": len(self.torn),
                "cursor_skips": len(self.skipped), "converged": self.converged, "faults": self.faults,
                "problems": (self.lost + self.torn + self.skipped + self.divergence + self.errors)[:20],
                "notes": self.notes, "seconds": round(self.seconds, 1)}


def new_seed(seed: int | None) -> int:
    """The seed given, or a fresh one (shown in the figures, to replay the run)."""
    return seed if seed is not None else random.SystemRandom().randrange(1 << 30)


def check_converged(fig: Figures, w: World, hub: Store, store: Store, name: str) -> None:
    """`store` holds exactly what `hub` holds for its place, with the same values."""
    home = store.home
    visible = visible_log(hub, home)
    have = [e for e in log_entries(store) if e.status == "applied"]
    if sorted(e.id for e in have) != sorted(e.id for e in visible):
        fig.divergence.append(f"{name}: holds {len(have)} changesets, the hub {len(visible)} for {home}")
        return
    replica = w.replica(home)
    for e in visible:
        replica.receive(e.envelope)
    if store.values() != replica.values():
        fig.divergence.append(f"{name}: values differ from what the hub holds for {home}")
