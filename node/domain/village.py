"""Village profile (一村一册 header) and broker coverage.

Chongqing's rule (seeds/001 三(二)1): "在每个行政村、社区培育至少1名劳务经纪人,户籍或常住人口在
5000人以下的,原则上配1名;每增加5000人,原则上增配1名". Read literally:

* at least one broker in every village, whatever its size;
* "5000人以下" includes 5,000 itself (以下 counts the number named, as in 民法典 art. 1259);
* one more broker for each *full* further 5,000 people: 9,999 people still need 1, 10,000 need 2,
  15,000 need 3. So `brokers_needed(p) = max(1, p // 5000)`. (A "1 per started 5,000" reading,
  `ceil(p / 5000)`, would ask 2 brokers of a village of 5,001; the text asks that only at 10,000.)

The rule counts "户籍或常住人口", registered or resident population; coverage uses the larger of the
two the profile records, so a village is never judged covered on its smaller head count.

One profile per village, keyed by the village code, so the village and the county converge.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, ClassVar

from conflict.lattice import Lattice
from node.domain.forms import Form
from node.engine.schema import Record, derived_row_id, replicated
from protocol.changeset import Value

PER_BROKER = 5000


@replicated
class VillageProfile(Record, table=True):
    __tablename__ = "village_profile"
    __merge__: ClassVar[dict[str, str | Lattice]] = dict.fromkeys(
        ("name", "registered_population", "resident_population", "households", "labor_force",
         "updated_on"), "lww")

    name: str
    registered_population: int | None = None  # 户籍人口
    resident_population: int | None = None  # 常住人口
    households: int | None = None
    labor_force: int | None = None  # 劳动力: people of working age able to work
    updated_on: str | None = None


def profile_row_id(village: str) -> bytes:
    return derived_row_id(village, b"village_profile")


def brokers_needed(population: int) -> int:
    """Brokers a village of `population` people should have: 1 up to 9,999, then 1 per full 5,000."""
    if population < 0:
        raise ValueError(f"population cannot be negative, got {population}")
    return max(1, population // PER_BROKER)


def coverage_population(profile: Mapping[str, Any]) -> int:
    """The head count coverage is judged on: the larger of registered and resident population."""
    return max(int(profile.get(k) or 0) for k in ("registered_population", "resident_population"))


def coverage_gap(profile: Mapping[str, Any], filed_brokers: int) -> int:
    """How many more filed brokers the village needs (0 when covered)."""
    return max(0, brokers_needed(coverage_population(profile)) - filed_brokers)


def clean_profile(fields: Mapping[str, Any], *, today: date, creating: bool = True) -> dict[str, Value]:
    f = Form(fields, creating=creating)
    f.text("name", need=True)
    f.number("registered_population", 0, 1_000_000)
    f.number("resident_population", 0, 1_000_000)
    f.number("households", 0, 500_000)
    f.number("labor_force", 0, 1_000_000)
    f.day("updated_on", hi=today)
    f.out.setdefault("updated_on", today.isoformat())
    return f.done()
