"""Convergence of real SQLite stores exchanging bundle files (DESIGN §4, §6, §7, §8).

Hypothesis drives 2–4 stores through random edit scripts: lww fields of Person, skills added and
removed (add-wins set), rows deleted, edits of rows a store has not received yet, clocks ticking
apart, seals at random points, and bundle files carried between random pairs in random orders:
whole, lacking only what the receiver lacks, imported twice, or cut to a random subset of
envelopes delivered out of order (pending, then released when the gap fills). After a final round
of exchanges every store that may see a row holds identical merged values and identical
materialized Person rows, and each store equals the in-memory `node.engine.replica.Replica` fed the same
envelopes in another order: the two implementations cross-check each other.

Each example makes real database files, so the counts are modest; LAOWU_PROPERTY_EXAMPLES raises them.
"""
from __future__ import annotations

import os
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from storekit import COUNTY, SIBLING, TOWNSHIP, VILLAGE, Clock, build_province, expected_people, people, person, scratch

from conflict.orset import add_op, remove_op
from node.sync.bundles import export_bundle, import_bundle
from node.engine.store import Store
from protocol import bundle
from protocol import scope as scopes

EXAMPLES = int(os.environ.get("LAOWU_PROPERTY_EXAMPLES", "0"))
PROVINCE = build_province()  # session-wide and read-only: hypothesis examples cannot take fixtures
FIELDS = {"name": ["王秀英", "李明", "张伟"], "phone": ["13800000001", "13900000002"],
          "education": ["初中", "高中"], "monthly_pay": [3800, 4200, 5000], "employer": ["成都某厂", "本地合作社"]}
SKILLS = ["电工", "焊工", "厨师"]


def ops(n_stores: int, n_rows: int) -> st.SearchStrategy[list[tuple[Any, ...]]]:
    return st.lists(one_op(n_stores, n_rows), min_size=5, max_size=24)


def one_op(n_stores: int, n_rows: int) -> st.SearchStrategy[tuple[Any, ...]]:
    s, r = st.integers(0, n_stores - 1), st.integers(0, n_rows - 1)
    field = st.sampled_from(sorted(FIELDS)).flatmap(lambda f: st.tuples(st.just(f), st.sampled_from(FIELDS[f])))
    return st.one_of(
        st.tuples(st.just("register"), s, r),
        st.tuples(st.just("edit"), s, r, field),
        st.tuples(st.just("add"), s, r, st.sampled_from(SKILLS)),
        st.tuples(st.just("remove"), s, r, st.sampled_from(SKILLS)),
        st.tuples(st.just("delete"), s, r),
        st.tuples(st.just("tick"), s, st.integers(0, 5_000)),
        st.tuples(st.just("seal"), s),
        st.tuples(st.just("sync"), s, s, st.sampled_from(["lacking", "whole", "twice", "partial"])),
    )


class World:
    """Stores in a temporary directory, the rows they may write, and the bundle files between them."""

    def __init__(self, root: Path, names: Sequence[str], rows: Sequence[str], rnd: random.Random) -> None:
        self.root, self.names, self.rnd = root, list(names), rnd
        self.rows = [(*person(i, sc), sc) for i, sc in enumerate(rows)]
        self.clocks = [Clock() for _ in names]
        self.stores = [PROVINCE.fresh(n, root / f"{i}-{n}.db", wall=c) for i, (n, c) in enumerate(zip(names, self.clocks))]
        self.files = 0

    def close(self) -> None:
        for s in self.stores:
            s.close()

    def may_write(self, i: int, scope: str) -> bool:
        return any(scopes.contains(mine, scope) for mine in PROVINCE.members[self.names[i]].scopes)

    def run(self, op: tuple[Any, ...]) -> None:
        kind, i = op[0], op[1]
        store = self.stores[i]
        if kind in ("register", "edit", "add", "remove", "delete"):
            row, id_number, sc = self.rows[op[2]]
            if not self.may_write(i, sc):
                return
            if kind == "register":
                store.write("person", row, {"id_number": id_number, "name": "新登记"}, scope=sc)
            elif kind == "edit":
                store.write("person", row, {op[3][0]: op[3][1]}, scope=sc)
            elif kind == "add":
                store.write("person", row, {"skills": add_op(op[3])}, scope=sc)
            elif kind == "remove":
                state = store.row_state("person", row)
                store.write("person", row, {"skills": remove_op(state.fields.get("skills") if state else None, op[3])}, scope=sc)
            else:
                store.delete("person", row, scope=sc)
        elif kind == "tick":
            self.clocks[i].ms += op[2]
        elif kind == "seal":
            store.seal()
        elif kind == "sync":
            self.sync(i, op[2], op[3])

    def sync(self, i: int, j: int, mode: str) -> None:
        if i == j:
            return
        src, dst = self.stores[i], self.stores[j]
        self.files += 1
        path = self.root / f"stick-{self.files}.laowu"
        export_bundle(src, path, for_vector=dst.vector() if mode == "lacking" else None, for_home=dst.home)
        if mode == "partial":
            b = bundle.decode(path.read_bytes())
            part = self.rnd.sample(b.envelopes, k=self.rnd.randint(0, len(b.envelopes)))
            path.write_bytes(bundle.encode(bundle.Bundle(b.sender, b.created, b.vector, part, b.certs, b.revocations)))
        import_bundle(dst, path, batch=self.rnd.randint(1, 4))
        if mode == "twice":
            import_bundle(dst, path)

    def settle(self) -> None:
        """Seal everything, then carry bundles between every pair until nobody lacks anything."""
        for s in self.stores:
            s.seal()
        moved, rounds = True, 0
        while moved:
            moved, rounds = False, rounds + 1
            assert rounds <= 2 * len(self.stores), "bundles keep flowing: something is never applied"
            for i, src in enumerate(self.stores):
                for j, dst in enumerate(self.stores):
                    if i != j and src.envelopes_for(dst.vector(), dst.home)[0]:
                        self.sync(i, j, "lacking")
                        moved = True

    def check(self) -> None:
        scope_of = {("person", row): sc for row, _, sc in self.rows}
        for a in self.stores:
            for b in self.stores:
                va = {k: v for k, v in a.values("person").items() if scopes.visible_to(b.home, scope_of[k])}
                vb = {k: v for k, v in b.values("person").items() if scopes.visible_to(a.home, scope_of[k])}
                assert va == vb, f"{a.home} and {b.home} disagree on the rows both may see"
                pa = {k: v for k, v in people(a).items() if scopes.visible_to(b.home, v["scope"])}
                pb = {k: v for k, v in people(b).items() if scopes.visible_to(a.home, v["scope"])}
                assert pa == pb, f"{a.home} and {b.home} materialized different rows"
        everything = [env for s in self.stores for env in s.envelopes_for({}, s.home)[0]]
        for name, s in zip(self.names, self.stores):
            assert set(scope_of[k] for k in s.values("person")) <= {sc for _, _, sc in self.rows if scopes.visible_to(s.home, sc)}
            assert people(s) == expected_people(s.values())
            replica = PROVINCE.replica(name, wall=Clock(max(c.ms for c in self.clocks)))
            for env in self.rnd.sample(everything, k=len(everything)):
                replica.receive(env)
            assert replica.values() == s.values(), f"store at {s.home} differs from the in-memory replica"


def converge(names: Sequence[str], rows: Sequence[str], script: list[tuple[Any, ...]], seed: int) -> None:
    with scratch("laowu-converge-") as tmp:
        world = World(Path(tmp), names, rows, random.Random(seed))
        try:
            for op in script:
                world.run(op)
            world.settle()
            world.check()
        finally:
            world.close()


ONE_VILLAGE = ("village-a", "village-b", "township", "county")  # several authors of the same rows


@settings(max_examples=EXAMPLES or 25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_authors_of_the_same_village_rows_converge(data: st.DataObject, seed: int) -> None:
    names = data.draw(st.lists(st.sampled_from(ONE_VILLAGE), min_size=2, max_size=4, unique=True), label="stores")
    script = data.draw(ops(len(names), 3), label="script")
    converge(names, [VILLAGE] * 3, script, seed)


TOWNSHIP_NODES = ("county", "township", "village-a", "sibling")
TOWNSHIP_ROWS = [VILLAGE, VILLAGE, SIBLING, TOWNSHIP, COUNTY]


@settings(max_examples=EXAMPLES or 25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_county_township_and_villages_converge_on_what_each_may_see(data: st.DataObject, seed: int) -> None:
    names = data.draw(st.lists(st.sampled_from(TOWNSHIP_NODES), min_size=2, max_size=4, unique=True), label="stores")
    script = data.draw(ops(len(names), len(TOWNSHIP_ROWS)), label="script")
    converge(names, TOWNSHIP_ROWS, script, seed)

