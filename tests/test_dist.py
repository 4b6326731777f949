"""The offline install bundle (`make dist`) installs into a fresh venv with no index and runs.

Two tests. In `make test`: the Linux half of the bundle is built by deploy/make_dist.py itself
(about 13 s of CPU, wheels from the package index or its local mirror) and installed into a fresh
venv with pip kept off every index (`--isolated --no-index`, as install.sh does; no byte-compiling,
to save the shared CPU); both commands then run from it. Under `make dist-check` (LAOWU_DIST names
the bundle it built): the whole two-platform bundle, the Windows half checked by its wheel list and
the Linux half installed by its own install.sh.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from node import migrations
from node.version import release

ROOT = Path(__file__).resolve().parents[1]
DIST = os.environ.get("LAOWU_DIST")
OFFLINE = {**{k: v for k, v in os.environ.items() if not k.startswith("PIP_")}, "PIP_CONFIG_FILE": os.devnull}


def _runs(venv: Path, cwd: Path) -> None:
    for prog in ("laowu-node", "laowu-hub"):
        ran = subprocess.run([str(venv / "bin" / prog), "--version"], capture_output=True, text=True, timeout=120)
        assert ran.returncode == 0 and ran.stdout.startswith(f"{prog} {release()} "), ran.stderr
    # The migrations travel in the wheel: an installed node creates and upgrades databases.
    code = "from node import migrations; print(migrations.heads())"
    ran = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=cwd)
    assert ran.returncode == 0 and ran.stdout.strip() == str(migrations.heads()), ran.stderr


def test_the_linux_bundle_builds_and_installs_with_no_index(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    built = subprocess.run([sys.executable, str(ROOT / "deploy" / "make_dist.py"), "--out", str(bundle),
                            "--only", "linux_x86_64"], capture_output=True, text=True, timeout=900)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    assert (bundle / "MISSING.txt").read_text().splitlines()[1:] == ["linux_x86_64: none"]
    assert (bundle / "wheels" / "linux_x86_64" / f"laowu-{release()}-py3-none-any.whl").exists()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    out = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
                          "--isolated", "--no-index", "--no-compile", "--find-links",
                          str(bundle / "wheels" / "linux_x86_64"), "laowu"],
                         env=OFFLINE, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    _runs(venv, tmp_path)


@pytest.mark.skipif(not DIST, reason="run `make dist-check`: it builds the two-platform bundle and sets LAOWU_DIST")
def test_the_whole_bundle_installs_offline_by_its_install_script(tmp_path: Path) -> None:
    bundle = Path(str(DIST))
    assert (bundle / "MISSING.txt").read_text().splitlines()[1:] == ["linux_x86_64: none", "win_amd64: none"]
    win = {p.name for p in (bundle / "wheels" / "win_amd64").glob("*.whl")}
    assert f"laowu-{release()}-py3-none-any.whl" in win
    assert {n.split("-")[0].lower() for n in win if "win_amd64" in n} >= {"cryptography", "msgpack", "sqlalchemy", "pydantic_core"}
    target = tmp_path / "venv"
    out = subprocess.run(["sh", str(bundle / "install.sh"), str(target)], env=OFFLINE, capture_output=True, text=True,
                         timeout=900)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    _runs(target, tmp_path)
    assert sys.version_info[:2] == (3, 11)  # the bundle's wheels are for the CPython it was built with
