"""Specs of the local write API (node/domain/ops.py) and of masking (node/domain/privacy.py).

One behaviour per test, on real SQLite stores of the test province (storekit.py).
"""
from __future__ import annotations

import random
from datetime import date

import pytest
from domainkit import TODAY, audit, card, filed_broker, ident, sync
from storekit import COUNTY, SIBLING, VILLAGE

from node.engine import schema
from node.domain.generate import credit_code
from node.domain import ops, order, station, training, village
from node.domain.privacy import MASK, mask_id_number, show_person
from node.engine.store import Store
from protocol.errors import InvalidValue

USCC = credit_code(random.Random(1), "440300")  # a Shenzhen company's valid credit code
EMPLOYER = {"uscc": USCC, "name": "深圳鑫达电子科技有限公司"}


def refusal(fn: object, *args: object, **kw: object) -> InvalidValue:
    with pytest.raises(InvalidValue) as info:
        fn(*args, **kw)  # type: ignore[operator]
    return info.value


def employer(store: Store) -> bytes:
    return ops.register_employer(store, EMPLOYER)


# -- person cards ------------------------------------------------------------------------------------


def test_a_card_id_names_its_village_and_nothing_of_the_person(village: Store) -> None:
    row = ops.register_person(village, card(1), today=TODAY)
    assert schema.row_place(row) == VILLAGE
    again = schema.new_row_id(VILLAGE)
    assert row[:5] == again[:5] and row != again  # the place, then randomness: no ID number in it


def test_sex_and_birth_date_are_derived_from_the_id_number(village: Store) -> None:
    p = ops.get(village, "person", ops.register_person(village, card(1), today=TODAY))
    assert p is not None and (p["sex"], p["birth_date"], p["updated_on"]) == ("男", "1990-03-07", "2024-06-01")


def test_a_sex_contradicting_the_id_number_is_refused(village: Store) -> None:
    assert refusal(ops.register_person, village, card(1, sex="女"), today=TODAY).field == "sex"


def test_an_id_number_registered_already_is_refused(village: Store) -> None:
    ops.register_person(village, card(1), today=TODAY)
    assert "already registered" in refusal(ops.register_person, village, card(1), today=TODAY).message


def test_an_unknown_field_is_refused_not_dropped(village: Store) -> None:
    err = refusal(ops.register_person, village, card(1, nmae="x"), today=TODAY)
    assert err.field == "nmae"


def test_a_two_after_with_college_education_is_refused(village: Store) -> None:
    young = ident(date(2006, 1, 1), seq=3)
    err = refusal(ops.register_person, village, card(1, id_number=young, education="大专", two_after=True),
                  today=TODAY)
    assert err.field == "two_after" and "初中" in err.message


def test_a_two_after_school_leaver_of_18_is_accepted(village: Store) -> None:
    young = ident(date(2006, 1, 1), seq=3)
    row = ops.register_person(village, card(1, id_number=young, education="高中", two_after=True), today=TODAY)
    assert ops.get(village, "person", row)["two_after"] is True  # type: ignore[index]


def test_a_two_after_of_34_is_refused(village: Store) -> None:
    assert refusal(ops.register_person, village, card(1, two_after=True), today=TODAY).field == "two_after"


def test_raising_education_breaks_two_after_consistency(village: Store) -> None:
    young = ident(date(2006, 1, 1), seq=3)
    row = ops.register_person(village, card(1, id_number=young, two_after=True), today=TODAY)
    assert refusal(ops.edit_person, village, row, {"education": "本科及以上"}, today=TODAY).field == "two_after"


def test_a_person_belongs_to_a_village(county: Store) -> None:
    assert refusal(ops.register_person, county, card(1), today=TODAY).field == "scope"


def test_a_village_cannot_register_in_its_sibling(village: Store) -> None:
    err = refusal(ops.register_person, village, card(1), scope=SIBLING, today=TODAY)
    assert err.field == "scope" and SIBLING in err.message


def test_a_county_edit_is_written_in_the_villages_scope(village: Store, county: Store) -> None:
    row = ops.register_person(village, card(1), today=TODAY)
    sync(village, county)
    county.seal()
    ops.edit_person(county, row, {"phone": "13700001111"}, today=TODAY)
    assert [cs.scope for cs in county.seal()] == [VILLAGE]


def test_skills_are_written_as_a_set(village: Store) -> None:
    row = ops.register_person(village, card(1, skills=["电工", "焊工"]), today=TODAY)
    ops.remove_skill(village, row, "电工")
    ops.add_skill(village, row, "厨师")
    assert ops.get(village, "person", row)["skills"] == ["厨师", "焊工"]  # type: ignore[index]


def test_removing_a_skill_the_card_lacks_is_refused(village: Store) -> None:
    row = ops.register_person(village, card(1), today=TODAY)
    assert refusal(ops.remove_skill, village, row, "电工").field == "skills"


def test_a_skill_added_offline_survives_a_concurrent_remove(village: Store, county: Store) -> None:
    row = ops.register_person(village, card(1, skills=["电工"]), today=TODAY)
    sync(village, county)
    ops.remove_skill(county, row, "电工")
    ops.add_skill(village, row, "电工")  # re-added offline, unaware of the removal
    sync(village, county)
    assert village.values() == county.values()
    assert ops.get(county, "person", row)["skills"] == ["电工"]  # type: ignore[index]


# -- jobs --------------------------------------------------------------------------------------------


def test_a_county_posting_reaches_every_village_of_the_county(village: Store, sibling: Store,
                                                               county: Store) -> None:
    boss = employer(county)
    job = ops.post_job(county, {"employer": boss.hex(), "title": "普工", "positions": 30, "region_class": "省外",
                                "valid_until": "2024-12-31"}, today=TODAY)
    sync(village, sibling, county)
    for s in (village, sibling):
        assert ops.get(s, "job_posting", job)["scope"] == COUNTY  # type: ignore[index]


def test_a_village_gig_posting_stays_in_the_village(village: Store, sibling: Store, county: Store) -> None:
    boss = employer(county)
    sync(village, county)
    job = ops.post_job(village, {"employer": boss.hex(), "title": "采茶零工", "positions": 5, "gig": True,
                                 "region_class": "县内", "valid_until": "2024-06-30"}, today=TODAY)
    sync(village, sibling, county)
    assert ops.get(county, "job_posting", job) is not None and ops.get(sibling, "job_posting", job) is None


def test_a_posting_with_pay_upside_down_is_refused(county: Store) -> None:
    boss = employer(county)
    err = refusal(ops.post_job, county, {"employer": boss.hex(), "title": "普工", "positions": 1,
                                         "region_class": "省外", "valid_until": "2024-12-31",
                                         "pay_low": 6000, "pay_high": 4000}, today=TODAY)
    assert err.field == "pay_low"


def test_an_employer_with_a_bad_credit_code_is_refused(county: Store) -> None:
    mistyped = USCC[:-1] + ("0" if USCC[-1] != "0" else "1")
    assert refusal(ops.register_employer, county, {**EMPLOYER, "uscc": mistyped}).field == "uscc"


def test_an_employer_is_one_row_per_credit_code(county: Store) -> None:
    employer(county)
    assert "already registered" in refusal(ops.register_employer, county, EMPLOYER).message


# -- service orders ----------------------------------------------------------------------------------


def test_an_order_is_paid_by_items_done(village: Store, county: Store) -> None:
    row = ops.post_order(county, {"kind": "社保认证", "title": "2024年养老待遇资格认证", "items": 120,
                                  "pay_per_item": 5}, scope=VILLAGE, today=TODAY)
    broker = filed_broker(county, scope=VILLAGE)
    sync(village, county)
    ops.order_advance(village, row, "accept", on=TODAY, broker=broker)  # the broker takes it online
    ops.order_advance(village, row, "complete", on=TODAY, completed_items=117)  # serves offline
    sync(village, county)
    assert ops.order_advance(county, row, "pay", on=TODAY) == "paid"
    assert order.amount(ops.get(county, "service_order", row) or {}) == 585


def test_completing_more_items_than_ordered_is_refused(county: Store) -> None:
    row = ops.post_order(county, {"kind": "台账更新", "title": "更新", "items": 10, "pay_per_item": 2},
                         scope=VILLAGE, today=TODAY)
    ops.order_advance(county, row, "accept", on=TODAY, broker=filed_broker(county, scope=VILLAGE))
    assert refusal(ops.order_advance, county, row, "complete", on=TODAY, completed_items=11).field == "completed_items"


def test_an_order_belongs_to_a_village(county: Store) -> None:
    err = refusal(ops.post_order, county, {"kind": "台账更新", "title": "更新", "items": 10, "pay_per_item": 2},
                  scope=COUNTY, today=TODAY)
    assert err.field == "scope"


def test_a_cancelled_order_is_never_paid() -> None:
    assert order.amount({"stage": "cancelled", "completed_items": 5, "pay_per_item": 10}) == 0


# -- stations, returns, training ---------------------------------------------------------------------


def test_a_village_has_one_station_row_whoever_enters_it(village: Store, county: Store) -> None:
    a = ops.set_station(village, {"name": "民主村人社便民服务站", "area_m2": 30, "staff": ["王芳"]})
    b = ops.set_station(county, {"name": "民主村人社便民服务站", "staff": ["李强"]}, scope=VILLAGE)
    sync(village, county)
    assert a == b == station.station_row_id(VILLAGE)
    assert ops.get(village, "service_station", a)["staff"] == ["李强", "王芳"]  # type: ignore[index]


def test_a_station_under_20_square_metres_is_refused(village: Store) -> None:
    assert refusal(ops.set_station, village, {"name": "站", "area_m2": 15}).field == "area_m2"


def test_the_service_log_counts_by_service(village: Store) -> None:
    st = ops.set_station(village, {"name": "民主村人社便民服务站"})
    for service, result in (("零工服务", "已办结"), ("零工服务", "未办结"), ("政策咨询", "已办结")):
        ops.log_service(village, {"station": st.hex(), "service": service, "result": result}, today=TODAY)
    logs = [v for (tbl, _), v in village.values("service_log").items() if v]
    table = station.effectiveness(logs)
    assert table["零工服务"] == {"served": 2, "done": 1} and table["政策咨询"] == {"served": 1, "done": 1}


def test_a_return_registration_keeps_its_needs_as_a_set(village: Store) -> None:
    person = ops.register_person(village, card(1), today=TODAY)
    row = ops.add_return(village, {"person": person.hex(), "reason": "节日探亲", "holiday": "春节",
                                   "going_out_again": True, "needs": ["技能培训", "零工信息"],
                                   "returned_on": "2024-02-05"}, today=TODAY)
    r = ops.get(village, "return_registration", row)
    assert r is not None and (r["holiday"], r["needs"]) == ("春节", ["技能培训", "零工信息"])


def test_a_return_for_a_person_not_on_file_is_refused(village: Store) -> None:
    assert refusal(ops.add_return, village, {"person": "00" * 16, "reason": "失业"}, today=TODAY).field == "person"


def test_pre_employment_training_pays_10_yuan_a_day_to_registered_poor_workers(village: Store) -> None:
    person = ops.register_person(village, card(1, poverty_status="脱贫人口"), today=TODAY)
    row = ops.add_training(village, {"person": person.hex(), "course": "电工", "start_date": "2024-04-01",
                                     "days": 15, "subsidy_class": "就业技能培训",
                                     "certificate_name": "电工(初级)"}, today=TODAY)
    rec = ops.get(village, "training_record", row) or {}
    assert rec["certificate_obtained"] is True and training.living_allowance(rec, "脱贫人口") == 150
    assert training.living_allowance(rec, "无") == 0


# -- villages and broker coverage --------------------------------------------------------------------


@pytest.mark.parametrize(("population", "brokers"), [
    (0, 1), (4_999, 1), (5_000, 1), (9_999, 1), (10_000, 2), (14_999, 2), (15_000, 3), (50_000, 10)])
def test_brokers_needed_is_one_per_village_plus_one_per_full_further_5000(population: int, brokers: int) -> None:
    assert village.brokers_needed(population) == brokers


def test_coverage_counts_the_larger_population(county: Store) -> None:
    row = ops.set_village_profile(county, {"name": "民主村", "registered_population": 10_400,
                                           "resident_population": 6_100}, scope=VILLAGE, today=TODAY)
    profile = ops.get(county, "village_profile", row) or {}
    assert village.coverage_gap(profile, filed_brokers=1) == 1


# -- masking and the audit log -----------------------------------------------------------------------


def test_an_id_number_is_masked_to_region_and_last_four() -> None:
    assert mask_id_number("513225199001011234") == "513225********1234"


def test_a_card_is_shown_masked_by_default_and_not_logged(village: Store) -> None:
    row = ops.register_person(village, card(1, health="患病", household_income=24_000), today=TODAY)
    p = show_person(village, row, actor="王芳") or {}
    assert p["id_number"] == mask_id_number(card(1)["id_number"]) and p["birth_date"] == "1990"
    assert p["health"] == p["household_income"] == MASK
    assert audit(village) == []


def test_a_full_view_shows_the_card_and_is_logged_with_the_actor(village: Store) -> None:
    row = ops.register_person(village, card(1, health="患病"), today=TODAY)
    p = show_person(village, row, actor="王芳", full=True) or {}
    assert p["id_number"] == card(1)["id_number"] and p["health"] == "患病"
    [entry] = audit(village)
    assert (entry.actor, entry.action, entry.tbl, entry.row) == ("王芳", "view-full", "person", row.hex())


# -- the tables --------------------------------------------------------------------------------------


def test_every_field_of_the_new_domain_tables_declares_its_merge_policy() -> None:
    for name, cls in schema.TABLES.items():
        if name == "person":
            continue  # declares only its non-default policies
        fields = set(schema.columns(cls)) - {"scope"}
        assert set(cls.__merge__) == fields, name
