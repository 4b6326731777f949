"""The CLIs in processes the fault campaigns kill with SIGKILL. Run with the venv python.

    forker.py     read commands from stdin, one JSON list a line: ["node" | "hub", LOG | null, ARG...];
                  for each, fork a child that prints "READY <pid>" and runs `laowu-node ARG...` or
                  `laowu-hub ARG...` (node.cli.main / hub.cli.main: the console scripts' own entry
                  points), its output going to LOG when given; then print "EXIT <status>"
                  (negative: killed by that signal)

The server exists because starting the interpreter and importing the node and the hub costs one to
three seconds on a busy machine, and the campaigns want many kill points inside the work itself,
not in interpreter start-up: it imports once and forks a fresh child per run, as
tests/node/crash_worker.py does. Nothing is opened before the fork: the child opens its key,
database, HTTP client or listening socket itself, exactly as the console script does. A hub's key
is unencrypted on its server, so a hub child runs without LAOWU_PASSPHRASE.
"""
from __future__ import annotations

import json
import os
import sys


def serve() -> None:
    import httpx  # noqa: F401  (warm every import a child will need, before any fork)
    import uvicorn  # noqa: F401

    import hub.cli
    import hub.server  # noqa: F401
    import node.cli.main
    import node.domain.rules  # noqa: F401
    import node.sync.client  # noqa: F401

    for line in sys.stdin:
        if not line.strip():
            continue
        cli, log, *argv = json.loads(line)
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                sys.stdout.write(f"READY {os.getpid()}\n")
                sys.stdout.flush()
                devnull = os.open(os.devnull, os.O_RDONLY)
                os.dup2(devnull, 0)
                if log:
                    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                    os.dup2(fd, 1)
                    os.dup2(fd, 2)
                if cli == "hub":
                    os.environ.pop("LAOWU_PASSPHRASE", None)
                code = (hub.cli.main if cli == "hub" else node.cli.main.main)(argv)
                sys.stdout.flush()
            except BaseException as exc:  # report, never fall back into the server loop
                sys.stdout.write(f"ERROR {exc!r}\n")
                sys.stdout.flush()
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        sys.stdout.write(f"EXIT {os.waitstatus_to_exitcode(status)}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve()
