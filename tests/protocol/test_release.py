"""Release rulings (protocol/release.py): a released changeset's stamps are capped by a pure
function of the changeset and the ruling's cap, so every replica merges it alike."""
from __future__ import annotations

import os

from protocol import clock
from protocol import release as ruling
from protocol.changeset import Change

Y2099 = clock.pack(4_070_908_800_000)
CAP = clock.pack(1_790_000_000_000)


def change(field: str, hlc: int) -> Change:
    return Change("job_posting", bytes(16), field, field, hlc)


def test_capping_brings_stamps_above_the_cap_just_above_it_in_their_order() -> None:
    changes = [change("b", Y2099 + 5), change("a", Y2099), change("c", Y2099 + 5), change("d", Y2099 + 9)]
    out = ruling.capped(changes, CAP)
    assert [c.hlc for c in out] == [CAP + 1, CAP, CAP + 1, CAP + 2]
    assert [(c.table, c.row, c.field, c.value) for c in out] == [(c.table, c.row, c.field, c.value) for c in changes]
    assert ruling.greatest(out) == CAP + 2


def test_stamps_at_or_below_the_cap_stay_as_signed() -> None:
    changes = [change("a", CAP - 7), change("b", CAP)]
    assert ruling.capped(changes, CAP) == changes


def test_a_ruling_row_carries_the_place_and_the_changeset_id() -> None:
    cs_id = os.urandom(32)
    row = ruling.row_id("513225103201", cs_id)
    assert len(row) == 16 and int.from_bytes(row[:5], "big") == 513225103201 and row[5:] == cs_id[:11]
