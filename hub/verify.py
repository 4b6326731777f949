"""Verify workers: a hub decodes and signature-checks pushed envelopes in worker processes.

Decoding an envelope and verifying its Ed25519 signature are most of what admitting it costs, and
neither needs the store, so they need not hold the interpreter lock of the process that does. The hub
hands each push's envelopes, split in one piece per worker, to a pool of processes running the same
`protocol.changeset.open_envelope` (hence the one verifier, `protocol.keys.verify`); the opened
changesets come back before the write lock is taken, and the single writer (`Store.apply`) admits
them without opening them again. Pushes from many villages are checked side by side while one is
written: ingest grows with cores instead of queueing behind one interpreter.

An envelope a worker cannot open comes back as its bytes, and the writer refuses it exactly as it
would have without workers (the same function raises the same error). With no workers (the default:
`[limits] verify_workers`, `laowu-hub serve --verify-workers N`) everything is opened in the writer,
as before. The pool lives with the ASGI app: started by its lifespan startup (every worker spawned
and ready before the first request), shut down, its processes joined, at shutdown.
"""
from __future__ import annotations

import logging
import multiprocessing
import sys
import types
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from protocol.changeset import Changeset, open_envelope
from protocol.errors import ConfigError, RemoteError

log = logging.getLogger("laowu.hub")

MAX_WORKERS = 64
Opened = bytes | Changeset  # an envelope, or the changeset a worker opened (decoded, signature verified) from it


def _open_all(envelopes: list[bytes]) -> list[Opened]:
    """In a worker: each envelope opened, or left as bytes when it does not open (the writer refuses it)."""
    out: list[Opened] = []
    for env in envelopes:
        try:
            out.append(open_envelope(env))
        except RemoteError:
            out.append(env)
    return out


def _ready(_: int) -> bool:
    return True


class VerifyPool:
    """`workers` processes opening envelopes; none (0) opens them in the calling process."""

    def __init__(self, workers: int = 0) -> None:
        if not 0 <= workers <= MAX_WORKERS:
            raise ConfigError(f"verify workers must be 0 to {MAX_WORKERS}, got {workers}")
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    @property
    def running(self) -> bool:
        return self._pool is not None

    def start(self) -> None:
        """Spawn every worker now and wait until each answers, so the first push pays no start-up.

        Spawned, not forked: the hub process has threads (uvicorn's, the relay's). A spawned process
        runs the starting program's main module again unless it sees none: the whole hub CLI (seconds
        per worker on a busy machine), or, from a script without a `__main__` guard, workers starting
        workers. So they are spawned while `__main__` is an empty module; they import only this one."""
        if self.workers == 0 or self._pool is not None:
            return
        main = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
            list(self._pool.map(_ready, range(self.workers)))  # every worker spawned here, none later
        finally:
            sys.modules["__main__"] = main

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def open(self, envelopes: Sequence[bytes]) -> list[Opened]:
        """The envelopes opened by the workers (in order), or as they are when no pool runs."""
        pool = self._pool
        if pool is None or not envelopes:
            return list(envelopes)
        size = -(-len(envelopes) // self.workers)
        pieces = [list(envelopes[i : i + size]) for i in range(0, len(envelopes), size)]
        try:
            return [x for part in pool.map(_open_all, pieces) for x in part]
        except BrokenProcessPool:  # a worker died (killed, out of memory): a new pool; this push is opened by the writer
            log.warning("a verify worker died; restarting %d verify workers", self.workers)
            self.close()
            self.start()
            return list(envelopes)
