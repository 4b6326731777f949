"""Mix the hostile categories into one seeded stream, send it to the hub, and judge every answer.

`cases(world, seed, count)` yields `count` hostile inputs (a request, or an envelope): first one of
every category, so even a short run covers them all, then a weighted draw. Items are built as they
are consumed, so tokens and hello times stay fresh in a long soak. `drive()` sends requests as they
come and envelopes in pushes of 1 to 12 (one session per push), and tallies each answer against the
verdict its category demands.
"""
from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from hostile_envelopes import EnvelopeGen
from hostile_requests import RequestGen
from hostilekit import Envelope, Growth, HostileWorld, Item, Request
from protocol import codec, messages

# Relative weights; anything unnamed weighs 1. The heavy ones (16 MiB bodies, 20,001-change
# changesets) are rare; the categories with many variants are drawn more often.
WEIGHTS = {
    "oversize-body": 0.02, "oversize-chunked": 0.02, "env-oversized": 0.05, "too-many-items": 0.3,
    "env-structure": 3.0, "env-bitflip": 2.0, "env-bad-set-op": 2.0, "wrong-type": 2.0, "random-bytes": 2.0,
    "hello-forged-cert": 1.5, "deep-nesting": 1.5, "env-deep": 1.5,
}
REFUSALS = ("refused", "quarantined", "fork")


def makers(w: HostileWorld, rng: random.Random) -> dict[str, Callable[[], Item]]:
    """Every category, by name, and the function that makes one input of it."""
    return {**RequestGen(w, rng).categories, **EnvelopeGen(w, rng).categories}


def cases(w: HostileWorld, seed: int, count: int) -> Iterator[Item]:
    rng = random.Random(seed)
    make = makers(w, rng)
    names = sorted(make)
    weights = [WEIGHTS.get(n, 1.0) for n in names]
    for i in range(count):
        name = names[i] if i < len(names) else rng.choices(names, weights)[0]
        item = make[name]()
        assert item.category == name, (item.category, name)
        yield item


@dataclass
class Tally:
    tried: int = 0
    wrong: int = 0
    answers: Counter[str] = field(default_factory=Counter)


@dataclass
class Report:
    tried: int = 0
    accepted: int = 0
    server_errors: int = 0
    hangs: int = 0
    dropped: int = 0
    by_category: dict[str, Tally] = field(default_factory=dict)
    growth: Growth = field(default_factory=Growth)
    failures: list[str] = field(default_factory=list)

    @property
    def wrong(self) -> int:
        return sum(t.wrong for t in self.by_category.values())

    def record(self, category: str, answer: str, ok: bool, detail: str = "") -> None:
        tally = self.by_category.setdefault(category, Tally())
        self.tried += 1
        tally.tried += 1
        tally.answers[answer] += 1
        if not ok:
            tally.wrong += 1
            if len(self.failures) < 30:
                self.failures.append(f"{category}: {answer} {detail}".strip())

    def as_json(self) -> dict[str, Any]:
        return {
            "tried": self.tried, "accepted": self.accepted, "server_errors": self.server_errors,
            "hangs": self.hangs, "dropped": self.dropped, "wrong": self.wrong,
            "by_category": {c: {"tried": t.tried, "wrong": t.wrong, "answers": dict(sorted(t.answers.items()))}
                            for c, t in sorted(self.by_category.items())},
            "failures": self.failures,
        }


def drive(w: HostileWorld, items: Iterable[Item], seed: int = 0) -> Report:
    report = Report()
    rng = random.Random(seed ^ 0x5EED)
    batch: list[Envelope] = []
    limit = rng.randint(1, 12)
    for item in items:
        if isinstance(item, Envelope):
            size = sum(len(e.data) for e in batch) + len(item.data)
            if batch and (item.carrier != batch[0].carrier or len(batch) >= limit or size > 8 << 20):
                push(w, batch, report)
                batch, limit = [], rng.randint(1, 12)
            batch.append(item)
        else:
            request(w, item, report)
    if batch:
        push(w, batch, report)
    return report


def post(w: HostileWorld, path: str, content: bytes | Iterator[bytes], report: Report,
         categories: list[str], headers: dict[str, str] | None = None) -> httpx.Response | None:
    """The answer, or None (recorded against every input it carried) for a hang or a dropped connection."""
    try:
        resp = w.http.post(path, content=content, headers=headers)
    except httpx.TimeoutException as exc:
        report.hangs += len(categories)
        outcome = f"hang ({type(exc).__name__})"
    except httpx.TransportError as exc:
        report.dropped += len(categories)
        outcome = f"dropped ({type(exc).__name__}: {exc})"
    else:
        if resp.status_code >= 500:
            report.server_errors += len(categories)
        return resp
    for c in categories:
        report.record(c, outcome, False)
    return None


def request(w: HostileWorld, req: Request, report: Report) -> None:
    if req.prepare is not None:
        req.prepare()
    body = req.body()
    headers = req.headers(body) if req.headers is not None and isinstance(body, bytes) else None
    resp = post(w, req.path, body, report, [req.category], headers)
    if resp is None:
        return
    status = resp.status_code
    if 200 <= status < 300 and not req.empty_ok:
        report.accepted += 1
    try:
        answer = codec.unpack(resp.content, max_bytes=1 << 20, what="answer")
    except Exception as exc:  # not msgpack at all: a wrong answer, described
        report.record(req.category, f"{status} <{type(exc).__name__}>", False, repr(resp.content[:80]))
        return
    if req.empty_ok:
        results = answer.get("results") if isinstance(answer, dict) else None
        report.record(req.category, f"{status} results={results!r}", status == 200 and results == [])
        return
    ok = (status in req.status and isinstance(answer, dict) and list(answer) == ["v", "error", "reason"]
          and answer["error"] in req.codes and isinstance(answer["reason"], str) and bool(answer["reason"]))
    error = answer.get("error") if isinstance(answer, dict) else answer
    report.record(req.category, f"{status} {error}", ok,
                  "" if ok else f"{req.path}: wanted {sorted(req.status)} {sorted(req.codes)}; {answer!r:.300}")


def push(w: HostileWorld, batch: list[Envelope], report: Report) -> None:
    for env in batch:
        if env.grows:
            setattr(report.growth, env.grows, getattr(report.growth, env.grows) + 1)
    body = messages.Push(w.token(batch[0].carrier), [e.data for e in batch], [], []).encode()
    resp = post(w, "/v1/push", body, report, [e.category for e in batch])
    if resp is None:
        return
    try:
        results = messages.PushResult.decode(resp.content).results if resp.status_code == 200 else None
    except Exception:
        results = None
    if results is None or len(results) != len(batch):
        for env in batch:
            report.record(env.category, f"push {resp.status_code}", False, repr(resp.content[:200]))
        return
    for env, r in zip(batch, results):
        status, code, reason = r.get("status"), r.get("code"), r.get("reason")
        if status == "accepted":
            report.accepted += 1
        ok = status == env.status and code in env.codes and (status not in REFUSALS or bool(reason))
        report.record(env.category, f"{status} {code}".strip(), ok,
                      "" if ok else f"wanted {env.status} {sorted(env.codes)}; reason {reason!r:.300}")
