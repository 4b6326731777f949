"""Earlier releases installed beside this tree, so tests can run their own code as real processes.

Each release is its commit's tree (`git archive`, which needs only the commit object: it works in a
clone, a worktree or CI's fresh checkout of main alike) installed into its own venv under
`.releases/VERSION/`, with the pins it was tested with, from the pip cache. The first test that asks
for a release builds it (a minute or two, once; a lock keeps two runs from building it together);
`make releases` builds them all ahead. `LAOWU_RELEASE_<VERSION>` (dots as underscores) names the bin
folder of an install made elsewhere.

    from releases import cli, python
    subprocess.run([cli("0.2.0", "laowu-node"), "--version"])    # a v1-wire node made by release 0.2.0

    .venv/bin/python tests/hub/releases.py [VERSION ...]       # build (default: all), print the bin folders
"""
from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOME = ROOT / ".releases"

# version → (commit, the commit whose constraints.txt pins its dependencies). 0.1.0 had no pins: it
# gets the first ones the project made (db110a2, six days later, before any dependency changed).
RELEASES: dict[str, tuple[str, str]] = {
    "0.1.0": ("8c854a9076afa7be60b15d2116090befcbccc359", "db110a2"),
    "0.2.0": ("5bcff9c", "5bcff9c"),
}


class ReleaseUnavailable(RuntimeError):
    """The release could not be installed here (its commit is missing, or pip failed); says why."""


def _git(*args: str, **kw: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, check=False, **kw)  # type: ignore[call-overload, no-any-return]


def _override(version: str) -> Path | None:
    named = os.environ.get("LAOWU_RELEASE_" + version.replace(".", "_"))
    return Path(named) if named else None


def bin_dir(version: str) -> Path:
    """The bin folder of `version`'s venv (laowu-node, laowu-hub, python), built on first use."""
    named = _override(version)
    if named is not None:
        return named
    home = HOME / version
    stamp = home / "venv" / ".installed"
    if not stamp.exists():
        HOME.mkdir(exist_ok=True)
        with open(HOME / f".{version}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not stamp.exists():
                _build(version, home)
    return home / "venv" / "bin"


def python(version: str) -> Path:
    return bin_dir(version) / "python"


def cli(version: str, prog: str) -> Path:
    """`prog` (laowu-node, laowu-hub) of release `version`."""
    return bin_dir(version) / prog


def _build(version: str, home: Path) -> None:
    commit, pins_from = RELEASES[version]
    if home.exists():
        shutil.rmtree(home)  # a half-made one from an interrupted build
    src = home / "src"
    src.mkdir(parents=True)
    archive = _git("archive", "--format=tar", commit)
    if archive.returncode != 0:
        raise ReleaseUnavailable(f"release {version}: commit {commit} is not in this clone "
                                 f"({archive.stderr.decode(errors='replace').strip()}): fetch full history")
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive.stdout, check=True)
    pins = _git("show", f"{pins_from}:constraints.txt")
    if pins.returncode != 0:
        raise ReleaseUnavailable(f"release {version}: no constraints.txt at {pins_from}")
    (home / "constraints.txt").write_bytes(pins.stdout)
    venv = home / "venv"
    # No pip of its own (ensurepip is slow); this venv's pip installs into it (`pip --python`).
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    # Runtime dependencies only (no test extras), at the pinned versions; a wheel, not an editable
    # install: the old code then lives in its own site-packages and nothing of this tree shadows it.
    # Compiled to bytecode once here: where PYTHONDONTWRITEBYTECODE is set (this machine kind sets it)
    # every process of the release would otherwise compile SQLAlchemy and the rest from source, about
    # a second and a half each, and the tests run dozens of them.
    with tempfile.TemporaryFile() as out:
        done = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
                               "-q", "-c", str(home / "constraints.txt"), str(src)], stdout=out, stderr=subprocess.STDOUT, check=False)
        if done.returncode != 0:
            out.seek(0)
            raise ReleaseUnavailable(f"release {version}: pip failed:\n{out.read().decode(errors='replace')[-3000:]}")
    shutil.rmtree(src / "build", ignore_errors=True)
    (venv / ".installed").write_text(commit + "\n")


def main(argv: list[str]) -> None:
    for version in argv or list(RELEASES):
        print(f"{version}: {bin_dir(version)}")


if __name__ == "__main__":
    main(sys.argv[1:])
