"""The offline install bundle (`make dist`) installs into a fresh venv with no index and runs.

Building the bundle downloads ~90 wheels and takes about a minute here, installing it another half:
over the budget of `make test`, so this runs under `make dist-check` (LAOWU_DIST names the bundle it
built) and is skipped otherwise.
"""
from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from node import migrations
from node.version import release

DIST = os.environ.get("LAOWU_DIST")
pytestmark = pytest.mark.skipif(not DIST, reason="run `make dist-check`: it builds the bundle and sets LAOWU_DIST")


def test_the_bundle_installs_offline_and_both_commands_run(tmp_path: Path) -> None:
    bundle = Path(str(DIST))
    assert (bundle / "MISSING.txt").read_text().splitlines()[1:] == ["linux_x86_64: none", "win_amd64: none"]
    win = {p.name for p in (bundle / "wheels" / "win_amd64").glob("*.whl")}
    assert f"laowu-{release()}-py3-none-any.whl" in win
    assert {n.split("-")[0].lower() for n in win if "win_amd64" in n} >= {"cryptography", "msgpack", "sqlalchemy", "pydantic_core"}
    target = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(target)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull  # and --isolated: no index, no find-links but the bundle's
    out = subprocess.run([str(target / "bin" / "pip"), "install", "--isolated", "--no-index", "--find-links",
                          str(bundle / "wheels" / "linux_x86_64"), "laowu"], env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    for prog in ("laowu-node", "laowu-hub"):
        ran = subprocess.run([str(target / "bin" / prog), "--version"], capture_output=True, text=True, timeout=60)
        assert ran.returncode == 0 and ran.stdout.startswith(f"{prog} {release()} "), ran.stderr
    # The migrations travel in the wheel: an installed node creates and upgrades databases.
    code = "from node import migrations; print(migrations.heads())"
    ran = subprocess.run([str(target / "bin" / "python"), "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=tmp_path)
    assert ran.returncode == 0 and ran.stdout.strip() == str(migrations.heads()), ran.stderr
    assert sys.version_info[:2] == (3, 11)  # the bundle's wheels are for the CPython it was built with
