"""kill -9 of a village node during pull: the campaign behind test_node_kill.py and run.py.

A hub (`laowu-hub serve`, never killed here) holds ~3.4 MB for village 513225103201: a second
laptop's registrations, the county's edits of them and its postings, interleaved in its log with a
sibling village's feed the node must never see. The console script `laowu-node sync` runs once,
uninterrupted, as the reference; then the same entry point, forked by forker.py, is SIGKILLed at
random moments of its run and run again until it completes, on fresh copies of the node until the
kill points are spent. After each kill: integrity; the node holds exactly the hub's log up to its
pull cursor (the cursor never skips data and never runs ahead of it, and never goes back), each
changeset once (lw_log counts), nothing half-applied. After each completed run: the node holds
exactly what the hub holds for it, with the same values.
"""
from __future__ import annotations

import random
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faultkit import (
    BIN,
    COUNTY,
    PASSPHRASE,
    REPO,
    VILLAGES,
    Entry,
    Figures,
    World,
    build_world,
    env,
    feed,
    hub_dir,
    integrity,
    log_entries,
    new_seed,
    node_dir,
    postings,
    pull_cursor,
    rows_of,
    sqlite_url,
    visible_log,
    whole,
)
from faultprocs import Forker, HubProcess

from hub.server import free_port
from node.engine.replica import Replica
from node.engine.store import Store


def node_kill(tmp: Path, points: int, *, seed: int | None = None) -> Figures:
    """SIGKILL a village's `laowu-node sync` `points` times while it pulls ~3.4 MB from a hub."""
    began = time.monotonic()
    tmp.mkdir(parents=True, exist_ok=True)
    fig = Figures("node-kill", new_seed(seed))
    rnd = random.Random(fig.seed)
    w = build_world()
    v1, v2 = VILLAGES[0], VILLAGES[1]
    laptop_b = feed(w.laptops["v1b"].key, v1, 450, tag="v1b", persons=3, pad=700)
    county_edits = feed(w.county.key, v1, 150, tag="cty1", persons=1, edit=rows_of("v1b", 450, v1, 3))
    county_posts = postings(w.county.key, COUNTY, 80)
    sibling = feed(w.laptops["v2"].key, v2, 150, tag="v2", persons=2, pad=300)
    mixed: list[bytes] = []
    for i in range(10):  # interleaved in the hub's log, each feed in its own order
        for part in (laptop_b, county_edits, county_posts, sibling):
            step = len(part) // 10
            mixed += part[i * step : (i + 1) * step]
    hub_d = tmp / "hub"
    url = hub_dir(w, hub_d, seed=mixed)
    worker = Forker(tmp / "forker.log")
    hub = HubProcess(hub_d, free_port(), forker=None)  # not killed here: the console script, once
    hub_store = Store.open(url, None)
    try:
        hub.start(fork=False)
        visible = visible_log(hub_store, v1)
        expected = w.replica(v1)
        for e in visible:
            expected.receive(e.envelope)
        target = _Target(visible, expected.values())
        fig.notes["visible"] = {"changesets": len(visible), "bytes": sum(len(e.envelope) for e in visible)}
        fig.notes["setup_seconds"] = round(time.monotonic() - began, 1)
        template = node_dir(w, "v1", tmp / "template", hub.url)
        # The reference: the console script itself, uninterrupted.
        ref = _node_copy(template, tmp / "reference")
        e = env()
        e["LAOWU_PASSPHRASE"] = PASSPHRASE
        t0 = time.monotonic()
        out = subprocess.run([str(BIN / "laowu-node"), "--dir", str(ref), "--json", "sync"], env=e, cwd=REPO,
                             capture_output=True, text=True, timeout=300)
        fig.notes["cli_sync_seconds"] = round(time.monotonic() - t0, 2)
        if out.returncode != 0:
            fig.errors.append(f"laowu-node sync failed: {out.stderr.strip()[-300:]}")
            return fig
        _node_final(fig, w, target, ref, "the uninterrupted run", None)
        # The kill window: one whole run in a forked child (no interpreter start-up in it).
        t0 = time.monotonic()
        warm = worker.run("node", ["--dir", str(_node_copy(template, tmp / "warm")), "--json", "sync"])
        full = time.monotonic() - t0
        fig.notes["forked_sync_seconds"] = round(full, 2)
        if warm.exit != 0:
            fig.errors.append(f"forked laowu-node sync failed: {warm.output.strip()[-300:]}")
            return fig
        fig.notes["cursor_at_kill"] = []
        fig.notes.update(runs=0, run_seconds=0.0, inspect_seconds=0.0, final_seconds=0.0)
        while fig.kill_points < points and fig.rounds < max(3, 2 * points):
            d = _node_copy(template, tmp / f"round-{fig.rounds}")
            fig.rounds += 1
            state = _NodeState(w.replica(v1))
            for _ in range(100):
                fig.notes["runs"] += 1
                t0 = time.monotonic()
                run = worker.run("node", ["--dir", str(d), "--json", "sync"],
                                 rnd.uniform(0.0, 0.6 * full) if fig.kill_points < points else None)
                fig.notes["run_seconds"] += time.monotonic() - t0
                if run.killed:
                    fig.kill_points += 1
                    t0 = time.monotonic()
                    _inspect_node(fig, w, hub.url, target, d, state)
                    fig.notes["inspect_seconds"] += time.monotonic() - t0
                    continue
                if run.exit != 0:
                    fig.errors.append(f"sync run exited {run.exit}: {run.output.strip()[-300:]}")
                break
            t0 = time.monotonic()
            _node_final(fig, w, target, d, f"round {fig.rounds}", state.replica)
            fig.notes["final_seconds"] += time.monotonic() - t0
        for k in ("run_seconds", "inspect_seconds", "final_seconds"):
            fig.notes[k] = round(fig.notes[k], 1)
        if hub.tracebacks():
            fig.errors.append(f"the hub logged {hub.tracebacks()} tracebacks: see {hub.log}")
    finally:
        hub_store.close()
        worker.close()
        hub.stop()
        fig.seconds = time.monotonic() - began
    return fig


@dataclass
class _Target:
    """What the hub holds for the node, in its log order, and the values that makes."""

    visible: list[Entry]
    values: dict[Any, Any]


@dataclass
class _NodeState:
    replica: Replica
    cursor: int = 0


def _node_copy(template: Path, d: Path) -> Path:
    shutil.copytree(template, d)
    return d


def _inspect_node(fig: Figures, w: World, hub_url: str, target: _Target, d: Path, state: _NodeState) -> None:
    where = f"{d.name} after kill {fig.kill_points}"
    fig.integrity.append(integrity(sqlite_url(d / "node.sqlite")))
    if fig.integrity[-1] != "ok":
        fig.torn.append(f"{where}: integrity check: {fig.integrity[-1]}")
    store = Store.open(str(d / "node.sqlite"), None)
    try:
        cursor = pull_cursor(store, hub_url)
        fig.notes["cursor_at_kill"].append(cursor)
        if cursor < state.cursor:
            fig.skipped.append(f"{where}: the pull cursor went back from {state.cursor} to {cursor}")
        state.cursor = cursor
        log = log_entries(store)
        have = [e.id for e in log if e.status == "applied"]
        expect = {e.id for e in target.visible if e.pos <= cursor}
        if set(have) != expect:
            missing, extra = len(expect - set(have)), len(set(have) - expect)
            if missing:
                fig.skipped.append(f"{where}: cursor {cursor} is past {missing} changesets the node does not hold")
            if extra:
                fig.torn.append(f"{where}: {extra} changesets applied beyond the saved cursor {cursor}")
        if len(have) != len(expect) or len(log) != len(have):
            fig.torn.append(f"{where}: lw_log holds {len(log)} rows ({len(have)} applied), "
                            f"the hub {len(expect)} up to cursor {cursor}")
        problems, state.replica = whole(store, w, state.replica)
        fig.torn += [f"{where}: {p}" for p in problems]
    finally:
        store.close()


def _node_final(fig: Figures, w: World, target: _Target, d: Path, name: str, replica: Replica | None) -> None:
    """After a run completed: the node holds what the hub holds for it, each once, same values."""
    store = Store.open(str(d / "node.sqlite"), None)
    try:
        log = log_entries(store)
        have = sorted(e.id for e in log if e.status == "applied")
        if have != sorted(e.id for e in target.visible) or len(log) != len(have):
            fig.divergence.append(f"{name}: lw_log holds {len(log)} rows ({len(have)} applied), "
                                  f"the hub {len(target.visible)} for this village")
        elif store.values() != target.values:
            fig.divergence.append(f"{name}: values differ from what the hub holds for this village")
        fig.acknowledged = max(fig.acknowledged, len(have))
        problems, _ = whole(store, w, replica)
        fig.torn += [f"{name} at the end: {p}" for p in problems]
    finally:
        store.close()
