"""One card per person, end to end (issue 8 items 1–4), through the real CLIs as real processes.

A province hub and a county hub serve on loopback (the county relays up every second); two village
nodes of one township work offline and sync with `laowu-node sync`. The fleet is set up once for the
module; each test works on people of its own, and each resolution ends with every replica converged
(`converged`: the county and the province hold the same cards, history and conflicts of those people,
each village exactly the county's of its own place, every conflict resolved):

* duplicate cards resolved by *transfer*, by *merge into one card* and as *different people* (a
  correction that collided; the card is flagged at its village, which corrects it);
* the sibling village's genuine key writing, moving and deleting the other village's card is refused
  at the county with `not-owner`, and nothing changes anywhere;
* a village's transfer request approved by the county;
* a county transfer while the old village edits the card offline: the edits reach the closed card,
  are queued as a `transfer-edit` conflict, and the county's `follow` carries them to the new card.

Steps two villages take independently (registering offline, syncing) run side by side (`both`), as
two village offices would: the two CLIs share the machine's cores instead of queueing.
"""
from __future__ import annotations

import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hubkit import push, session, wait_for

from hub.demo import PASS, Server, hub, node
from hub.server import free_port
from node.cli.main import db_key
from node.engine.db import connect_raw
from node.engine.schema import row_place
from node.engine.store import Store
from protocol import clock
from protocol.changeset import DELETE_FIELD, DELETE_VALUE, Change, seal
from protocol.keys import KeyPair
from stdnum.cn import ric

PROVINCE, COUNTY, A, B = "510000000000", "513225000000", "513225103201", "513225103202"


def ident(birth: date, seq: int) -> str:
    body = f"513225{birth:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


def db_key_of(db: Path) -> bytes | None:
    """A node's database is encrypted under a key derived from its own key; a hub's is not."""
    return db_key(KeyPair.load(db.parent / "node.key", PASS)) if db.name == "node.sqlite" else None


def select_all(db: Path, sql: str, *params: Any) -> list[dict[str, Any]]:
    con = connect_raw(db, db_key_of(db))
    con.row_factory = lambda cur, row: {d[0]: v for d, v in zip(cur.description, row)}
    try:
        return list(con.execute(sql, params))
    finally:
        con.close()


def cards(db: Path, id_number: str) -> list[dict[str, Any]]:
    return select_all(db, "SELECT * FROM person WHERE id_number = ? ORDER BY scope, id", id_number)


def queue(db: Path, kind: str) -> list[tuple[bytes, Any]]:
    return [(r["key"], r["resolved"]) for r in select_all(db, "SELECT key, resolved FROM lw_conflict WHERE kind = ?", kind)]


@dataclass
class Fleet:
    env: dict[str, str]
    province: Path
    county: Path
    villages: dict[str, Path]  # place → node directory
    county_url: str
    county_key: str

    def hub(self, *args: str) -> Any:
        return hub(*args[:2], "--dir", str(self.county), *args[2:], env=self.env) if args[0] in (
            "conflicts", "transfer") else hub(*args, env=self.env)

    def node(self, place: str, *args: str) -> Any:
        return node(self.villages[place], *args, env=self.env)

    def both(self, a: tuple[str, ...], b: tuple[str, ...]) -> tuple[Any, Any]:
        """Village A runs `a` while village B runs `b`: two offices, each on its own."""
        with ThreadPoolExecutor(2) as pool:
            fa, fb = pool.submit(self.node, A, *a), pool.submit(self.node, B, *b)
            return fa.result(), fb.result()

    def sync_both(self) -> None:
        self.both(("sync",), ("sync",))

    def db(self, where: str) -> Path:
        if where in self.villages:
            return self.villages[where] / "node.sqlite"
        return (self.county if where == "county" else self.province) / "hub.sqlite"

    def conflict_of(self, kind: str, rows: set[str]) -> str:
        """The key of the open conflict of `kind` between exactly `rows`, as `conflicts list` shows it."""
        listed = self.hub("conflicts", "list")["conflicts"]
        [key] = [x["key"] for x in listed if x["kind"] == kind and set(x["rows"]) == rows]
        return str(key)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    tmp = tmp_path_factory.mktemp("identity-e2e")
    env = {**os.environ, "LAOWU_PASSPHRASE": PASS, "PYTHONUNBUFFERED": "1"}
    prov, county = tmp / "province", tmp / "county"
    villages = {A: tmp / "village-a", B: tmp / "village-b"}
    servers: list[Server] = []
    try:
        root = hub("init-province", "--dir", str(prov), "--code", PROVINCE, env=env)
        c = hub("init", "--dir", str(county), "--code", COUNTY, "--province", root["province_file"], env=env)
        hub("approve", "--dir", str(prov), "--request", c["request"], "--out", str(county / "certs.laowu"), env=env)
        hub("install", "--dir", str(county), "--certs", str(county / "certs.laowu"), env=env)
        servers.append(Server(prov, free_port(), env).start())
        c_srv = Server(county, free_port(), env, (servers[0].url, root["hub"])).start()
        servers.append(c_srv)
        f = Fleet(env, prov, county, villages, c_srv.url, c["author"])
        otps = {place: hub("otp", "--dir", str(county), "--place", place, env=env)["otp"] for place in villages}

        def enrolled(place: str) -> None:
            f.node(place, "init", "--place", place, "--province", root["province_file"], "--hub", c_srv.url,
                   "--hub-key", c["author"])
            f.node(place, "enroll", "--otp", otps[place])

        with ThreadPoolExecutor(2) as pool:
            list(pool.map(enrolled, villages))
        yield f
    finally:
        for s in servers:
            s.kill()


# -- converged: what every replica holds of some people ---------------------------------------------

HISTORY = ("placement", "follow_up", "training_need", "training_record", "return_registration")


def held(db: Path, numbers: tuple[str, ...]) -> dict[str, list[Any]]:
    """The cards of these ID numbers, their history rows and the open conflicts on the cards, as `db`
    holds them (materialized rows, every column; conflicts as key, kind, rows). Resolved conflicts
    are left out: the queue is each replica's own judgement of what it applied, and a replica that
    met a transfer's new card before the old one's closing (two feeds) briefly saw a duplicate."""
    marks = ",".join("?" * len(numbers))
    people = select_all(db, f"SELECT * FROM person WHERE id_number IN ({marks}) ORDER BY id", *numbers)
    ids = {p["id"] for p in people}
    out: dict[str, list[Any]] = {"person": people}
    for tbl in HISTORY:
        out[tbl] = [r for r in select_all(db, f"SELECT * FROM {tbl} ORDER BY id") if r["person"] in ids]
    queued = [(r["key"], r["kind"], tuple(sorted(x.hex() for x in msgpack.unpackb(r["rows"]))))
              for r in select_all(db, "SELECT key, kind, rows FROM lw_conflict WHERE tbl = 'person' AND resolved IS NULL")]
    out["conflicts"] = sorted(c for c in queued if set(c[2]) & ids)
    return out


def of_place(view: dict[str, list[Any]], place: str) -> dict[str, list[Any]]:
    """What a village may hold of `view`: its own records; the conflicts among its own cards, and the
    `transfer-edit` of a card it transferred away (the rule needs only that card)."""
    out = {k: [r for r in v if r["scope"] == place] for k, v in view.items() if k != "conflicts"}
    ids = {p["id"] for p in out["person"]}
    gone = {p["id"] for p in out["person"] if p["closed_reason"] == "迁出"}
    out["conflicts"] = [c for c in view["conflicts"] if set(c[2]) <= ids or (c[1] == "transfer-edit" and set(c[2]) & gone)]
    return out


def converged(f: Fleet, *numbers: str) -> dict[str, list[Any]]:
    """Every replica holds the same of these people: the province what the county holds, each village
    exactly the county's records of its place; no conflict on their cards open anywhere. Returns the
    county's view."""
    at_county = held(f.db("county"), numbers)
    assert at_county["person"], "no cards of these people at the county"
    try:
        wait_for("the province to hold what the county holds", lambda: held(f.db("province"), numbers) == at_county)
    except AssertionError:
        assert held(f.db("province"), numbers) == at_county  # shows the difference
    for place in (A, B):
        assert held(f.db(place), numbers) == of_place(at_county, place), f"village {place} differs from the county"
    assert at_county["conflicts"] == [], at_county["conflicts"]
    return at_county


# -- the resolutions ------------------------------------------------------------------------------

def test_duplicate_cards_are_kept_intact_and_a_transfer_resolution_converges(fleet: Fleet) -> None:
    f, gao = fleet, ident(date(1988, 4, 5), 11)
    f.both(("person", "add", "--id-number", gao, "--name", "高振强", "--phone", "13800000001", "--skill", "电工"),
           ("person", "add", "--id-number", gao, "--name", "高振强", "--phone", "13800000002"))
    f.sync_both()
    wait_for("the province to hold both cards", lambda: len(cards(f.db("province"), gao)) == 2)
    for where in ("county", "province"):
        both = cards(f.db(where), gao)
        assert [(x["scope"], x["phone"]) for x in both] == [(A, "13800000001"), (B, "13800000002")]
        assert [row_place(bytes.fromhex(x["id"])) for x in both] == [A, B]
    ids = {x["id"] for x in cards(f.db("county"), gao)}
    key = f.conflict_of("duplicate-id", ids)
    shown = f.hub("conflicts", "show", "--key", key)
    assert gao not in str(shown) and gao[:6] in str(shown)  # masked, side by side
    keep = next(x["id"] for x in shown["cards"] if x["scope"] == A)
    f.hub("conflicts", "resolve", "--key", key, "--decision", "transfer", "--keep", keep)
    f.sync_both()
    view = converged(f, gao)
    assert [(x["scope"], x["closed_reason"]) for x in view["person"] if x["id"] == keep] == [(A, None)]
    assert [(x["closed_reason"], x["successor"]) for x in cards(f.db(B), gao)] == [("重复", keep)]
    assert [bool(resolved) for k, resolved in queue(f.db("province"), "duplicate-id") if k.hex() == key] == [True]


def test_duplicate_cards_merged_into_one_card_converge(fleet: Fleet) -> None:
    """The kept card gains what only the other held (a field, a skill, its placement); the other is
    closed as 合并, pointing at the kept card."""
    f, wang = fleet, ident(date(1992, 3, 3), 31)
    f.both(("person", "add", "--id-number", wang, "--name", "王五", "--phone", "13800000031", "--skill", "电工"),
           ("person", "add", "--id-number", wang, "--name", "王五", "--education", "高中", "--skill", "焊工"))
    f.node(B, "placement", "add", "--id-number", wang, "--employer", "成都鑫达建筑劳务有限公司", "--start", "2026-10-01",
           "--contract-months", "12")
    f.sync_both()
    ids = {x["id"] for x in cards(f.db("county"), wang)}
    keep = next(x["id"] for x in cards(f.db("county"), wang) if x["scope"] == A)
    f.hub("conflicts", "resolve", "--key", f.conflict_of("duplicate-id", ids), "--decision", "merge", "--keep", keep)
    f.sync_both()
    view = converged(f, wang)
    [kept] = cards(f.db(A), wang)
    assert (kept["id"], kept["phone"], kept["education"], kept["closed_on"]) == (keep, "13800000031", "高中", None)
    assert sorted(f.node(A, "person", "show", "--id-number", wang)["skills"]) == ["焊工", "电工"]
    [gone] = cards(f.db(B), wang)
    assert (gone["closed_reason"], gone["successor"]) == ("合并", keep)
    [original] = [p for p in view["placement"] if p["scope"] == B]
    [copy] = [p for p in view["placement"] if p["scope"] == A]
    assert (copy["person"], copy["origin"], copy["employer_name"]) == (keep, original["id"], original["employer_name"])


def test_a_colliding_correction_is_flagged_at_its_village_as_different_people_and_corrected(fleet: Fleet) -> None:
    f = fleet
    zhou, typo, right = ident(date(1990, 7, 1), 21), ident(date(1990, 7, 2), 21), ident(date(1990, 7, 3), 21)
    f.both(("person", "add", "--id-number", typo, "--name", "张三"), ("person", "add", "--id-number", zhou, "--name", "周八"))
    f.node(A, "person", "edit", "--id-number", typo, "--set", f"id_number={zhou}")
    f.sync_both()
    held_zhou = cards(f.db("county"), zhou)
    assert [x["name"] for x in held_zhou] == ["张三", "周八"]  # both intact: 张三 did not become 周八
    ours = next(x["id"] for x in held_zhou if x["scope"] == B)
    f.hub("conflicts", "resolve", "--key", f.conflict_of("duplicate-id", {x["id"] for x in held_zhou}),
          "--decision", "different-people", "--keep", ours)
    f.sync_both()
    converged(f, zhou)
    [flagged] = cards(f.db(A), zhou)
    assert (flagged["name"], flagged["needs_correction"]) == ("张三", 1)
    f.node(A, "person", "edit", "--id-number", zhou, "--set", f"id_number={right}")  # village A corrects it
    f.node(A, "sync")
    view = converged(f, zhou, right)
    assert [(x["name"], x["id_number"], bool(x["needs_correction"])) for x in view["person"] if x["scope"] == A] == [
        ("张三", right, False)]


def test_a_sibling_village_cannot_write_move_or_delete_a_card(fleet: Fleet) -> None:
    f, sun = fleet, ident(date(1979, 1, 9), 51)
    f.node(A, "person", "add", "--id-number", sun, "--name", "孙七", "--phone", "13800000051")
    f.node(A, "sync")
    [card] = cards(f.db("county"), sun)
    thief = KeyPair.load(f.villages[B] / "node.key", PASS)
    with _open(f.db("county")) as held_at_county:
        chain = held_at_county.trust.chains({thief.public})
    token = session(f.county_url, bytes.fromhex(f.county_key), thief, B, chain)
    stamp = clock.pack(clock.wall_ms())
    with _open(f.db(B)) as mine, mine.engine.connect() as conn:
        head = mine._head(conn, (thief.public, B))
    seq, prev = (head.seq, head.id) if head else (0, None)
    row = bytes.fromhex(card["id"])
    for change in (Change("person", row, "phone", "13899999999", stamp), Change("person", row, "scope", B, stamp),
                   Change("person", row, DELETE_FIELD, DELETE_VALUE, stamp)):
        [out] = push(f.county_url, token, [seal(thief, B, seq + 1, prev, [change]).envelope])
        assert (out["status"], out["code"]) == ("refused", "not-owner"), out
    f.sync_both()
    time.sleep(2)  # a relay round
    view = converged(f, sun)
    assert [(x["phone"], x["scope"]) for x in view["person"]] == [("13800000051", A)]


def test_a_transfer_asked_for_by_a_village_and_approved_by_the_county_converges(fleet: Fleet) -> None:
    f, zhao = fleet, ident(date(1986, 2, 2), 61)
    f.node(A, "person", "add", "--id-number", zhao, "--name", "赵六", "--phone", "13800000061", "--skill", "电工")
    asked = f.node(A, "person", "transfer", "--id-number", zhao, "--to", B, "--reason", "婚嫁")
    f.node(A, "sync")
    [req] = [r for r in f.hub("transfer", "list")["requests"] if r["id"] == asked["request"]]
    moved = f.hub("transfer", "approve", "--request", req["id"])
    f.sync_both()
    converged(f, zhao)
    at_b = [x for x in cards(f.db(B), zhao) if x["closed_on"] is None]
    assert [(x["id"], x["scope"], x["phone"]) for x in at_b] == [(moved["new card"], B, "13800000061")]
    [old] = cards(f.db(A), zhao)
    assert (old["closed_reason"], old["successor"]) == ("迁出", moved["new card"])
    shown_b = f.node(B, "person", "show", "--id-number", zhao)
    assert shown_b["scope"] == B and shown_b["skills"] == ["电工"]


def test_edits_made_offline_while_the_county_transfers_the_card_reach_the_new_card(fleet: Fleet) -> None:
    """Village A edits the card offline while the county moves the person to B: the edits land on A's
    closed card, a `transfer-edit` conflict is queued wherever that card is held (A too), and the
    county's `follow` copies them into B's card. Nothing A typed is lost."""
    f, li = fleet, ident(date(1985, 6, 6), 41)
    f.node(A, "person", "add", "--id-number", li, "--name", "李四", "--phone", "13800000041")
    f.node(A, "sync")
    [card] = cards(f.db("county"), li)
    f.node(A, "person", "edit", "--id-number", li, "--set", "phone=13800000042", "--add-skill", "厨师")  # offline
    moved = f.hub("transfer", "move", "--person", card["id"], "--to", B)
    f.sync_both()
    new = moved["new card"]
    [at_b] = cards(f.db(B), li)
    assert (at_b["id"], at_b["phone"]) == (new, "13800000041")  # what the county handed over
    wait_for("village A's edits to reach the county", lambda: next(
        x for x in cards(f.db("county"), li) if x["id"] == card["id"])["phone"] == "13800000042")
    key = f.conflict_of("transfer-edit", {card["id"], new})
    assert [bool(r) for k, r in queue(f.db(A), "transfer-edit") if k.hex() == key] == [False]  # queued at A too
    done = f.hub("conflicts", "resolve", "--key", key, "--decision", "follow")
    assert set(done["copied fields"]) >= {"phone", "skills"}
    f.sync_both()
    view = converged(f, li)
    for where in ("county", "province", A):  # queued there, and closed by the county's decision
        assert [bool(r) for k, r in queue(f.db(where), "transfer-edit") if k.hex() == key] == [True], where
    assert [(x["id"], x["scope"], x["phone"], x["closed_reason"]) for x in view["person"]] == sorted(
        [(card["id"], A, "13800000042", "迁出"), (new, B, "13800000042", None)])
    assert f.node(B, "person", "show", "--id-number", li)["skills"] == ["厨师"]


class _open:
    """A read-only store on a database file, closed on leaving the block."""

    def __init__(self, db: Path) -> None:
        key = db_key_of(db)
        self.store = Store.open(str(db), None, **({"engine_kw": {"db_key": key}} if key else {}))

    def __enter__(self) -> Store:
        return self.store

    def __exit__(self, *exc: object) -> None:
        self.store.close()
