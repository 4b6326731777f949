"""A village desk against a real county hub: the kit the desk's tests share.

`DeskWorld` builds a province and a county hub (SQLite stores behind real uvicorn on loopback,
keys and certificates from the deterministic sandbox), a village node directory as
`laowu-node init` + `install-certs` leave it (encrypted key, database, config), an operator
account, and the desk itself served by uvicorn on loopback in a thread, as `laowu-node desk` does.
"""
from __future__ import annotations

import os
from pathlib import Path

import httpx

from hub.app import Hub
from hub.server import ServerThread
from node.cli.main import Node
from node.sandbox import Sandbox
from node.engine.store import Store
from node.web import accounts

PROVINCE, COUNTY, TOWNSHIP, VILLAGE = "510000000000", "513225000000", "513225103000", "513225103201"
PASSPHRASE = "desk-test-passphrase"
USER, PASSWORD = "wangfang", "desk-pass-123"


class DeskWorld:
    def __init__(self, tmp: Path, place: str = VILLAGE) -> None:
        os.environ.setdefault("LAOWU_PASSPHRASE", PASSPHRASE)
        self.tmp = tmp
        self.box = Sandbox.create(PROVINCE)
        self.box.enroll(COUNTY, "county", PROVINCE)
        self.hubs: list[tuple[Store, ServerThread]] = []
        self.province_url = self._hub(PROVINCE)
        self.county_url = self._hub(COUNTY)
        self.place = place
        self.node = self.make_node(place)
        self.desk: ServerThread | None = None

    def _hub(self, code: str) -> str:
        m = self.box.members[code]
        chain = [self.box.members[PROVINCE].cert] + ([m.cert] if code != PROVINCE else [])
        store = Store.create(str(self.tmp / f"hub-{code}.sqlite"), m.key, code, self.box.root.public, chain)
        server = ServerThread(Hub(store)).__enter__()
        self.hubs.append((store, server))
        return server.url

    @property
    def county(self) -> Store:
        return self.hubs[1][0]

    def make_node(self, place: str) -> Node:
        """A node directory as `init` and `install-certs` leave it."""
        role = "township" if place.endswith("000") else "village"
        m = self.box.enroll(place, role, COUNTY)
        d = self.tmp / place
        d.mkdir(parents=True, exist_ok=True)
        node = Node(d)
        m.key.save(node.keyfile, os.environ["LAOWU_PASSPHRASE"])
        chain = [self.box.members[PROVINCE].cert, self.box.members[COUNTY].cert, m.cert]
        Store.create(str(node.dbfile), m.key, place, self.box.root.public, chain).close()
        county_key = self.box.members[COUNTY].key.public.hex()
        node.save_config({"place": place, "role": role, "hub": self.county_url, "hub_key": county_key,
                          "province_hub": self.province_url, "operator": "测试服务站"})
        store = node.store()
        accounts.create(store.engine, USER, PASSWORD, scope=place, display="王芳")
        store.close()
        return node

    def serve(self, probe: bool = False) -> str:
        from node.web.desk.app import desk_app

        self.desk = ServerThread(desk_app(self.node, probe=probe)).__enter__()
        return self.desk.url

    def login(self, client: httpx.Client) -> None:
        page = client.get("/login")
        token = page.text.split('name="csrf" value="')[1].split('"')[0]
        r = client.post("/login", data={"csrf": token, "name": USER, "password": PASSWORD})
        assert r.status_code == 303, r.text

    def close(self) -> None:
        if self.desk:
            self.desk.__exit__()
        for store, server in self.hubs:
            server.__exit__()
            store.close()


def csrf_of(html: str) -> str:
    return html.split('name="csrf" value="')[1].split('"')[0]

