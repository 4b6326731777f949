"""`laowu-node` as installed, run in subprocesses against a real hub of the `world` fixture."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hubkit import World

from hub import enroll
from node.files import ProvinceFile, save_chain, save_province
from protocol import messages

BIN = Path(sys.executable).parent
PASSPHRASE = "test-passphrase"
ENV = {**os.environ, "LAOWU_PASSPHRASE": PASSPHRASE, "PYTHONIOENCODING": "utf-8"}


def run(d: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "laowu-node"), "--json", "--dir", str(d), *args], capture_output=True,
                          encoding="utf-8", env=env or ENV, timeout=120)


def enrolled_node(world: World, d: Path, place: str, *, url: str | None = None) -> Path:
    """`init` a node directory for `place` against the county hub, and install the certificate the
    county issued for the key the node made."""
    province = d.parent / f"{d.name}-province.laowu"
    save_province(province, ProvinceFile(world.box.members["510000000000"].cert))
    out = run(d, "init", "--place", place, "--province", str(province), "--hub", url or world.county_url,
              "--hub-key", world.county.author.hex())
    assert out.returncode == 0, out.stderr
    req = messages.EnrollRequest.decode((d / "enroll-request.laowu").read_bytes())
    enroll.approve(world.county, req)
    save_chain(d / "certs.laowu", world.county.trust.chains({req.pub}))
    out = run(d, "install-certs", "--certs", str(d / "certs.laowu"))
    assert out.returncode == 0, out.stderr
    return d
