"""What a build says it is, and the pins every install resolves (issue 14 item 2)."""
from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

from node import migrations
from node.engine.schema import SCHEMA_VERSION

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_both_commands_print_the_release_schema_and_database_revision() -> None:
    release = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    for prog in ("laowu-node", "laowu-hub"):
        out = subprocess.run([str(BIN / prog), "--version"], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == f"{prog} {release} (schema {SCHEMA_VERSION}, database {migrations.heads()[0]})"


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    return pins


def test_every_dependency_of_the_project_and_its_tests_is_pinned() -> None:
    """Walk the requirements of `laowu[test]` down to the leaves: each one has an exact pin."""
    pins = _pins()
    todo: list[tuple[str, set[str]]] = [("laowu", {"test"})]
    seen: set[str] = set()
    missing: list[str] = []
    while todo:
        dist, extras = todo.pop()
        for raw in metadata.requires(dist) or []:
            req = Requirement(raw)
            if req.marker and not any(req.marker.evaluate({"extra": e}) for e in (extras or {""})):
                continue
            name = re.sub(r"[-_.]+", "-", req.name).lower()
            if name in seen:
                continue
            seen.add(name)
            if name not in pins:
                missing.append(name)
                continue
            todo.append((req.name, set(req.extras)))
    assert not missing, f"not pinned in constraints.txt (run `make constraints`): {missing}"
