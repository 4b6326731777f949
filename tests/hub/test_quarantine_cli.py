"""`laowu-hub quarantine` as installed, in subprocesses on a real hub directory (docs/trust.md §6): a
changeset stamped in 2099 waits in the county's quarantine, and meanwhile the village's certificate
runs out, or the township key that certified it is revoked. A release is then refused: the command
says so, why and what to do (decline it), exits 3, and signs no ruling; declining it then works."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from hub import review
from node.engine import tables as t
from node.engine.store import Store
from node.sandbox import NOT_BEFORE, Sandbox
from node.sync.verdict import EXIT_OK, EXIT_REFUSED
from protocol import certs, clock
from protocol import release as ruling
from protocol.changeset import Change, seal

BIN = Path(sys.executable).parent
ENV = {**os.environ, "LAOWU_PASSPHRASE": "quarantine-cli-pass", "PYTHONIOENCODING": "utf-8"}
PROVINCE, COUNTY, TOWNSHIP, VILLAGE = "510000000000", "513225000000", "513225103000", "513225103201"
HOUR_MS = 3600 * 1000
Y2099_MS = 4_070_908_800_000  # 2099-01-01
PLAIN = {"expired": "证书已过期", "revoked": "密钥已被吊销"}


def hub(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "laowu-hub"), "--json", *args], capture_output=True, encoding="utf-8", env=ENV,
                          timeout=120)


def quarantined_then(cause: str, d: Path) -> bytes:
    """A county hub directory whose quarantine holds a village's 2099 changeset, taken in a day ago
    while the village's certificate was good; since then it ran out (`expired`), or the township key
    that issued it was revoked keeping nothing it signed (`revoked`). The changeset's id."""
    box = Sandbox.create()
    county = box.enroll(COUNTY, "county", PROVINCE)
    township = box.enroll(TOWNSHIP, "township", COUNTY)
    village = box.enroll(VILLAGE, "village", TOWNSHIP)
    d.mkdir()
    county.key.save(d / "hub.key", ENV["LAOWU_PASSPHRASE"])
    now = clock.wall_ms()
    store = Store.create(str(d / "hub.sqlite"), county.key, COUNTY, box.root.public,
                         [box.members[PROVINCE].cert, county.cert], wall=lambda: now - 24 * HOUR_MS)
    try:
        store.add_certificate(township.cert)
        if cause == "expired":  # the village's certificate, issued by the county, good until an hour ago
            store.add_certificate(certs.issue(county.key, village.key.public, "village", [VILLAGE], NOT_BEFORE,
                                              now - HOUR_MS, box.serial + 1))
        else:
            store.add_certificate(village.cert)
        early = seal(village.key, VILLAGE, 1, None, [Change("job_posting", os.urandom(16), "title", "写于2099年",
                                                            clock.pack(Y2099_MS))])
        assert [o["status"] for o in store.apply([early.envelope])] == ["quarantined"]
        if cause == "revoked":
            store.add_revocation(certs.revoke(county.key, township.key.public, {}, now - HOUR_MS, "乡镇密钥被盗"))
    finally:
        store.close()
    return early.id


def signed_by_the_hub(d: Path) -> tuple[list[object], list[object]]:
    """The hub's own changesets and the release rulings it holds."""
    store = Store.open(str(d / "hub.sqlite"), None)
    try:
        with store.engine.connect() as conn:
            own = list(conn.execute(select(t.log.c.id).where(t.log.c.author == store.author)))
            rulings = list(conn.execute(select(t.rows.c.row).where(t.rows.c.tbl == ruling.TABLE)))
        return own, rulings
    finally:
        store.close()


def still_quarantined(d: Path) -> list[bytes]:
    store = Store.open(str(d / "hub.sqlite"), None)
    try:
        return [q.id for q in review.quarantined(store)]
    finally:
        store.close()


@pytest.mark.parametrize("cause", ["expired", "revoked"])
def test_a_refused_release_says_so_exits_3_signs_no_ruling_and_the_changeset_can_be_declined(
        cause: str, tmp_path: Path) -> None:
    d = tmp_path / "county"
    cs_id = quarantined_then(cause, d)
    out = hub("quarantine", "release", "--dir", str(d), "--id", cs_id.hex()[:16])
    assert out.returncode == EXIT_REFUSED, out.stdout + out.stderr
    assert "未能放行 release refused" in out.stderr and "Traceback" not in out.stderr
    assert PLAIN[cause] in out.stderr  # why, in plain words
    assert f"laowu-hub quarantine decline --dir {d} --id {cs_id.hex()[:16]}" in out.stderr  # what to do
    said = json.loads(out.stdout)
    assert "已放行 released" not in said and said["放行裁定 ruling"] == "未签署 none signed"
    assert signed_by_the_hub(d) == ([], [])  # no ruling written, sealed or signed
    assert still_quarantined(d) == [cs_id]

    declined = hub("quarantine", "decline", "--dir", str(d), "--id", cs_id.hex()[:16])
    assert declined.returncode == EXIT_OK, declined.stderr
    assert still_quarantined(d) == []


def test_a_release_as_stamped_refused_by_the_apply_says_so_and_exits_3(tmp_path: Path) -> None:
    d = tmp_path / "county"
    cs_id = quarantined_then("expired", d)
    out = hub("quarantine", "release", "--as-stamped", "--dir", str(d), "--id", cs_id.hex()[:16])
    assert out.returncode == EXIT_REFUSED, out.stdout + out.stderr
    assert "未能放行 release refused" in out.stderr and "certificate-expired" in out.stderr
    assert "quarantine decline" in out.stderr and "Traceback" not in out.stderr
    assert still_quarantined(d) == [cs_id]


def test_the_list_says_a_release_would_be_refused_before_anyone_tries(tmp_path: Path) -> None:
    d = tmp_path / "county"
    quarantined_then("expired", d)
    out = hub("quarantine", "list", "--dir", str(d))
    assert out.returncode == EXIT_OK, out.stderr
    [item] = json.loads(out.stdout)["items"]
    assert "放行会被拒绝 a release would be refused (certificate-expired" in item["release"], item
    assert "decline it" in item["release"]
