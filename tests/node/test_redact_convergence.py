"""Erasure under random interleavings (node/engine/redact.py): replicas converge and every feed verifies.

The convergence property of test_store_convergence.py, with the county erasing rows at random points
while laptops keep editing, deleting and re-registering them offline and bundles move in any order.
After everything settles, every store holds the same values, every feed verifies end to end, no
stored body carries a value of an erased row, and no database file holds an erased ID number.
"""
from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

from erasurekit import files_under, found, needles
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from storekit import VILLAGE, scratch
from test_store_convergence import World, ops

from node.engine import tables as t
from node.engine.redact import erase, verify_feeds
from protocol import redaction as rd
from protocol.changeset import envelope_parts
from protocol.errors import ConfigError

EXAMPLES = int(os.environ.get("LAOWU_PROPERTY_EXAMPLES", "0"))
OTHERS = ("village-a", "village-b", "township")
ROWS = [VILLAGE] * 3


class ErasingWorld(World):
    """The county is store 0; `("erase", 0, r)` erases row r there, if the county holds it."""

    erased: set[int]

    def run(self, op: tuple[Any, ...]) -> None:
        if op[0] != "erase":
            return super().run(op)
        row = self.rows[op[2]][0]
        if self.stores[0].row_state("person", row) is None:
            return  # nothing of it here yet
        try:
            erase(self.stores[0], [("person", row)], "本人申请删除")
        except ConfigError:
            return  # a row known only from an edit whose place this county cannot tell: not erased
        self.erased.add(op[2])

    def settle_all(self) -> None:
        """Seal and exchange until nothing moves and nobody holds open changes (a county's redo of
        late values writes a new record while applying)."""
        for _ in range(6):
            self.settle()
            if not any(s.status().open_changes for s in self.stores):
                return
        raise AssertionError("open changes keep appearing: redactions never settle")

    def check_erased(self) -> None:
        rows = {("person", self.rows[i][0]) for i in self.erased}
        for store in self.stores:
            assert verify_feeds(store) >= 0
            with store.engine.connect() as conn:
                bodies = [r.envelope for r in conn.execute(select(t.log.c.envelope).where(t.log.c.envelope.is_not(None)))]
            for env in bodies:
                assert rd.redact_body(envelope_parts(env)[0], rows) is None, f"{store.home} keeps an erased value"
        files = [p for p in files_under(self.root) if ".db" in p.name]
        assert found(files, needles(*(self.rows[i][1] for i in self.erased))) == []


def erasing_ops(n_stores: int) -> st.SearchStrategy[list[tuple[Any, ...]]]:
    erase_op = st.tuples(st.just("erase"), st.just(0), st.integers(0, len(ROWS) - 1))
    return st.lists(st.one_of(ops(n_stores, len(ROWS)).flatmap(lambda xs: st.sampled_from(xs) if xs else st.nothing()),
                              erase_op, erase_op), min_size=6, max_size=28)


@settings(max_examples=EXAMPLES or 20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_replicas_converge_and_every_feed_verifies_with_erasures_interleaved(data: st.DataObject, seed: int) -> None:
    others = data.draw(st.lists(st.sampled_from(OTHERS), min_size=1, max_size=3, unique=True), label="stores")
    names = ["county", *others]
    script = data.draw(erasing_ops(len(names)), label="script")
    with scratch("laowu-erase-") as tmp:
        world = ErasingWorld(Path(tmp), names, ROWS, random.Random(seed))
        world.erased = set()
        try:
            for op in script:
                world.run(op)
            world.settle_all()
            world.check()
            world.check_erased()
        finally:
            world.close()
