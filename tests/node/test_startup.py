"""Every `laowu-node` and `laowu-hub` run is a new Python process that imports before it works: on a slow
village laptop, and in this suite's several hundred subprocesses, what a command never uses must not be
imported at start-up. The network client, the web app and the filings load in the commands using them."""
from __future__ import annotations

import subprocess
import sys

# What only some commands need: sync/enroll/relay (httpx), serve (starlette, the hub app), filing
# (xlsxwriter and the filings), person import (the encoding detector), upgrading an old database (alembic).
LATER = ("httpx", "starlette", "hub.app", "xlsxwriter", "hub.filings", "charset_normalizer", "alembic")


def test_the_command_lines_start_without_what_only_some_commands_use() -> None:
    probe = ("import sys\n"
             "from hub import cli as hub_cli\n"
             "from node.cli import main as node_cli\n"
             "hub_cli.parser(); node_cli.parser()\n"  # with every subcommand added, as each run builds it
             f"print(sorted(m for m in {LATER!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
