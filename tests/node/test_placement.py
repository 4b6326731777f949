"""Specs of placements and follow-up visits (node/domain/placement.py). One behaviour per test."""
from __future__ import annotations

from datetime import date, timedelta
from itertools import product
from typing import Any

import pytest
from domainkit import TODAY, card, filed_broker, ident, sync
from storekit import VILLAGE

from conflict.types import Incoming
from node.domain import ops, placement
from node.domain.placement import STAGE, STAGES, add_months, overlaps, service_subsidy, transfers_by_year
from node.engine.store import Store
from protocol.errors import InvalidValue

ALL = [None, "planned", "signed", "started", "ended", "stable_1y", "revoked"]


def place(store: Store, person: bytes, broker: bytes | None, start: str = "2024-03-01", months: int = 12,
          **more: Any) -> bytes:
    fields = {"person": person.hex(), "employer_name": "东莞鑫达电子科技有限公司", "start_date": start,
              "contract_months": months, **more}
    if broker is not None:
        fields["broker"] = broker.hex()
    # planned a month before the start: a step may not be dated before the one it follows
    return ops.add_placement(store, fields, on=min(TODAY, date.fromisoformat(start) - timedelta(days=30)))


@pytest.fixture
def person(village: Store) -> bytes:
    return ops.register_person(village, card(1), today=TODAY)


# -- the transition table ----------------------------------------------------------------------------


@pytest.mark.parametrize(("stage", "event"), sorted(STAGES.transitions, key=str))
def test_every_transition_in_the_table_is_allowed(stage: str | None, event: str) -> None:
    assert STAGES.next(stage, event) == STAGES.transitions[(stage, event)]


@pytest.mark.parametrize(("stage", "event"), [
    (s, e) for s, e in product(ALL, STAGES.events) if (s, e) not in STAGES.transitions])
def test_every_transition_not_in_the_table_is_refused(stage: str | None, event: str) -> None:
    with pytest.raises(InvalidValue, match="cannot"):
        STAGES.next(stage, event)


def test_a_stable_year_beats_a_concurrent_end() -> None:
    a = STAGE.merge(None, Incoming("stable_1y", 1, b"a"))
    assert STAGE.value(STAGE.merge(a, Incoming("ended", 2, b"b"))) == "stable_1y"


def test_revoked_absorbs_a_stable_year() -> None:
    a = STAGE.merge(None, Incoming("revoked", 1, b"a"))
    assert STAGE.value(STAGE.merge(a, Incoming("stable_1y", 2, b"b"))) == "revoked"


# -- intervals ---------------------------------------------------------------------------------------


def test_adding_months_clamps_to_the_end_of_the_month() -> None:
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2023, 11, 30), 3) == date(2024, 2, 29)


def test_contracts_that_meet_end_to_start_do_not_overlap() -> None:
    assert not overlaps({"start_date": "2024-01-01", "contract_months": 6},
                        {"start_date": "2024-07-01", "contract_months": 6})


def test_an_end_date_cuts_a_contract_short() -> None:
    assert not overlaps({"start_date": "2024-01-01", "contract_months": 12, "ended_on": "2024-04-01"},
                        {"start_date": "2024-05-01", "contract_months": 12})


def test_a_placement_without_a_contract_length_is_open_ended() -> None:
    assert overlaps({"start_date": "2020-01-01"}, {"start_date": "2024-05-01", "contract_months": 1})


# -- the write API -----------------------------------------------------------------------------------


def test_a_placement_lives_in_the_persons_village(county: Store, village: Store, person: bytes) -> None:
    sync(village, county)
    row = place(county, person, filed_broker(county, scope=VILLAGE))
    p = ops.get(county, "placement", row)
    assert p is not None and (p["scope"], p["stage"], p["planned_on"]) == (VILLAGE, "planned", "2024-01-31")


def test_a_broker_not_yet_filed_cannot_place(village: Store, person: bytes) -> None:
    b = ops.broker_apply(village, {"id_number": ident(date(1980, 1, 1), seq=201), "name": "王", "phone": "13912345678"},
                         today=TODAY)
    with pytest.raises(InvalidValue, match="not filed"):
        place(village, person, b)


def test_a_second_broker_placing_the_same_person_at_the_same_time_is_refused(village: Store, person: bytes) -> None:
    place(village, person, filed_broker(village, 1))
    with pytest.raises(InvalidValue, match="overlapping") as info:
        place(village, person, filed_broker(village, 2), start="2024-09-01")
    assert info.value.field == "start_date"


def test_the_same_broker_may_place_a_person_again(village: Store, person: bytes) -> None:
    b = filed_broker(village)
    place(village, person, b)
    place(village, person, b, start="2024-09-01")


def test_a_stable_year_cannot_be_confirmed_before_12_months(village: Store, person: bytes) -> None:
    row = place(village, person, filed_broker(village))
    ops.placement_advance(village, row, "start", on=date(2024, 3, 1))
    with pytest.raises(InvalidValue, match="12"):
        ops.placement_advance(village, row, "confirm_stable", on=date(2025, 2, 28))
    assert ops.placement_advance(village, row, "confirm_stable", on=date(2025, 3, 1)) == "stable_1y"


def test_leaving_after_a_stable_year_keeps_the_stable_year(village: Store, person: bytes) -> None:
    row = place(village, person, filed_broker(village))
    for e, on in (("start", date(2024, 3, 1)), ("confirm_stable", date(2025, 3, 1)), ("end", date(2025, 6, 1))):
        ops.placement_advance(village, row, e, on=on, reason="合同到期" if e == "end" else None)
    p = ops.get(village, "placement", row)
    assert p is not None and (p["stage"], p["ended_on"], p["end_reason"]) == ("stable_1y", "2025-06-01", "合同到期")


def test_revoking_a_placement_needs_a_reason(village: Store, person: bytes) -> None:
    row = place(village, person, filed_broker(village))
    with pytest.raises(InvalidValue, match="reason"):
        ops.placement_advance(village, row, "revoke", on=TODAY)


def test_a_follow_up_visit_records_the_person_and_issues(village: Store, person: bytes) -> None:
    row = place(village, person, filed_broker(village))
    visit = ops.add_followup(village, {"placement": row.hex(), "method": "电话", "still_employed": True,
                                       "issues": ["欠薪", "生活情况"], "visited_on": "2024-05-20"}, today=TODAY)
    v = ops.get(village, "follow_up", visit)
    assert v is not None and (v["person"], v["issues"]) == (person.hex(), ["欠薪", "生活情况"])


def test_a_follow_up_issue_outside_the_list_is_refused(village: Store, person: bytes) -> None:
    row = place(village, person, filed_broker(village))
    with pytest.raises(InvalidValue, match="issues"):
        ops.add_followup(village, {"placement": row.hex(), "method": "电话", "still_employed": True,
                                   "issues": ["天气"]}, today=TODAY)


# -- counting --------------------------------------------------------------------------------------


def test_transfers_count_started_placements_by_year() -> None:
    rows = [{"broker": "b", "stage": s, "start_date": d} for s, d in (
        ("started", "2023-02-01"), ("ended", "2023-05-01"), ("stable_1y", "2024-01-01"),
        ("planned", "2023-03-01"), ("revoked", "2023-03-01"))] + [
        {"broker": "other", "stage": "started", "start_date": "2023-01-01"}]
    assert transfers_by_year(rows, "b") == {2023: 2, 2024: 1}


def test_the_300_yuan_subsidy_needs_poverty_status_a_year_contract_and_insurance() -> None:
    p = {"broker": "b", "stage": "started", "contract_months": 12, "social_insurance": True}
    assert service_subsidy(p, "脱贫人口") == placement.SUBSIDY_YUAN == 300
    assert service_subsidy({**p, "contract_months": 11}, "脱贫人口") == 0
    assert service_subsidy({**p, "social_insurance": False}, "脱贫人口") == 0
    assert service_subsidy(p, "无") == 0
