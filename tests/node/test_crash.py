"""Crash safety, tested for real (DESIGN §7): "a crash at any point loses nothing that was acknowledged".

A separate process (crash_worker.py, run with the venv python) works on a SQLite file on disk and
prints "ACK <n>" after each committed transaction; the test kills it with SIGKILL after a random
delay, so kills land anywhere: mid-statement, mid-commit, between a commit and its ACK. After each
kill the test reopens the file and checks it; then it runs the job again on the same file (it
resumes), kills it again, and so on, and finally lets it finish.

Two campaigns, each shared by the tests below it (a module-scoped fixture):

* apply: 300 changesets of three feeds from a prepared bundle, applied to a county store 10 per
  apply(); after the kills, re-running to completion must reach exactly the values and
  materialized rows of an uninterrupted run.
* write: 150 local writes on a village store, sealed every 7 writes.

Kill points: 32 per `make test` (20 during apply, 12 during writes and seals). A soak run sets the
total with LAOWU_CRASH_POINTS (e.g. LAOWU_CRASH_POINTS=500), split in the same proportion.
SIGKILL tests a process crash; power cuts rely on WAL with synchronous=FULL (node/engine/db.py).
"""
from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgpack
import pytest
from sqlalchemy import select as sql_select
from storekit import (
    NOW_MS,
    Clock,
    Province,
    build_province,
    check_whole,
    expected_people,
    history,
    integrity,
    people,
    person,
    scratch,
)

from conflict.row import SALT
from node.engine import tables as t
from node.engine.replica import Replica
from node.engine.store import Store
from protocol import bundle
from protocol.changeset import open_envelope

POINTS = int(os.environ.get("LAOWU_CRASH_POINTS", "32"))
APPLY_POINTS = max(1, POINTS * 5 // 8)
WRITE_POINTS = max(1, POINTS - APPLY_POINTS)
WRITES = 150
DAY_MS = 24 * 3600 * 1000
WORKER = Path(__file__).with_name("crash_worker.py")


@dataclass
class Run:
    acked: int = 0  # highest "ACK n" read
    sealed: int = 0  # highest "SEALED n" read
    done: bool = False
    killed: bool = False  # the kill landed: the child died of SIGKILL, not of old age


class Worker:
    """crash_worker.py serve: one job at a time, each in a forked child the test may kill."""

    def __init__(self, log: Path) -> None:
        self.stderr = open(log, "wb")
        self.proc = subprocess.Popen([sys.executable, str(WORKER), "serve"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.stderr, cwd=WORKER.parents[2])
        self.buf = b""

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        self.stderr.close()

    def line(self, timeout: float) -> str | None:
        """The next line, or None when none arrives within `timeout` seconds."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                raise AssertionError("the crash worker server died: see its stderr log")
            self.buf += chunk
        raw, self.buf = self.buf.split(b"\n", 1)
        return raw.decode()

    def job(self, args: list[str], kill_after: float | None) -> Run:
        assert self.proc.stdin is not None
        self.proc.stdin.write((" ".join(args) + "\n").encode())
        self.proc.stdin.flush()
        ready = self.line(60)
        assert ready is not None and ready.startswith("READY"), f"worker did not start: {ready}"
        pid = int(ready.split()[1])
        run = Run()
        deadline = None if kill_after is None else time.monotonic() + kill_after
        sent = False
        while True:
            wait = 120.0 if deadline is None or sent else max(0.0, deadline - time.monotonic())
            text = self.line(wait)
            if text is None:
                assert deadline is not None and not sent, "worker stopped answering"
                os.kill(pid, signal.SIGKILL)
                sent = True
                continue
            word, *rest = text.split()
            if word == "ACK":
                run.acked = max(run.acked, int(rest[0]))
            elif word == "SEALED":
                run.sealed = max(run.sealed, int(rest[0]))
            elif word == "DONE":
                run.done = True
            elif word == "ERROR":
                raise AssertionError(f"worker job failed: {text}")
            elif word == "EXIT":
                run.killed = int(rest[0]) == -signal.SIGKILL
                return run


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    w = Worker(tmp_path_factory.mktemp("crash-worker") / "stderr.log")
    yield w
    w.close()


# -- apply campaign --------------------------------------------------------------------------------


@dataclass
class ApplyCampaign:
    kills: int = 0
    databases: int = 0
    integrity: list[str] = field(default_factory=list)  # PRAGMA integrity_check after each kill
    lost: list[str] = field(default_factory=list)  # acknowledged changesets missing after a kill
    torn: list[str] = field(default_factory=list)  # half-applied states found after a kill
    finals: list[tuple[Any, Any]] = field(default_factory=list)  # (values, people) after each completion
    reference: tuple[Any, Any] = (None, None)  # (values, people) of an uninterrupted run


def county_wall() -> Clock:
    return Clock(NOW_MS + DAY_MS)


@pytest.fixture(scope="module")
def apply_campaign(worker: Worker, tmp_path_factory: pytest.TempPathFactory) -> ApplyCampaign:
    province = build_province()
    root = tmp_path_factory.mktemp("crash-apply")
    envelopes = history(province)
    ids = [open_envelope(e).id for e in envelopes]
    path = root / "week.laowu"
    path.write_bytes(bundle.encode(bundle.Bundle(province.members["county"].key.public, NOW_MS, {}, envelopes)))
    campaign = ApplyCampaign()
    with scratch("laowu-reference-") as tmp:
        ref = province.fresh("county", Path(tmp) / "reference.db", wall=county_wall())
        for i in range(0, len(envelopes), 10):
            ref.apply(envelopes[i : i + 10])
        campaign.reference = (ref.values(), people(ref))
        ref.close()
    rnd = random.Random()
    while campaign.kills < APPLY_POINTS:
        db = root / f"county-{campaign.databases}.db"
        province.create("county", db, wall=county_wall()).close()
        campaign.databases += 1
        acked = 0
        replica = province.replica("county", wall=county_wall())  # fed each applied changeset once
        while campaign.kills < APPLY_POINTS:
            run = worker.job(["apply", str(db), str(path)], kill_after=rnd.uniform(0.0, 0.5))
            acked = max(acked, run.acked)
            if run.killed:
                campaign.kills += 1
                _inspect_apply(campaign, province, db, ids[:acked], replica)
            if run.done:
                break
        assert worker.job(["apply", str(db), str(path)], kill_after=None).done
        store = province.open("county", db, wall=county_wall())
        campaign.finals.append((store.values(), people(store)))
        store.close()
    return campaign


def _inspect_apply(campaign: ApplyCampaign, province: Province, db: Path, acked_ids: list[bytes], replica: Replica) -> None:
    where = f"{db.name} after kill {campaign.kills}"
    campaign.integrity.append(integrity(db))
    store = province.open("county", db, wall=county_wall())
    try:
        with store.engine.connect() as conn:
            applied = {r.id for r in conn.execute(sql_select(t.log.c.id).where(t.log.c.status == "applied"))}
        missing = [i for i in acked_ids if i not in applied]
        if missing:
            campaign.lost.append(f"{where}: {len(missing)} of {len(acked_ids)} acknowledged changesets missing")
        try:
            check_whole(store, province, "county", replica)
        except AssertionError as exc:
            campaign.torn.append(f"{where}: {exc}")
    finally:
        store.close()


def test_every_sigkill_during_apply_leaves_a_database_that_passes_integrity_check(apply_campaign: ApplyCampaign) -> None:
    assert apply_campaign.kills >= APPLY_POINTS
    assert apply_campaign.integrity == ["ok"] * apply_campaign.kills


def test_no_acknowledged_changeset_is_lost_to_a_sigkill_during_apply(apply_campaign: ApplyCampaign) -> None:
    assert apply_campaign.lost == []


def test_no_changeset_is_half_applied_after_a_sigkill(apply_campaign: ApplyCampaign) -> None:
    assert apply_campaign.torn == []


def test_rerunning_a_killed_apply_converges_to_the_uninterrupted_result(apply_campaign: ApplyCampaign) -> None:
    assert apply_campaign.finals and all(f == apply_campaign.reference for f in apply_campaign.finals)
    values, table = apply_campaign.reference
    assert table == expected_people(values) and len(table) > 50


# -- write campaign --------------------------------------------------------------------------------


@dataclass
class WriteCampaign:
    kills: int = 0
    integrity: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)  # acknowledged writes or seals missing
    torn: list[str] = field(default_factory=list)  # a write or seal half there, a change lost or doubled
    finals: list[str] = field(default_factory=list)  # problems after completion


def village_wall() -> Clock:
    return Clock(NOW_MS)


@pytest.fixture(scope="module")
def write_campaign(worker: Worker, tmp_path_factory: pytest.TempPathFactory) -> WriteCampaign:
    province = build_province()
    root = tmp_path_factory.mktemp("crash-write")
    campaign = WriteCampaign()
    rnd = random.Random()
    n = 0
    while campaign.kills < WRITE_POINTS:
        db = root / f"village-{n}.db"
        n += 1
        province.create("village-a", db, wall=village_wall()).close()
        acked = sealed = 0
        while campaign.kills < WRITE_POINTS:
            run = worker.job(["write", str(db), str(WRITES)], kill_after=rnd.uniform(0.0, 0.6))
            acked, sealed = max(acked, run.acked), max(sealed, run.sealed)
            if run.killed:
                campaign.kills += 1
                _inspect_writes(campaign, province, db, acked, sealed)
            if run.done:
                break
        assert worker.job(["write", str(db), str(WRITES)], kill_after=None).done
        _inspect_writes(campaign, province, db, WRITES, WRITES, final=True)
    return campaign


def _inspect_writes(campaign: WriteCampaign, province: Province, db: Path, acked: int, sealed: int, final: bool = False) -> None:
    where = f"{db.name} after {'completion' if final else f'kill {campaign.kills}'}"
    campaign.integrity.append(integrity(db))
    problems = campaign.finals if final else campaign.torn
    store = province.open("village-a", db, wall=village_wall())
    try:
        values = store.values("person")
        expected = {("person", person(i)[0]): {"id_number": person(i)[1], "name": f"工人{i}", "phone": f"138{i:08d}",
                                               "scope": store.home} for i in range(len(values))}
        if values != expected:
            problems.append(f"{where}: the rows are not exactly persons 0..{len(values) - 1}, each whole")
        if len(values) < acked:
            campaign.lost.append(f"{where}: {acked} writes acknowledged, {len(values)} there")
        signed, open_ = _changes(store)
        in_log = {c[1] for c in signed}
        if any(person(i)[0] not in in_log for i in range(sealed)):
            campaign.lost.append(f"{where}: a write before the seal acknowledged at {sealed} is not in a changeset")
        written = sorted((c[1], c[2]) for c in signed + open_)
        # Each write also carries its erasure salt (node.engine.redact.salted): one per write, never doubled.
        if written != sorted((row, f) for (_, row) in values for f in ("scope", "id_number", "name", "phone", SALT)):
            problems.append(f"{where}: changes lost or doubled between the open changes and the sealed feed")
        if store.hlc.last < max((c[4] for c in signed + open_), default=0):
            problems.append(f"{where}: the clock restarted below a stamp it had issued")
        if final and (open_ or len(values) != WRITES):
            problems.append(f"{where}: {len(values)} rows, {len(open_)} changes left unsealed")
        try:
            check_whole(store, province, "village-a")
        except AssertionError as exc:
            problems.append(f"{where}: {exc}")
    finally:
        store.close()


def _changes(store: Store) -> tuple[list[list[Any]], list[list[Any]]]:
    """Changes in our sealed feed and in the open changes, as wire lists."""
    with store.engine.connect() as conn:
        envs = [r.envelope for r in conn.execute(sql_select(t.log.c.envelope).where(t.log.c.author == store.author))]
        open_ = [msgpack.unpackb(r.change) for r in conn.execute(sql_select(t.open_changes.c.change))]
    signed = [c.as_wire() for e in envs for c in open_envelope(e).changes]
    return signed, open_


def test_every_sigkill_during_writes_leaves_a_database_that_passes_integrity_check(write_campaign: WriteCampaign) -> None:
    assert write_campaign.kills >= WRITE_POINTS
    assert set(write_campaign.integrity) == {"ok"}


def test_no_acknowledged_write_or_seal_is_lost_to_a_sigkill(write_campaign: WriteCampaign) -> None:
    assert write_campaign.lost == []


def test_no_write_or_seal_is_half_done_after_a_sigkill(write_campaign: WriteCampaign) -> None:
    assert write_campaign.torn == []


def test_rerunning_killed_writes_completes_every_write_exactly_once(write_campaign: WriteCampaign) -> None:
    assert write_campaign.finals == []

