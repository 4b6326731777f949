"""One schedule: random events drawn from a seeded `random.Random`, run against a `World`, then a
healing phase in which every link works and everyone syncs until nothing moves.

Events, weighted: local writes through the domain API (registrations, corrections, skills added
and removed, placements and their stages, erasures: a county erasing a person directly, a village or
township deleting a card and asking the county, whose staff carry the request out; county
corrections and province postings),
syncs (falling back to the province when the county cannot be reached), county relays, links cut
for a while (a village, a county hub, a county's uplink: intermittent and long partitions), USB
bundles (village → township or county), crashes (the store closed without sealing, mid-sync or
idle, and opened again from its file), wall clocks set to 2001 or 2099, backups and restores
from an old backup, a stolen laptop (revoked at the county, the thief keeps writing), and county
staff (releasing quarantine, re-keying a laptop whose feed forked, settling the identity conflicts).
The network drops, loses, duplicates and delays requests throughout (hub.memory.Network).

One card per person (docs/identity.md), from a stream of its own: a person registered twice, offline,
by two villages (a duplicate card: a `duplicate-id` conflict); a township transferring a person to
another of its villages, sometimes while the old village edits the card offline (the edits land on
the closed card: a `transfer-edit` conflict); a village key writing, moving or deleting a sibling's
card (refused `not-owner`); county staff settling the queued conflicts with the domain's decisions
(transfer, merge, different people; follow or keep). Settling was off for a while: with it, seed 30
seemed to lose a county changeset after a re-key. The cause was a settlement that settled nothing (a
transfer-edit in a chain of transfers A → B → C settled on B), so staff decided again in every round
of healing and the last decision never reached the villages. Healing that never comes to rest is
now reported as such (siminvariants).
"""
from __future__ import annotations

import random
import shutil
from datetime import date, datetime, timezone
from typing import Any, Callable

import httpx
import msgpack
from sqlalchemy import select

from hub import enroll
from hub.memory import MemoryTransport, Network
from node.engine import tables as t
from node.domain import erase, generate
from node.engine import schema
from node.sync.bootstrap import bootstrap
from node.sync.bundles import export_bundle, import_bundle
from node.domain import identity, ops
from node.domain.rules import RULES
from node.engine.store import Store
from node.sync.client import SyncClient, SyncFailed
from protocol import codec, messages
from protocol.changeset import DELETE_FIELD, DELETE_VALUE, Change, seal
from protocol.certs import decode_revocation
from protocol.errors import ConfigError, InvalidValue, LaowuError
from protocol.keys import KeyPair
from simworld import (
    DAY_MS,
    HEAL_ROUNDS,
    PROVINCE,
    START_MS,
    Y2001_MS,
    Y2099_MS,
    Node,
    SimCrash,
    World,
    template,
    backup_copy,
    replace_file,
)


def today(w: World) -> date:
    return datetime.fromtimestamp(w.now / 1000, tz=timezone.utc).date()


def card_fields(p: generate.Person) -> dict[str, Any]:
    """What an operator types for a generated person."""
    out: dict[str, Any] = {
        "id_number": p["id_number"], "name": p["name"], "phone": p["phone"], "education": p["education"],
        "health": p["health"], "household_address": p["household_address"],
        "poverty_status": p["poverty_status"], "two_after": p["lianghousheng"],
        "employment": "已就业" if p["employed"] else "未就业", "skills": p["skills"],
        "region_class": p["work_region_class"], "employer": p["employer"], "position": p["position"],
        "monthly_pay": p["monthly_pay"], "satisfaction": p["satisfaction"],
        "willing_to_migrate": p["willing_to_migrate"], "intended_region": p["intended_region_class"],
        "intended_industry": p["intended_industry"], "intended_pay": p["expected_pay"],
    }
    return {k: v for k, v in out.items() if v is not None}


class Schedule:
    def __init__(self, world: World, rng: random.Random) -> None:
        self.w = world
        self.rng = rng
        self.pools: dict[str, list[generate.Person]] = {}
        self.partitions: dict[str, int] = {}  # link → step it heals at
        self.step = 0
        self.theft_step = rng.randrange(world.shape.steps // 4, world.shape.steps) if rng.random() < 0.35 else -1
        self.employer: bytes | None = None
        self.spare = 0  # laptops handed out to replace stolen or re-keyed ones
        # Identity events (transfers, sibling writes) draw from their own stream, so the schedules of
        # seeds kept as regressions keep the rest of their events.
        self.identity_rng = random.Random(rng.random())

    # -- the run ----------------------------------------------------------------------------------

    def run(self) -> None:
        w, rng = self.w, self.rng
        step_ms = w.shape.days * DAY_MS // w.shape.steps
        events: list[tuple[Callable[[], None], int]] = [
            (self.write, 46), (self.sync, 24), (self.relay, 8), (self.partition, 4), (self.crash, 2),
            (self.bundle, 3), (self.backup, 2), (self.restore, 1), (self.clock, 1), (self.thief, 3),
            (self.staff, 2),
        ]
        actions, weights = zip(*events)
        for self.step in range(w.shape.steps):
            w.now += rng.randrange(step_ms // 2, step_ms * 3 // 2 + 1)
            for link, until in list(self.partitions.items()):
                if self.step >= until:
                    w.net.down.discard(link)
                    del self.partitions[link]
            if self.step == self.theft_step:
                self.steal()
            rng.choices(actions, weights)[0]()
            if self.identity_rng.random() < 0.05:
                self.identity_rng.choice((self.transfer, self.crossing_transfer, self.sibling_write))()

    def heal(self, rounds: int = HEAL_ROUNDS) -> int:
        """Every link up, no faults; staff release quarantines; sync until nothing moves."""
        w = self.w
        w.net.quiet()
        self.partitions.clear()
        w.crash_at = None
        MemoryTransport(w.hubs, w.net).flush()
        for n in range(rounds):
            moved = 0
            for node in w.live():
                moved += sum(1 for o in node.store.release_quarantine() if o.get("status") == "accepted")
            for node in w.live("township", "village", "office"):
                moved += self._sync(node, node.county, quiet=False)
            for node in w.live("county"):
                moved += self._sync(node, PROVINCE, quiet=False)
            moved += self.staff_all()
            if moved == 0:
                return n
            w.now += 60_000
        return rounds

    # -- writes -------------------------------------------------------------------------------------

    def write(self) -> None:
        w, rng = self.w, self.rng
        r = rng.random()
        if r < 0.06:
            return self.province_post()
        kinds = ("county",) if r < 0.14 else ("township",) if r < 0.22 else ("village",)
        node = rng.choice(w.live(*kinds))
        try:
            with w.acknowledging(node):
                self._write(node)
        except InvalidValue:
            w.note("refused-locally")

    def _write(self, node: Node) -> None:
        w, rng, store = self.w, self.rng, node.store
        people = self.people_of(store)
        op = rng.random()
        if node.kind == "village" and (op < 0.3 or not people):
            return self.register(node)
        if node.kind == "township" and (op < 0.1 or not people):
            villages = [n.home for n in w.live("village") if n.home.startswith(node.home[:9])]
            if villages:
                return self.register(node, rng.choice(villages))
            return None
        if not people:
            return None
        row = rng.choice(people)
        if op < 0.55:
            fields: dict[str, Any] = rng.choice([
                {"phone": generate.mobile(rng)},
                {"employment": "已就业", "monthly_pay": rng.randrange(2000, 12001, 100), "region_class": rng.choice(
                    ("县内", "省外"))},
                {"employment": "未就业", "willing_to_migrate": rng.random() < 0.5},
                {"name": rng.choice(generate.SURNAMES) + rng.choice("伟芳军丽强")},
            ])
            ops.edit_person(store, row, fields, today=today(w))
            w.note(f"edit {node.name}")
        elif op < 0.68:
            ops.add_skill(store, row, rng.choice(generate.SKILLS))
            w.note(f"skill+ {node.name}")
        elif op < 0.75:
            skills = (ops.get(store, "person", row) or {}).get("skills") or []
            if skills:
                ops.remove_skill(store, row, rng.choice(sorted(skills)))
                w.note(f"skill- {node.name}")
        elif op < 0.86:
            ops.add_placement(store, {"person": row.hex(), "employer_name": "成都鑫达建筑劳务有限公司",
                                      "start_date": today(w).isoformat(), "contract_months": 12},
                              on=today(w))
            w.note(f"placement {node.name}")
        elif op < 0.95:
            placements = self.rows_of(store, "placement")
            if placements:
                ops.placement_advance(store, rng.choice(placements), rng.choice(("sign", "start", "revoke")),
                                      on=today(w), reason="录入错误")
                w.note(f"placement-stage {node.name}")
        elif node.kind == "county":  # the county erases directly (PIPL), everywhere
            try:
                erase.erase_person(store, row, "本人申请删除")
                w.note(f"erase {node.name}")
            except ConfigError as exc:
                w.note(f"erase-refused {node.name}: {exc}")
        else:  # a village or township deletes the card and asks the county, whose staff carry it out
            erase.request(store, row, "本人申请删除")
            w.note(f"erase-request {node.name}")
        return None

    def crossing_transfer(self) -> None:
        self.transfer(crossing=True)

    def transfer(self, crossing: bool = False) -> None:
        """A township moves one of its people to another village of the township (docs/identity.md);
        `crossing`: the old village edits the card offline just before (it has not heard of the transfer)."""
        w, rng = self.w, self.identity_rng
        towns = w.live("township")
        if not towns:
            return
        node = rng.choice(towns)
        tbl: Any = schema.TABLES["person"].__table__  # type: ignore[attr-defined]
        with node.store.engine.connect() as conn:
            cards = [(r.id, r.scope) for r in conn.execute(select(tbl.c.id, tbl.c.scope).where(
                tbl.c.closed_on.is_(None)).order_by(tbl.c.id))]
        villages = sorted({n.home for n in w.live("village") if n.home.startswith(node.home[:9])})
        if not cards or len(villages) < 2:
            return
        row, scope = rng.choice(cards)
        to = rng.choice([v for v in villages if v != scope])
        if crossing:
            self.edit_before_hearing(w.nodes.get(scope), bytes.fromhex(row))
        try:
            with w.acknowledging(node):
                identity.transfer(node.store, bytes.fromhex(row), to, on=today(w))
            w.note(f"transfer {node.name}")
        except InvalidValue:
            w.note("refused-locally")

    def edit_before_hearing(self, village: Node | None, row: bytes) -> None:
        """The card's village edits it offline while it is being transferred (if it holds it open)."""
        w, rng = self.w, self.identity_rng
        if village is None or village.retired or village.kind != "village":
            return
        card = ops.get(village.store, "person", row)
        if card is None or card.get("closed_on"):
            return
        try:
            with w.acknowledging(village):
                ops.edit_person(village.store, row, {"phone": generate.mobile(rng)}, today=today(w))
                if rng.random() < 0.5:
                    ops.add_skill(village.store, row, rng.choice(generate.SKILLS))
            w.note(f"edit-crossing-transfer {village.name}")
        except InvalidValue:
            w.note("refused-locally")

    def sibling_write(self) -> None:
        """A village key writes, moves or deletes another village's card and pushes it to its county
        hub: a genuine signature on its own feed, which the hub must refuse (`not-owner`)."""
        w, rng = self.w, self.identity_rng
        villages = w.live("village")
        if not villages:
            return
        node = rng.choice(villages)
        hub = w.county_of(node)
        tbl: Any = schema.TABLES["person"].__table__  # type: ignore[attr-defined]
        with hub.store.engine.connect() as conn:
            others = [bytes.fromhex(r.id) for r in conn.execute(
                select(tbl.c.id).where(tbl.c.scope != node.home).order_by(tbl.c.id))]
            head = hub.store._head(conn, (node.author, node.home))
        if not others:
            return
        row = rng.choice(others)
        stamp = node.store.hlc.now()
        change = rng.choice([Change("person", row, "name", "冒名顶替", stamp),
                             Change("person", row, "scope", node.home, stamp),
                             Change("person", row, DELETE_FIELD, DELETE_VALUE, stamp)])
        cs = seal(node.key, node.home, head.seq + 1 if head else 1, head.id if head else None, [change])
        [out] = hub.store.apply([cs.envelope])
        w.attacks.append((hub.name, out.get("status", ""), out.get("code", "")))
        w.note(f"sibling-write {node.name}")

    def register(self, node: Node, where: str | None = None) -> None:
        w, rng = self.w, self.rng
        village = where or node.home
        pool = self.pool(village)
        if rng.random() < 0.05:  # someone registered twice, offline, by two villages
            others = [v for v in self.pools if v != village]
            if others:
                pool = self.pools[rng.choice(sorted(others))]
        p = pool[rng.randrange(len(pool))]
        ops.register_person(node.store, card_fields(p), scope=village, today=today(w))
        w.note(f"register {node.name}")

    def province_post(self) -> None:
        """The province office posts a province-wide job (every village receives it)."""
        w = self.w
        node = w.nodes["office"]
        with w.acknowledging(node):
            if self.employer is None:
                e = generate.employers(self.rng, 1)[0]
                self.employer = ops.register_employer(node.store, {"uscc": e["uscc"], "name": e["name"],
                                                                   "industry": e["industry"]})
            ops.post_job(node.store, {"employer": self.employer.hex(), "title": "普工", "positions": 20,
                                      "region_class": "省外", "valid_until": "2024-12-31"}, today=today(w))
        w.note("post office")

    def pool(self, village: str) -> list[generate.Person]:
        if village not in self.pools:
            self.pools[village] = generate.people(self.rng, village[:6], f"{village[-3:]}村", self.rng.randrange(8, 25),
                                                  today=date(2024, 6, 1))
        return self.pools[village]

    @staticmethod
    def rows_of(store: Store, table: str) -> list[bytes]:
        """Ids of the rows the operator's screen shows (materialized), in a stable order."""
        tbl: Any = schema.TABLES[table].__table__  # type: ignore[attr-defined]
        with store.engine.connect() as conn:
            return [bytes.fromhex(r.id) for r in conn.execute(select(tbl.c.id).order_by(tbl.c.id))]

    def people_of(self, store: Store) -> list[bytes]:
        return self.rows_of(store, "person")

    # -- syncing -------------------------------------------------------------------------------------

    def sync(self) -> None:
        w, rng = self.w, self.rng
        node = rng.choice(w.live("village", "township", "office") + [n for n in w.nodes.values() if n.thief])
        if rng.random() < 0.04:
            w.crash_at = rng.randrange(0, 6)
        target = node.county
        if rng.random() < 0.05 or w.host(node.county) in w.net.down:
            target = PROVINCE  # the county hub is down: a node may sync with any hub covering it
        self._sync(node, target)

    def relay(self) -> None:
        self._sync(self.rng.choice(self.w.live("county")), PROVINCE)

    def _sync(self, node: Node, hub_code: str, quiet: bool = True) -> int:
        """One sync; its failures are the network's doing and are only noted."""
        w = self.w
        try:
            report = w.client(node, hub_code).sync()
            w.note(f"sync {node.name}→{hub_code}")
            return report.pushed + report.pulled + report.sealed
        except SimCrash as exc:
            w.note(f"crash-mid-sync {node.name} at {exc}")
            self.reopen(node)
        except SyncFailed as exc:
            w.note(f"sync-failed {node.name}→{hub_code}: {exc.error or 'network'}")
            if not quiet and not node.thief:
                raise
        finally:
            w.crash_at = None
        return 0

    def partition(self) -> None:
        w, rng = self.w, self.rng
        r = rng.random()
        if r < 0.6:
            link = rng.choice(w.live("village", "township")).name
        elif r < 0.8:
            link = w.host(rng.choice(w.live("county")).home)
        else:
            link = f"relay-{rng.choice(w.live('county')).home}"
        long = rng.random() < 0.3
        self.partitions[link] = self.step + rng.randrange(1, w.shape.steps // (2 if long else 10) + 2)
        w.net.down.add(link)
        w.note(f"partition {link} until step {self.partitions[link]}")

    # -- machines ---------------------------------------------------------------------------------------

    def reopen(self, node: Node) -> None:
        """The process died: the store is opened again from its file, nothing sealed meanwhile."""
        node.store.close()
        node.store = Store.open(str(node.path), node.key, wall=self.w.wall(node), rules=RULES)

    def crash(self) -> None:
        node = self.rng.choice(self.w.live("village", "township"))
        self.reopen(node)
        self.w.note(f"crash {node.name}")

    def clock(self) -> None:
        w, rng = self.w, self.rng
        node = rng.choice(w.live("village"))
        node.skew = rng.choice((Y2001_MS - START_MS, Y2099_MS - START_MS, 0))
        w.note(f"clock {node.name} {node.skew:+d}")

    def backup(self) -> None:
        node = self.rng.choice(self.w.live("village"))
        node.backup = self.w.tmp / f"{node.name}.backup"
        backup_copy(node.path, node.backup)
        self.w.note(f"backup {node.name}")

    def restore(self) -> None:
        w, rng = self.w, self.rng
        candidates = [n for n in w.live("village") if n.backup is not None]
        if not candidates:
            return
        node = rng.choice(candidates)
        assert node.backup is not None
        kept = Store.open(str(node.backup), None)
        try:
            w.lose_laptop(node, kept)
        finally:
            kept.close()
        node.store = replace_file(node, node.backup, w.wall(node))
        w.note(f"restore {node.name}")
        if rng.random() < 0.3:
            self.carry(node, w.nodes[node.home[:9] + "000"])  # a bundle before its first sync: may fork
        else:
            self._sync(node, node.county)

    def bundle(self) -> None:
        w, rng = self.w, self.rng
        node = rng.choice(w.live("village"))
        to = w.nodes[node.county] if rng.random() < 0.4 else w.nodes[node.home[:9] + "000"]
        self.carry(node, to)

    def carry(self, node: Node, to: Node, may_lose: bool = True) -> None:
        """A USB stick from `node` to `to`: seal, export what `to` lacks, import there."""
        path = self.w.tmp / "stick.laowu"
        node.store.seal()
        # Either what the receiver lacks (its vector known from its last stick) or everything.
        known = to.store.vector() if self.rng.random() < 0.5 else None
        export_bundle(node.store, path, for_vector=known, for_home=to.home)
        if may_lose and self.rng.random() < 0.1:
            self.w.note(f"bundle-lost {node.name}")
            return
        for _ in range(2 if self.rng.random() < 0.1 else 1):  # sometimes imported twice
            summary = import_bundle(to.store, path)
            self.w.note(f"bundle {node.name}→{to.name} {sorted(summary.counts.items())}")

    # -- theft and staff ---------------------------------------------------------------------------------

    def steal(self) -> None:
        """A village laptop is stolen; the county revokes its key at once and hands out a new one."""
        w = self.w
        node = self.rng.choice(w.live("village"))
        county = w.county_of(node)
        w.lose_laptop(node, None)
        rev = enroll.revoke(county.store, node.author, "stolen")
        w.revoked_at[node.author] = decode_revocation(rev).cutoffs
        w.stolen.add(node.author)
        self.replace(node, thief=True)
        w.note(f"stolen {node.name}")

    def thief(self) -> None:
        w, rng = self.w, self.rng
        thieves = [n for n in w.nodes.values() if n.thief]
        if not thieves:
            return self.write()
        node = rng.choice(thieves)
        try:
            with w.acknowledging(node):
                self._write(node)
        except InvalidValue:
            pass
        r = rng.random()
        if r < 0.4:
            self._sync(node, node.county if rng.random() < 0.8 else PROVINCE)
        elif r < 0.55:  # a stick into the township office, which may not have heard of the theft yet
            self.carry(node, w.nodes[node.home[:9] + "000"])
        return None

    def replace(self, old: Node, *, thief: bool = False) -> Node:
        """A new laptop for `old`'s place, set up at the county office (no faults on its LAN): a new
        key enrolled online with a one-time code (after a theft) or re-keyed with a successor
        certificate (after a fork), then bootstrapped from the county's snapshot."""
        w = self.w
        county = w.county_of(old)
        self.spare += 1
        key = KeyPair.from_seed(f"sim/{w.seed}/{old.home}/spare{self.spare}".encode())
        old.retired, old.thief = True, thief
        del w.nodes[old.name]
        old.name = f"{old.home}~{self.spare}"
        w.nodes[old.name] = old
        new = Node(old.home, old.home, old.kind, old.county, key, w.tmp / f"{old.home}-{self.spare}.db")
        shutil.copyfile(template(w.tmp), new.path)
        new.store = Store.create(str(new.path), key, new.home, w.box.root.public, [w.box.members[PROVINCE].cert],
                                 wall=w.wall(new), rules=RULES)
        lan = MemoryTransport(w.hubs, Network(), link="lan")
        url = f"http://{w.host(old.county)}"
        if thief:
            otp = f"{self.spare:08d}"
            enroll.add_otp(county.store, otp, new.home, new.kind)
            req = messages.EnrollRequest.make(key, new.home, new.kind, "sim", w.now, otp)
            answer = httpx.Client(transport=lan, base_url=url).post("/v1/enroll", content=req.encode())
            assert answer.status_code == 200, answer.content
            chain = codec.unpack(answer.content, max_bytes=1 << 20, what="enroll answer")["certs"]
        else:
            enroll.rekey(county.store, old.author, messages.EnrollRequest.make(key, new.home, new.kind, "sim", w.now))
            chain = county.store.trust.chains({key.public})
        for raw in chain:
            new.store.add_certificate(raw)
        client = SyncClient(new.store, url, county.author, transport=lan)
        try:
            bootstrap(client, new.path)
        finally:
            client.close()
        new.store = Store.open(str(new.path), key, wall=w.wall(new), rules=RULES)
        w.nodes[new.name] = new
        return new

    def staff(self) -> None:
        node = self.rng.choice(self.w.live("county"))
        released = node.store.release_quarantine()
        self.w.note(f"staff {node.name} released {len(released)}")
        self.staff_all()

    def staff_all(self) -> int:
        """County staff re-key every live laptop whose feed forked somewhere (after collecting what
        it holds on a USB stick), so its later writes are not forks too."""
        w = self.w
        forked: set[bytes] = set()
        for n in w.live("province", "county", "township"):
            forked |= fork_authors(n.store)
        done = self.approve_erasures() + self.settle_conflicts()
        for node in w.live("village"):
            if node.author in forked:
                county = w.county_of(node)
                try:
                    self.carry(node, county, may_lose=False)
                except LaowuError as exc:
                    w.note(f"carry-failed {node.name}: {exc}")
                # The key is cut off at the heads the county holds, so staff first bring the county
                # up to date: accept what the stick brought (early stamps included), collect what
                # the township holds, relay with the province. Anything left out would be revoked.
                county.store.release_quarantine()
                self.lan_sync(w.nodes[node.home[:9] + "000"], county.home)
                self.lan_sync(county, PROVINCE)
                county.store.release_quarantine()
                w.lose_laptop(node, None)
                self.replace(node)
                w.note(f"rekey {node.name}")
                done += 1
        return done


    def approve_erasures(self) -> int:
        """County staff carry out the erasure requests their villages sent."""
        done = 0
        for county in self.w.live("county"):
            for req in erase.pending(county.store):
                try:
                    erase.approve(county.store, req.row)
                    done += 1
                    self.w.note(f"erase-approved {county.name}")
                except ConfigError as exc:
                    self.w.note(f"erase-refused {county.name}: {exc}")
        return done

    def settle_conflicts(self) -> int:
        """County staff settle the duplicate cards and the edits that crossed a transfer that their hub
        queued, with the decisions the console and `laowu-hub conflicts resolve` offer."""
        w, rng = self.w, self.identity_rng
        done = 0
        for county in w.live("county"):
            with county.store.engine.connect() as conn:
                queued = [(r.kind, list(msgpack.unpackb(r.rows))) for r in conn.execute(
                    select(t.conflicts.c.kind, t.conflicts.c.rows).where(
                        t.conflicts.c.resolved.is_(None), t.conflicts.c.kind.in_(identity.RESOLUTIONS))
                    .order_by(t.conflicts.c.key))]
            for kind, rows in queued:
                decision = rng.choice([d for d, _ in identity.RESOLUTIONS[kind]])
                try:
                    with w.acknowledging(county):
                        identity.settle(county.store, kind, rows, decision, rng.choice(rows), on=today(w))
                    w.note(f"settle-{kind} {county.name} {decision}")
                    done += 1
                except (InvalidValue, ConfigError) as exc:  # e.g. a card of another county
                    w.note(f"settle-refused {county.name}: {exc}")
        return done

    def lan_sync(self, node: Node, hub_code: str) -> None:
        """A sync staff make sure of: over a link without faults, once the hub answers at all."""
        w = self.w
        client = SyncClient(node.store, f"http://{w.host(hub_code)}", w.nodes[hub_code].author,
                            transport=MemoryTransport(w.hubs, Network(), link="lan"))
        try:
            client.sync()
        finally:
            client.close()


def fork_authors(store: Store) -> set[bytes]:
    with store.engine.connect() as conn:
        return {r.author for r in conn.execute(select(t.forks.c.author))}

