"""What this build is — the release, the wire schema and the database revision — for `--version`,
`/v1/health` and the logs, so an operator of an uneven fleet can tell which laptop runs what."""
from __future__ import annotations

from importlib import metadata

from node import migrations
from node.engine.schema import SCHEMA_VERSION


def release() -> str:
    """The installed release of the `laowu` distribution (pyproject's version)."""
    try:
        return metadata.version("laowu")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def describe(prog: str) -> str:
    """One line: `laowu-node 0.2.0 (schema 2, database 0002_schema2_domain)`."""
    return f"{prog} {release()} (schema {SCHEMA_VERSION}, database {', '.join(migrations.heads())})"
