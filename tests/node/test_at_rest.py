"""Secrets at rest on a village laptop (issue 9, item 8), as the operator runs the installed command:
a stolen laptop or USB stick yields no ID numbers. The database (and its WAL) is SQLCipher-encrypted
under a key the passphrase unlocks, bundles are sealed under a passphrase (scrypt + AES-GCM), data
files are 0600, and a wrong passphrase is a clear error, never a traceback. The village node is made by
`init` and `install-certs` once for the module (`made`); each test works on a copy of its files, modes kept."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from stdnum.cn import ric

from node.cli.main import Node
from node.files import ProvinceFile, save_chain, save_province
from node.sandbox import NOT_AFTER, NOT_BEFORE, Sandbox
from node.engine.store import Store
from protocol import certs, messages
from protocol.keys import KeyPair

BIN = Path(sys.executable).parent / "laowu-node"
PROVINCE, COUNTY, VILLAGE = "510000000000", "513225000000", "513225103201"
PASSPHRASE = "村里的口令 2026"
ID_NUMBER = "51322519900307003" + ric.calc_check_digit("51322519900307003" + "0")
ENV = {**os.environ, "LAOWU_PASSPHRASE": PASSPHRASE, "PYTHONIOENCODING": "utf-8"}


def laowu(d: Path, *args: str, env: dict[str, str] = ENV) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN), "--json", "--dir", str(d), *args], capture_output=True, encoding="utf-8",
                          env=env, timeout=120)


@pytest.fixture(scope="module")
def box() -> Sandbox:
    b = Sandbox.create(PROVINCE)
    b.enroll(COUNTY, "county", PROVINCE)
    return b


def open_store(d: Path) -> Store:
    """The node's store opened in this process as the command does, under the passphrase."""
    os.environ["LAOWU_PASSPHRASE"] = PASSPHRASE
    try:
        return Node(d).store()
    finally:
        del os.environ["LAOWU_PASSPHRASE"]


def village(box: Sandbox, d: Path) -> Path:
    province = d.parent / "province.laowu"
    save_province(province, ProvinceFile(box.members[PROVINCE].cert))
    assert laowu(d, "init", "--place", VILLAGE, "--province", str(province), "--hub", "http://127.0.0.1:9",
                 "--hub-key", "00" * 32).returncode == 0
    req = messages.EnrollRequest.decode((d / "enroll-request.laowu").read_bytes())
    mine = certs.issue(box.members[COUNTY].key, req.pub, "village", [VILLAGE], NOT_BEFORE, NOT_AFTER, 100)
    save_chain(d / "certs.laowu", [box.members[PROVINCE].cert, box.members[COUNTY].cert, mine])
    assert laowu(d, "install-certs", "--certs", str(d / "certs.laowu")).returncode == 0
    return d


@pytest.fixture(scope="module")
def made(box: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return village(box, tmp_path_factory.mktemp("made") / "village")


def copy(made: Path, d: Path) -> Path:
    """A test's own village node: the files the two commands wrote, with their modes (`copytree`)."""
    shutil.copytree(made, d)
    return d


def test_a_stolen_laptop_yields_no_id_number(made: Path, tmp_path: Path) -> None:
    d = copy(made, tmp_path / "village")
    out = laowu(d, "person", "add", "--id-number", ID_NUMBER, "--name", "张秀英", "--phone", "13812345678")
    assert out.returncode == 0, out.stderr
    bundle = tmp_path / "usb" / "to-county.laowu"
    bundle.parent.mkdir()
    assert laowu(d, "export-bundle", "--out", str(bundle)).returncode == 0
    needles = [ID_NUMBER.encode(), ID_NUMBER[:14].encode(), "张秀英".encode(), b"13812345678"]
    # While the node runs, its newest pages sit in the WAL: encrypted too.
    store = open_store(d)
    try:
        store.write("person", os.urandom(16), {"scope": VILLAGE, "id_number": ID_NUMBER, "name": "张秀英"})
        wal = (d / "node.sqlite-wal").read_bytes()
        assert len(wal) > 4096 and not any(n in wal for n in needles)
        for f in (d / "node.sqlite-wal", d / "node.sqlite-shm"):
            assert stat.S_IMODE(f.stat().st_mode) == 0o600, f.name
    finally:
        store.close()
    files = [d / "node.sqlite", d / "node.key", bundle]
    for f in files:
        data = f.read_bytes()
        assert data and not any(n in data for n in needles), f"{f.name} shows personal data"
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f.name
    # With the passphrase, all of it is there.
    shown = json.loads(laowu(d, "person", "show", "--id-number", ID_NUMBER, "--full").stdout)
    assert shown["id_number"] == ID_NUMBER
    assert json.loads(laowu(d, "status").stdout)["encrypted"] == "是 yes"


def test_a_wrong_passphrase_is_a_clear_error(box: Sandbox, made: Path, tmp_path: Path) -> None:
    d = copy(made, tmp_path / "village")
    assert laowu(d, "person", "add", "--id-number", ID_NUMBER, "--name", "张秀英").returncode == 0
    bundle = tmp_path / "out.laowu"
    assert laowu(d, "export-bundle", "--out", str(bundle)).returncode == 0

    wrong = laowu(d, "person", "list", env={**ENV, "LAOWU_PASSPHRASE": "not the passphrase"})
    assert wrong.returncode == 2 and "passphrase" in wrong.stderr and "Traceback" not in wrong.stderr
    other = village(box, tmp_path / "county-desk")
    bad = laowu(other, "import-bundle", "--file", str(bundle), env={**ENV, "LAOWU_BUNDLE_PASSPHRASE": "a guess, wrong"})
    assert bad.returncode == 2 and "口令错误" in bad.stderr and "wrong passphrase" in bad.stderr
    assert "Traceback" not in bad.stderr
    good = laowu(other, "import-bundle", "--file", str(bundle))
    assert good.returncode == 0 and json.loads(good.stdout)["imported"] == {"accepted": 1}


def test_a_database_made_before_encryption_is_encrypted_in_place(box: Sandbox, made: Path, tmp_path: Path) -> None:
    d = copy(made, tmp_path / "old")
    key = KeyPair.load(d / "node.key", PASSPHRASE)
    (d / "node.sqlite").unlink()
    chain = [box.members[PROVINCE].cert, box.members[COUNTY].cert]
    old = Store.create(str(d / "node.sqlite"), key, VILLAGE, box.root.public, chain)  # 0.1.0: plain
    old.close()
    assert laowu(d, "install-certs", "--certs", str(d / "certs.laowu")).returncode == 0
    assert laowu(d, "person", "add", "--id-number", ID_NUMBER, "--name", "张秀英").returncode == 0
    assert ID_NUMBER.encode() in (d / "node.sqlite").read_bytes()
    assert "encrypt-db" in json.loads(laowu(d, "status").stdout)["encrypted"]

    assert laowu(d, "encrypt-db").returncode == 0
    assert ID_NUMBER.encode() not in (d / "node.sqlite").read_bytes()
    store = open_store(d)
    try:
        assert [v.get("id_number") for v in store.values("person").values() if v] == [ID_NUMBER]
    finally:
        store.close()
