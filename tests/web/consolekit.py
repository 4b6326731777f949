"""A county hub serving its console, two villages and a township account: the kit the console tests share.

`ConsoleWorld` builds a province and a county hub (SQLite stores behind real uvicorn on loopback,
the console mounted at /console as `laowu-hub serve` does), two village stores in the county and
one village in a second county, console accounts (county operator, county viewer, a village
account), and makes the work the console shows: a placement conflict, a quarantined changeset
(a village clock two years ahead), an enrollment request file and a USB bundle.
"""
from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from stdnum.cn import ric

from hub.app import Hub
from hub.server import ServerThread
from node.sync.bundles import export_bundle
from node.domain import ops
from node.domain.rules import RULES
from node.sandbox import Sandbox
from node.engine.store import Store
from node.sync.client import SyncClient
from node.web import accounts
from protocol import clock, messages
from protocol.keys import KeyPair

PROVINCE, COUNTY, OTHER_COUNTY = "510000000000", "513225000000", "513226000000"
VILLAGE_A, VILLAGE_B, VILLAGE_C, VILLAGE_D = "513225103201", "513225103202", "513225104201", "513225103203"
OTHER_VILLAGE = "513226100201"
PASSWORD = "console-pass-123"
COUNTY_USER, VIEWER, VILLAGE_USER = "liqiang", "zhaomin", "cunguan"
YEAR_MS = 365 * 24 * 3600 * 1000


def ident(seq: int, region: str = "513225") -> str:
    body = f"{region}19900307{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


class ConsoleWorld:
    def __init__(self, tmp: Path) -> None:
        os.environ.setdefault("LAOWU_PASSPHRASE", "console-test-passphrase")
        self.tmp = tmp
        self.box = Sandbox.create(PROVINCE)
        self.box.enroll(COUNTY, "county", PROVINCE)
        self.box.enroll(OTHER_COUNTY, "county", PROVINCE)
        self.province, self.province_server = self._hub(PROVINCE)
        self.county, self.server = self._hub(COUNTY)
        self.hub: Hub = self.hub_of_county
        self.url = self.server.url + "/console"
        self.nodes: dict[str, Store] = {}
        self.clients: list[SyncClient] = []
        accounts.create(self.county.engine, COUNTY_USER, PASSWORD, scope=COUNTY, role="administrator", display="李强")
        accounts.create(self.county.engine, VIEWER, PASSWORD, scope=COUNTY, role="viewer", display="赵敏")
        accounts.create(self.county.engine, VILLAGE_USER, PASSWORD, scope=VILLAGE_C, role="operator", display="村官")

    def _hub(self, code: str) -> tuple[Store, ServerThread]:
        m = self.box.members[code]
        chain = [self.box.members[PROVINCE].cert] + ([m.cert] if code != PROVINCE else [])
        store = Store.create(str(self.tmp / f"hub-{code}.sqlite"), m.key, code, self.box.root.public, chain,
                             rules=RULES)
        hub = Hub(store)
        server = ServerThread(hub).__enter__()
        if code == COUNTY:
            self.hub_of_county = hub
        return store, server

    def chain(self, code: str) -> list[bytes]:
        county = COUNTY if code.startswith("513225") else OTHER_COUNTY
        return [self.box.members[PROVINCE].cert, self.box.members[county].cert, self.box.members[code].cert]

    def node(self, code: str, **kw: Any) -> Store:
        if code not in self.nodes:
            county = COUNTY if code.startswith("513225") else OTHER_COUNTY
            m = self.box.enroll(code, "village", county)
            self.nodes[code] = Store.create(str(self.tmp / f"{code}.sqlite"), m.key, code, self.box.root.public,
                                            self.chain(code), **kw)
        return self.nodes[code]

    def sync(self, code: str) -> Any:
        c = SyncClient(self.node(code), self.server.url, self.county.author)
        self.clients.append(c)
        return c.sync()

    # -- the work the console shows -----------------------------------------------------------

    def broker_conflict(self) -> None:
        """One broker (one ID number) filed in village A and, offline, in village B: each village alone is
        consistent, the county sees a semantic conflict (经纪人重复备案)."""
        ops.register_person(self.node(VILLAGE_A), {"id_number": ident(11), "name": "高振强", "phone": "13800000001",
                                                   "education": "初中", "household_income": 12000}, today=date(2024, 6, 1))
        for code, phone in ((VILLAGE_A, "13912345678"), (VILLAGE_B, "13987654321")):
            store = self.node(code)
            ops.broker_apply(store, {"id_number": ident(103), "name": "周建华", "phone": phone, "filed_on": "2021-03-01"},
                             today=date(2024, 6, 1), already_filed=True)
            store.seal()

    def duplicate_cards(self) -> tuple[bytes, bytes]:
        """The same person registered offline in village A and village B (one ID number, two cards): the
        county queues a duplicate-id conflict. B's card knows the household address, A's does not."""
        a = ops.register_person(self.node(VILLAGE_A), {"id_number": ident(51), "name": "张秀兰", "phone": "13800000051",
                                                       "education": "初中"}, today=date(2024, 6, 1))
        b = ops.register_person(self.node(VILLAGE_B), {"id_number": ident(51), "name": "张秀兰", "phone": "13800000052",
                                                       "education": "初中", "household_address": "红岩村三组"},
                                today=date(2024, 6, 1))
        self.node(VILLAGE_A).seal()
        self.node(VILLAGE_B).seal()
        return a, b

    def quarantined(self) -> None:
        """Village D's laptop clock two years ahead: its changeset is quarantined at the county."""
        ahead = lambda: clock.wall_ms() + 2 * YEAR_MS  # noqa: E731
        b = self.node(VILLAGE_D, wall=ahead)
        ops.register_person(b, {"id_number": ident(21), "name": "李秀英", "phone": "13800000002", "education": "高中"},
                            today=date(2024, 6, 1))
        b.seal()

    def request_file(self, code: str = VILLAGE_C) -> tuple[Path, KeyPair]:
        """A new village laptop's enrollment request, as `laowu-node init` writes it."""
        key = KeyPair.generate()
        req = messages.EnrollRequest.make(key, code, "village", "张会计", clock.wall_ms())
        path = self.tmp / f"enroll-request-{code}.laowu"
        path.write_bytes(req.encode())
        return path, key

    def bundle(self) -> Path:
        """A USB bundle from village A (new work, never synced)."""
        a = self.node(VILLAGE_A)
        ops.register_person(a, {"id_number": ident(31), "name": "王建国", "phone": "13800000003", "education": "小学"},
                            today=date(2024, 6, 1))
        a.seal()
        path = self.tmp / "to-county.laowu"
        export_bundle(a, path, for_home=COUNTY)
        return path

    def with_work(self) -> ConsoleWorld:
        """The work both console test modules start from: a broker filed in villages A and B (a conflict),
        a quarantined changeset of village D (its clock two years ahead), all synced to the county."""
        self.broker_conflict()
        self.cards = self.duplicate_cards()
        self.sync(VILLAGE_A)
        self.sync(VILLAGE_B)
        self.quarantined()
        self.sync(VILLAGE_D)
        return self

    def login(self, client: httpx.Client, name: str = COUNTY_USER) -> None:
        page = client.get("/login")
        token = page.text.split('name="csrf" value="')[1].split('"')[0]
        r = client.post("/login", data={"csrf": token, "name": name, "password": PASSWORD})
        assert r.status_code == 303, r.text

    def close(self) -> None:
        for c in self.clients:
            c.close()
        for s in self.nodes.values():
            s.close()
        for store, server in ((self.county, self.server), (self.province, self.province_server)):
            server.__exit__()
            store.close()


def csrf_of(html: str) -> str:
    return html.split('name="csrf" value="')[1].split('"')[0]
