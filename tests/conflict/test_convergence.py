"""Convergence: replicas that received the same changesets hold the same rows (DESIGN §4-6).

Hypothesis writes edit scripts for 2-5 in-memory replicas (`node.engine.replica.Replica`: the real admit,
feed placement and merge code) with real keys and certificate chains: lww writes (names, phones,
salaries, brokers), set adds and removes, placement stage advances, row deletes, commits at random
points (so changesets of random sizes), and partial syncs mid-script: a random subset of what the
sender has that the receiver lacks, in random order, so feeds arrive with gaps. Some links are cut
for the whole script (a partition: what would cross them waits for the end). Wall clocks are skewed
up to four minutes either way. Finally every replica is offered every changeset, in a random order
with duplicates; the rows must agree.

Every record belongs to one place (DESIGN §2), so each row here has a scope and is written only in
feeds of that scope, by keys allowed to write it.
"""
from __future__ import annotations

import hashlib
import os
import random
from dataclasses import dataclass, field
from itertools import combinations
from typing import TYPE_CHECKING, Callable, Union

from hypothesis import given, settings
from hypothesis import strategies as st

from conflict.orset import add_op, remove_op
from conflict.registry import Registry
from conflict.row import RowState, merge_row, row_values
from node.engine.replica import Outcome, Replica
from protocol import clock, scope
from protocol.changeset import Change, Changeset, Value, seal

if TYPE_CHECKING:
    from conftest import Province

EXAMPLES = int(os.environ.get("LAOWU_PROPERTY_EXAMPLES", "0"))  # soak runs raise every count


def examples(default: int) -> int:
    return EXAMPLES or default


T0 = 1_700_000_000_000  # 2023-11, inside the sandbox certificates' validity
MAX_SKEW_MS = 4 * 60 * 1000  # two laptops 8 minutes apart stay inside the 10-minute clock bound

# -- the script ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Write:
    node: int  # indexes wrap around the replicas, the rows the node may write, the actions, the values
    row: int
    action: int
    pick: int


@dataclass(frozen=True)
class Commit:
    node: int


@dataclass(frozen=True)
class Sync:
    sender: int
    receiver: int
    seed: int  # which of the changesets the receiver lacks arrive, and in which order


Step = Union[Write, Commit, Sync]

Action = tuple[str, str, list[Value]]  # (kind, field, the values to pick from)
SKILLS: list[Value] = ["焊工", "厨师"]
DELETE: Action = ("delete", "*", [None])


def weighted(action: Action, times: int) -> list[Action]:
    return [action] * times


ACTIONS: dict[str, list[Action]] = {  # deletes are rare, and only hit rows marked deletable
    "person": [
        ("set", "name", ["王芳", "李强", "张伟"]),
        ("set", "phone", ["13800000001", "13900000002"]),
        *weighted(("add", "skills", SKILLS), 2),
        *weighted(("toggle", "skills", SKILLS), 4),  # a checkbox: removes the element if this writer sees it
        *weighted(DELETE, 2),
    ],
    "placement": [
        *weighted(("set", "stage", ["planned", "signed", "started", "stable"]), 3),
        ("set", "stage", ["revoked"]),
        ("set", "salary", [3000, 3800, 4500]),
        ("set", "broker", ["broker-1", "broker-2"]),
        *weighted(DELETE, 2),
    ],
}
TABLES = tuple(ACTIONS)

small = st.integers(0, 31)
writes = st.builds(Write, small, small, small, small)
commits = st.builds(Commit, small)
syncs = st.builds(Sync, small, small, st.integers(0, 2**16))
scripts = st.lists(
    st.one_of(writes, writes, writes, commits, syncs, syncs),
    min_size=20,
    max_size=60,
)
skews = st.lists(st.integers(-MAX_SKEW_MS, MAX_SKEW_MS), min_size=5, max_size=5)
cuts = st.sets(st.tuples(st.integers(0, 4), st.integers(0, 4)), max_size=3)  # links down all script
seeds = st.integers(0, 2**32)

# -- the world ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    scope: str
    table: str
    id: bytes
    deletable: bool  # only the second row of each table takes deletes: edits keep colliding on the first

    @property
    def key(self) -> tuple[str, bytes]:
        return (self.table, self.id)


@dataclass
class Node:
    name: str
    replica: Replica
    open_scope: str | None = None  # the feed scope of the changes written but not yet committed

    @property
    def home(self) -> str:
        return self.replica.home

    def sees(self, row_scope: str) -> bool:
        return scope.visible_to(self.home, row_scope)

    def may_write(self, row: Row) -> bool:
        return scope.contains(self.home, row.scope)


@dataclass(frozen=True)
class Offer:
    node: str
    changeset: Changeset
    visible: bool
    outcome: Outcome


@dataclass
class World:
    nodes: list[Node]
    rows: list[Row]
    registry: Registry
    offers: list[Offer] = field(default_factory=list)

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def changesets(self) -> list[Changeset]:
        """Every changeset any replica holds, once each, in a fixed order."""
        held = {cs.id: cs for n in self.nodes for feed in n.replica.held.values() for cs in feed.values()}
        return [held[i] for i in sorted(held)]


class Wall:
    """One true time for the whole simulation; each laptop reads it through its own skew."""

    def __init__(self) -> None:
        self.ms = T0

    def skewed(self, skew_ms: int) -> Callable[[], int]:
        return lambda: self.ms + skew_ms


def rows_in(scopes: list[str]) -> list[Row]:
    return [
        Row(s, table, hashlib.sha256(f"{s}/{table}/{i}".encode()).digest()[:16], deletable=i == 1)
        for s in scopes
        for table in TABLES
        for i in range(2)
    ]


def run(
    province: Province,
    names: list[str],
    skew_ms: list[int],
    scopes: list[str],
    script: list[Step],
    cut: set[tuple[int, int]],
    seed: int,
) -> World:
    """Play the script, commit what is left open, then offer every changeset to every replica."""
    wall = Wall()
    nodes = [Node(name, province.replica(name, wall.skewed(skew))) for name, skew in zip(names, skew_ms)]
    world = World(nodes, rows_in(scopes), province.registry)
    down = {frozenset((a % len(nodes), b % len(nodes))) for a, b in cut}
    for step in script:
        wall.ms += 1
        if isinstance(step, Write):
            write(world, step)
        elif isinstance(step, Commit):
            commit(nodes[step.node % len(nodes)])
        elif frozenset((step.sender % len(nodes), step.receiver % len(nodes))) not in down:
            sync(world, step)
    for node in nodes:
        commit(node)
    offer_everything(world, random.Random(seed))
    return world


def write(world: World, step: Write) -> None:
    node = world.nodes[step.node % len(world.nodes)]
    mine = [r for r in world.rows if node.may_write(r)]
    row = mine[step.row % len(mine)]
    actions = ACTIONS[row.table] if row.deletable else [a for a in ACTIONS[row.table] if a[0] != "delete"]
    kind, fld, values = actions[step.action % len(actions)]
    if node.open_scope not in (None, row.scope):
        commit(node)  # one changeset, one feed: a feed's scope is the scope of the rows it writes
    node.open_scope = row.scope
    replica = node.replica
    if kind == "delete":
        replica.delete(row.table, row.id)
    elif kind == "set":
        replica.write(row.table, row.id, fld, values[step.pick % len(values)])
    elif kind == "add":
        replica.write(row.table, row.id, fld, add_op(str(values[step.pick % len(values)])))
    else:  # toggle: a remove names the tags this writer has seen
        elem = str(values[step.pick % len(values)])
        current = replica.rows.get(row.key, RowState()).fields.get(fld)
        seen = current is not None and elem in current.elements()
        replica.write(row.table, row.id, fld, remove_op(current, elem) if seen else add_op(elem))


def commit(node: Node) -> None:
    if node.open_scope is not None:
        node.replica.commit(node.open_scope)
        node.open_scope = None


def sync(world: World, step: Sync) -> None:
    sender = world.nodes[step.sender % len(world.nodes)]
    receiver = world.nodes[step.receiver % len(world.nodes)]
    if sender is receiver:
        return
    lacking = sender.replica.missing_for(receiver.replica.vector(), receiver.home)
    by_envelope = {cs.envelope: cs for cs in world.changesets()}
    rng = random.Random(step.seed)
    rng.shuffle(lacking)
    for envelope in lacking[: rng.randint(0, len(lacking))]:  # an interrupted, reordered transfer
        offer(world, receiver, by_envelope[envelope])


def offer_everything(world: World, rng: random.Random) -> None:
    plan = [(node, cs) for node in world.nodes for cs in world.changesets()]
    plan += rng.sample(plan, rng.randint(0, len(plan) // 2))  # duplicates
    rng.shuffle(plan)
    for node, cs in plan:
        offer(world, node, cs)


def offer(world: World, node: Node, cs: Changeset) -> None:
    outcome = node.replica.receive(cs.envelope)
    world.offers.append(Offer(node.name, cs, node.sees(cs.scope), outcome))


# -- what must hold -----------------------------------------------------------------------------


def merged_once(world: World) -> dict[tuple[str, bytes], dict[str, Value] | None]:
    """Every committed change merged in one batch per row: what each replica must show."""
    batches: dict[tuple[str, bytes], list[tuple[Change, bytes]]] = {}
    for cs in world.changesets():
        for change in cs.changes:
            batches.setdefault((change.table, change.row), []).append((change, cs.author))
    out: dict[tuple[str, bytes], dict[str, Value] | None] = {}
    for key, batch in batches.items():
        row = merge_row(RowState(), key[0], batch, world.registry)[0]
        out[key] = None if row.deleted else row_values(row, key[0], world.registry)
    return out


def visible_values(node: Node, world: World, other: Node | None = None) -> dict[tuple[str, bytes], object]:
    keys = {r.key for r in world.rows if node.sees(r.scope) and (other is None or other.sees(r.scope))}
    values = node.replica.values()
    return {k: values.get(k, "absent") for k in sorted(keys)}


def assert_converged(world: World) -> None:
    for o in world.offers:
        if o.visible:
            assert o.outcome.status in ("accepted", "duplicate", "pending"), (o.node, o.outcome)
        else:
            assert (o.outcome.status, o.outcome.code) == ("refused", "out-of-scope"), (o.node, o.outcome)
    expected = merged_once(world)
    for node in world.nodes:
        r = node.replica
        assert not any(r.pending.values()), f"{node.name} still waits for a missing changeset"
        assert r.forks == [] and r.quarantine == []
        assert all(node.sees(row_scope) for _, row_scope in r.held), f"{node.name} holds a feed it may not see"
        assert set(r.values()) <= {row.key for row in world.rows if node.sees(row.scope)}
        assert visible_values(node, world) == {k: expected.get(k, "absent") for k in visible_values(node, world)}
    for a, b in combinations(world.nodes, 2):
        assert visible_values(a, world, b) == visible_values(b, world, a), (a.name, b.name)


# -- the properties -----------------------------------------------------------------------------

ONE_VILLAGE = ["village-a", "village-b", "township", "county", "province"]  # all see the village
replica_names = st.lists(st.sampled_from(ONE_VILLAGE), min_size=2, max_size=5, unique=True)


@settings(max_examples=examples(300), deadline=None)
@given(names=replica_names, skew_ms=skews, script=scripts, cut=cuts, seed=seeds)
def test_replicas_that_share_a_scope_converge(
    province: Province, names: list[str], skew_ms: list[int], script: list[Step], cut: set[tuple[int, int]], seed: int
) -> None:
    home = province.home
    world = run(province, names, skew_ms, [home("village-a"), home("county")], script, cut, seed)
    assert_converged(world)


@settings(max_examples=examples(100), deadline=None)
@given(names=replica_names, skew_ms=skews, script=scripts, cut=cuts, seed=seeds, again=seeds)
def test_offering_every_changeset_again_changes_nothing(
    province: Province,
    names: list[str],
    skew_ms: list[int],
    script: list[Step],
    cut: set[tuple[int, int]],
    seed: int,
    again: int,
) -> None:
    home = province.home
    world = run(province, names, skew_ms, [home("village-a"), home("county")], script, cut, seed)
    before = [(n.replica.values(), n.replica.vector()) for n in world.nodes]
    world.offers.clear()
    offer_everything(world, random.Random(again))
    assert [(n.replica.values(), n.replica.vector()) for n in world.nodes] == before
    assert {o.outcome.status for o in world.offers} <= {"duplicate"}


@settings(max_examples=examples(100), deadline=None)
@given(names=replica_names, skew_ms=skews, script=scripts, cut=cuts, seed_a=seeds, seed_b=seeds)
def test_the_rows_do_not_depend_on_the_delivery_order(
    province: Province,
    names: list[str],
    skew_ms: list[int],
    script: list[Step],
    cut: set[tuple[int, int]],
    seed_a: int,
    seed_b: int,
) -> None:
    home = province.home
    scopes = [home("village-a"), home("county")]
    a = run(province, names, skew_ms, scopes, script, cut, seed_a)
    b = run(province, names, skew_ms, scopes, script, cut, seed_b)
    assert [cs.id for cs in a.changesets()] == [cs.id for cs in b.changesets()]  # same inputs
    assert [n.replica.values() for n in a.nodes] == [n.replica.values() for n in b.nodes]


@settings(max_examples=examples(100), deadline=None)
@given(
    extra=st.lists(st.sampled_from(["township", "village-b", "province"]), max_size=2, unique=True),
    skew_ms=skews,
    script=scripts,
    cut=cuts,
    seed=seeds,
)
def test_sibling_villages_never_see_each_other_while_the_county_converges_with_both(
    province: Province, extra: list[str], skew_ms: list[int], script: list[Step], cut: set[tuple[int, int]], seed: int
) -> None:
    home = province.home
    ours, theirs = home("village-a"), home("sibling")
    world = run(province, ["village-a", "sibling", "county", *extra], skew_ms, [ours, theirs, home("county")], script, cut, seed)
    village, sibling, county = world.node("village-a"), world.node("sibling"), world.node("county")
    for node, other in ((village, theirs), (sibling, ours)):
        assert all(feed_scope != other for _, feed_scope in node.replica.held)
        assert not {r.key for r in world.rows if r.scope == other} & set(node.replica.values())
        refused = [o for o in world.offers if o.node == node.name and o.changeset.scope == other]
        assert all(o.outcome.code == "out-of-scope" for o in refused)
    assert visible_values(county, world, village) == visible_values(village, world, county)
    assert visible_values(county, world, sibling) == visible_values(sibling, world, county)
    assert_converged(world)


def test_a_malformed_set_change_is_refused_alike_whatever_the_rows_state(province: Province) -> None:
    wall = Wall()
    county, laptop = province.replica("county", wall.skewed(0)), province.replica("village-b", wall.skewed(0))
    row = rows_in([laptop.home])[0]
    county.delete(row.table, row.id)  # the county holds a tombstone for the row, the laptop does not
    county.commit(laptop.home)
    writer = province.members["village-a"].key
    bad = seal(writer, laptop.home, 1, None, [Change(row.table, row.id, "skills", ["+", 1.5], clock.pack(T0))])
    for r in (county, laptop):
        before = r.values()
        outcome = r.receive(bad.envelope)
        assert (outcome.status, outcome.code) == ("refused", "malformed")
        assert r.values() == before and not r.pending and (writer.public, laptop.home) not in r.heads
