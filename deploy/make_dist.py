"""`make dist`: an offline install bundle for village laptops and hubs, one folder, no network needed.

    dist/laowu-0.2.0/
      wheels/linux_x86_64/   the project and every dependency as wheels for CPython 3.11 on Linux x86-64
      wheels/win_amd64/      the same for Windows x86-64
      install.sh             python3 -m venv laowu-venv && pip install --no-index (Linux)
      install.bat            the same on Windows
      MISSING.txt            any dependency without a binary wheel for a platform (empty when none)

Dependencies are the project's runtime requirements, walked down to the leaves with the environment
markers of each target platform (a Windows-only dependency such as colorama is fetched for Windows
only), pinned to constraints.txt where it pins them. Wheels only (`--only-binary=:all:`): a laptop
builds nothing. Installing: `sh install.sh` or `install.bat` in the folder; it never reaches a network
(`--isolated --no-index`).
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PY = f"{sys.version_info.major}.{sys.version_info.minor}"
ABI = f"cp{sys.version_info.major}{sys.version_info.minor}"
TARGETS = {
    "linux_x86_64": (["manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64", "linux_x86_64"],
                     {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
                      "platform_machine": "x86_64"}),
    "win_amd64": (["win_amd64"], {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt",
                                  "platform_machine": "AMD64"}),
}


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins() -> dict[str, str]:
    out = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#") and "==" in line:
            name, version = line.split("==", 1)
            out[norm(name)] = version.strip()
    return out


def requirements(env: dict[str, str]) -> dict[str, str | None]:
    """name → pinned version (None: not pinned here) of every runtime dependency for a platform."""
    pinned = pins()
    found: dict[str, str | None] = {}
    todo: list[tuple[str, set[str]]] = [("laowu", set())]
    while todo:
        dist, extras = todo.pop()
        try:
            reqs = metadata.requires(dist) or []
        except metadata.PackageNotFoundError:
            continue  # only needed on another platform: fetched, its own dependencies are its wheel's
        for raw in reqs:
            req = Requirement(raw)
            if req.marker and not any(req.marker.evaluate({**env, "python_version": PY, "extra": e})
                                      for e in (extras or {""})):
                continue
            name = norm(req.name)
            if name not in found:
                found[name] = pinned.get(name)
                todo.append((req.name, set(req.extras)))
    return found


def download(specs: list[str], platforms: list[str], dest: Path) -> list[str]:
    """Fetch wheels for `specs`; the specs that have none for these platforms."""
    base = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "-d", str(dest),
            "--python-version", PY, "--implementation", "cp", "--abi", ABI, "--abi", "abi3", "--abi", "none"]
    for p in platforms:
        base += ["--platform", p]
    base += ["--platform", "any"]
    if subprocess.run(base + specs, capture_output=True).returncode == 0:
        return []
    return [s for s in specs if subprocess.run(base + [s], capture_output=True).returncode != 0]


def build(out: Path, targets: list[str] | None = None) -> dict[str, list[str]]:
    """Build the bundle in `out` for `targets` (default: every platform in TARGETS)."""
    if out.exists():
        shutil.rmtree(out)
    project = out / "project"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(project),
                    str(ROOT)], check=True)
    missing: dict[str, list[str]] = {}
    for target, (platforms, env) in TARGETS.items():
        if targets is not None and target not in targets:
            continue
        dest = out / "wheels" / target
        dest.mkdir(parents=True)
        for wheel in project.glob("*.whl"):
            shutil.copy2(wheel, dest)
        specs = [f"{n}=={v}" if v else n for n, v in sorted(requirements(env).items())]
        missing[target] = download(specs, platforms, dest)
    shutil.rmtree(project)
    (out / "install.sh").write_text(
        "#!/bin/sh\n# Offline install of Laowu on Linux x86-64 (CPython " + PY + "): no network is used.\n"
        'set -e\ncd "$(dirname "$0")"\npython3 -m venv "${1:-laowu-venv}"\n'
        '"${1:-laowu-venv}/bin/pip" install --isolated --no-index --find-links wheels/linux_x86_64 laowu\n'
        'echo "installed: ${1:-laowu-venv}/bin/laowu-node, ${1:-laowu-venv}/bin/laowu-hub"\n')
    (out / "install.sh").chmod(0o755)
    (out / "install.bat").write_text(
        "@echo off\r\nrem Offline install of Laowu on Windows x86-64 (CPython " + PY + "): no network is used.\r\n"
        'cd /d "%~dp0"\r\npy -' + PY + " -m venv laowu-venv || exit /b 1\r\n"
        "laowu-venv\\Scripts\\pip install --isolated --no-index --find-links wheels\\win_amd64 laowu || exit /b 1\r\n"
        "echo installed: laowu-venv\\Scripts\\laowu-node.exe, laowu-venv\\Scripts\\laowu-hub.exe\r\n")
    lines = ["# Dependencies without a binary wheel for a platform (the bundle cannot install them offline there)."]
    for target, specs in missing.items():
        lines += [f"{target}: {s}" for s in specs] or [f"{target}: none"]
    (out / "MISSING.txt").write_text("\n".join(lines) + "\n")
    return missing


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "dist" / f"laowu-{metadata.version('laowu')}"))
    ap.add_argument("--only", choices=list(TARGETS), action="append",
                    help="build the wheels of this platform only (the test in make test builds linux_x86_64)")
    args = ap.parse_args()
    out = Path(args.out)
    missing = build(out, args.only)
    for target in missing:
        n = len(list((out / "wheels" / target).glob("*.whl")))
        print(f"{target}: {n} wheels" + (f"; missing: {', '.join(missing[target])}" if missing[target] else ""))
    print(f"bundle: {out} ({sum(f.stat().st_size for f in out.rglob('*') if f.is_file()) >> 20} MB)")


if __name__ == "__main__":
    main()
