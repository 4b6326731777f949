"""The cycle collector paused while a batch is applied (node/engine/gcpause.py) runs again after it,
whatever happened inside: an apply that raised, nested pauses, a collector switched off before."""
from __future__ import annotations

import gc
import threading

import pytest

from node.engine import gcpause
from node.engine.store import Store
from test_store import MakeStore, envelopes, register, statuses


def test_the_collector_is_paused_inside_and_runs_again_after_an_apply(make_store: MakeStore,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    village, county = make_store("village-a"), make_store("county")
    register(village, 1)
    envs = envelopes(village.seal())
    seen: list[bool] = []
    merge = Store._merge

    def watching(self: Store, *args: object) -> None:
        seen.append(gc.isenabled())
        merge(self, *args)  # type: ignore[arg-type]

    # A spy, not a stand-in: the real merge runs; the wrapper only records whether the collector was
    # paused at the moment the apply's merge ran, which nothing else can observe from outside.
    monkeypatch.setattr(Store, "_merge", watching)
    assert gc.isenabled()
    assert statuses(county.apply(envs)) == ["accepted"]
    assert seen == [False]
    assert gc.isenabled()


def test_the_collector_runs_again_after_a_raise_and_only_after_the_outermost_pause() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        with gcpause.paused():
            with gcpause.paused():
                assert not gc.isenabled()
            assert not gc.isenabled()  # the outer pause still holds
            raise RuntimeError("a batch that fails half-way")
    assert gc.isenabled()


def test_a_pause_in_another_thread_ends_with_the_last_one() -> None:
    inside, leave = threading.Event(), threading.Event()

    def other() -> None:
        with gcpause.paused():
            inside.set()
            leave.wait(10)

    th = threading.Thread(target=other)
    th.start()
    inside.wait(10)
    with gcpause.paused():
        pass
    assert not gc.isenabled()  # the other thread's pause is still open
    leave.set()
    th.join()
    assert gc.isenabled()


def test_a_collector_switched_off_before_stays_off() -> None:
    gc.disable()
    try:
        with gcpause.paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
