"""The hub's memory of which key proofs it has taken, so a captured request cannot be sent again.

Without TLS a network attacker reads whole requests: token, key proof and body. The proof covers
them all, so the attacker cannot change a byte, but could send the same bytes again until the token
expires (30 minutes). Each proof therefore signs a sequence number (from 1 per token) and the time
the node sent it (`protocol.session`), and the hub takes each (token, sequence number) once:

* **Stale or ahead**: a proof dated more than `FRESH_MS` before the hub's clock, or more than
  `AHEAD_MS` after it, is refused whatever else it says. So the hub need only remember a token for
  `FRESH_MS` after the latest time it has taken from it: anything older is stale anyway.
* **Seen**: per token, the highest sequence number taken and which of the `WINDOW` below it were
  (a 64-bit mask, as IPsec's anti-replay window). A number taken before, or below the window, is
  refused. A node sends one request at a time, so its numbers arrive in order; the window is slack.
* **Bounded**: at most `capacity` tokens are remembered (a few hundred bytes each). When full, the
  token used least recently is forgotten and its latest time becomes the **floor** (as does that of a
  token forgotten for being stale): a token the hub
  does not remember may then only use proofs dated after the floor, and so may a token it begins to
  remember again (the floor is kept with it). Every request the forgotten token made is dated at or
  before the floor, so none of them can come back. An honest node that loses
  its place so (only when more than `capacity` sessions were busy within `FRESH_MS`) is refused
  once and says hello again.

So memory is bounded whatever is sent, and no (token, sequence number) is ever taken twice; tests
check both by property (tests/hub/test_replay.py). Thread-safe: the hub checks sessions from its
worker threads. Pure apart from the lock: the hub's clock is passed in.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

from hub.refusals import Replayed
from protocol import clock
from protocol.session import AHEAD_MS, FRESH_MS

WINDOW = 64
CAPACITY = 100_000  # tokens remembered at once: 25 MB when full (254 bytes a token, measured with tracemalloc)


@dataclass(slots=True)
class _Seen:
    top: int  # the highest sequence number taken
    mask: int  # bit i: top - i was taken (bit 0 is top itself)
    latest_ms: int  # the latest proof time taken: the token is forgotten FRESH_MS after it
    floor_ms: int  # the floor when the hub began remembering it: proofs dated at or before it are refused


class ReplayGuard:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self.floor_ms = -1  # proofs of a token not remembered must be dated after this
        self.tokens: OrderedDict[bytes, _Seen] = OrderedDict()  # least recently used first
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.tokens)

    def admit(self, token: bytes, seq: int, sent_ms: int, now_ms: int) -> None:
        """Take the proof numbered `seq`, sent at `sent_ms`, of a request made with `token`, or raise
        Replayed (409) saying why not. Only proofs already checked as the token's key's are given."""
        if sent_ms < now_ms - FRESH_MS or sent_ms > now_ms + AHEAD_MS:
            raise Replayed(f"请求已过时或时间不对 the request's proof is dated {clock.format_ms(sent_ms)}, the hub's "
                           f"time is {clock.format_ms(now_ms)} (more than {FRESH_MS // 1000} s apart): a request sent "
                           "again, or a clock gone wrong; say hello again")
        key = hashlib.sha256(token).digest()[:16]
        with self._lock:
            self._forget_stale(now_ms)
            seen = self.tokens.get(key)
            if sent_ms <= (self.floor_ms if seen is None else seen.floor_ms):
                raise Replayed("平台太忙,已记不清这个会话 the hub no longer remembers this session's requests "
                               "(too many sessions at once) and takes only newer ones: say hello again")
            if seen is None:
                self._make_room()
                self.tokens[key] = _Seen(seq, 1, sent_ms, self.floor_ms)
                return
            if seq > seen.top:
                shift = seq - seen.top
                seen.mask = ((seen.mask << shift) | 1) & ((1 << WINDOW) - 1) if shift < WINDOW else 1
                seen.top = seq
            elif seen.top - seq >= WINDOW or seen.mask >> (seen.top - seq) & 1:
                raise Replayed(f"重复的请求 request {seq} of this session was already taken (or is too old): a "
                               "request sent again is refused; say hello again if this is not a replay")
            else:
                seen.mask |= 1 << (seen.top - seq)
            seen.latest_ms = max(seen.latest_ms, sent_ms)
            self.tokens.move_to_end(key)

    def _forget_stale(self, now_ms: int) -> None:
        """Forget tokens whose every request is stale now (a few at a time, least recently used first).
        The floor rises to their latest time too, so a clock read a moment earlier by another thread
        (or a hub clock set back) cannot let one of their requests in again."""
        for _ in range(8):
            if not self.tokens:
                return
            key, seen = next(iter(self.tokens.items()))
            if seen.latest_ms >= now_ms - FRESH_MS:
                return
            del self.tokens[key]
            self.floor_ms = max(self.floor_ms, seen.latest_ms)

    def _make_room(self) -> None:
        while len(self.tokens) >= self.capacity:
            _, gone = self.tokens.popitem(last=False)
            self.floor_ms = max(self.floor_ms, gone.latest_ms)
