"""Realistic, deterministic test data: the 一人一卡 of one village's workers, and the employers
they work for.

Everything is drawn from the `random.Random` passed in, so a seed (and a `today`: ages are counted
on it) gives the same village every time. Every ID number, phone and credit code passes
node.validate. Proportions follow the seeds: about 15% 脱贫人口 and 3% 防止返贫监测对象 (shared by a
household), 两后生 only for 15-22-year-olds whose schooling stopped at 初中 or 高中, fewer people at
work past 55 or in poor health, more working out of province than in the county, better paid there.

>>> import random
>>> [p["name"] for p in people(random.Random(1), "513434", "民主村", 3, today=date(2024, 6, 1))]
['程莲芳', '程发', '侯玲瑶']
"""
from __future__ import annotations

import random
from datetime import date, timedelta
from typing import NamedTuple, TypedDict

from stdnum.cn import ric
from stdnum.cn import uscc as _uscc

from node.domain import validate
from node.domain.validate import EDUCATION, REGION_CLASS
from protocol.errors import ConfigError, InvalidValue

# The most common surnames, roughly most frequent first; drawn with weights falling along the line.
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
            "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛"
            "郝龚邵万钱严覃武戴莫孔向汤")
_SURNAME_WEIGHTS = [1 / (i + 4) for i in range(len(SURNAMES))]
_GIVEN = {
    "男": "伟刚勇毅俊峰强军平保东文辉力明永健世广志义兴良海山波宁贵福生龙元国胜学祥才发武新利清飞"
          "彬富顺杰涛昌成康光天达安中进林有和博诚先振会群豪乐功松厚庆磊民友江超浩亮政朋斌鹏泽",
    "女": "秀娟英华慧巧美娜静淑惠玉萍红娥玲芬芳燕彩春菊兰凤洁梅琳云莲雪荣霞香月艳佳琼珍莉桂丹蓉"
          "琴倩婷颖露瑶怡丽敏晓欢芸菲",
}
SKILLS = ("电工", "焊工", "厨师", "育婴员", "家政服务", "挖掘机驾驶", "砌筑工", "缝纫工", "快递分拣",
          "保安", "钢筋工", "木工", "中式面点", "养老护理", "汽车驾驶", "电子商务")
# Skills women take up more often than men, and the reverse; the rest are drawn evenly.
_WOMENS_SKILLS = {"育婴员", "家政服务", "缝纫工", "养老护理", "中式面点"}
_MENS_SKILLS = {"电工", "焊工", "挖掘机驾驶", "砌筑工", "钢筋工", "木工", "汽车驾驶"}


class _Trade(NamedTuple):
    industry: str
    company: str  # the end of the company name: 建筑劳务有限公司
    positions: tuple[str, ...]
    skills: frozenset[str]  # skills that lead people to this trade
    low: int  # monthly pay range in the home county, yuan
    high: int


_TRADES = tuple(_Trade(i, c, p, frozenset(s), lo, hi) for i, c, p, s, lo, hi in (
    ("建筑业", "建筑劳务有限公司", ("砌筑工", "钢筋工", "木工", "电工", "焊工", "挖掘机驾驶员", "普工"),
     {"砌筑工", "钢筋工", "木工", "电工", "焊工", "挖掘机驾驶"}, 4000, 8500),
    ("制造业", "电子科技有限公司", ("普工", "操作工", "质检员"), set(), 3200, 6000),
    ("制造业", "服装有限公司", ("缝纫工", "普工"), {"缝纫工"}, 3200, 6000),
    ("住宿和餐饮业", "餐饮管理有限公司", ("厨师", "面点师", "服务员"), {"厨师", "中式面点"}, 3000, 7000),
    ("居民服务业", "家政服务有限公司", ("育婴员", "家政服务员", "养老护理员"),
     {"育婴员", "家政服务", "养老护理"}, 3500, 8000),
    ("交通运输业", "物流有限公司", ("快递分拣员", "快递员", "货车司机"), {"快递分拣", "汽车驾驶"}, 3800, 7500),
    ("租赁和商务服务业", "保安服务有限公司", ("保安",), {"保安"}, 2800, 5000),
    ("批发和零售业", "电子商务有限公司", ("客服", "主播助理", "仓管员"), {"电子商务"}, 3000, 6500),
))
INDUSTRIES = tuple(dict.fromkeys(t.industry for t in _TRADES))
_PAY_FACTOR = {"县内": 0.8, "市内县外": 0.9, "省内市外": 1.05, "省外": 1.25}
_REGION_WEIGHTS = (20, 15, 25, 40)  # 县内, 市内县外, 省内市外, 省外: most go out of province

# Cities with their division codes (for employers' credit codes). The seeds' province is Sichuan.
IN_PROVINCE = {"成都": "510100", "绵阳": "510700", "德阳": "510600", "宜宾": "511500", "眉山": "511400"}
OUT_OF_PROVINCE = {"广州": "440100", "深圳": "440300", "东莞": "441900", "佛山": "440600",
                   "苏州": "320500", "宁波": "330200", "杭州": "330100", "上海": "310100",
                   "厦门": "350200", "重庆": "500100"}
_BRAND_1, _BRAND_2 = "鑫宏华恒泰瑞德兴盛隆天金永嘉新远佳锦中蜀", "达泰兴源昌盛鑫诚和通发利顺安信辉邦建"
_MOBILE_PREFIXES = tuple(f"13{d}" for d in range(10)) + ("150", "151", "152", "153", "155", "156", "157",
    "158", "159", "166", "173", "175", "176", "177", "178") + tuple(f"18{d}" for d in range(10)) + (
    "190", "191", "193", "195", "196", "197", "198", "199")
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


class Person(TypedDict):
    id_number: str
    name: str
    sex: str
    birth_date: str  # ISO; derived from id_number, stored for queries
    phone: str
    education: str
    skills: list[str]
    health: str
    poverty_status: str
    lianghousheng: bool  # 两后生: out of school after 初中 or 高中, not studying further
    household_address: str
    village: str
    employed: bool
    # employment: None unless employed
    work_region_class: str | None
    employer: str | None
    industry: str | None
    position: str | None
    monthly_pay: int | None
    satisfaction: str | None
    # intention (就业意愿): None while employed
    willing_to_migrate: bool | None
    intended_region_class: str | None
    intended_industry: str | None
    expected_pay: int | None


class Employer(TypedDict):
    uscc: str
    name: str
    city: str
    industry: str
    positions: list[str]
    contact_name: str
    contact_phone: str


def people(rng: random.Random, county_code: str, village_name: str, n: int, *,
           county: str = "越西县", township: str = "新民镇", city: str = "西昌",
           today: date | None = None, ages: tuple[int, int] = (16, 65)) -> list[Person]:
    """`n` workers of one village, in households sharing an address and poverty status.

    `county_code` is the 6-digit code their ID numbers start with (a 12-digit division code is cut);
    `city` is the prefecture seat, where 市内县外 employers are.
    """
    code = county_code[:6]
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        raise ConfigError(f"county code must start with 6 digits, got {county_code!r}")
    lo, hi = ages
    if not 0 <= lo <= hi <= 120:
        raise ConfigError(f"age range must be 0 <= lo <= hi <= 120, got {ages}")
    day = today or date.today()
    out: list[Person] = []
    ids: set[str] = set()
    phones: set[str] = set()
    homes: set[tuple[int, int]] = set()
    while len(out) < n:
        home = (rng.randint(1, 9), rng.randint(1, 80 + n // 8))  # always more homes than people
        if home in homes:
            continue
        homes.add(home)
        address = f"{county}{township}{village_name}{home[0]}组{home[1]}号"
        poverty = rng.choices(validate.POVERTY, (82, 15, 3))[0]
        family = rng.choices(SURNAMES, _SURNAME_WEIGHTS)[0]
        for _ in range(min(n - len(out), rng.choices((1, 2, 3, 4), (25, 40, 25, 10))[0])):
            surname = family if rng.random() < 0.7 else rng.choices(SURNAMES, _SURNAME_WEIGHTS)[0]
            out.append(_person(rng, code, village_name, surname, address, poverty,
                               (county, city), day, lo, hi, ids, phones))
    return out


def employers(rng: random.Random, n: int, *, cities: dict[str, str] | None = None) -> list[Employer]:
    """`n` employers in `cities` (name → 6-digit division code), each with a valid GB 32100 code."""
    where = cities or {**IN_PROVINCE, **OUT_OF_PROVINCE}
    out: list[Employer] = []
    names: set[str] = set()
    while len(out) < n:
        place = rng.choice(sorted(where))
        trade = rng.choice(_TRADES)
        name = f"{place}{_brand(rng)}{trade.company}"
        if name in names:
            continue
        names.add(name)
        out.append(Employer(uscc=credit_code(rng, where[place]), name=name, city=place,
                            industry=trade.industry, positions=list(trade.positions),
                            contact_name=_name(rng, rng.choice(("男", "女"))),
                            contact_phone=mobile(rng)))
    return out


def id_number(rng: random.Random, county_code: str, birth: date, sex: str) -> str:
    """A valid 18-digit ID number: sequence code odd for 男, even for 女, GB 11643 check digit."""
    seq = 2 * rng.randrange(500) + 1 if sex == "男" else 2 * rng.randrange(1, 500)
    body = f"{county_code}{birth:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")  # stdnum ignores the last character


def mobile(rng: random.Random) -> str:
    """An 11-digit mainland mobile number in a range that is in use."""
    while True:
        number = rng.choice(_MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        try:
            return validate.mobile(number)
        except InvalidValue:  # pragma: no cover - every listed prefix is valid today
            continue


def credit_code(rng: random.Random, region: str) -> str:
    """A company's unified social credit code: 9 (market regulator), 1 (enterprise), region, a
    GB 11714 organisation code "MA…" with its own check character, then the GB 32100 check."""
    body = "MA" + "".join(rng.choice(_USCC_ALPHABET) for _ in range(6))
    total = sum(int(c, 36) * w for c, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2)))
    org = body + {10: "X", 11: "0"}.get(11 - total % 11, str(11 - total % 11))
    code = f"91{region}{org}"
    return code + _uscc.calc_check_digit(code)


def birth_for_age(rng: random.Random, day: date, lo: int, hi: int) -> date:
    """A birth date giving an age from lo to hi (inclusive) on `day`."""
    latest = _years_before(day, lo)
    earliest = _years_before(day, hi + 1) + timedelta(days=1)
    return earliest + timedelta(days=rng.randrange((latest - earliest).days + 1))


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


def _person(rng: random.Random, code: str, village: str, surname: str, address: str, poverty: str,
            towns: tuple[str, str], day: date, lo: int, hi: int,
            ids: set[str], phones: set[str]) -> Person:
    sex = rng.choice(("男", "女"))
    birth = birth_for_age(rng, day, lo, hi)
    number = id_number(rng, code, birth, sex)
    while number in ids:
        number = id_number(rng, code, birth, sex)
    ids.add(number)
    phone = mobile(rng)
    while phone in phones:
        phone = mobile(rng)
    phones.add(phone)
    age = validate.age_on(birth, day)
    education = _education(rng, age)
    health = rng.choices(validate.HEALTH, (88, 8, 2, 2) if age < 45 else (65, 20, 4, 11))[0]
    lianghousheng = 15 <= age <= 22 and education in ("初中", "高中") and rng.random() < 0.7
    skills = _skills(rng, sex, age)
    p = Person(id_number=number, name=_name(rng, sex, surname), sex=sex, birth_date=birth.isoformat(),
               phone=phone, education=education, skills=skills, health=health, poverty_status=poverty,
               lianghousheng=lianghousheng, household_address=address, village=village, employed=False,
               work_region_class=None, employer=None, industry=None, position=None, monthly_pay=None,
               satisfaction=None, willing_to_migrate=None, intended_region_class=None,
               intended_industry=None, expected_pay=None)
    chance = 0.15 if age < 18 else 0.65 if age <= 55 else 0.4 if age <= 60 else 0.15
    if lianghousheng:
        chance = 0.4
    if health in ("残疾", "患病"):
        chance *= 0.4
    if rng.random() < chance:
        _employ(rng, p, skills, towns)
    else:
        p["willing_to_migrate"] = age <= 55 and health != "患病" and rng.random() < 0.6
        if p["willing_to_migrate"]:
            p["intended_region_class"] = rng.choices(REGION_CLASS, _REGION_WEIGHTS)[0]
            p["intended_industry"] = rng.choice(INDUSTRIES)
            p["expected_pay"] = rng.randrange(3000, 8001, 500)
    return p


def _employ(rng: random.Random, p: Person, skills: list[str], towns: tuple[str, str]) -> None:
    fitting = [t for t in _TRADES if t.skills & set(skills)]
    trade = rng.choice(fitting if fitting and rng.random() < 0.7 else _TRADES)
    region = rng.choices(REGION_CLASS, _REGION_WEIGHTS)[0]
    place = (towns[0] if region == "县内" else towns[1] if region == "市内县外"
             else rng.choice(sorted(IN_PROVINCE if region == "省内市外" else OUT_OF_PROVINCE)))
    pay = round(rng.uniform(trade.low, trade.high) * _PAY_FACTOR[region] / 100) * 100
    p["employed"] = True
    p["work_region_class"] = region
    p["employer"] = f"{place}{_brand(rng)}{trade.company}"
    p["industry"] = trade.industry
    p["position"] = rng.choice(trade.positions)
    p["monthly_pay"] = min(12000, max(2000, pay))
    p["satisfaction"] = rng.choices(("满意", "基本满意", "不满意"), (60, 30, 10))[0]


def _education(rng: random.Random, age: int) -> str:
    weights = ((8, 92, 0, 0, 0, 0) if age < 18 else (3, 45, 30, 22, 0, 0) if age < 21
               else (5, 40, 20, 15, 14, 6) if age <= 35 else (20, 52, 15, 7, 5, 1) if age <= 50
               else (55, 35, 8, 2, 0, 0))
    return rng.choices(EDUCATION, weights)[0]


def _skills(rng: random.Random, sex: str, age: int) -> list[str]:
    if age < 18 or rng.random() < 0.35:
        return []
    favoured = _WOMENS_SKILLS if sex == "女" else _MENS_SKILLS
    weights = [4 if s in favoured else 1 for s in SKILLS]
    chosen: list[str] = []
    for _ in range(rng.choices((1, 2, 3), (60, 30, 10))[0]):
        s = rng.choices(SKILLS, weights)[0]
        if s not in chosen:
            chosen.append(s)
    return chosen


def _name(rng: random.Random, sex: str, surname: str | None = None) -> str:
    given = "".join(rng.choice(_GIVEN[sex]) for _ in range(2 if rng.random() < 0.75 else 1))
    return (surname or rng.choices(SURNAMES, _SURNAME_WEIGHTS)[0]) + given


def _brand(rng: random.Random) -> str:
    return rng.choice(_BRAND_1) + rng.choice(_BRAND_2)
