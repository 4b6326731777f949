"""`laowu-hub user add`, `revoke --key SHORT` and `import-bundle` as installed, in subprocesses on real hub directories."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from node.sync.bundles import export_bundle
from node.engine.store import Store
from node.web import accounts
from protocol.keys import KeyPair

BIN = Path(sys.executable).parent
ENV = {**os.environ, "LAOWU_PASSPHRASE": "console-cli-pass", "LAOWU_USER_PASSWORD": "console-user-pass",
       "PYTHONIOENCODING": "utf-8"}
PROVINCE, COUNTY = "510000000000", "513225000000"


def hub(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "laowu-hub"), "--json", *args], capture_output=True, encoding="utf-8", env=ENV,
                          timeout=120)


@pytest.fixture(scope="module")
def dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    base = tmp_path_factory.mktemp("console-cli")
    prov, county = base / "province", base / "county"
    assert hub("init-province", "--dir", str(prov), "--code", PROVINCE).returncode == 0
    c = hub("init", "--dir", str(county), "--code", COUNTY, "--province", str(prov / "province.laowu"))
    assert c.returncode == 0, c.stderr
    made = json.loads(c.stdout)
    out = hub("approve", "--dir", str(prov), "--request", made["request"], "--out", str(county / "certs.laowu"))
    assert out.returncode == 0, out.stderr
    assert hub("install", "--dir", str(county), "--certs", str(county / "certs.laowu")).returncode == 0
    return prov, county, made


def test_user_add_makes_an_account_scoped_to_the_hub_and_refuses_a_place_outside(dirs: tuple[Path, Path, dict[str, str]]) -> None:
    prov, county, _ = dirs
    out = hub("user", "add", "--dir", str(county), "--name", "liqiang", "--role", "operator")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"account": "liqiang", "role": "operator", "scope": COUNTY}
    store = Store.open(str(county / "hub.sqlite"), None)
    try:
        assert accounts.login(store.engine, "liqiang", ENV["LAOWU_USER_PASSWORD"]) is not None
    finally:
        store.close()
    outside = hub("user", "add", "--dir", str(county), "--name", "other", "--scope", "513226000000")
    assert outside.returncode != 0 and "不在本平台" in outside.stderr and "Traceback" not in outside.stderr


def test_revoke_takes_the_short_id_the_node_shows(dirs: tuple[Path, Path, dict[str, str]]) -> None:
    prov, _, made = dirs
    unknown = hub("revoke", "--dir", str(prov), "--key", "zzzzzzzz", "--reason", "test")
    assert unknown.returncode != 0 and "8位编号" in unknown.stderr and "Traceback" not in unknown.stderr
    preview = hub("revoke", "--dir", str(prov), "--key", made["short"], "--reason", "电脑被盗")
    assert preview.returncode == 0 and "--yes" in preview.stdout
    out = hub("revoke", "--dir", str(prov), "--key", made["short"], "--reason", "电脑被盗", "--yes")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["revoked"] == made["short"]


def test_import_bundle_at_the_hub_reports_outcomes_and_refuses_a_damaged_file(dirs: tuple[Path, Path, dict[str, str]],
                                                                              tmp_path: Path) -> None:
    prov, county, _ = dirs
    store = Store.open(str(county / "hub.sqlite"), KeyPair.load(county / "hub.key", ENV["LAOWU_PASSPHRASE"]))
    try:
        export_bundle(store, tmp_path / "b.laowu")
    finally:
        store.close()
    out = hub("import-bundle", "--dir", str(prov), "--file", str(tmp_path / "b.laowu"))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["envelopes"] == 0
    (tmp_path / "bad.laowu").write_bytes(b"LAOWU not really a bundle")
    bad = hub("import-bundle", "--dir", str(prov), "--file", str(tmp_path / "bad.laowu"))
    assert bad.returncode != 0 and "Traceback" not in bad.stderr and bad.stderr.strip()
