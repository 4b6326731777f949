"""The simulator under pytest: a batch of small schedules (1 county, 2 townships, 6 villages, three
simulated days of faults), each invariant its own test over the same batch; a replay of any seed;
and proof that the checker sees a broken world.

    LAOWU_SIM_SCHEDULES=100 .venv/bin/pytest tests/sim          # more schedules
    LAOWU_SIM_SEED=1234 .venv/bin/pytest tests/sim -k replay     # replay one seed, with its event log
"""
from __future__ import annotations

import os


import pytest
from sqlalchemy import delete, select
from simrun import replay_command, run_schedule, shape_for
from siminvariants import Verdict
from simworld import Shape, World

from node.engine import tables as t
from node.engine import widestate
from protocol import redaction
from protocol.changeset import body_changes, envelope_parts
from protocol.keys import KeyPair

SCHEDULES = int(os.environ.get("LAOWU_SIM_SCHEDULES", "20"))


@pytest.fixture(scope="module")
def verdicts() -> list[Verdict]:
    return [run_schedule(seed, shape_for(seed)) for seed in range(1, SCHEDULES + 1)]


def failing(verdicts: list[Verdict], what: str) -> str:
    bad = [v for v in verdicts if getattr(v, what)]
    return "\n".join(f"seed {v.seed}: {getattr(v, what)[:3]}\n  replay: {replay_command(v.seed)}" for v in bad)


def test_replicas_converge_on_their_scopes(verdicts: list[Verdict]) -> None:
    assert not any(v.divergent for v in verdicts), failing(verdicts, "divergent")


def test_every_replica_holds_the_merge_of_what_it_applied(verdicts: list[Verdict]) -> None:
    assert not any(v.merge for v in verdicts), failing(verdicts, "merge")


def test_no_acknowledged_change_is_lost(verdicts: list[Verdict]) -> None:
    assert not any(v.lost for v in verdicts), failing(verdicts, "lost")
    assert sum(v.acked for v in verdicts) > 100 * len(verdicts)  # the schedules did write


def test_no_village_holds_a_sibling_s_records(verdicts: list[Verdict]) -> None:
    assert not any(v.leaks for v in verdicts), failing(verdicts, "leaks")


def test_no_cross_village_write_lands(verdicts: list[Verdict]) -> None:
    """Every sibling write pushed to a county hub is refused `not-owner`, and no replica's log holds a
    change to a record of another place than its changeset's feed (node/engine/ownership.py)."""
    assert not any(v.cross for v in verdicts), failing(verdicts, "cross")
    assert sum(v.counts.get("sibling-write", 0) for v in verdicts) > 0  # the schedules did attack
    assert sum(v.counts.get("transfer", 0) for v in verdicts) > 0  # and did transfer people


def test_nothing_a_revoked_key_wrote_past_its_cut_off_is_accepted(verdicts: list[Verdict]) -> None:
    assert not any(v.revoked for v in verdicts), failing(verdicts, "revoked")
    assert any(v.counts.get("stolen") for v in verdicts)  # some schedule had a theft


def test_forks_are_reported_not_merged(verdicts: list[Verdict]) -> None:
    assert not any(v.unreported_forks for v in verdicts), failing(verdicts, "unreported_forks")


def test_nothing_is_stuck_after_healing(verdicts: list[Verdict]) -> None:
    assert not any(v.stuck for v in verdicts), failing(verdicts, "stuck")
    assert not any(v.failures for v in verdicts), failing(verdicts, "failures")


def test_erased_values_are_nowhere(verdicts: list[Verdict]) -> None:
    assert not any(v.erased for v in verdicts), failing(verdicts, "erased")
    assert sum(v.counts.get("erased_rows", 0) for v in verdicts) > 0  # some schedule erased someone


def test_edits_crossing_a_transfer_are_kept_and_queued(verdicts: list[Verdict]) -> None:
    """A village edits a card offline while its township transfers the person: the edits are not lost
    (they are acknowledged changes, found at the province by the test above), the card is queued as
    `transfer-edit` wherever it is held (and only while its values differ from what was handed over)."""
    assert not any(v.crossed for v in verdicts), failing(verdicts, "crossed")
    assert sum(v.counts.get("edit-crossing-transfer", 0) for v in verdicts) > 0


def test_county_staff_settle_duplicate_cards_and_crossed_transfers(verdicts: list[Verdict]) -> None:
    """Every resolution the console offers is exercised amid the faults (the replicas still converge
    and healing comes to rest: the tests above); duplicate cards come from people registered twice by
    two villages offline."""
    settled = {k for v in verdicts for k in v.counts if k.startswith("settle-") and k != "settle-refused"}
    assert {"settle-duplicate-id", "settle-transfer-edit"} <= settled, settled


@pytest.mark.skipif("LAOWU_SIM_SEED" not in os.environ, reason="set LAOWU_SIM_SEED=<seed> to replay one schedule")
def test_replay(capsys: pytest.CaptureFixture[str]) -> None:
    os.environ.setdefault("LAOWU_SIM_TRACE", "1")  # a failing replay prints its event log
    seed = int(os.environ["LAOWU_SIM_SEED"])
    villages = int(os.environ["LAOWU_SIM_VILLAGES"]) if "LAOWU_SIM_VILLAGES" in os.environ else None
    verdict = run_schedule(seed, shape_for(seed, villages, bool(os.environ.get("LAOWU_SIM_SOAK"))))
    assert verdict.converged, "\n".join(verdict.problems)


# -- the checker sees a broken world ----------------------------------------------------------------

def drop_one_applied(w: World) -> None:
    """The province forgets a village changeset it acknowledged."""
    with w.province.store.transaction() as conn:
        r = conn.execute(select(t.log.c.id).where(t.log.c.status == "applied", t.log.c.scope.like("5132%"))
                         .order_by(t.log.c.pos.desc()).limit(1)).one()
        conn.execute(delete(t.log).where(t.log.c.id == r.id))


def leak_to_a_village(w: World) -> None:
    """A village receives its sibling's feed."""
    a, b = [n for n in w.live("village")][:2]
    with b.store.engine.connect() as conn:
        env = conn.execute(select(t.log.c.envelope).where(t.log.c.author == b.author).limit(1)).one().envelope
    with a.store.transaction() as conn:
        conn.execute(t.log.insert(), {"id": b"x" * 32, "author": b.author, "scope": b.home, "seq": 99,
                                      "status": "pending", "envelope": env, "received": 0, "pos": None})


def corrupt_a_row(w: World) -> None:
    """A replica's merge state no longer matches what it applied."""
    store = w.live("county")[0].store
    with store.transaction() as conn:
        r = conn.execute(select(t.rows.c.tbl, t.rows.c.row).limit(1)).one()
        conn.execute(delete(t.rows).where(t.rows.c.tbl == r.tbl, t.rows.c.row == r.row))


def unredact(w: World) -> None:
    """A replica keeps the original body of a changeset a county redacted."""
    for node in w.live("province", "county", "township", "village"):
        with node.store.engine.connect() as conn:
            r = conn.execute(select(t.log.c.id, t.log.c.envelope).where(t.log.c.status == "applied")
                             .order_by(t.log.c.pos).limit(1)).first()
        if r is None:
            continue
        body, _ = envelope_parts(r.envelope)
        changes = body_changes(body)[1]  # either body format
        rows = {(c[0], c[1]) for c in changes if c[2] != "*" and c[3] is not None}
        if not rows:
            continue
        with node.store.transaction() as conn:  # as if those rows were erased, but this body kept
            conn.execute(t.redactions.insert(), {"id": b"t" * 32, "applied": 0, "raw": redaction.make(
                node.store.key or KeyPair.generate(), node.home, sorted(rows), [], 0, "tampered")})
        return


UNPURGED: list[str] = []  # the replica `unpurge` tampered with (the others hold the card's state too)


def unpurge(w: World) -> None:
    """A county erases a card but purges only its lw_field and lw_set rows: its wide state row (the
    declared fields' values) stays."""
    node = w.live("county")[0]
    UNPURGED.append(node.name)
    state = widestate.table("person", widestate.current()["person"])
    with node.store.engine.connect() as conn:
        row = conn.execute(select(state.c.row).limit(1)).one().row
    with node.store.transaction() as conn:
        conn.execute(delete(t.fields).where(t.fields.c.tbl == "person", t.fields.c.row == row))
        conn.execute(delete(t.set_tags).where(t.set_tags.c.tbl == "person", t.set_tags.c.row == row))
        conn.execute(t.redactions.insert(), {"id": b"u" * 32, "applied": 0, "raw": redaction.make(
            node.store.key or KeyPair.generate(), node.home, [("person", row)], [], 0, "tampered")})


def test_the_checker_finds_an_erased_card_s_wide_state_row() -> None:
    verdict = run_schedule(3, Shape(villages=3, days=1, steps=60), tamper=unpurge)
    found = [e for e in verdict.erased if e.startswith(f"{UNPURGED[-1]}: merge state of erased person")]
    assert found, verdict.erased


@pytest.mark.parametrize("tamper, caught", [
    (drop_one_applied, "lost"), (leak_to_a_village, "leaks"), (corrupt_a_row, "merge"), (unredact, "erased"),
])
def test_the_checker_catches(tamper: object, caught: str) -> None:
    verdict = run_schedule(3, Shape(villages=3, days=1, steps=60), tamper=tamper)  # type: ignore[arg-type]
    assert getattr(verdict, caught), f"{caught} went unnoticed"
