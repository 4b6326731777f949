"""The hybrid logical clock: monotonic under bad wall clocks, bounded against poisoned peers (DESIGN §5)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import clock
from protocol.clock import HLC, Reanchored
from protocol.errors import ClockAhead, ClockPoisoned

Y2001 = 978_307_200_000  # 2001-01-01: a laptop whose CMOS battery died
Y2099 = 4_070_908_800_000  # 2099-01-01: a laptop someone set by hand
TRUE_MS = 1_700_000_000_000  # the hub's (true) time in these tests
MINUTE = 60_000


class Wall:
    """A wall clock the test sets by hand."""

    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def test_stamps_strictly_increase_while_the_wall_clock_stands_still() -> None:
    hlc = HLC(Wall(TRUE_MS))
    stamps = [hlc.now() for _ in range(1000)]
    assert stamps == sorted(set(stamps))
    assert clock.physical_ms(stamps[-1]) == TRUE_MS


def test_stamps_never_go_back_when_the_wall_clock_jumps_back_to_2001() -> None:
    wall = Wall(TRUE_MS)
    hlc = HLC(wall)
    before = hlc.now()
    wall.ms = Y2001
    after = [hlc.now() for _ in range(10)]
    assert all(s > before for s in after)
    assert after == sorted(set(after))


def test_stamps_follow_the_wall_clock_jumping_forward_to_2099() -> None:
    wall = Wall(TRUE_MS)
    hlc = HLC(wall)
    before = hlc.now()
    wall.ms = Y2099
    after = hlc.now()
    assert after > before
    assert clock.physical_ms(after) == Y2099


def test_stamps_stay_ahead_of_2099_after_the_wall_clock_is_set_back() -> None:
    wall = Wall(Y2099)
    hlc = HLC(wall)
    poisoned = hlc.now()
    wall.ms = TRUE_MS
    assert hlc.now() > poisoned  # monotonic first: only correct() may pull it back


def test_counter_overflow_carries_into_the_next_millisecond() -> None:
    hlc = HLC(Wall(TRUE_MS), last=clock.pack(TRUE_MS, clock.COUNTER_MASK))
    stamp = hlc.now()
    assert clock.physical_ms(stamp) == TRUE_MS + 1
    assert clock.counter(stamp) == 0


def test_a_full_counter_keeps_stamps_increasing_through_many_milliseconds() -> None:
    hlc = HLC(Wall(TRUE_MS))
    stamps = [hlc.now() for _ in range(3 * (clock.COUNTER_MASK + 1))]
    assert all(b == a + 1 for a, b in zip(stamps, stamps[1:]))
    assert clock.physical_ms(stamps[-1]) == TRUE_MS + 2


def test_a_clock_at_its_last_stamp_refuses_to_repeat_it() -> None:
    hlc = HLC(Wall(TRUE_MS), last=clock.MAX_HLC)
    with pytest.raises(ClockPoisoned):
        hlc.now()
    assert hlc.last == clock.MAX_HLC


def test_observe_moves_the_clock_past_a_later_remote_stamp() -> None:
    hlc = HLC(Wall(TRUE_MS))
    remote = clock.pack(TRUE_MS + 5 * MINUTE, 7)
    assert hlc.observe(remote) == remote
    assert hlc.now() > remote


def test_observe_keeps_the_clock_when_the_remote_stamp_is_older() -> None:
    hlc = HLC(Wall(TRUE_MS))
    mine = hlc.now()
    assert hlc.observe(clock.pack(Y2001)) == mine
    assert hlc.now() > mine


def test_observe_refuses_a_stamp_beyond_max_ahead_and_does_not_move_the_clock() -> None:
    hlc = HLC(Wall(TRUE_MS))
    mine = hlc.now()
    with pytest.raises(ClockAhead):
        hlc.observe(clock.pack(TRUE_MS + clock.DEFAULT_MAX_AHEAD_MS + 1))
    assert hlc.last == mine
    assert clock.physical_ms(hlc.now()) == TRUE_MS


def test_observe_accepts_a_stamp_exactly_at_the_bound() -> None:
    hlc = HLC(Wall(TRUE_MS), max_ahead_ms=MINUTE)
    edge = clock.pack(TRUE_MS + MINUTE, clock.COUNTER_MASK)
    assert hlc.observe(edge) == edge


def test_observe_refuses_a_peer_stamped_in_2099() -> None:
    hlc = HLC(Wall(TRUE_MS))
    with pytest.raises(ClockAhead):
        hlc.observe(clock.pack(Y2099))


def test_correct_learns_the_offset_from_a_hub_timestamp() -> None:
    wall = Wall(Y2001)
    hlc = HLC(wall)
    assert hlc.correct(TRUE_MS) is None
    assert hlc.offset_ms == TRUE_MS - Y2001
    assert hlc.physical() == TRUE_MS
    wall.ms += 1234  # the offset stays learned while the bad wall clock runs on
    assert clock.physical_ms(hlc.now()) == TRUE_MS + 1234


def test_correct_adds_half_the_round_trip_to_the_hub_time() -> None:
    hlc = HLC(Wall(Y2001))
    hlc.correct(TRUE_MS, rtt_ms=800)
    assert hlc.physical() == TRUE_MS + 400


def test_a_corrected_clock_judges_remote_stamps_against_true_time() -> None:
    hlc = HLC(Wall(Y2001))
    hlc.correct(TRUE_MS)
    assert hlc.observe(clock.pack(TRUE_MS + MINUTE)) == clock.pack(TRUE_MS + MINUTE)
    with pytest.raises(ClockAhead):
        hlc.observe(clock.pack(TRUE_MS + clock.DEFAULT_MAX_AHEAD_MS + MINUTE))


def test_correct_leaves_a_healthy_clock_where_it_is() -> None:
    hlc = HLC(Wall(TRUE_MS))
    mine = hlc.now()
    assert hlc.correct(TRUE_MS - MINUTE) is None
    assert hlc.last == mine
    assert hlc.now() > mine


def test_a_clock_poisoned_into_2099_recovers_through_correct() -> None:
    wall = Wall(Y2099)
    hlc = HLC(wall)
    poisoned = hlc.now()
    wall.ms = TRUE_MS  # the operator fixes the date; the high-water mark is still in 2099
    report = hlc.correct(TRUE_MS)
    assert report == Reanchored(poisoned_high=poisoned, trusted_ms=TRUE_MS)
    stamp = hlc.now()
    assert clock.physical_ms(stamp) == TRUE_MS
    assert stamp < poisoned


def test_a_recovered_clock_does_not_stay_poisoned() -> None:
    wall = Wall(Y2099)
    hlc = HLC(wall)
    hlc.now()
    wall.ms = TRUE_MS
    hlc.correct(TRUE_MS)
    wall.ms = TRUE_MS + MINUTE
    assert clock.physical_ms(hlc.now()) == TRUE_MS + MINUTE  # follows true time again
    assert hlc.correct(TRUE_MS + MINUTE) is None  # and no second re-anchor is needed


def test_a_clock_restored_from_a_poisoned_stored_maximum_recovers_through_correct() -> None:
    poisoned = clock.pack(Y2099, 3)
    hlc = HLC(Wall(TRUE_MS), last=poisoned)  # re-seeded from what the store holds
    assert hlc.correct(TRUE_MS) == Reanchored(poisoned_high=poisoned, trusted_ms=TRUE_MS)
    assert clock.physical_ms(hlc.now()) == TRUE_MS


def test_a_clock_slightly_ahead_within_the_bound_is_not_reanchored() -> None:
    hlc = HLC(Wall(TRUE_MS + MINUTE))
    mine = hlc.now()
    assert hlc.correct(TRUE_MS) is None
    assert hlc.now() > mine


def test_is_ahead_is_strictly_beyond_the_bound() -> None:
    assert not clock.is_ahead(clock.pack(TRUE_MS + MINUTE, clock.COUNTER_MASK), TRUE_MS, MINUTE)
    assert clock.is_ahead(clock.pack(TRUE_MS + MINUTE + 1), TRUE_MS, MINUTE)


def test_pack_clamps_the_physical_part_and_splits_back() -> None:
    stamp = clock.pack(TRUE_MS, 42)
    assert (clock.physical_ms(stamp), clock.counter(stamp)) == (TRUE_MS, 42)
    assert clock.physical_ms(clock.pack(-5)) == 0
    assert clock.physical_ms(clock.pack(clock.MAX_MS + 10)) == clock.MAX_MS


_wall_ms = st.integers(min_value=Y2001, max_value=Y2099 + 365 * 24 * 3600 * 1000)
_ops = st.lists(
    st.one_of(
        st.tuples(st.just("now"), st.integers(1, 50)),
        st.tuples(st.just("observe"), st.integers(-10 * 365 * 24 * 3600 * 1000, 2 * clock.DEFAULT_MAX_AHEAD_MS)),
        st.tuples(st.just("wall"), _wall_ms),
        st.tuples(st.just("correct"), _wall_ms),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(start=_wall_ms, ops=_ops)
def test_any_sequence_of_operations_yields_strictly_increasing_stamps(start: int, ops: list[tuple[str, int]]) -> None:
    """Every stamp exceeds every stamp issued or observed before it, except across a re-anchor."""
    wall = Wall(start)
    hlc = HLC(wall)
    floor = -1  # the highest stamp issued or observed since the last re-anchor
    for op, arg in ops:
        if op == "now":
            for _ in range(arg):
                stamp = hlc.now()
                assert stamp > floor
                floor = stamp
        elif op == "observe":
            remote = clock.pack(hlc.physical() + arg, arg & clock.COUNTER_MASK)
            before = hlc.last
            try:
                merged = hlc.observe(remote)
            except ClockAhead:
                assert hlc.last == before
            else:
                assert merged >= floor and merged >= remote
                floor = max(floor, remote)
        elif op == "wall":
            wall.ms = arg
        else:
            report = hlc.correct(arg)
            if report is not None:
                assert report.poisoned_high >= floor
                floor = hlc.last
            assert hlc.last >= floor
