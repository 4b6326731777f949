"""Exit codes tell the truth (issue 9, item 9): a sync or a bundle import in which anything was
refused, forked, quarantined or left pending says so in Chinese and English and exits non-zero
(node.verdict: 3 refused, 4 waiting). Before, both exited 0 with "refused 0".

The exit codes are the node's: the first two tests run against a SQLite county only (a quarantine on a
PostgreSQL county is tests/hub/test_clock_faults.py's, on both backends). Enrolling without a code
stays on both: it queues the request in the county's own store."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from clikit import PASSPHRASE, enrolled_node, run
from hubkit import SIBLING, VILLAGE, World, feed

from node.cli.main import Node
from node.sync.verdict import EXIT_OK, EXIT_REFUSED, EXIT_WAITING
from protocol import bundle, clock

YEAR_MS = 365 * 24 * 3600 * 1000


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_sync_whose_changeset_is_quarantined_exits_4_and_says_so(world: World, tmp_path: Path) -> None:
    d = enrolled_node(world, tmp_path / "village", VILLAGE)
    os.environ["LAOWU_PASSPHRASE"] = PASSPHRASE
    try:  # the laptop's clock was in 2099 when the operator saved this posting
        store = Node(d).store(wall=lambda: clock.wall_ms() + 73 * YEAR_MS)
    finally:
        del os.environ["LAOWU_PASSPHRASE"]
    store.write("job_posting", os.urandom(16), {"title": "stamped in 2099"})
    store.seal()
    store.close()

    out = run(d, "sync")
    assert out.returncode == EXIT_WAITING, out.stdout + out.stderr
    assert "未完成 unfinished" in out.stderr and "quarantined" in out.stderr and "Traceback" not in out.stderr
    assert "fix the clock and ask county staff to release it" in out.stderr  # what to do, plainly
    assert json.loads(out.stdout)["outcomes"].get("quarantined") == 1
    assert world.county.status().quarantined == 1

    clean = enrolled_node(world, tmp_path / "sibling", SIBLING)
    assert run(clean, "sync").returncode == EXIT_OK


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_bundle_import_with_refused_or_pending_changesets_exits_non_zero(world: World, tmp_path: Path) -> None:
    d = enrolled_node(world, tmp_path / "village", VILLAGE)
    sibling = world.member(SIBLING)
    refused, gapped = tmp_path / "refused.laowu", tmp_path / "gapped.laowu"
    certs = world.chain(SIBLING)
    # A sibling village's changesets: this village may not hold them.
    refused.write_bytes(bundle.encode(bundle.Bundle(sibling.key.public, clock.wall_ms(), {},
                                                    [cs.envelope for cs in feed(sibling.key, SIBLING, 2)], certs, [])))
    out = run(d, "import-bundle", "--file", str(refused))
    assert out.returncode == EXIT_REFUSED, out.stdout + out.stderr
    assert "refused" in out.stderr and "拒绝" in out.stderr

    # The village's own township's... its own county's posting, seq 2 without seq 1: it waits.
    county = world.box.members["513225000000"]
    [_, second] = feed(county.key, "513225000000", 2)
    gapped.write_bytes(bundle.encode(bundle.Bundle(county.key.public, clock.wall_ms(), {}, [second.envelope],
                                                   world.chain("513225000000")[:2], [])))
    out = run(d, "import-bundle", "--file", str(gapped))
    assert out.returncode == EXIT_WAITING, out.stdout + out.stderr
    assert json.loads(out.stdout)["imported"] == {"pending": 1}


def test_enrolling_without_a_code_waits_for_the_county_with_exit_4_then_succeeds_once_approved(
        world: World, tmp_path: Path) -> None:
    from hub import requests
    from node.files import ProvinceFile, save_province
    from protocol.keys import short_id

    d = tmp_path / "newcomer"
    province = tmp_path / "province.laowu"
    save_province(province, ProvinceFile(world.box.members["510000000000"].cert))
    assert run(d, "init", "--place", SIBLING, "--province", str(province), "--hub", world.county_url,
               "--hub-key", world.county.author.hex()).returncode == EXIT_OK

    asked = run(d, "enroll")
    assert asked.returncode == EXIT_WAITING, asked.stdout + asked.stderr
    out = json.loads(asked.stdout)
    assert "等待县里批准" in out["request"]
    assert "错误" not in asked.stderr and "Traceback" not in asked.stderr
    [waiting] = [p for p in requests.listing(world.county) if p.state == "pending"]
    assert short_id(waiting.pub) == out["key_id"]
    requests.approve(world.county, waiting.pub, "县劳务办")
    again = run(d, "enroll")
    assert again.returncode == EXIT_OK, again.stdout + again.stderr
    assert "certificate" in json.loads(again.stdout)
