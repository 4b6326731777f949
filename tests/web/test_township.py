"""The same desk on a township node: it registers into its villages, shows their registers and
work, and collects a village's USB bundle for its next sync to the county."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from deskkit import TOWNSHIP, DeskWorld, csrf_of
from test_register_card import ident, names

from node.sync.bundles import export_bundle
from node.domain import ops

VILLAGE_A, VILLAGE_B = "513225103201", "513225103202"


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeskWorld]:
    w = DeskWorld(tmp_path_factory.mktemp("town"), place=TOWNSHIP)
    w.serve()
    yield w
    w.close()


def test_a_township_registers_into_its_villages_and_filters_by_village(town: DeskWorld) -> None:
    assert town.desk is not None
    with httpx.Client(base_url=town.desk.url, follow_redirects=False, timeout=30) as c:
        town.login(c)
        for village, name, seq in ((VILLAGE_A, "乡甲", 1), (VILLAGE_B, "乡乙", 3)):
            page = c.get("/person/new")
            assert 'id="in-village"' in page.text
            r = c.post("/person/new", data={"csrf": csrf_of(page.text), "village": village, "name": name,
                                            "id_number": ident(date(1985, 1, 1), seq)})
            assert r.status_code == 303, r.text[:600]
        page = c.get("/person/new")
        r = c.post("/person/new", data={"csrf": csrf_of(page.text), "name": "无村", "id_number": ident(date(1985, 1, 1), 5)})
        assert r.status_code == 422 and 'id="field-scope"' in r.text  # a township is no village: say which
        assert sorted(names(c.get("/").text)) == ["乡乙", "乡甲"]
        assert names(c.get("/", params={"village": VILLAGE_B}).text) == ["乡乙"]


def test_a_township_collects_a_villages_bundle_and_carries_it_to_the_county(town: DeskWorld, tmp_path: Path) -> None:
    assert town.desk is not None
    village = town.make_node("513225103203")
    store = village.store()
    ops.register_person(store, {"id_number": ident(date(1977, 7, 7), 7), "name": "村丙"})
    store.seal()
    export_bundle(store, tmp_path / "v.laowu")
    store.close()
    with httpx.Client(base_url=town.desk.url, follow_redirects=False, timeout=60) as c:
        town.login(c)
        page = c.get("/sync")
        c.post("/sync/import", data={"csrf": csrf_of(page.text)},
               files={"file": ("v.laowu", (tmp_path / "v.laowu").read_bytes())})
        assert "导入 1" in c.get("/sync").text.split('id="bundle-result"')[1]
        assert "村丙" in names(c.get("/").text)
        page = c.get("/sync")
        c.post("/sync/now", data={"csrf": csrf_of(page.text)})
    assert any(v and v.get("name") == "村丙" for v in town.county.values("person").values())
