"""Secrets at rest (issue 9, item 8), as operators run the installed commands: an empty passphrase
writes no plaintext key; the province root key is not the online hub's serving key and is written,
encrypted, to a file of its own that can leave the server."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from node.files import load_province
from node.engine.store import Store
from protocol import certs, messages
from protocol.errors import BadPassphrase
from protocol.keys import KeyPair

HUB = Path(sys.executable).parent / "laowu-hub"
PROVINCE, COUNTY = "510000000000", "513225000000"


def hub(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(HUB), "--json", *args], capture_output=True, encoding="utf-8", timeout=120,
                          env={**{k: v for k, v in os.environ.items() if not k.startswith("LAOWU_")}, **env})


@pytest.mark.parametrize("command", ["init-province", "init"])
def test_an_empty_passphrase_writes_no_plaintext_hub_key(tmp_path: Path, command: str) -> None:
    good = hub({"LAOWU_ROOT_PASSPHRASE": "root-passphrase"}, "init-province", "--dir", str(tmp_path / "p"),
               "--code", PROVINCE)
    assert good.returncode == 0, good.stderr
    extra = ["--province", str(tmp_path / "p" / "province.laowu")] if command == "init" else []
    d = tmp_path / "empty"
    out = hub({"LAOWU_PASSPHRASE": ""}, command, "--dir", str(d), "--code", COUNTY if command == "init" else PROVINCE, *extra)
    assert out.returncode == 2 and "passphrase" in out.stderr and "Traceback" not in out.stderr
    assert not (d / "hub.key").exists() and not (d / "root.key").exists()


def test_the_province_root_key_is_not_the_serving_key_and_stays_encrypted(tmp_path: Path) -> None:
    p, c = tmp_path / "province", tmp_path / "county"
    env = {"LAOWU_ROOT_PASSPHRASE": "root-passphrase-kept-in-a-safe"}
    made = json.loads(hub(env, "init-province", "--dir", str(p), "--code", PROVINCE,
                          "--root-key", str(tmp_path / "usb" / "root.key")).stdout)
    root_file = Path(made["root_key"])
    assert root_file.parent == tmp_path / "usb" and not (p / "root.key").exists()
    assert stat.S_IMODE(root_file.stat().st_mode) == 0o600
    with pytest.raises(BadPassphrase):
        KeyPair.load(root_file, None)
    root = KeyPair.load(root_file, env["LAOWU_ROOT_PASSPHRASE"])
    pf = load_province(p / "province.laowu")
    assert pf.root == root.public == bytes.fromhex(made["root"])

    store = Store.open(str(p / "hub.sqlite"), KeyPair.load(p / "hub.key", None))
    try:
        assert store.author == bytes.fromhex(made["hub"]) != root.public
        mine = store.trust.verify_chain(store.author, store.hlc.physical())
        assert (mine.issuer, mine.role) == (root.public, "province")
    finally:
        store.close()

    # The online hub, not the root, certifies a county; the county's chain still ends at the pinned root.
    assert hub({}, "init", "--dir", str(c), "--code", COUNTY, "--province", str(p / "province.laowu")).returncode == 0
    assert hub({}, "approve", "--dir", str(p), "--request", str(c / "enroll-request.laowu"),
               "--out", str(c / "certs.laowu")).returncode == 0
    assert hub({}, "install", "--dir", str(c), "--certs", str(c / "certs.laowu")).returncode == 0
    county = Store.open(str(c / "hub.sqlite"), KeyPair.load(c / "hub.key", None))
    try:
        cert = county.trust.verify_chain(county.author, county.hlc.physical())
        assert cert.issuer == bytes.fromhex(made["hub"])
        assert messages.EnrollRequest.decode((c / "enroll-request.laowu").read_bytes()).pub == county.author
        assert isinstance(county.trust.certs[cert.issuer], certs.Certificate)
    finally:
        county.close()
