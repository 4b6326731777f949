"""The division table, built from a one-county fixture (九寨沟县 513225) and tiny tarballs: no network."""
from __future__ import annotations

import csv
import io
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from node.domain.divisions import Division, Divisions, read_csv, read_package, write_sqlite
from protocol import scope
from protocol.errors import ConfigError, InvalidValue

FIXTURE = Path(__file__).parent.parent / "fixtures" / "divisions_513225.csv"
COUNTY = "513225000000"
TOWNSHIP = "513225102000"  # 南坪镇
VILLAGE = "513225102001"


@pytest.fixture
def table(tmp_path: Path) -> Iterator[Divisions]:
    with Divisions.from_csv(FIXTURE, tmp_path / "divisions.sqlite") as t:
        yield t


def test_lookup(table: Divisions) -> None:
    assert table.get(COUNTY) == Division(COUNTY, "九寨沟县", "county", "513200000000")
    assert table.get("510000000000") == Division("510000000000", "四川省", "province", None)
    assert table.get("513225999000") is None
    assert table.counts() == {"province": 1, "prefecture": 1, "county": 1, "township": 14, "village": 112}


def test_exists(table: Divisions) -> None:
    assert table.exists(VILLAGE)
    assert not table.exists("513225102999")
    assert not table.exists("5132")


def test_children(table: Divisions) -> None:
    townships = table.children(COUNTY)
    assert len(townships) == 14
    assert [d.code for d in townships] == sorted(d.code for d in townships)
    assert {d.level for d in townships} == {"township"}
    assert [d.code for d in table.children("510000000000")] == ["513200000000"]
    assert all(d.parent == TOWNSHIP for d in table.children(TOWNSHIP))
    assert table.children(VILLAGE) == []


def test_path(table: Divisions) -> None:
    names = [d.name for d in table.path(table.children(TOWNSHIP)[0].code)]
    assert names[:4] == ["四川省", "阿坝藏族羌族自治州", "九寨沟县", "南坪镇"]
    assert len(names) == 5
    assert [d.code for d in table.path("510000000000")] == ["510000000000"]


@pytest.mark.parametrize("code", ["51322510200", "5132251020011", "513225x02001", "013225102001", "", None, 513225102001])
def test_check_refuses_malformed(table: Divisions, code: object) -> None:
    with pytest.raises(InvalidValue, match="12位数字 / a division code is 12 digits") as caught:
        table.check(code, "hukou")
    assert caught.value.field == "hukou"


@pytest.mark.parametrize("code", ["513225102999", "513225999000", "513226000000", "520000000000"])
def test_check_refuses_unknown(table: Divisions, code: str) -> None:
    with pytest.raises(InvalidValue, match="区划代码不存在 / no such division"):
        table.check(code)
    with pytest.raises(InvalidValue):
        table.path(code)
    with pytest.raises(InvalidValue):
        table.children(code)


def test_check_returns_division(table: Divisions) -> None:
    assert table.check(VILLAGE).level == "village"


def test_every_level_agrees_with_scope() -> None:
    for d in read_csv(FIXTURE):
        assert scope.level(d.code) == d.level, d


def test_every_parent_exists_and_is_scopes_parent(table: Divisions) -> None:
    for d in read_csv(FIXTURE):
        assert d.parent == scope.parent(d.code), d
        if d.parent is not None:
            assert table.exists(d.parent), d


def test_open_missing_table(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="build"):
        Divisions(tmp_path / "absent.sqlite")


# -- reading the npm package's layout -------------------------------------------------------------


def _tarball(path: Path, files: dict[str, list[list[str]]]) -> Path:
    """A tarball laid out like china-division's, each CSV given as rows after its header."""
    headers = {
        "provinces": ["code", "name"],
        "cities": ["code", "name", "provinceCode"],
        "areas": ["code", "name", "cityCode", "provinceCode"],
        "streets": ["code", "name", "areaCode", "provinceCode", "cityCode"],
        "villages": ["code", "name", "streetCode", "provinceCode", "cityCode", "areaCode"],
    }
    with tarfile.open(path, "w:gz") as tar:
        for name, header in headers.items():
            text = io.StringIO()
            csv.writer(text).writerows([header, *files.get(name, [])])
            data = text.getvalue().encode()
            info = tarfile.TarInfo(f"package/dist/{name}.csv")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_read_package_pads_codes_and_drops_repeats(tmp_path: Path) -> None:
    tgz = _tarball(tmp_path / "p.tgz", {
        "provinces": [["44", "广东省"], ["35", "福建省"]],
        "cities": [["4419", "东莞市", "44"], ["3505", "泉州市", "35"]],
        # Dongguan has no counties: the package repeats the prefecture as a county.
        "areas": [["441900", "东莞市", "4419", "44"], ["350527", "金门县", "3505", "35"]],
        # Kinmen has no townships: the package repeats the county as a township and a village.
        "streets": [["441900003", "东城街道", "441900", "44", "4419"], ["350527000", "金门县", "350527", "35", "3505"]],
        "villages": [
            ["441900003001", "花园新村社区居委会", "441900003", "44", "4419", "441900"],
            ["350527000000", "金门县", "350527000", "35", "3505", "350527"],
        ],
    })
    rows = {d.code: d for d in read_package(tgz)}
    assert rows == {
        "440000000000": Division("440000000000", "广东省", "province", None),
        "350000000000": Division("350000000000", "福建省", "province", None),
        "441900000000": Division("441900000000", "东莞市", "prefecture", "440000000000"),
        "350500000000": Division("350500000000", "泉州市", "prefecture", "350000000000"),
        "350527000000": Division("350527000000", "金门县", "county", "350500000000"),
        "441900003000": Division("441900003000", "东城街道", "township", "441900000000"),
        "441900003001": Division("441900003001", "花园新村社区居委会", "village", "441900003000"),
    }
    write_sqlite(rows.values(), tmp_path / "d.sqlite")
    with Divisions(tmp_path / "d.sqlite") as table:
        assert [d.name for d in table.children("441900000000")] == ["东城街道"]
        assert [d.name for d in table.path("441900003001")] == ["广东省", "东莞市", "东城街道", "花园新村社区居委会"]
        assert table.children("350527000000") == []


def test_read_package_refuses_a_code_of_the_wrong_level(tmp_path: Path) -> None:
    tgz = _tarball(tmp_path / "p.tgz", {
        "provinces": [["51", "四川省"]],
        "cities": [["5200", "不是地级", "51"]],  # pads to a province's shape, not a prefecture's
    })
    with pytest.raises(ConfigError, match="is a prefecture but its code reads as a province"):
        list(read_package(tgz))
