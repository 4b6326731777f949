"""The processes the fault campaigns start and kill, and a transport that hears what a hub acknowledged.

`HubProcess` is `laowu-hub serve` on a fixed loopback port: started as the console script in a
fresh interpreter, or through a `Forker` (forker.py: the same entry point in a forked child of an
interpreter that has done its imports, so a restart after a kill costs a fraction of a second
instead of one to three). `Forker.run` also runs `laowu-node ... sync` and kills it on a timer.
`Acks` records every changeset id a hub answered a push with as accepted or duplicate.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from select import select as readable

import httpx
from faultkit import BIN, PASSPHRASE, REPO, env

from protocol import messages

FORKER = Path(__file__).with_name("forker.py")


@dataclass
class Run:
    exit: int | None = None
    killed: bool = False  # the kill landed: the child died of SIGKILL, not of old age
    output: str = ""


class Forker:
    """forker.py: the CLIs' entry points in forked children, one at a time, killed at will."""

    def __init__(self, log: Path) -> None:
        e = env()
        e["LAOWU_PASSPHRASE"] = PASSPHRASE
        self.stderr = open(log, "ab")
        self.proc = subprocess.Popen([sys.executable, str(FORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, cwd=REPO, env=e)
        self.buf = b""
        self.pid: int | None = None  # the running child

    def close(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.proc.stdout.close()
        self.stderr.close()

    def line(self, timeout: float) -> str | None:
        """The next line, or None when none arrives within `timeout` seconds."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            if not readable([fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                raise AssertionError("the forker died: see its stderr log")
            self.buf += chunk
        raw, self.buf = self.buf.split(b"\n", 1)
        return raw.decode()

    def start(self, cli: str, argv: list[str], log: Path | None = None) -> int:
        assert self.proc.stdin is not None and self.pid is None
        self.proc.stdin.write((json.dumps([cli, str(log) if log else None, *argv]) + "\n").encode())
        self.proc.stdin.flush()
        ready = self.line(60)
        assert ready is not None and ready.startswith("READY"), f"forker did not start a child: {ready}"
        self.pid = int(ready.split()[1])
        return self.pid

    def wait(self, timeout: float, kill_after: float | None = None) -> Run | None:
        """Collect the child's end (killing it with SIGKILL after `kill_after` seconds); None on timeout."""
        run = Run()
        deadline = time.monotonic() + timeout
        kill_at = None if kill_after is None else time.monotonic() + kill_after
        while True:
            now = time.monotonic()
            text = self.line(max(0.0, min(deadline, kill_at or deadline) - now))
            if text is None:
                if kill_at is not None:
                    self.signal(signal.SIGKILL)
                    kill_at = None
                    continue
                return None
            if text.startswith("EXIT "):
                run.exit = int(text.split()[1])
                run.killed = run.exit == -signal.SIGKILL
                self.pid = None
                return run
            run.output += text + "\n"

    def signal(self, sig: int) -> None:
        if self.pid is not None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def run(self, cli: str, argv: list[str], kill_after: float | None = None) -> Run:
        self.start(cli, argv)
        run = self.wait(600, kill_after)
        assert run is not None, f"{cli} {' '.join(argv)} did not end within 600 s"
        return run


class HubProcess:
    """`laowu-hub serve` on a fixed loopback port, started, SIGKILLed and started again: as the
    console script in a fresh interpreter, or through a `Forker` (the same entry point, no start-up)."""

    def __init__(self, d: Path, port: int, db: str | None = None, forker: Forker | None = None) -> None:
        self.args = ["serve", "--dir", str(d), "--host", "127.0.0.1", "--port", str(port)]
        if db:
            self.args += ["--db", db]
        self.log = d / "serve.log"
        self.url = f"http://127.0.0.1:{port}"
        self.forker = forker
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts: dict[str, int] = {"exec": 0, "fork": 0}
        self.kills = 0

    def start(self, *, fork: bool = True, timeout: float = 60.0) -> float:
        """Start and wait until /v1/health answers; the seconds it took."""
        began = time.monotonic()
        if fork and self.forker is not None:
            self.forker.start("hub", self.args, self.log)
            self.starts["fork"] += 1
        else:
            with open(self.log, "ab") as log:
                self.proc = subprocess.Popen([str(BIN / "laowu-hub"), *self.args], env=env(), stdout=log, stderr=log,
                                             cwd=REPO)
            self.starts["exec"] += 1
        with httpx.Client(verify=False, timeout=1) as http:
            while time.monotonic() - began < timeout:
                if not self.alive():
                    raise AssertionError(f"the hub exited at start: see {self.log}")
                try:
                    if http.get(self.url + "/v1/health").status_code == 200:
                        return time.monotonic() - began
                except httpx.HTTPError:
                    time.sleep(0.05)
        raise AssertionError(f"hub at {self.url} did not start: see {self.log}")

    def alive(self) -> bool:
        if self.proc is not None:
            return self.proc.poll() is None
        if self.forker is not None and self.forker.pid is not None:
            return self.forker.wait(0) is None
        return False

    def kill(self) -> bool:
        """SIGKILL; True when it was running (the kill landed on a live process)."""
        if self.proc is not None:
            proc, self.proc = self.proc, None
            if proc.poll() is not None:
                return False
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        elif self.forker is not None and self.forker.pid is not None:
            self.forker.signal(signal.SIGKILL)
            run = self.forker.wait(60)
            if run is None or not run.killed:
                return False
        else:
            return False
        self.kills += 1
        return True

    def tracebacks(self) -> int:
        """Tracebacks in the hub's log: every one is a request it failed on its own side (a 500)."""
        return self.log.read_text(errors="replace").count("Traceback") if self.log.exists() else 0

    def stop(self) -> None:
        """SIGTERM: uvicorn's graceful shutdown."""
        if self.proc is not None:
            proc, self.proc = self.proc, None
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        elif self.forker is not None and self.forker.pid is not None:
            self.forker.signal(signal.SIGTERM)
            if self.forker.wait(10) is None:
                self.forker.signal(signal.SIGKILL)
                self.forker.wait(30)


class Acks(httpx.HTTPTransport):
    """A transport that records every changeset id a hub answered a push with as accepted or
    duplicate: what the village was told the hub holds. Shared by threads (set.add is atomic)."""

    def __init__(self, acked: dict[bytes, str]) -> None:
        super().__init__(verify=False)  # plain HTTP on loopback: no certificate store to load (0.1 s each)
        self.acked = acked

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        resp = super().handle_request(request)
        if request.url.path == "/v1/push":
            content = resp.read()  # the whole answer arrived, or this raises and nothing was told
            if resp.status_code == 200:
                for r in messages.PushResult.decode(content).results:
                    if r.get("status") in ("accepted", "duplicate"):
                        self.acked.setdefault(r["id"], str(r["status"]))
        return resp
