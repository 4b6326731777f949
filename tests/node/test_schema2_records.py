"""Specs of schema 2's domain rules: placement fares, broker training days, monthly monitoring of
脱贫人口, wage-arrears leads, holiday checks of return-home registrations, and workflow date order.
Real SQLite stores of the test province; one behaviour per test."""
from __future__ import annotations

from datetime import date

import pytest
from domainkit import TODAY, card, filed_broker

from node.engine import schema
from node.domain import broker_training, holidays, ops, ops_watch
from node.domain import placement as plc
from node.engine.store import Store
from protocol.errors import InvalidValue


def refusal(fn: object, *args: object, **kw: object) -> InvalidValue:
    with pytest.raises(InvalidValue) as info:
        fn(*args, **kw)  # type: ignore[operator]
    return info.value


def test_schema_version_is_2() -> None:
    assert schema.SCHEMA_VERSION == 2


def test_a_placement_keeps_its_fare_receipt_and_contract_flag() -> None:
    out = plc.clean_placement({"person": "ab" * 16, "employer_name": "某厂", "start_date": "2024-03-01",
                               "contract_months": 12, "fare_yuan": 560, "fare_receipt": "HN-0001"})
    assert (out["fare_yuan"], out["fare_receipt"], out["labor_contract"]) == (560, "HN-0001", True)


def test_a_negative_fare_is_refused() -> None:
    err = refusal(plc.clean_placement, {"person": "ab" * 16, "employer_name": "某厂", "start_date": "2024-03-01",
                                        "fare_yuan": -5})
    assert err.field == "fare_yuan"


def test_a_return_for_new_year_on_20_may_is_refused(village: Store) -> None:
    person = ops.register_person(village, card(1), today=TODAY)
    err = refusal(ops.add_return, village, {"person": person.hex(), "returned_on": "2024-05-20", "reason": "节日探亲",
                                            "holiday": "元旦"}, today=TODAY)
    assert err.field == "holiday" and "元旦" in err.message


def test_a_return_a_week_before_spring_festival_is_accepted(village: Store) -> None:
    person = ops.register_person(village, card(1), today=TODAY)
    # 春节 2024 fell on 10 February
    assert holidays.day_of("春节", 2024) == date(2024, 2, 10)
    ops.add_return(village, {"person": person.hex(), "returned_on": "2024-02-03", "reason": "节日探亲",
                             "holiday": "春节"}, today=TODAY)


def test_new_year_returns_in_late_december_fit_the_next_year() -> None:
    assert holidays.matches("元旦", date(2023, 12, 28)) and not holidays.matches("元旦", date(2023, 12, 10))


def test_a_recommendation_dated_before_the_application_is_refused(village: Store) -> None:
    from domainkit import ident
    row = ops.broker_apply(village, {"id_number": ident(date(1980, 5, 1), seq=201), "name": "申请人",
                                     "phone": "13912345678", "applied_on": "2024-03-10"}, today=TODAY)
    err = refusal(ops.broker_advance, village, row, "recommend", on=date(2024, 3, 9))
    assert "2024-03-10" in err.message
    assert ops.broker_advance(village, row, "recommend", on=date(2024, 3, 10)) == "recommended"


def test_a_placement_started_before_it_was_signed_is_refused(village: Store) -> None:
    person = ops.register_person(village, card(1), today=TODAY)
    row = ops.add_placement(village, {"person": person.hex(), "employer_name": "某厂", "start_date": "2024-03-01"},
                            event="sign", on=date(2024, 2, 20))
    assert refusal(ops.placement_advance, village, row, "start", on=date(2024, 2, 19)).field == "started_on"


def test_broker_training_belongs_to_a_broker_and_counts_days(village: Store) -> None:
    b = filed_broker(village)
    row = ops_watch.add_broker_training(village, {"broker": b.hex(), "course": "政策培训", "start_date": "2024-04-02",
                                                  "days": 3}, today=TODAY)
    got = ops.get(village, "broker_training", row)
    assert got is not None and (got["broker"], got["days"]) == (b.hex(), 3)
    assert broker_training.shortfall(3) == 1 and broker_training.shortfall(4) == 0


def test_training_of_someone_not_a_broker_is_refused(village: Store) -> None:
    person = ops.register_person(village, card(1), today=TODAY)
    err = refusal(ops_watch.add_broker_training, village, {"broker": person.hex(), "course": "x",
                                                           "start_date": "2024-04-02", "days": 1}, today=TODAY)
    assert err.field == "broker"


def test_one_monitoring_row_per_person_and_month(village: Store) -> None:
    person = ops.register_person(village, card(1, poverty_status="脱贫人口"), today=TODAY)
    first = ops_watch.record_check(village, {"person": person.hex(), "month": "2024-05", "status": "未就业",
                                             "checked_by": "李四", "method": "电话"}, today=TODAY)
    again = ops_watch.record_check(village, {"person": person.hex(), "month": "2024-05", "status": "已就业",
                                             "checked_by": "李四", "method": "上门"}, today=TODAY)
    got = ops.get(village, "employment_check", first)
    assert first == again and got is not None and (got["status"], got["method"]) == ("已就业", "上门")
    assert first[:5] == int(village.home).to_bytes(5, "big")


def test_monitoring_someone_not_poverty_alleviated_is_refused(village: Store) -> None:
    person = ops.register_person(village, card(1, poverty_status="无"), today=TODAY)
    err = refusal(ops_watch.record_check, village, {"person": person.hex(), "month": "2024-05", "status": "未就业",
                                                    "checked_by": "李四", "method": "电话"}, today=TODAY)
    assert err.field == "person"


def test_a_monitoring_method_other_than_phone_or_visit_is_refused(village: Store) -> None:
    person = ops.register_person(village, card(1, poverty_status="脱贫人口"), today=TODAY)
    err = refusal(ops_watch.record_check, village, {"person": person.hex(), "month": "2024-05", "status": "未就业",
                                                    "checked_by": "李四", "method": "微信"}, today=TODAY)
    assert err.field == "method"


def test_a_wage_arrears_lead_opens_and_closes(village: Store) -> None:
    row = ops_watch.add_arrears_lead(village, {"claimant": "王五", "employer_name": "某建筑公司", "amount_yuan": 12000,
                                               "months": 3}, today=TODAY)
    got = ops.get(village, "wage_arrears", row)
    assert got is not None and got["status"] == "待核实" and got["reported_on"] == TODAY.isoformat()
    ops_watch.update_arrears_lead(village, row, {"status": "已解决"}, today=TODAY)
    got = ops.get(village, "wage_arrears", row)
    assert got is not None and (got["status"], got["resolved_on"]) == ("已解决", TODAY.isoformat())


def test_a_lead_without_an_amount_is_refused(village: Store) -> None:
    err = refusal(ops_watch.add_arrears_lead, village, {"claimant": "王五", "employer_name": "某公司", "months": 3},
                  today=TODAY)
    assert err.field == "amount_yuan"


@pytest.mark.parametrize("region, fare, want", [("省外", 520, 400), ("省外", 399, 399), ("省内市外", 201, 200),
                                                ("市内县外", 100, 100), ("县内", 80, 0)])
def test_transport_subsidy_is_the_fare_up_to_the_cap(region: str, fare: int, want: int) -> None:
    p = {"stage": "started", "contract_months": 12, "region_class": region, "fare_yuan": fare, "fare_receipt": "R1"}
    assert plc.transport_subsidy(p, "脱贫人口") == want


def test_no_receipt_or_not_poor_means_no_transport_subsidy() -> None:
    p = {"stage": "started", "contract_months": 12, "region_class": "省外", "fare_yuan": 520}
    assert plc.transport_subsidy(p, "脱贫人口") == 0
    assert plc.transport_subsidy({**p, "fare_receipt": "R1"}, "无") == 0
