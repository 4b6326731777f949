from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from node.domain import validate
from node.domain.validate import IdInfo, age_on, date_str, id_number, in_range, mobile, money, one_of, uscc
from protocol.errors import InvalidValue, LocalError

TODAY = date(2024, 6, 1)
WOMAN_1990 = "513434199003070020"  # 越西县, born 1990-03-07, sequence 002 (even)
MAN_1990 = "513434199003070012"  # sequence 001 (odd)


def refusal(call: Callable[..., object], *args: object, **kwargs: object) -> InvalidValue:
    with pytest.raises(InvalidValue) as caught:
        call(*args, **kwargs)
    return caught.value


# --- ID numbers (GB 11643) ---

def test_valid_id_number_gives_birth_date_sex_and_region() -> None:
    assert id_number(WOMAN_1990, today=TODAY) == IdInfo(WOMAN_1990, date(1990, 3, 7), "女", "513434")


def test_sex_comes_from_the_parity_of_the_17th_digit() -> None:
    assert (id_number(MAN_1990).sex, id_number(WOMAN_1990).sex) == ("男", "女")


def test_id_number_is_normalised_to_upper_case_x_without_spaces() -> None:
    assert id_number(" 513434 19900307 008x ").number == "51343419900307008X"


def test_full_width_digits_from_chinese_input_are_accepted() -> None:
    assert id_number("５１３４３４１９９００３０７００２０").number == WOMAN_1990


def test_id_number_of_wrong_length_is_refused_with_the_length() -> None:
    err = refusal(id_number, WOMAN_1990[:-1])
    assert (err.field, "18位" in err.message, "got 17" in err.message) == ("id_number", True, True)


def test_old_15_digit_id_number_is_told_to_use_the_18_digit_one() -> None:
    assert "15位旧身份证号" in refusal(id_number, "513434900307002").message


def test_id_number_with_a_letter_before_the_end_is_refused_as_bad_characters() -> None:
    assert "只能是数字" in refusal(id_number, "5134341990030700X0").message


def test_id_number_with_an_impossible_birth_date_is_refused() -> None:
    assert "19900230" in refusal(id_number, "513434199002300023").message  # check digit is right


def test_id_number_with_month_13_is_refused_as_a_bad_birth_date() -> None:
    assert "不是有效日期" in refusal(id_number, "513434199013010013").message


def test_id_number_born_before_1900_is_refused() -> None:
    assert "早于1900年" in refusal(id_number, "513434189912310010").message


def test_id_number_born_in_the_future_is_refused() -> None:
    assert "在将来" in refusal(id_number, "513434202403010021", today=date(2024, 2, 29)).message


def test_id_number_with_a_wrong_check_digit_is_refused() -> None:
    assert "校验位错误" in refusal(id_number, "513434199003070021").message


def test_check_digit_message_does_not_reveal_the_expected_digit() -> None:
    assert "expected" not in refusal(id_number, "513434199003070021").message


def test_each_kind_of_bad_id_number_gets_a_distinct_message() -> None:
    bad = ["51343419900307002", "5134341990030700X0", "513434199002300023", "513434199003070021"]
    assert len({refusal(id_number, b).message for b in bad}) == 4


def test_id_number_refusal_is_a_local_error_naming_the_given_field() -> None:
    err = refusal(id_number, "123", field="spouse_id")
    assert isinstance(err, LocalError) and err.field == "spouse_id"


def test_divisions_checker_refuses_an_unknown_region_code() -> None:
    assert "513434" in refusal(id_number, WOMAN_1990, divisions=lambda code: False).message


def test_divisions_checker_is_given_the_first_six_digits() -> None:
    seen: list[str] = []

    def known(code: str) -> bool:
        seen.append(code)
        return True

    id_number(WOMAN_1990, divisions=known)
    assert seen == ["513434"]


def test_non_text_id_number_is_refused() -> None:
    assert refusal(id_number, 513434199003070020).field == "id_number"


# --- ages ---

def test_age_is_one_less_the_day_before_the_birthday() -> None:
    assert (age_on(date(1990, 3, 7), date(2024, 3, 6)), age_on(date(1990, 3, 7), date(2024, 3, 7))) == (33, 34)


def test_age_on_accepts_the_id_info() -> None:
    assert age_on(id_number(WOMAN_1990), TODAY) == 34


def test_29_february_birthday_counts_from_1_march_in_other_years() -> None:
    born = date(2000, 2, 29)
    assert (age_on(born, date(2018, 2, 28)), age_on(born, date(2018, 3, 1))) == (17, 18)


def test_broker_age_rule_reads_as_a_range_check() -> None:  # Sichuan: brokers are 18-65
    assert "between 18 and 65" in refusal(in_range, "age", age_on(id_number(WOMAN_1990), date(2056, 6, 1)),
                                          18, 65).message


# --- unified social credit codes (GB 32100) ---

def test_valid_credit_code_is_accepted() -> None:
    assert uscc("91110000600037341L") == "91110000600037341L"


def test_credit_code_is_normalised_to_upper_case_without_separators() -> None:
    assert uscc("9 1110000-600037341l") == "91110000600037341L"


def test_village_collective_code_issued_by_agriculture_department_is_accepted() -> None:
    assert uscc("N2513434MF0000001B") == "N2513434MF0000001B"


def test_credit_code_with_wrong_check_character_is_refused() -> None:
    err = refusal(uscc, "91110000600037341M")
    assert (err.field, "校验位错误" in err.message) == ("uscc", True)


def test_credit_code_of_wrong_length_is_refused() -> None:
    assert "got 17" in refusal(uscc, "91110000600037341").message


def test_credit_code_with_a_forbidden_letter_is_refused_naming_it() -> None:
    assert "may not contain O" in refusal(uscc, "9111000060003734OL").message


def test_credit_code_with_letters_in_the_region_code_is_refused() -> None:
    assert "region code" in refusal(uscc, "9111A000600037341L").message


# --- mobile numbers ---

def test_valid_mobile_number_is_accepted() -> None:
    assert mobile("13800138000") == "13800138000"


def test_mobile_number_with_country_code_and_separators_is_normalised() -> None:
    assert [mobile(s) for s in ("+86 138-0013-8000", "008613800138000", "(138) 0013 8000")] == ["13800138000"] * 3


def test_landline_number_is_refused_as_a_landline() -> None:
    assert "座机" in refusal(mobile, "028-12345678").message


def test_10_digit_mobile_number_is_refused_as_too_short() -> None:
    err = refusal(mobile, "1380013800")
    assert (err.field, "got 10 digits" in err.message) == ("phone", True)


def test_12_digit_mobile_number_is_refused_as_too_long() -> None:
    assert "got 12 digits" in refusal(mobile, "138001380001").message


def test_mobile_number_in_an_unused_range_is_refused() -> None:
    assert "140" in refusal(mobile, "14012345678").message


def test_mobile_number_with_letters_is_refused() -> None:
    assert "只能包含数字" in refusal(mobile, "1380013800x").message


def test_hong_kong_number_is_refused_as_not_mainland() -> None:
    assert "+852" in refusal(mobile, "+852 9123 4567").message


# --- ranges, choices, money, dates ---

def test_in_range_returns_the_number_including_the_bounds() -> None:
    assert [in_range("age", v, 18, 65) for v in (18, "65", " 40 ")] == [18, 65, 40]


def test_in_range_refuses_a_number_outside_the_bounds() -> None:
    assert "between 18 and 65, got 66" in refusal(in_range, "age", 66, 18, 65).message


def test_in_range_refuses_a_value_that_is_not_a_whole_number() -> None:
    assert [refusal(in_range, "age", v, 0, 100).field for v in ("4O", "40.5", True)] == ["age"] * 3


def test_one_of_returns_the_choice_without_spaces() -> None:
    assert one_of("education", " 初中 ", validate.EDUCATION) == "初中"


def test_one_of_refuses_and_lists_the_choices() -> None:
    assert "小学、初中" in refusal(one_of, "education", "研究生", validate.EDUCATION).message


def test_money_accepts_yuan_with_commas_and_unit() -> None:
    assert [money("monthly_pay", v) for v in (3800, "3,800", "3800元")] == [3800] * 3


def test_money_refuses_a_negative_amount() -> None:
    assert "negative" in refusal(money, "subsidy", -300).message


def test_money_refuses_an_amount_over_the_limit() -> None:
    assert "over the limit of 12000" in refusal(money, "monthly_pay", 38000, hi=12000).message


def test_money_refuses_fractions_of_a_yuan() -> None:
    assert refusal(money, "monthly_pay", "3800.50").field == "monthly_pay"


def test_iso_date_is_parsed() -> None:
    assert date_str("visit_date", "2024-06-01") == TODAY


def test_date_in_another_format_is_refused() -> None:
    assert "YYYY-MM-DD" in refusal(date_str, "visit_date", "2024/06/01").message


def test_date_that_does_not_exist_is_refused() -> None:
    assert "不是有效日期" in refusal(date_str, "visit_date", "2023-02-29").message


def test_date_outside_its_bounds_is_refused() -> None:
    assert "after 2024-06-01" in refusal(date_str, "visit_date", "2024-06-02", hi=TODAY).message
