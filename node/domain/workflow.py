"""Stage workflows: one transition table per workflow, checked against the stage's merge lattice.

After h11's `_state.py`: everything that moves a record from one stage to the next is one dict,
`{(stage, event): next_stage}`, in the module of the record it governs (broker filing, placement,
service order). `None` is the stage of a record that does not exist yet.

Locally, an operator may only take a transition that is in the table. Between replicas, the stage
field merges by its `Lattice`: the highest rank wins and the absorbing stage tops all. The two
agree because every transition is checked, when the workflow is built, never to lower the rank:
whatever a replica does locally, merging it with what others did concurrently can only move the
record forward along the same order.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from conflict.lattice import Lattice
from protocol.errors import InvalidValue

Stage = str | None


@dataclass(frozen=True)
class Workflow:
    name: str  # shown in messages, Chinese / English
    lattice: Lattice
    transitions: Mapping[tuple[Stage, str], str]
    labels: Mapping[str, str]  # stage → its Chinese name, for forms and filings
    dates: Mapping[str, str]  # event → the field recording the day it happened

    def __post_init__(self) -> None:
        for (stage, event), nxt in self.transitions.items():
            for s in (stage, nxt):
                if s is not None and self.lattice.rank(s) < 0:
                    raise ValueError(f"{self.name}: stage {s!r} is not ranked by the lattice")
            if stage is not None and self.lattice.rank(nxt) < self.lattice.rank(stage):
                raise ValueError(f"{self.name}: {stage} --{event}--> {nxt} would lower the rank")
            if event not in self.dates:
                raise ValueError(f"{self.name}: event {event!r} records no date")

    @property
    def events(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(e for _, e in self.transitions))

    def allowed(self, stage: Stage) -> list[str]:
        """The events that may happen to a record in `stage`."""
        return [e for (s, e) in self.transitions if s == stage]

    def check_date(self, row: Mapping[str, object], event: str, day: str) -> None:
        """Refuse a step dated before the step it follows: `day` (ISO) may not precede any step date
        the row already records (a recommendation dated before its application is a typing error)."""
        field = self.dates.get(event)
        for other in dict.fromkeys(self.dates.values()):
            when = row.get(other)
            if other != field and isinstance(when, str) and day < when:
                raise InvalidValue(field or "on", f"日期{day}早于上一步的日期{when}({other}) / dated {day}, before "
                                   f"the step it follows ({other} {when}): check the date")

    def next(self, stage: Stage, event: str) -> str:
        """The stage after `event`, or InvalidValue saying what is allowed instead."""
        if event not in self.events:
            raise InvalidValue("event", f"{self.name}没有“{event}”这一步 / {self.name} has no event {event!r}; "
                               f"events are {', '.join(self.events)}")
        nxt = self.transitions.get((stage, event))
        if nxt is None:
            here = self.labels.get(stage, stage) if stage else "尚未建立 / not yet created"
            can = self.allowed(stage)
            raise InvalidValue("stage", f"当前为“{here}”,不能执行“{event}” / "
                               f"cannot {event} from stage {stage or 'none'}; "
                               + (f"allowed: {', '.join(can)}" if can else "this stage is final"))
        return nxt
