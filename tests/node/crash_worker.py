"""The process tests/node/test_crash.py kills with SIGKILL. Run with the venv python.

    crash_worker.py apply DB BUNDLE   apply the bundle's envelopes to the county store DB, 10 per apply()
    crash_worker.py write DB N        write persons 0..N-1 on the village-a store DB, sealing every 7 writes
    crash_worker.py serve             read such commands from stdin, one forked child per command

A job prints "READY <pid>" once its store is open, "ACK <n>" after each committed transaction (n:
envelopes of the bundle applied so far, or persons written so far), "SEALED <n>" after each committed
seal (persons 0..n-1 are in signed changesets) and "DONE" at the end, each line flushed at once: what
the test has read was acknowledged. A job resumes where the database says it stopped (an apply job
from its vector, applying the last whole batch again), so a killed job can be run again on the same file.

`serve` exists because importing the store costs about a second and the test wants dozens of kill
points: the server imports once and forks a fresh child for each job. The child is the process
that gets killed, in the middle of whatever it was doing; the server reports "EXIT <status>".
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from storekit import NOW_MS, Clock, build_province, person

from node.engine.store import Store
from protocol import bundle
from protocol.changeset import open_envelope

BATCH = 10
SEAL_EVERY = 7
DAY_MS = 24 * 3600 * 1000


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def apply_job(db: str, bundle_path: str) -> None:
    envelopes = bundle.decode(Path(bundle_path).read_bytes()).envelopes
    store = Store.open(db, build_province().members["county"].key, wall=Clock(NOW_MS + DAY_MS))
    say(f"READY {os.getpid()}")
    for i in range(_resume(store, envelopes), len(envelopes), BATCH):
        store.apply(envelopes[i : i + BATCH])
        say(f"ACK {min(i + BATCH, len(envelopes))}")
    say("DONE")


def _resume(store: Store, envelopes: list[bytes]) -> int:
    """Where to start again: the last batch the vector shows whole, applied again as duplicates,
    like an interrupted sync that resumes from the vector with some overlap."""
    vector = store.vector()
    done = 0
    for i in range(0, len(envelopes), BATCH):
        if not all(vector.get(cs.feed, 0) >= cs.seq for cs in map(open_envelope, envelopes[i : i + BATCH])):
            break
        done = i
    return done


def write_job(db: str, n: int) -> None:
    store = Store.open(db, build_province().members["village-a"].key, wall=Clock(NOW_MS))
    start = len(store.values("person"))  # each write is one transaction: rows 0..start-1 are there
    say(f"READY {os.getpid()}")
    for i in range(start, n):
        row, id_number = person(i)
        store.write("person", row, {"id_number": id_number, "name": f"工人{i}", "phone": f"138{i:08d}"})
        say(f"ACK {i + 1}")
        if (i + 1) % SEAL_EVERY == 0:
            store.seal()
            say(f"SEALED {i + 1}")
    store.seal()
    say(f"SEALED {n}")
    say("DONE")


def run(args: list[str]) -> None:
    if args[0] == "apply":
        apply_job(args[1], args[2])
    elif args[0] == "write":
        write_job(args[1], int(args[2]))
    else:
        raise SystemExit(f"unknown job {args[0]!r}")


def serve() -> None:
    build_province()  # warm: key derivation and certificates, before any fork
    for line in sys.stdin:
        args = line.split()
        if not args:
            continue
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                run(args)
            except BaseException as exc:  # report, never fall back into the server loop
                say(f"ERROR {exc!r}")
                code = 1
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        say(f"EXIT {os.waitstatus_to_exitcode(status)}")


if __name__ == "__main__":
    serve() if sys.argv[1] == "serve" else run(sys.argv[1:])
