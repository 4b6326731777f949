"""Verify workers (hub/verify.py): a hub that opens pushed envelopes in worker processes answers every
push exactly as one that opens them itself, and leaves no process behind when it stops."""
from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub import config
from hub.app import Hub
from hub.server import ServerThread
from hub.verify import VerifyPool
from node.engine.store import Store
from node.sandbox import Sandbox
from protocol import codec
from protocol.changeset import Changeset, open_envelope
from hubkit import COUNTY, PROVINCE, VILLAGE, feed, push, session, snapshot

WORKERS = 2
ROOT = Path(__file__).resolve().parents[2]


def county(box: Sandbox, path: Path, workers: int) -> tuple[Store, Hub]:
    m = box.members[COUNTY]
    store = Store.create(str(path), m.key, COUNTY, box.root.public, [box.members[PROVINCE].cert, m.cert])
    return store, Hub(store, verify_workers=workers)


def mixed_push(box: Sandbox) -> list[bytes]:
    """Good changesets of the village, and beside them one forged (a signature byte flipped), one
    that is not msgpack, one by the village for its sibling's scope, and one sealed by the county key
    for a chain it never started (pending)."""
    village = box.members[VILLAGE].key
    good = [cs.envelope for cs in feed(village, VILLAGE, 6)]
    outer = codec.unpack(good[5], max_bytes=1 << 20, what="envelope")
    forged = codec.pack({"body": outer["body"], "sig": bytes([outer["sig"][0] ^ 1]) + outer["sig"][1:]})
    sibling = feed(village, "513225103202", 1)[0].envelope
    gapped = feed(village, VILLAGE, 1, first=9, prev=b"\x07" * 32)[0].envelope
    return good[:5] + [forged, b"\xc1 not msgpack", sibling, gapped]


def test_the_workers_hand_back_what_open_envelope_makes_and_the_bytes_of_what_it_refuses(sandbox: Sandbox) -> None:
    envelopes = mixed_push(sandbox)
    pool = VerifyPool(WORKERS)
    pool.start()
    try:
        opened = pool.open(envelopes)
    finally:
        pool.close()
    assert [type(x) for x in opened] == [Changeset] * 5 + [bytes, bytes, Changeset, Changeset]
    assert opened[5:7] == envelopes[5:7]
    for env, cs in zip(envelopes, opened):
        if isinstance(cs, Changeset):
            assert cs == open_envelope(env) and cs.envelope == env


def test_a_hub_with_verify_workers_answers_a_push_exactly_as_one_without(sandbox: Sandbox, tmp_path: Path) -> None:
    envelopes = mixed_push(sandbox)
    chain = [sandbox.members[PROVINCE].cert, sandbox.members[COUNTY].cert, sandbox.members[VILLAGE].cert]
    answers, states = [], []
    for workers in (0, WORKERS):
        store, hub = county(sandbox, tmp_path / f"county-{workers}.sqlite", workers)
        try:
            with ServerThread(hub) as server:
                assert hub.verifier.running == (workers > 0)
                token = session(server.url, store.author, sandbox.members[VILLAGE].key, VILLAGE, chain)
                answers.append(push(server.url, token, envelopes))
            states.append(snapshot(store))
        finally:
            store.close()
    without, with_workers = answers
    assert [r["status"] for r in without] == ["accepted"] * 5 + ["refused", "refused", "refused", "pending"]
    assert with_workers == without
    assert states[1] == states[0]


def test_the_verify_workers_start_with_the_server_and_are_gone_when_it_stops(sandbox: Sandbox, tmp_path: Path) -> None:
    store, hub = county(sandbox, tmp_path / "county.sqlite", WORKERS)
    try:
        before = {p.pid for p in multiprocessing.active_children()}
        with ServerThread(hub):
            workers = [p for p in multiprocessing.active_children() if p.pid not in before]
            assert len(workers) == WORKERS and all(p.is_alive() for p in workers)
        assert not hub.verifier.running
        assert not any(p.is_alive() for p in workers)
    finally:
        store.close()


def test_a_killed_verify_worker_costs_no_push(sandbox: Sandbox, tmp_path: Path) -> None:
    store, hub = county(sandbox, tmp_path / "county.sqlite", WORKERS)
    chain = [sandbox.members[PROVINCE].cert, sandbox.members[COUNTY].cert, sandbox.members[VILLAGE].cert]
    envelopes = [cs.envelope for cs in feed(sandbox.members[VILLAGE].key, VILLAGE, 4)]
    try:
        with ServerThread(hub) as server:
            token = session(server.url, store.author, sandbox.members[VILLAGE].key, VILLAGE, chain)
            victim = next(p for p in multiprocessing.active_children() if p.is_alive())
            os.kill(victim.pid or 0, 9)
            victim.join(10)
            assert [r["status"] for r in push(server.url, token, envelopes[:2])] == ["accepted"] * 2
            assert [r["status"] for r in push(server.url, token, envelopes[2:])] == ["accepted"] * 2
            assert hub.verifier.running
    finally:
        store.close()


def test_verify_workers_start_from_a_script_without_a_main_guard(sandbox: Sandbox, tmp_path: Path) -> None:
    """Workers never run the starting program again (an unguarded script would start workers forever)."""
    script = tmp_path / "unguarded.py"
    script.write_text("import sys\n"
                      "from hub.verify import VerifyPool\n"
                      "print('main module ran', flush=True)\n"
                      "pool = VerifyPool(1)\npool.start()\n"
                      "print(type(pool.open([bytes.fromhex(sys.argv[1])])[0]).__name__, flush=True)\n"
                      "pool.close()\n")
    env = feed(sandbox.members[VILLAGE].key, VILLAGE, 1)[0].envelope
    out = subprocess.run([sys.executable, str(script), env.hex()], capture_output=True, text=True, timeout=120,
                         cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.splitlines() == ["main module ran", "Changeset"]


@pytest.mark.parametrize(("raw", "ok"), [("3", True), ("0", True), ("-1", False), ("65", False), ("two", False)])
def test_verify_workers_come_from_the_config_and_a_bad_count_is_named(raw: str, ok: bool, tmp_path: Path) -> None:
    (tmp_path / "hub.toml").write_text('[hub]\ndir = "county"\n')
    values, problems = config.read(tmp_path / "hub.toml", {"LAOWU_HUB_VERIFY_WORKERS": raw})
    assert (problems == []) == ok, problems
    if ok:
        assert values["verify_workers"] == int(raw)
    else:
        assert any("verify_workers" in p for p in problems)
