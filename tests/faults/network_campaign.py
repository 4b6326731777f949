"""A network that cuts, stalls and duplicates: the campaign behind test_proxy_faults.py and run.py.

Three village laptops (v1 and v1b in one village, v2 in the next) sync with a real hub process
through proxy.FaultProxy, with a one-second client timeout and a seeded schedule of faults at
`RATES` per request. Round after round each laptop does a little local work (new people, a phone
edit and a skill on people both laptops of village 1 hold) and syncs; writing goes on for
`rounds_writing` rounds and until every kind of fault has struck at least once, then the laptops
sync on until a round is quiet (every sync got through and moved nothing). Then: nothing a laptop
was told the hub holds is missing; the hub has no fork, pending or quarantined changeset, holds
exactly the changesets sealed (none twice) and is whole; every laptop is whole and holds exactly
what the hub holds for it, with the same values; the hub never answered with a 5xx.
"""
from __future__ import annotations

import random
import time
from pathlib import Path

from faultkit import (
    COUNTY,
    Figures,
    build_world,
    check_converged,
    feed,
    hub_dir,
    integrity,
    log_entries,
    new_seed,
    node_store,
    postings,
    rows_of,
    whole,
)
from faultprocs import Acks, HubProcess
from proxy import FaultProxy

from conflict.orset import add_op
from hub.server import free_port
from node.engine import schema
from node.engine.store import Store
from node.sync.client import SyncClient, SyncFailed


RATES = {"cut_request": 0.06, "cut_response": 0.08, "stall": 0.03, "late": 0.03, "dup": 0.08,
         "dup_second": 0.06, "dup_late": 0.07}


def through_proxy(tmp: Path, *, rounds_writing: int = 8, timeout: float = 1.0, hold: float = 1.3,
                  max_rounds: int = 80, seed: int | None = None) -> Figures:
    """Villages v1, v1b (two laptops of one village) and v2 sync through a faulty network, writing
    for `rounds_writing` rounds and on until every kind of fault has struck at least once, then
    syncing on until a round is quiet: every sync got through and moved nothing."""
    began = time.monotonic()
    tmp.mkdir(parents=True, exist_ok=True)
    fig = Figures("proxy", new_seed(seed))
    rnd = random.Random(fig.seed)
    w = build_world()
    names = ["v1", "v1b", "v2"]
    hub_d = tmp / "hub"
    url = hub_dir(w, hub_d, seed=postings(w.county.key, COUNTY, 30))
    hub = HubProcess(hub_d, free_port())
    stores = {n: node_store(w, n, tmp / f"{n}.sqlite", feed(w.laptops[n].key, w.laptops[n].scopes[0], 60, tag=n,
                                                               seed=fig.seed)) for n in names}
    shared = rows_of("v1", 60, w.laptops["v1"].scopes[0])  # village 1's people, edited on both of its laptops
    acked: dict[bytes, str] = {}
    failed = 0
    try:
        hub.start()
        with FaultProxy(int(hub.url.rsplit(":", 1)[1]), seed=fig.seed, rates=RATES, hold=hold) as proxy:
            clients = {n: SyncClient(s, proxy.url, w.county.key.public, transport=Acks(acked), timeout=timeout)
                       for n, s in stores.items()}
            try:
                writing = True
                for r in range(max_rounds):
                    fig.rounds += 1
                    writing = writing and (r < rounds_writing or any(proxy.counts[a] == 0 for a in RATES))
                    quiet = not writing
                    order = names[:]
                    rnd.shuffle(order)
                    for n in order:
                        if writing:
                            _write(stores[n], rnd, shared if n != "v2" else rows_of("v2", 60, w.laptops["v2"].scopes[0]), f"{n}-{r}")
                        try:
                            report = clients[n].sync()
                        except SyncFailed:
                            failed += 1
                            quiet = False
                            continue
                        if report.pushed or report.pulled or report.sealed:
                            quiet = False
                    if quiet:
                        break
                else:
                    fig.errors.append(f"no quiet round within {max_rounds} rounds")
            finally:
                for c in clients.values():
                    c.close()
            time.sleep(hold + 0.5)  # late and replayed requests still in flight land before the hub is read
            fig.faults = {a: n for a, n in sorted(proxy.counts.items())}
            fig.notes["requests"] = sum(proxy.counts.values())
            fig.notes["connections"] = proxy.connections
            fig.notes["hub_statuses"] = {str(k): v for k, v in sorted(proxy.statuses.items())}
            fig.notes["pushes_delivered_twice_or_late"] = sum(
                n for (a, p), n in proxy.by_path.items() if p == "/v1/push" and (a.startswith("dup") or a == "late"))
            errors_5xx = sum(v for k, v in proxy.statuses.items() if k >= 500)
            if errors_5xx:
                fig.errors.append(f"the hub answered {errors_5xx} requests with a 5xx: see {hub.log}")
        fig.notes["failed_syncs"] = failed
        hub.stop()
        fig.acknowledged = len(acked)
        fig.integrity.append(integrity(url))
        hub_store = Store.open(url, None)
        try:
            log = log_entries(hub_store)
            applied = {e.id for e in log if e.status == "applied"}
            missing = [i for i in acked if i not in applied]
            if missing:
                fig.lost_ids.update(missing)
                fig.lost.append(f"{len(missing)} of {len(acked)} acknowledged changesets missing at the hub")
            st = hub_store.status()
            if st.forks or st.pending or st.quarantined:
                fig.torn.append(f"hub: {st.forks} forks, {st.pending} pending, {st.quarantined} quarantined")
            sealed = sum(max((e.seq for e in log_entries(s) if e.author == s.author), default=0) for s in stores.values())
            if len(applied) != sealed + 30:
                fig.torn.append(f"hub log holds {len(applied)} changesets; {sealed} were sealed by villages, 30 by the county")
            problems, _ = whole(hub_store, w)
            fig.torn += [f"hub: {p}" for p in problems]
            for n, s in stores.items():
                problems, _ = whole(s, w)
                fig.torn += [f"{n}: {p}" for p in problems]
                if s.status().forks:
                    fig.torn.append(f"{n}: {s.status().forks} forks")
                check_converged(fig, w, hub_store, s, n)
            if stores["v1"].values() != stores["v1b"].values():
                fig.divergence.append("the two laptops of village 1 differ")
        finally:
            hub_store.close()
        if hub.tracebacks():
            fig.errors.append(f"the hub logged {hub.tracebacks()} tracebacks: see {hub.log}")
    finally:
        hub.stop()
        for s in stores.values():
            s.close()
    fig.seconds = time.monotonic() - began
    return fig


def _write(store: Store, rnd: random.Random, shared: list[bytes], tag: str) -> None:
    """A little local work: two new people, a phone edit and a skill on people both laptops hold."""
    for k in range(2):
        number = f"9{rnd.randrange(10**16):016d}X"
        store.write("person", schema.new_row_id(store.home),
                    {"id_number": number, "name": f"新人{tag}-{k}", "phone": f"137{rnd.randrange(10**8):08d}"})
    store.write("person", shared[rnd.randrange(len(shared))], {"phone": f"136{rnd.randrange(10**8):08d}"})
    store.write("person", shared[rnd.randrange(len(shared))], {"skills": add_op(rnd.choice(["电工", "焊工", "厨师"]))})
