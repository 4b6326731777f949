"""Issue 13's seven goal figures, read off one run's figures: `python -m bench` prints them last.

Each goal names the figures that can answer it (the best of them where several variants measure the
same thing, as hub ingest with 0, 1 or 2 verify workers; the first measured where they measure at
different sizes, as hello + pull at 1,000,000 people by `bench.province_hub`, else at the county size
of `bench.scale`), whether
its ratio or its value is compared, the figure before issue 13 (as the issue measured it) and the goal.
A goal whose figures this run did not measure says so instead of borrowing an older run's number: the
table is one run. The README quotes it.

Which figure answers "apply remote changesets": `store.apply_remote`, one card per changeset, as the
issue measured its 0.023, so before and now compare the same work. A node now seals one changeset
per scope per sync (docs/engine.md), so a county mostly meets larger changesets; `bench.store` also
reports `store.apply_remote_synced` (the same field changes, one changeset per sync of 50 cards, v2
body). It is not counted here: it pays one signature check per 50 cards instead of one per card, a
saving the goal's "before" never had, and the goal would then be met partly by changing the work
measured rather than the engine. Hub ingest likewise counts the one-card pushes of `bench.hub`.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench import MODULES, Figure


@dataclass(frozen=True)
class Goal:
    label: str
    figures: tuple[str, ...]  # figure names that answer it; the best measured one counts
    use: str  # "ratio" (figure / baseline) or "value"
    unit: str
    before: str
    goal: float
    higher_is_better: bool
    sized: bool = False  # say at what size it was measured: `<module>.people` of the figure that answers
    first: bool = False  # the first of `figures` measured counts (they measure at different sizes), not the best

    def answer(self, figures: Sequence[Figure]) -> Figure | None:
        found = [f for f in figures if f.name in self.figures and self.number(f) is not None]
        if not found:
            return None
        if self.first:
            return min(found, key=lambda f: self.figures.index(f.name))
        pick = max if self.higher_is_better else min
        return pick(found, key=lambda f: self.number(f) or 0.0)

    def number(self, f: Figure) -> float | None:
        return f.ratio if self.use == "ratio" else f.value

    def met(self, x: float) -> bool:
        return x >= self.goal if self.higher_is_better else x <= self.goal

    def show(self, x: float) -> str:
        if self.use == "ratio":
            return f"{x:.3f}"
        return f"{x:.3g}{self.unit}" if self.unit == "×" else f"{x:.3g} {self.unit}".strip()


GOALS = (
    Goal("apply remote changesets vs raw sqlite3 upsert of the same final rows", ("store.apply_remote",),
         "ratio", "", "0.023", 0.15, True),
    Goal("hub ingest over HTTP at 16 villages vs the same raw upsert",
         ("hub.ingest_16", "hub.ingest_16_w1", "hub.ingest_16_w2"), "ratio", "", "0.017", 0.10, True),
    Goal("bytes per field change on the bench dataset (signed, on the wire)", ("sync_core.bytes_per_change_v2",),
         "value", "B", "57.9 B", 8.0, False),
    Goal("bootstrap of a 5,000-person village from its county", ("hub.bootstrap_5000",), "value", "s", "5.1 s",
         1.5, False),
    Goal("100,000-person county on PostgreSQL: ingest cost per changeset at 100k vs at 10k",
         ("scale.pg_ingest_cost_ratio",), "value", "×", "3×", 1.2, False, sized=True),
    Goal("register one person (form + save) p99", ("store.register_person_p99",), "value", "ms", "8.7 ms", 5.0,
         False),
    Goal("hello + pull at a hub holding 1,000,000 persons", ("province_hub.sync_http", "scale.hello_pull"), "value",
         "ms", "not measured", 20.0, False, sized=True, first=True),
)


def modules() -> list[str]:
    """The benchmark modules whose figures answer the goals, in `MODULES` order."""
    named = {name.split(".", 1)[0] for g in GOALS for name in g.figures}
    return [m for m in MODULES if m in named]


def rows(figures: Sequence[Figure]) -> list[tuple[str, str, str, str, str]]:
    """(figure, before, now, goal, which figure and whether met) for each goal."""
    out = []
    for g in GOALS:
        target = ("≥ " if g.higher_is_better else "≤ ") + g.show(g.goal)
        f = g.answer(figures)
        number = g.number(f) if f is not None else None
        if f is None or number is None:
            out.append((g.label, g.before, "not measured in this run", target, f"({' or '.join(g.figures)})"))
        else:
            people = f"{f.name.split('.', 1)[0]}.people"
            size = next((s for s in figures if s.name == people), None) if g.sized else None
            at = f" at {size.value:,.0f} {size.unit}" if size is not None else ""
            out.append((g.label, g.before, g.show(number), target,
                        f"{'met' if g.met(number) else 'missed'} ({f.name}{at})"))
    return out


def table(figures: Sequence[Figure]) -> str:
    """The goals as a Markdown table, as the README quotes it."""
    lines = ["| figure | before | now | goal | |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows(figures)]
    return "\n".join(lines)
