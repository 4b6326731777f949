"""A county hub under attack: the world the hostile generator aims at, and what it may change.

One county hub (513225000000) serves on loopback (real uvicorn through `ServerThread`, a SQLite
store in a temporary directory). Around it: the province root, a township, two villages, a second
county with a village of its own (out of this hub's scope), and the keys an attacker has or makes:

    village    the genuine key of 513225103201; the hub holds seq 1..3 of its feed
    sibling    the genuine key of 513225103202 (a sibling village: its scope is not the village's)
    township   513225103000, whose scope covers both villages
    far        a village of another county (513226101201): genuine chain, not this hub's subtree
    expired    a second laptop of the village whose certificate ran out in 2021
    early      one whose certificate starts a year from now
    stolen     a stolen laptop of the village: seq 1..2 held, revoked at cut-off 2
    stranger   a key no one ever certified

The hub's state before and after is compared by `snapshot()`; the only tables hostile input may
grow are named in `Growth`, each with the exact amount the generator's categories predict.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpx
from sqlalchemy import func, select

from hub import enroll
from hub.app import Hub
from hub.server import ServerThread
from node.engine import tables as t
from node.domain.person import Person
from node.sandbox import NOT_BEFORE, Member, Sandbox
from node.engine.store import Store
from protocol import certs, clock, codec, messages
from protocol.changeset import Change, Changeset, seal
from protocol.keys import KeyPair

PROVINCE = "510000000000"
COUNTY = "513225000000"
TOWNSHIP = "513225103000"
VILLAGE = "513225103201"
SIBLING = "513225103202"
FAR_COUNTY = "513226000000"
FAR_VILLAGE = "513226101201"
ENROLLED = "513225103205"  # enrolled online during setup; its request is replayed later
YEAR_MS = 365 * 24 * 3600 * 1000
CT = {"content-type": messages.CONTENT_TYPE}
PERSON_ROW = bytes.fromhex("5e1f0000000000000000000000000001")
JOB_ROW = bytes.fromhex("10b00000000000000000000000000001")
TIMEOUT_S = 20.0


@dataclass
class Request:
    """One hostile request body and the refusal it must get: a status in `status`, `error` in `codes`.

    `empty_ok`: a push whose hostile certificates and revocations are dropped answers 200 with no
    results (they are refused in the hub's log, not in the answer). `prepare` runs first, in process
    (a legitimate hello whose bytes are then replayed, a one-time code for an enrollment attempt).
    """

    category: str
    path: str
    body: Callable[[], bytes | Iterator[bytes]]
    status: frozenset[int]
    codes: frozenset[str]
    prepare: Callable[[], None] | None = None
    empty_ok: bool = False
    headers: Callable[[bytes], dict[str, str]] | None = None  # of the body sent: a key proof over it


@dataclass
class Envelope:
    """One hostile envelope, pushed by `carrier`'s session: the status and code its result must have."""

    category: str
    data: bytes
    status: str
    codes: frozenset[str]
    carrier: str = "village"
    grows: str | None = None  # a Growth field that grows by one for this envelope


Item = Request | Envelope


@dataclass
class Keys:
    village: KeyPair
    sibling: KeyPair
    township: KeyPair
    far: KeyPair
    expired: KeyPair
    early: KeyPair
    stolen: KeyPair
    stranger: KeyPair
    county: KeyPair
    root: KeyPair
    chain: dict[str, list[bytes]] = field(default_factory=dict)  # key name → certs root first


@dataclass
class Snapshot:
    """What hostile input must not change, and the three tables it may grow."""

    log_applied: int
    log_pending: int
    rows: int
    persons: int
    heads: list[tuple[bytes, str, int, bytes]]
    vector: dict[tuple[bytes, str], int]
    values_digest: bytes
    certs: list[bytes]
    revocations: int
    conflicts: int
    trust: list[tuple[bytes, int]]
    quarantine: int
    forks: int

    def fixed(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k not in ("log_pending", "quarantine", "forks")}


@dataclass
class Growth:
    """How much each growable table may grow: exactly this, no more, no less."""

    log_pending: int = 0
    quarantine: int = 0
    forks: int = 0


class HostileWorld:
    """The county hub on loopback, its genuine data, and sessions for the peers allowed to push."""

    def __init__(self, tmp: Path) -> None:
        box = Sandbox.create(PROVINCE, seed="hostile")
        county = box.enroll(COUNTY, "county", PROVINCE)
        self.box = box
        members = {
            "township": box.enroll(TOWNSHIP, "township", COUNTY),
            "village": box.enroll(VILLAGE, "village", COUNTY),
            "sibling": box.enroll(SIBLING, "village", COUNTY),
        }
        box.enroll(FAR_COUNTY, "county", PROVINCE)
        members["far"] = box.enroll(FAR_VILLAGE, "village", FAR_COUNTY)
        now = clock.wall_ms()
        extra = {
            "expired": (NOT_BEFORE, NOT_BEFORE + YEAR_MS),
            "early": (now + YEAR_MS, now + 2 * YEAR_MS),
            "stolen": (NOT_BEFORE, now + 5 * YEAR_MS),
        }
        for i, (name, (nb, na)) in enumerate(extra.items()):
            key = KeyPair.from_seed(f"hostile/{name}".encode())
            raw = certs.issue(county.key, key.public, "village", [VILLAGE], nb, na, 9001 + i)
            members[name] = Member(key, "village", (VILLAGE,), raw)
        self.keys = Keys(**{n: m.key for n, m in members.items()}, stranger=KeyPair.from_seed(b"hostile/stranger"),
                         county=county.key, root=box.root)
        root_cert = box.members[PROVINCE].cert
        issuer = {"far": box.members[FAR_COUNTY].cert}
        for name, m in members.items():
            self.keys.chain[name] = [root_cert, issuer.get(name, county.cert), m.cert]
        self.store = Store.create(str(tmp / "county-hub.sqlite"), county.key, COUNTY, box.root.public,
                                  [root_cert, county.cert])
        for name in ("township", "village", "sibling", "expired", "early", "stolen"):
            self.store.add_certificate(members[name].cert)
        self.store.add_certificate(box.members[FAR_COUNTY].cert)
        self.store.add_certificate(members["far"].cert)
        # Far more enrollment failures than a real client may make: the flood must reach every check
        # behind the per-client limit (tests/hub/test_limits.py tests the limit itself).
        self.hub = Hub(self.store, enroll_tries=1 << 30)
        self.server = ServerThread(self.hub).__enter__()
        self.http = httpx.Client(base_url=self.server.url, timeout=TIMEOUT_S, headers=CT)
        self.tokens: dict[str, bytes] = {}
        self.tokens_at = 0.0
        self.heads: dict[int, Changeset] = {}  # the village feed the hub holds, by seq
        self._setup()

    # -- genuine data, before the first snapshot ---------------------------------------------------

    def _setup(self) -> None:
        k = self.keys
        base = clock.pack(clock.wall_ms() - 60_000)
        scripts = [
            [("person", PERSON_ROW, "scope", VILLAGE), ("person", PERSON_ROW, "id_number", "513225199001011236"),
             ("person", PERSON_ROW, "name", "王秀英"), ("person", PERSON_ROW, "skills", ["+", "焊工"])],
            [("job_posting", JOB_ROW, "scope", VILLAGE), ("job_posting", JOB_ROW, "title", "采茶工")],
            [("person", PERSON_ROW, "phone", "13800138000")],
        ]
        prev: bytes | None = None
        village_feed = []
        for seq, script in enumerate(scripts, 1):
            cs = seal(k.village, VILLAGE, seq, prev, [Change(tb, row, f, v, base + seq) for tb, row, f, v in script])
            self.heads[seq] = cs
            village_feed.append(cs.envelope)
            prev = cs.id
        stolen_feed = []
        prev = None
        for seq in (1, 2):
            cs = seal(k.stolen, VILLAGE, seq, prev, [Change("job_posting", os.urandom(16), "title", f"stolen {seq}", base + seq)])
            stolen_feed.append(cs.envelope)
            prev = cs.id
        self.stolen_feed = stolen_feed
        results = self.push_as("village", village_feed + stolen_feed)
        assert [r["status"] for r in results] == ["accepted"] * 5, results
        enroll.revoke(self.store, k.stolen.public, "laptop stolen")
        # A node enrolled online with a one-time code; the same request, replayed, must be refused.
        enroll.add_otp(self.store, "hostile-setup-otp", ENROLLED, "village")
        newcomer = KeyPair.from_seed(b"hostile/newcomer")
        req = messages.EnrollRequest.make(newcomer, ENROLLED, "village", "setup", clock.wall_ms(), "hostile-setup-otp")
        self.enroll_body = req.encode()
        resp = self.http.post("/v1/enroll", content=self.enroll_body)
        assert resp.status_code == 200, resp.content

    # -- sessions -----------------------------------------------------------------------------------

    def hello_body(self, name: str, home: str, *, at: int | None = None, hub: bytes | None = None,
                   nonce: bytes | None = None, certs: list[bytes] | None = None) -> bytes:
        key = getattr(self.keys, name)
        return messages.Hello.make(key, hub or self.store.author, home, self.keys.chain.get(name, []) if certs is None else certs,
                                   0, clock.wall_ms() if at is None else at, nonce or os.urandom(messages.NONCE_LEN)).encode()

    def token(self, name: str) -> bytes:
        """A live session token for `name` (village, sibling or township), renewed every few minutes."""
        if time.monotonic() - self.tokens_at > 300:
            self.tokens.clear()
            self.tokens_at = time.monotonic()
        if name not in self.tokens:
            home = {"village": VILLAGE, "sibling": SIBLING, "township": TOWNSHIP}[name]
            resp = self.http.post("/v1/hello", content=self.hello_body(name, home))
            assert resp.status_code == 200, resp.content
            self.tokens[name] = messages.Welcome.decode(resp.content).token
        return self.tokens[name]

    def mint(self, author: bytes, home: str, now: int) -> bytes:
        """A token signed with the hub's own secret, as the hub would have issued it at `now`."""
        return self.hub.token(author, home, now, "127.0.0.1")

    def mint_bound(self, author: bytes, home: str, now: int) -> bytes:
        """A key-bound token (protocol.session), as the hub issues it to a hello that promised proofs."""
        return self.hub.token(author, home, now, key_bound=True)

    def push_as(self, name: str, envelopes: list[bytes]) -> list[dict[str, Any]]:
        body = messages.Push(self.token(name), envelopes, [], []).encode()
        resp = self.http.post("/v1/push", content=body)
        assert resp.status_code == 200, resp.content
        return messages.PushResult.decode(resp.content).results

    def alive(self) -> bool:
        """The server thread runs and answers /v1/health on a fresh connection."""
        if not self.server.thread.is_alive():
            return False
        with httpx.Client(base_url=self.server.url, timeout=TIMEOUT_S) as fresh:
            resp = fresh.get("/v1/health", headers={"accept": messages.CONTENT_TYPE})  # msgpack, as nodes ask
        return resp.status_code == 200 and codec.unpack(resp.content, max_bytes=1 << 12, what="health")["home"] == COUNTY

    # -- state ----------------------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        store = self.store
        vector = store.vector()  # each read is its own (immediate) transaction on SQLite: not nested
        values = codec.pack(sorted((k[0], k[1], codec.pack(v)) for k, v in store.values().items()))
        with store.engine.connect() as conn:
            def count(tbl: Any, *where: Any) -> int:
                return int(conn.execute(select(func.count()).select_from(tbl).where(*where)).scalar_one())

            heads = sorted((r.author, r.scope, r.seq, r.id) for r in conn.execute(select(t.heads)))
            snap = Snapshot(
                log_applied=count(t.log, t.log.c.status == "applied"),
                log_pending=count(t.log, t.log.c.status == "pending"),
                rows=count(t.rows),
                persons=count(Person.__table__),  # type: ignore[attr-defined]
                heads=heads,
                vector=vector,
                values_digest=values,
                certs=sorted(r.raw for r in conn.execute(select(t.cert_store.c.raw))),
                revocations=count(t.revocation_store),
                conflicts=count(t.conflicts),
                trust=sorted((s, c.serial) for s, c in store.trust.certs.items()),
                quarantine=count(t.quarantine),
                forks=count(t.forks),
            )
            # `revoked`: a stolen key's changesets past its cut-off, refused and kept for county review
            # (hub.review, bounded per feed); never applied, served or counted in the state above.
            other = count(t.log) - snap.log_applied - snap.log_pending - count(t.log, t.log.c.status == "revoked")
            assert other == 0, f"{other} log rows neither applied, pending nor held back for review"
        return snap

    def close(self) -> None:
        self.http.close()
        self.server.__exit__()
        self.store.close()
