from __future__ import annotations

import random
from collections import defaultdict
from datetime import date

import pytest

from node.domain import generate, validate
from node.domain.generate import employers, people
from protocol.errors import ConfigError

TODAY = date(2024, 6, 1)
YUEXI = "513434"  # 越西县, 凉山州
PEOPLE = people(random.Random(7), YUEXI, "民主村", 1000, today=TODAY)


def test_thousand_people_are_generated() -> None:
    assert len(PEOPLE) == 1000


def test_every_generated_id_number_passes_validation() -> None:
    assert all(validate.id_number(p["id_number"], today=TODAY).number == p["id_number"] for p in PEOPLE)


def test_every_generated_id_number_starts_with_the_county_code() -> None:
    assert {validate.id_number(p["id_number"]).region for p in PEOPLE} == {YUEXI}


def test_generated_id_numbers_are_unique() -> None:
    assert len({p["id_number"] for p in PEOPLE}) == len(PEOPLE)


def test_every_generated_phone_passes_validation() -> None:
    assert all(validate.mobile(p["phone"]) == p["phone"] for p in PEOPLE)


def test_generated_phones_are_unique() -> None:
    assert len({p["phone"] for p in PEOPLE}) == len(PEOPLE)


def test_sex_matches_the_id_number() -> None:
    assert all(validate.id_number(p["id_number"]).sex == p["sex"] for p in PEOPLE)


def test_birth_date_matches_the_id_number() -> None:
    assert all(validate.id_number(p["id_number"]).birth.isoformat() == p["birth_date"] for p in PEOPLE)


def test_ages_default_to_the_working_ages_16_to_65() -> None:
    ages = {validate.age_on(validate.id_number(p["id_number"]), TODAY) for p in PEOPLE}
    assert (min(ages), max(ages)) == (16, 65)


def test_ages_stay_in_a_requested_narrow_range() -> None:
    young = people(random.Random(1), YUEXI, "民主村", 300, today=TODAY, ages=(18, 19))
    assert {validate.age_on(date.fromisoformat(p["birth_date"]), TODAY) for p in young} == {18, 19}


def test_ages_stay_in_range_when_today_is_29_february() -> None:
    leap = date(2024, 2, 29)
    crowd = people(random.Random(2), YUEXI, "民主村", 500, today=leap, ages=(18, 65))
    assert all(18 <= validate.age_on(date.fromisoformat(p["birth_date"]), leap) <= 65 for p in crowd)


def test_same_seed_gives_the_same_people() -> None:
    assert people(random.Random(7), YUEXI, "民主村", 1000, today=TODAY) == PEOPLE


def test_different_seeds_give_different_people() -> None:
    assert people(random.Random(8), YUEXI, "民主村", 50, today=TODAY) != PEOPLE[:50]


def test_lianghousheng_only_for_ages_15_to_22_schooled_to_junior_or_senior_high() -> None:
    flagged = [p for p in PEOPLE if p["lianghousheng"]]
    assert all(15 <= validate.age_on(date.fromisoformat(p["birth_date"]), TODAY) <= 22
               and p["education"] in ("初中", "高中") for p in flagged)


def test_some_young_people_are_lianghousheng() -> None:
    assert sum(p["lianghousheng"] for p in PEOPLE) >= 20


def test_vocabulary_fields_hold_only_the_seed_vocabularies() -> None:
    for p in PEOPLE:
        validate.one_of("education", p["education"], validate.EDUCATION)
        validate.one_of("health", p["health"], validate.HEALTH)
        validate.one_of("poverty_status", p["poverty_status"], validate.POVERTY)


def test_about_15_percent_are_poverty_alleviated() -> None:
    share = sum(p["poverty_status"] == "脱贫人口" for p in PEOPLE) / len(PEOPLE)
    assert 0.10 <= share <= 0.20


def test_a_household_shares_its_poverty_status() -> None:
    status: dict[str, set[str]] = defaultdict(set)
    for p in PEOPLE:
        status[p["household_address"]].add(p["poverty_status"])
    assert all(len(s) == 1 for s in status.values()) and len(status) < len(PEOPLE)


def test_household_address_is_built_from_the_place_names() -> None:
    crowd = people(random.Random(3), YUEXI, "新民村", 20, county="越西县", township="新民镇", today=TODAY)
    assert all(p["household_address"].startswith("越西县新民镇新民村") and p["household_address"].endswith("号")
               for p in crowd)


def test_employment_fields_are_filled_exactly_for_the_employed() -> None:
    for p in PEOPLE:
        fields = [p["work_region_class"], p["employer"], p["industry"], p["position"], p["monthly_pay"],
                  p["satisfaction"]]
        assert all(f is not None for f in fields) if p["employed"] else all(f is None for f in fields)


def test_intention_is_recorded_for_those_not_employed() -> None:
    assert all((p["willing_to_migrate"] is None) == p["employed"] for p in PEOPLE)


def test_intended_region_industry_and_pay_only_for_the_willing() -> None:
    for p in PEOPLE:
        wanted = [p["intended_region_class"], p["intended_industry"], p["expected_pay"]]
        assert all(w is not None for w in wanted) if p["willing_to_migrate"] else all(w is None for w in wanted)


def test_monthly_pay_is_from_2000_to_12000_yuan() -> None:
    pays = [p["monthly_pay"] for p in PEOPLE if p["monthly_pay"] is not None]
    assert pays and all(validate.money("monthly_pay", pay, hi=12000) >= 2000 for pay in pays)


def test_work_region_classes_are_the_four_levels() -> None:
    assert {p["work_region_class"] for p in PEOPLE if p["employed"]} == set(validate.REGION_CLASS)


def test_out_of_province_work_pays_more_on_average_than_in_county() -> None:
    def mean(region: str) -> float:
        pays = [p["monthly_pay"] or 0 for p in PEOPLE if p["work_region_class"] == region]
        return sum(pays) / len(pays)
    assert mean("省外") > mean("县内")


def test_a_twelve_digit_division_code_is_cut_to_the_county() -> None:
    crowd = people(random.Random(4), "513434000000", "民主村", 5, today=TODAY)
    assert all(p["id_number"].startswith(YUEXI) for p in crowd)


def test_a_county_code_that_is_not_digits_is_refused() -> None:
    with pytest.raises(ConfigError):
        people(random.Random(4), "越西县", "民主村", 5, today=TODAY)


def test_generated_id_number_for_a_given_birth_and_sex_is_valid() -> None:
    info = validate.id_number(generate.id_number(random.Random(5), YUEXI, date(1958, 3, 1), "女"))
    assert (info.birth, info.sex) == (date(1958, 3, 1), "女")


# --- employers ---

EMPLOYERS = employers(random.Random(7), 200)


def test_every_employer_credit_code_passes_validation() -> None:
    assert all(validate.uscc(e["uscc"]) == e["uscc"] for e in EMPLOYERS)


def test_employer_credit_codes_and_names_are_unique() -> None:
    assert len({e["uscc"] for e in EMPLOYERS}) == len({e["name"] for e in EMPLOYERS}) == len(EMPLOYERS)


def test_employer_credit_code_carries_the_city_division_code() -> None:
    cities = {**generate.IN_PROVINCE, **generate.OUT_OF_PROVINCE}
    assert all(e["uscc"][2:8] == cities[e["city"]] for e in EMPLOYERS)


def test_employer_name_starts_with_its_city_and_ends_as_a_company() -> None:
    assert all(e["name"].startswith(e["city"]) and e["name"].endswith("有限公司") for e in EMPLOYERS)


def test_employer_contact_phones_pass_validation() -> None:
    assert all(validate.mobile(e["contact_phone"]) for e in EMPLOYERS)


def test_same_seed_gives_the_same_employers() -> None:
    assert employers(random.Random(7), 200) == EMPLOYERS


def test_employers_can_be_placed_in_given_cities() -> None:
    assert {e["city"] for e in employers(random.Random(1), 10, cities={"越西": YUEXI})} == {"越西"}
