"""kill -9 of a county hub during a large ingest: the campaign behind test_hub_kill.py,
test_hub_kill_pg.py and run.py.

A county hub runs as a real `laowu-hub serve` process (the console script for its first start,
its entry point forked by forker.py for the restarts) on SQLite or, with `new_db`, on a fresh
PostgreSQL database per round. Four village stores (threads of this process, a `SyncClient` each)
push 2,000 changesets at it and pull the county's postings. The hub is SIGKILLed at random
moments while the ingest is under way, half of them just after some push was answered, half
anywhere in a window; then started again, and the villages, retrying, carry on. After each kill,
with the hub down: the database's integrity check; every changeset a village was told "accepted"
or "duplicate" is applied; nothing half-applied (`faultkit.whole`). At the end of each round: a
last sync moves nothing, the hub holds every village's whole feed, and every village holds exactly
what the hub holds for it, with the same values. Rounds repeat on fresh copies until the kill
points are spent.
"""
from __future__ import annotations

import atexit
import random
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from faultkit import (
    COUNTY,
    Figures,
    World,
    build_world,
    check_converged,
    copy_sqlite,
    feed,
    hub_dir,
    integrity,
    log_entries,
    new_seed,
    node_store,
    postings,
    sqlite_url,
    whole,
)
from faultprocs import Acks, Forker, HubProcess

from hub.server import free_port
from node.engine.replica import Replica
from node.engine.store import Store
from node.sync.client import SyncClient, SyncFailed


def hub_kill(tmp: Path, points: int, *, new_db: Callable[[str], str] | None = None, per_village: int = 500,
             window: float = 1.5, seed: int | None = None) -> Figures:
    """SIGKILL a county hub `points` times while four villages push `per_village` changesets each.
    `new_db(label)` gives a fresh database URL per round (PostgreSQL); default SQLite files."""
    began = time.monotonic()
    tmp.mkdir(parents=True, exist_ok=True)
    fig = Figures("hub-kill" + ("-postgresql" if new_db else "-sqlite"), new_seed(seed))
    rnd = random.Random(fig.seed)
    w = build_world()
    names = ["v1", "v2", "v3", "v4"]
    templates, county = _ingest_templates(w, names, per_village)
    fig.notes["setup_seconds"] = round(time.monotonic() - began, 1)
    fig.notes["changesets"] = per_village * len(names)
    fig.notes["applied_at_kill"] = []
    fig.notes["hub_starts"] = {"exec": 0, "fork": 0}
    forker = Forker(tmp / "forker.log")
    while fig.kill_points < points and fig.rounds < max(3, points):
        d = tmp / f"round-{fig.rounds}"
        fig.rounds += 1
        if new_db is None:
            (d / "hub").mkdir(parents=True)
            shutil.copyfile(templates / "hub" / "hub.key", d / "hub" / "hub.key")
            copy_sqlite(templates / "hub" / "hub.sqlite", d / "hub" / "hub.sqlite")
            url, db_arg = sqlite_url(d / "hub" / "hub.sqlite"), None
        else:
            url = db_arg = new_db(f"round{fig.rounds}")
            hub_dir(w, d / "hub", db=url, seed=county)
        stores = {}
        for n in names:
            copy_sqlite(templates / f"{n}.sqlite", d / f"{n}.sqlite")
            stores[n] = Store.open(str(d / f"{n}.sqlite"), w.laptops[n].key)
        hub = HubProcess(d / "hub", free_port(), db_arg, forker)
        try:
            _ingest_round(fig, w, hub, url, stores, points, window, rnd)
        finally:
            hub.stop()
            for s in stores.values():
                s.close()
            for k, v in hub.starts.items():
                fig.notes["hub_starts"][k] += v
            if hub.tracebacks():
                fig.errors.append(f"the hub logged {hub.tracebacks()} tracebacks: see {hub.log}")
    forker.close()
    fig.seconds = time.monotonic() - began
    return fig


_TEMPLATES: dict[int, tuple[Path, list[bytes]]] = {}


def _ingest_templates(w: World, names: list[str], per_village: int) -> tuple[Path, list[bytes]]:
    """Village stores holding their sealed feeds, a SQLite hub holding the county's postings, and
    those postings: made once per process (the SQLite and PostgreSQL campaigns share them)."""
    if per_village not in _TEMPLATES:
        d = Path(tempfile.mkdtemp(prefix="laowu-fault-templates-"))
        atexit.register(shutil.rmtree, d, True)
        for n in names:
            node_store(w, n, d / f"{n}.sqlite", feed(w.laptops[n].key, w.laptops[n].scopes[0], per_village, tag=n)).close()
        county = postings(w.county.key, COUNTY, 40)
        hub_dir(w, d / "hub", seed=county)
        _TEMPLATES[per_village] = (d, county)
    return _TEMPLATES[per_village]


def _ingest_round(fig: Figures, w: World, hub: HubProcess, url: str, stores: dict[str, Store], points: int,
                  window: float, rnd: random.Random) -> None:
    acked: dict[bytes, str] = {}
    done = {n: threading.Event() for n in stores}
    stop = threading.Event()
    failures = dict.fromkeys(stores, 0)

    def village(n: str) -> None:
        client = SyncClient(stores[n], hub.url, w.county.key.public, transport=Acks(acked))
        try:
            while not stop.is_set():
                try:
                    client.sync()
                    done[n].set()
                    return
                except SyncFailed:
                    failures[n] += 1
                    stop.wait(0.1)
        except BaseException as exc:  # any other exception is a bug: reported, the round ends
            fig.errors.append(f"village {n}: {type(exc).__name__}: {exc}")
            done[n].set()
        finally:
            client.close()

    hub.start(fork=fig.rounds > 1)  # the console script itself first, then its entry point forked
    threads = [threading.Thread(target=village, args=(n,), daemon=True) for n in stores]
    for th in threads:
        th.start()
    replica: Replica | None = None
    inspecting = 0.0
    try:
        while fig.kill_points < points and not all(e.is_set() for e in done.values()):
            if rnd.random() < 0.5:
                # Just after some push was answered, or inside the next one: the ingest moves on.
                answered = len(acked)
                deadline = time.monotonic() + 60
                while len(acked) == answered and time.monotonic() < deadline and not all(e.is_set() for e in done.values()):
                    time.sleep(0.005)
                deadline = time.monotonic() + rnd.uniform(0.0, 0.4)
            else:
                deadline = time.monotonic() + rnd.uniform(0.0, window)
            while time.monotonic() < deadline and not all(e.is_set() for e in done.values()):
                time.sleep(0.005)
            if all(e.is_set() for e in done.values()):
                break
            if not hub.kill():
                fig.errors.append(f"the hub died on its own: see {hub.log}")
                hub.start()
                continue
            fig.kill_points += 1
            held = dict(acked)  # the process is gone: no answer can arrive after this
            t0 = time.monotonic()
            replica = _inspect_hub(fig, w, url, held, replica)
            inspecting += time.monotonic() - t0
            hub.start()
        fig.notes["inspect_seconds"] = round(fig.notes.get("inspect_seconds", 0) + inspecting, 1)
        for th in threads:
            th.join(timeout=300)
        if any(th.is_alive() for th in threads):
            fig.errors.append("a village did not finish syncing within 300 s of the last kill")
            return
        fig.notes.setdefault("failed_syncs", 0)
        fig.notes["failed_syncs"] += sum(failures.values())
        t_final = time.monotonic()
        # Everything is in: a last exchange must move nothing, then every replica agrees.
        for n, store in stores.items():
            client = SyncClient(store, hub.url, w.county.key.public, transport=Acks({}))
            try:
                report = client.sync()
            finally:
                client.close()
            if report.pushed or report.pulled:
                fig.divergence.append(f"{n}: a sync after the ingest still moved {report.line()}")
        hub.stop()
        fig.acknowledged += len(acked)
        _inspect_hub(fig, w, url, dict(acked), replica, final=True)
        hub_store = Store.open(url, None)
        try:
            heads = {(e.author, e.scope): e.seq for e in log_entries(hub_store) if e.status == "applied"}
            for n, store in stores.items():
                mine = max((e.seq for e in log_entries(store) if e.author == store.author), default=0)
                if heads.get((store.author, store.home), 0) != mine:
                    fig.divergence.append(f"{n}: the hub holds {heads.get((store.author, store.home), 0)} of its {mine} changesets")
                check_converged(fig, w, hub_store, store, n)
        finally:
            hub_store.close()
        fig.notes["final_seconds"] = round(fig.notes.get("final_seconds", 0) + time.monotonic() - t_final, 1)
    finally:
        stop.set()


def _inspect_hub(fig: Figures, w: World, url: str, acked: dict[bytes, str], replica: Replica | None,
                 final: bool = False) -> Replica | None:
    where = "at the end" if final else f"after kill {fig.kill_points}"
    fig.integrity.append(integrity(url))
    if fig.integrity[-1] != "ok":
        fig.torn.append(f"{where}: integrity check: {fig.integrity[-1]}")
    store = Store.open(url, None)
    try:
        applied = {e.id for e in log_entries(store) if e.status == "applied"}
        if not final:
            fig.notes["applied_at_kill"].append(len(applied))
        missing = [i for i in acked if i not in applied]
        if missing:
            fig.lost_ids.update(missing)
            fig.lost.append(f"{where}: {len(missing)} of {len(acked)} acknowledged changesets missing at the hub")
        problems, replica = whole(store, w, replica)
        fig.torn += [f"{where}: {p}" for p in problems]
        return replica
    finally:
        store.close()
