"""Hybrid logical clock: 48 bits of wall-clock milliseconds, 16 bits of counter, in one int.

Why this shape: HLC stamps sort like wall time when clocks are sane, and never go backwards when they
are not (a dead CMOS battery resets a laptop to 2001). Three defences keep a bad clock from doing harm:

* `now()` and `observe()` never return a stamp below one already issued or seen (monotonic);
* `correct(hub_ms)` learns the offset between our wall clock and the hub's at every contact, so a
  laptop set to 2001 still stamps close to true time;
* `observe()` refuses remote stamps beyond `max_ahead_ms` of our corrected time (ClockAhead), so one
  poisoned peer cannot drag every replica into 2099.

A clock poisoned into the future by its own wall clock (set to 2099, then fixed) is recovered by
`correct()`: when the issued high-water mark is beyond trusted time + bound, the clock re-anchors to
trusted time and reports the poisoned range, instead of re-seeding from stored maxima forever.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable

from protocol.errors import ClockAhead, ClockPoisoned

COUNTER_BITS = 16
COUNTER_MASK = (1 << COUNTER_BITS) - 1
# 47 of the 48 bits are used so a stamp fits a signed 64-bit SQL integer (years up to 6429).
MAX_MS = (1 << 47) - 1
MAX_HLC = (1 << 63) - 1
DEFAULT_MAX_AHEAD_MS = 10 * 60 * 1000


def pack(ms: int, counter: int = 0) -> int:
    return (min(max(ms, 0), MAX_MS) << COUNTER_BITS) | (counter & COUNTER_MASK)


def physical_ms(hlc: int) -> int:
    return hlc >> COUNTER_BITS


def counter(hlc: int) -> int:
    return hlc & COUNTER_MASK


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def is_ahead(hlc: int, now_ms: int, bound_ms: int = DEFAULT_MAX_AHEAD_MS) -> bool:
    """True when `hlc` is stamped more than `bound_ms` ahead of `now_ms`: quarantine material."""
    return physical_ms(hlc) > now_ms + bound_ms


@dataclass(frozen=True)
class Reanchored:
    """What `correct()` reports when it had to pull a poisoned clock back to trusted time."""

    poisoned_high: int
    trusted_ms: int


class HLC:
    """A replica's clock, one per replica, owned by its store. A hub's handler threads and its relay
    thread share it, so each read-modify-write holds a lock."""

    def __init__(
        self,
        wall: Callable[[], int] = wall_ms,
        *,
        last: int = 0,
        offset_ms: int = 0,
        max_ahead_ms: int = DEFAULT_MAX_AHEAD_MS,
    ) -> None:
        self._wall = wall
        self._lock = threading.Lock()
        self.last = last
        self.offset_ms = offset_ms
        self.max_ahead_ms = max_ahead_ms

    def physical(self) -> int:
        """Our best estimate of true time: wall clock plus the offset learned from the hub. Never
        below zero: a clock once set to 2099 (offset learned: minus 75 years) whose battery then dies
        (back to 2001) would otherwise read before 1970, a time no message can carry."""
        return max(0, self._wall() + self.offset_ms)

    def now(self) -> int:
        """A fresh stamp, strictly greater than every stamp issued or observed before."""
        with self._lock:
            candidate = pack(self.physical())
            self.last = candidate if candidate > self.last else self._bump(self.last)
            return self.last

    def floor(self, ms: int) -> None:
        """Never stamp below `ms`, a time known to have passed (our certificate's start): a laptop
        whose dead battery reset it to 2001 before it ever met a hub would otherwise stamp changes
        that every peer refuses, as written before the key was certified."""
        with self._lock:
            if self.last < pack(ms):
                self.last = pack(ms)

    def observe(self, remote: int) -> int:
        """Merge a remote stamp into ours; refuse it if it is too far in the future."""
        if is_ahead(remote, self.physical(), self.max_ahead_ms):
            raise ClockAhead(
                f"stamp {format_hlc(remote)} is more than {self.max_ahead_ms // 1000}s ahead of "
                f"{format_ms(self.physical())}; held until staff release it or time catches up"
            )
        with self._lock:
            if remote > self.last:
                self.last = remote
            return self.last

    def correct(self, hub_ms: int, rtt_ms: int = 0) -> Reanchored | None:
        """Learn the offset to a trusted (hub) clock; re-anchor if we had run into the future."""
        trusted = hub_ms + rtt_ms // 2
        with self._lock:
            self.offset_ms = trusted - self._wall()
            if physical_ms(self.last) > trusted + self.max_ahead_ms:
                poisoned = self.last
                self.last = pack(trusted)
                return Reanchored(poisoned_high=poisoned, trusted_ms=trusted)
            return None

    @staticmethod
    def _bump(stamp: int) -> int:
        # Counter overflow borrows a millisecond rather than wrapping: order is what matters.
        if stamp >= MAX_HLC:
            # Returning the same stamp again would break "strictly greater"; only correct() helps.
            raise ClockPoisoned(f"clock is at its last stamp {format_hlc(stamp)}; correct() it from a hub")
        return stamp + 1


def format_ms(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"


def format_hlc(hlc: int) -> str:
    return f"{format_ms(physical_ms(hlc))}#{counter(hlc)}"
