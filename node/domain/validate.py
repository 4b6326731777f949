"""The one place that checks each kind of value a broker types: ID numbers, credit codes, phones,
ranges, choices, money, dates.

Every function is pure. It returns the value normalised (upper-case X, 11-digit national mobile,
`datetime.date`), or raises `InvalidValue(field, message)` with the message in Chinese, then English,
so the form can show it next to the field it names:

>>> id_number("51343419900307008x").sex
'女'
>>> mobile("+86 138-0013-8000")
'13800138000'

Checksums come from python-stdnum rather than hand-rolled arithmetic. We call its check-digit
functions, not its `validate()`: `cn.ric.validate` also rejects region codes missing from stdnum's
bundled table (new counties, renamed districts), and `cn.uscc.validate` rejects codes issued by
agricultural departments (`N2…`: village collective economic organisations, employers here).
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from stdnum.cn import ric
from stdnum.cn import uscc as _uscc

from protocol.errors import InvalidValue

# The vocabularies the seeds name (Xiangxi 一人一卡; Jilin monitoring of poverty-alleviated people).
EDUCATION = ("小学", "初中", "高中", "中专", "大专", "本科及以上")
HEALTH = ("健康", "一般", "残疾", "患病")
POVERTY = ("无", "脱贫人口", "防止返贫监测对象")
REGION_CLASS = ("县内", "市内县外", "省内市外", "省外")  # 四个层次 of matching, nearest first

MONEY_MAX = 1_000_000  # yuan: far above any wage or subsidy we record, low enough to catch typos
_EARLIEST_BIRTH = date(1900, 1, 1)
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: no I, O, Z, S, V
_SEPARATORS = re.compile(r"[\s\-()]")


@dataclass(frozen=True)
class IdInfo:
    """What an 18-digit resident ID number says about its holder."""

    number: str  # 18 characters, check character upper-case
    birth: date
    sex: str  # '男' (17th digit odd) or '女' (even)
    region: str  # first 6 digits: the county-level division where it was issued


def _compact(s: object, field: str, what: str) -> str:
    if not isinstance(s, str):
        raise InvalidValue(field, f"{what}必须是文字 / {what} must be text, got {type(s).__name__}")
    # NFKC turns full-width digits and letters from Chinese input methods into ASCII.
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", s)).upper()


def id_number(
    s: str,
    *,
    today: date | None = None,
    divisions: Callable[[str], bool] | None = None,
    field: str = "id_number",
) -> IdInfo:
    """Check a GB 11643 resident ID number; `divisions(code)` may vouch for the region code."""
    n = _compact(s, field, "身份证号")
    if len(n) != 18:
        if len(n) == 15 and n.isdigit():
            raise InvalidValue(field, "15位旧身份证号不再使用,请填写18位号码 / "
                               "15-digit old-style ID numbers are not accepted: enter the 18-digit number")
        raise InvalidValue(field, f"身份证号应为18位,实际{len(n)}位 / "
                           f"ID number must be 18 characters, got {len(n)}")
    if not (n[:17].isascii() and n[:17].isdigit() and n[17] in "0123456789X"):
        raise InvalidValue(field, "身份证号只能是数字,末位可以是X / "
                           "ID number must be digits, with X allowed only as the last character")
    y, m, d = int(n[6:10]), int(n[10:12]), int(n[12:14])
    try:
        birth = date(y, m, d)
    except ValueError:
        raise InvalidValue(field, f"身份证号中的出生日期{n[6:14]}不是有效日期 / "
                           f"birth date {n[6:14]} in the ID number is not a real date") from None
    if birth < _EARLIEST_BIRTH:
        raise InvalidValue(field, f"身份证号中的出生日期{birth}早于1900年 / "
                           f"birth date {birth} in the ID number is before 1900")
    if birth > (today or date.today()):
        raise InvalidValue(field, f"身份证号中的出生日期{birth}在将来 / "
                           f"birth date {birth} in the ID number is in the future")
    # Deliberately not "expected X": told the right last digit, people "fix" it and keep a typo
    # made elsewhere, filing the wrong person under a valid-looking number.
    if ric.calc_check_digit(n) != n[17]:
        raise InvalidValue(field, "身份证号校验位错误,请逐位核对 / "
                           "ID number check digit is wrong: some digit is mistyped, compare each one")
    region = n[:6]
    if divisions is not None and not divisions(region):
        raise InvalidValue(field, f"身份证号中的地区代码{region}不存在 / "
                           f"region code {region} in the ID number is not a known division")
    return IdInfo(number=n, birth=birth, sex="男" if int(n[16]) % 2 else "女", region=region)


def age_on(info_or_birth: IdInfo | date, day: date) -> int:
    """Age in whole years on `day` (a 29 February birthday counts from 1 March in other years)."""
    birth = info_or_birth.birth if isinstance(info_or_birth, IdInfo) else info_or_birth
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def uscc(s: str, *, field: str = "uscc") -> str:
    """Check a GB 32100 unified social credit code (统一社会信用代码)."""
    n = _compact(s, field, "统一社会信用代码")
    if len(n) != 18:
        raise InvalidValue(field, f"统一社会信用代码应为18位,实际{len(n)}位 / "
                           f"unified social credit code must be 18 characters, got {len(n)}")
    bad = sorted({c for c in n if c not in _USCC_ALPHABET})
    if bad:
        raise InvalidValue(field, f"统一社会信用代码含有不允许的字符{''.join(bad)} / "
                           f"unified social credit code may not contain {''.join(bad)} "
                           "(only digits and capital letters other than I, O, Z, S, V)")
    if not n[2:8].isdigit():
        raise InvalidValue(field, f"统一社会信用代码第3至8位应为地区代码(数字),实际{n[2:8]} / "
                           f"characters 3-8 of the credit code must be a numeric region code, got {n[2:8]}")
    if _uscc.calc_check_digit(n[:17]) != n[17]:
        raise InvalidValue(field, "统一社会信用代码校验位错误,请逐位核对 / "
                           "unified social credit code check character is wrong: compare each one")
    return n


def mobile(s: str, *, field: str = "phone") -> str:
    """Check a mainland China mobile number; return its 11-digit national form."""
    # Loaded on first use: its number tables cost every command and hub process a tenth of a second
    # to import, and most never check a phone number.
    import phonenumbers
    from phonenumbers import PhoneNumberType

    n = _compact(s, field, "手机号")
    if not re.fullmatch(r"\+?[0-9]+", n):
        raise InvalidValue(field, "手机号只能包含数字 / mobile number may contain only digits")
    try:
        parsed = phonenumbers.parse(n, "CN")
    except phonenumbers.NumberParseException:
        raise InvalidValue(field, "不是电话号码 / not a phone number") from None
    if parsed.country_code != 86:
        raise InvalidValue(field, f"只接受中国大陆手机号,这是+{parsed.country_code}的号码 / "
                           f"only mainland China mobile numbers are accepted, this is +{parsed.country_code}")
    national = str(parsed.national_number)
    if phonenumbers.number_type(parsed) == PhoneNumberType.FIXED_LINE:
        raise InvalidValue(field, "这是座机号码,请填写手机号 / this is a landline number: enter a mobile number")
    if len(national) != 11 or national[0] != "1":
        raise InvalidValue(field, f"手机号应为1开头的11位数字,实际{len(national)}位 / "
                           f"mobile number must be 11 digits starting with 1, got {len(national)} digits")
    if not phonenumbers.is_valid_number(parsed) or phonenumbers.number_type(parsed) not in (
            PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE):
        raise InvalidValue(field, f"手机号段{national[:3]}不存在 / {national[:3]} is not a mobile number range")
    return national


def _integer(field: str, value: int | str) -> int:
    if isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).strip().replace(",", "")
        if re.fullmatch(r"-?[0-9]+", text):
            return int(text)
    elif isinstance(value, int) and not isinstance(value, bool):
        return value
    raise InvalidValue(field, f"应为整数,实际为{value!r} / must be a whole number, got {value!r}")


def in_range(field: str, value: int | str, lo: int, hi: int) -> int:
    """A whole number with lo <= value <= hi (an age, a count, a contract length in months)."""
    v = _integer(field, value)
    if not lo <= v <= hi:
        raise InvalidValue(field, f"应在{lo}到{hi}之间,实际为{v} / must be between {lo} and {hi}, got {v}")
    return v


def one_of(field: str, value: str, choices: Iterable[str]) -> str:
    """One of a fixed vocabulary (education, health, region class, ...), surrounding spaces removed."""
    options = tuple(choices)
    v = value.strip() if isinstance(value, str) else value
    if v not in options:
        listed = "、".join(options)
        raise InvalidValue(field, f"应为{listed}之一,实际为{value!r} / must be one of {listed}, got {value!r}")
    return v


def money(field: str, value: int | str, *, hi: int = MONEY_MAX) -> int:
    """Whole yuan, 0 <= value <= hi; a trailing 元 and thousands commas are accepted."""
    if isinstance(value, str):
        value = value.strip().removesuffix("元")
    v = _integer(field, value)
    if v < 0:
        raise InvalidValue(field, f"金额不能为负数,实际为{v} / amount may not be negative, got {v}")
    if v > hi:
        raise InvalidValue(field, f"金额{v}元超过上限{hi}元 / amount {v} yuan is over the limit of {hi} yuan")
    return v


def date_str(field: str, value: str, *, lo: date | None = None, hi: date | None = None) -> date:
    """An ISO date YYYY-MM-DD, optionally within [lo, hi]."""
    text = value.strip() if isinstance(value, str) else ""
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        raise InvalidValue(field, f"日期格式应为YYYY-MM-DD,实际为{value!r} / "
                           f"date must be written YYYY-MM-DD, got {value!r}")
    try:
        d = date.fromisoformat(text)
    except ValueError:
        raise InvalidValue(field, f"{text}不是有效日期 / {text} is not a real date") from None
    if lo is not None and d < lo:
        raise InvalidValue(field, f"日期{d}早于{lo} / date {d} is before {lo}")
    if hi is not None and d > hi:
        raise InvalidValue(field, f"日期{d}晚于{hi} / date {d} is after {hi}")
    return d
