"""The simulated province: real stores and hubs, an in-memory network, a simulated clock, and the
bookkeeping the invariants are checked against.

Places: the province hub, `counties` county hubs (each relaying to the province through a
`SyncClient`, as in production), `townships` township nodes per county and `villages` village
laptops spread over the townships, and the province office's laptop (province staff write through a
node: a hub seals only what it relays). Every replica is a real `node.engine.store.Store` on a SQLite file
(under /dev/shm when there is one); every hub a real `hub.app.Hub`; every sync a real `SyncClient`
over `hub.memory.MemoryTransport`. Keys derive from the seed, so a run replays exactly.

What the simulator remembers, to judge the result by (see siminvariants.py):

* `acked`: every change a local write acknowledged (its `Store.write` returned), per author;
* `sealed`: every changeset any replica ever signed, read back from the author's own log
  before its laptop is lost or restored, and at the end;
* `lost_ids` / `lost_changes`: what died with a laptop's disk before it left the machine
  (restored from an old backup, stolen): legitimately gone, so not counted as lost by us.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgpack
from sqlalchemy import select

from hub.app import Hub
from hub.memory import MemoryTransport, Network
from node.engine import tables as t
from node.engine.db import make_engine
from node.domain.rules import RULES
from node.sandbox import NOT_AFTER, NOT_BEFORE, Member, Sandbox
from node.engine.store import Store
from node.sync.client import SyncClient
from protocol import certs, codec
from protocol.changeset import Changeset, open_envelope
from protocol.keys import KeyPair

PROVINCE = "510000000000"
START_MS = 1_717_200_000_000  # 2024-06-01T00:00:00Z, inside the sandbox certificates' validity
DAY_MS = 86_400_000
HEAL_ROUNDS = 20  # rounds of healing before a world that still moves is called stuck
Y2001_MS = 978_307_200_000  # a dead CMOS battery
Y2099_MS = 4_070_908_800_000  # a clock set by hand to the far future
ChangeKey = tuple[str, bytes, str, bytes, int]  # table, row, field, packed value, hlc


@dataclass(frozen=True)
class Shape:
    counties: int = 1
    townships: int = 2  # per county
    villages: int = 6  # in all, spread over the townships
    days: int = 3
    steps: int = 160


@dataclass
class Node:
    """One machine: a village or township laptop, or a hub (county, province)."""

    name: str  # the place code, or code~n for a retired laptop of that place
    home: str
    kind: str  # village | township | county | province | office (a province staff laptop)
    county: str  # the county code it belongs to (the province: itself)
    key: KeyPair
    path: Path
    store: Store = field(init=False)
    skew: int = 0  # ms added to true time by this machine's wall clock
    hub: Hub | None = None
    retired: bool = False  # replaced (stolen, re-keyed): its store is no longer a replica we judge
    thief: bool = False
    backup: Path | None = None
    generation: int = 0

    @property
    def author(self) -> bytes:
        return self.key.public


class SimCrash(Exception):
    """Raised by the network to kill a node in the middle of a sync."""


def scratch_root() -> str | None:
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None


_TEMPLATE: list[Path] = []


def template(tmp: Path) -> Path:
    """An empty database with every table, copied for each new store: creating tables costs more
    than the rest of a store's setup."""
    if not _TEMPLATE or not _TEMPLATE[0].exists():
        d = Path(tempfile.mkdtemp(prefix="laowu-sim-template-", dir=scratch_root()))
        path = d / "template.db"
        engine = make_engine(path)
        t.metadata.create_all(engine)
        engine.dispose()
        _TEMPLATE[:] = [path]
    return _TEMPLATE[0]


class World:
    def __init__(self, seed: int, shape: Shape, tmp: Path, network: Network) -> None:
        self.seed = seed
        self.shape = shape
        self.tmp = tmp
        self.net = network
        self.now = START_MS
        self.box = Sandbox.create(PROVINCE, seed=f"sim/{seed}")
        self.nodes: dict[str, Node] = {}
        self.hubs: dict[str, Hub] = {}  # host → hub
        self.clients: dict[tuple[str, str], tuple[Store, SyncClient]] = {}
        self.acked: dict[bytes, set[ChangeKey]] = {}
        self.sealed: dict[bytes, Changeset] = {}
        self.lost_ids: set[bytes] = set()  # sealed, died with a laptop before leaving it
        self.lost_changes: set[tuple[bytes, ChangeKey]] = set()
        self.stolen: set[bytes] = set()  # authors whose laptop was stolen
        self.revoked_at: dict[bytes, dict[str, int]] = {}  # author → cut-offs the county issued
        self.crash_at: int | None = None  # the request number at which the next sync dies
        self.log: list[str] = []  # what happened, for a failing seed's report
        self.attacks: list[tuple[str, str, str]] = []  # (hub, status, code) of each sibling write pushed
        self.counts: dict[str, int] = {}
        self._build()

    # -- building ---------------------------------------------------------------------------

    def _build(self) -> None:
        shape = self.shape
        self._add_hub(PROVINCE, "province", PROVINCE, self.box.members[PROVINCE])
        per_township: dict[str, int] = {}
        townships: list[str] = []
        for c in range(shape.counties):
            county = f"5132{21 + c:02d}000000"
            self._add_hub(county, "county", county, self.box.enroll(county, "county", PROVINCE))
            for w in range(shape.townships):
                code = f"{county[:6]}{101 + w:03d}000"
                townships.append(code)
                self._add_node(code, "township", county, self.box.enroll(code, "township", county))
        for v in range(shape.villages):
            tw = townships[v % len(townships)]
            n = per_township.get(tw, 0)
            per_township[tw] = n + 1
            code = f"{tw[:9]}{201 + n:03d}"
            self._add_node(code, "village", tw[:6] + "000000", self.box.enroll(code, "village", tw[:6] + "000000"))
        self._add_office()
        for node in list(self.nodes.values()):  # an issuer's hub holds what it issued (as `approve` does)
            if node.kind in ("county", "township", "village"):
                issuer = self.nodes[PROVINCE if node.kind == "county" else node.county].store
                issuer.add_certificate(self.box.members[node.home].cert)

    def chain(self, code: str, member: Member) -> list[bytes]:
        out = [self.box.members[PROVINCE].cert]
        county = code[:6] + "000000"
        if code != PROVINCE and county != code:
            out.append(self.box.members[county].cert)
        if code != PROVINCE:
            out.append(member.cert)
        return out

    def _add_hub(self, code: str, kind: str, county: str, member: Member) -> None:
        node = self._node(code, code, kind, county, member.key, self.chain(code, member))
        node.hub = Hub(node.store, secret=f"sim/{self.seed}/{code}".encode().ljust(32, b"."))
        self.hubs[self.host(code)] = node.hub

    def _add_node(self, code: str, kind: str, county: str, member: Member) -> None:
        self._node(code, code, kind, county, member.key, self.chain(code, member))

    def _add_office(self) -> None:
        """The province office's laptop: a province-role key of its own, syncing with the province
        hub (a hub seals only what it relays; staff writes come from a node)."""
        key = KeyPair.from_seed(f"sim/{self.seed}/office".encode())
        cert = certs.issue(self.box.root, key.public, "province", [PROVINCE], NOT_BEFORE, NOT_AFTER, 10_000)
        self._node("office", PROVINCE, "office", PROVINCE, key, [self.box.members[PROVINCE].cert, cert])

    def _node(self, name: str, home: str, kind: str, county: str, key: KeyPair, chain: list[bytes]) -> Node:
        node = Node(name, home, kind, county, key, self.tmp / f"{name}.db")
        shutil.copyfile(template(self.tmp), node.path)
        node.store = Store.create(str(node.path), key, home, self.box.root.public, chain,
                                  wall=self.wall(node), rules=RULES)
        self.nodes[name] = node
        return node

    def wall(self, node: Node) -> Callable[[], int]:
        return lambda: self.now + node.skew

    @staticmethod
    def host(code: str) -> str:
        return "province.sim" if code == PROVINCE else f"c{code[:6]}.sim"

    # -- who is who -----------------------------------------------------------------------------

    def live(self, *kinds: str) -> list[Node]:
        return [n for n in self.nodes.values() if not n.retired and (not kinds or n.kind in kinds)]

    def county_of(self, node: Node) -> Node:
        return self.nodes[node.county]

    @property
    def province(self) -> Node:
        return self.nodes[PROVINCE]

    def note(self, what: str) -> None:
        self.log.append(f"{self.now - START_MS:>10} {what}")
        self.counts[what.split(" ")[0]] = self.counts.get(what.split(" ")[0], 0) + 1

    # -- syncing ----------------------------------------------------------------------------------

    def client(self, node: Node, hub_code: str) -> SyncClient:
        """The node's sync client to a hub, made again whenever the node's store was reopened."""
        key = (node.name, hub_code)
        cached = self.clients.get(key)
        if cached is not None and cached[0] is node.store:
            return cached[1]
        if cached is not None:
            cached[1].close()
        link = f"relay-{node.home}" if node.kind == "county" else node.name
        transport = CrashingTransport(self, self.hubs, self.net, link=link)
        hub_node = self.nodes[hub_code]
        client = SyncClient(node.store, f"http://{self.host(hub_code)}", hub_node.author, transport=transport)
        self.clients[key] = (node.store, client)
        return client

    def close(self) -> None:
        for _, client in self.clients.values():
            client.close()
        for node in self.nodes.values():
            node.store.close()

    # -- bookkeeping ------------------------------------------------------------------------------

    @contextmanager
    def acknowledging(self, node: Node) -> Iterator[None]:
        """Record every change the writes inside the block acknowledged on `node`."""
        before = node.store.hlc.last
        try:
            yield
        finally:
            mine = self.acked.setdefault(node.author, set())
            for c in open_changes(node.store):
                if c[4] > before:
                    mine.add(c)

    def collect(self, node: Node) -> list[Changeset]:
        """Every changeset `node` signed that its store holds, remembered in `sealed`."""
        out = []
        with node.store.engine.connect() as conn:
            q = select(t.log.c.id, t.log.c.envelope).where(t.log.c.author == node.author)
            for r in conn.execute(q):
                if r.envelope is not None:
                    cs = self.sealed.get(r.id) or open_envelope(r.envelope)
                    self.sealed[r.id] = cs
                    out.append(cs)
        return out

    def escaped(self, ids: set[bytes], author_node: Node) -> set[bytes]:
        """Which of `ids` some other replica holds (applied, pending, quarantined or as fork proof)
        or the network still carries."""
        found: set[bytes] = set()
        for other in self.nodes.values():
            if other is author_node or other.kind == "village":
                continue
            found |= held_ids(other.store, ids)
        for _, path, body in self.net.held:
            if path == "/v1/push":
                for env in msgpack.unpackb(body)["envelopes"]:
                    found.add(open_envelope(env).id)
        return found & ids

    def lose_laptop(self, node: Node, keep: Store | None) -> None:
        """`node`'s disk is gone; `keep` (a backup, or nothing) is what survives of it. Changesets
        and open changes that had not left the machine are legitimately lost."""
        mine = self.collect(node)
        ids = {cs.id for cs in mine}
        out = self.escaped(ids, node)
        kept_ids: set[bytes] = set()
        kept_changes: set[ChangeKey] = set()
        if keep is not None:
            with keep.engine.connect() as conn:
                kept_ids = {r.id for r in conn.execute(select(t.log.c.id).where(t.log.c.author == node.author))}
            kept_changes = set(open_changes(keep))
        surviving: set[ChangeKey] = set(kept_changes)
        for cs in mine:
            if cs.id in out or cs.id in kept_ids:
                surviving |= {change_key(c) for c in cs.changes}
            else:
                self.lost_ids.add(cs.id)
        for c in self.acked.get(node.author, set()):
            if c not in surviving:
                self.lost_changes.add((node.author, c))


class CrashingTransport(MemoryTransport):
    """The network, plus the simulator's way to kill a node in the middle of a sync."""

    def __init__(self, world: World, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.world = world

    def handle_request(self, request: Any) -> Any:
        w = self.world
        if w.crash_at is not None:
            w.crash_at -= 1
            if w.crash_at < 0:
                w.crash_at = None
                raise SimCrash(request.url.path)
        return super().handle_request(request)


def change_key(c: Any) -> ChangeKey:
    return (c.table, c.row, c.field, codec.pack(c.value), c.hlc)


def open_changes(store: Store) -> list[ChangeKey]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(t.open_changes.c.change)).all()
    out = []
    for r in rows:
        tb, row, f, v, h = msgpack.unpackb(r.change)
        out.append((tb, row, f, codec.pack(v), h))
    return out


def held_ids(store: Store, ids: set[bytes]) -> set[bytes]:
    """Which of `ids` `store` holds in its log, quarantine or fork proofs."""
    found: set[bytes] = set()
    want = list(ids)
    with store.engine.connect() as conn:
        for i in range(0, len(want), 500):
            part = want[i : i + 500]
            found |= {r.id for r in conn.execute(select(t.log.c.id).where(t.log.c.id.in_(part)))}
            found |= {r.id for r in conn.execute(select(t.quarantine.c.id).where(t.quarantine.c.id.in_(part)))}
        for r in conn.execute(select(t.forks.c.held, t.forks.c.incoming)):
            for env in (r.held, r.incoming):
                if env and (cs_id := open_envelope(env).id) in ids:
                    found.add(cs_id)
    return found


def backup_copy(src: Path, dst: Path) -> None:
    """What a nightly copy of a laptop's database holds (SQLite's online backup: consistent)."""
    with closing(sqlite3.connect(src)) as a, closing(sqlite3.connect(dst)) as b:
        a.backup(b)


def replace_file(node: Node, source: Path, wall: Callable[[], int]) -> Store:
    """Close `node`'s store, put `source` in place of its file, and open it again."""
    node.store.close()
    for suffix in ("-wal", "-shm"):
        p = Path(f"{node.path}{suffix}")
        if p.exists():
            p.unlink()
    shutil.copyfile(source, node.path)
    return Store.open(str(node.path), node.key, wall=wall, rules=RULES)
