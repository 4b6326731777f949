"""The village desk with 5,000 people in the register: how long every page takes to render.

A copy of the bench village (5,000 cards, `bench.datasets.village`) becomes a node directory
(encrypted key, config, database) and is served by `desk_app` on real uvicorn on loopback; an
httpx client signs in and fetches each page several times. The figure per page is the median
wall time of a full request (render and transfer), and the worst; the goal (issue 11) is under
200 ms for every page. The first page of a fresh desk also builds the pinyin index of every name
and counts the unsynced records of 5,000 never-synced cards: that cold start is its own figure.
"""
from __future__ import annotations

import os
import re
import statistics
import time

import httpx

from bench import Figure, datasets
from hub.server import ServerThread
from node.cli.main import Node
from node.web import accounts

RUNS = 7
GOAL_MS = 200.0


def _node() -> Node:
    w = datasets.world()
    d = datasets.tmpdir() / "desk-node"
    d.mkdir()
    node = Node(d)
    os.environ.setdefault("LAOWU_PASSPHRASE", "bench-passphrase")
    w.villages[datasets.VILLAGE].key.save(node.keyfile, os.environ["LAOWU_PASSPHRASE"])
    db = datasets.copy(datasets.village(datasets.VILLAGE, datasets.BIG, 1), "desk")
    db.rename(node.dbfile)
    node.save_config({"place": datasets.VILLAGE, "role": "village", "hub": "http://127.0.0.1:9",
                      "hub_key": w.county.key.public.hex(), "operator": "bench"})
    store = node.store()
    accounts.create(store.engine, "bench", "bench-password", scope=datasets.VILLAGE)
    store.close()
    return node


def _ms(client: httpx.Client, path: str) -> float:
    t0 = time.perf_counter()
    r = client.get(path)
    took = (time.perf_counter() - t0) * 1000
    if r.status_code != 200:
        raise AssertionError(f"{path} answered {r.status_code}: {r.text[:200]}")
    return took


def run(seconds: float) -> list[Figure]:
    from node.web.desk.app import desk_app

    figures: list[Figure] = []
    with ServerThread(desk_app(_node(), probe=False)) as server, httpx.Client(base_url=server.url, timeout=60) as c:
        page = c.get("/login")
        token = page.text.split('name="csrf" value="')[1].split('"')[0]
        c.post("/login", data={"csrf": token, "name": "bench", "password": "bench-password"})
        cold = _ms(c, "/")
        figures.append(Figure("desk.cold_first_page", cold, "ms", note="first register page of a fresh desk: "
                              "pinyin index of 5,000 names built, 5,000 unsynced cards counted"))
        row = re.findall(r'href="/person/([0-9a-f]{32})"', c.get("/").text)[0]
        tail = re.findall(r"<dt>身份证号</dt><dd>\d{6}\*{8}(\w{4})</dd>", c.get(f"/person/{row}").text)[0]
        pages = {
            "register": "/", "search_initials": "/?q=zs", "search_pinyin": "/?q=wang",
            "search_id_tail": f"/?q={tail}", "search_phone": "/?q=139", "filters": "/?f=unemployed&f=willing",
            "sorted_last_page": "/?sort=updated&desc=1&page=160", "card": f"/person/{row}",
            "card_edit": f"/person/{row}/edit", "card_print": f"/person/{row}/print", "card_new": "/person/new",
            "worklist": "/worklist", "match": f"/match/{row}", "jobs": "/jobs", "placements": "/placements",
            "returns": "/returns", "sync": "/sync", "audit": "/audit", "import": "/import",
        }
        for name, path in pages.items():
            times = [_ms(c, path) for _ in range(RUNS)]
            worst = max(times)
            figures.append(Figure(f"desk.page.{name}", statistics.median(times), "ms", GOAL_MS, "goal",
                                  note=f"median of {RUNS} GETs of {path} with 5,000 people; worst {worst:.1f} ms"))
    return figures

