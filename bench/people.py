"""Realistic, deterministic registrations: one village's labourers as the field values a clerk enters.

Small on purpose; the project's data generator will absorb it. Same seed, same people, so byte counts
in `results.json` are reproducible. The county is 昭觉县 (513431, Liangshan), so ID numbers carry a real
area code and most people are Yi or Han.
"""
from __future__ import annotations

import hashlib
import random
from typing import Any, Iterator

from stdnum.cn import ric

COUNTY = "513431"  # 四川省凉山彝族自治州昭觉县
VILLAGE = "513431100201"
ADDRESS = "四川省凉山彝族自治州昭觉县新城镇解放沟村"

_HAN_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何罗高林"
_HAN_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂英华建国志红兰玉德文"
_YI_NAMES = ("吉克", "阿苏", "俄木", "沙马", "吉伍", "阿尔", "勒格", "马海", "海来", "曲比")
_YI_GIVEN = ("阿呷", "拉则", "日火", "木呷", "尔古", "有格", "阿依", "伍各", "么几", "小燕")
_PHONE_PREFIXES = ("138", "139", "135", "136", "150", "151", "152", "158", "159", "182", "187", "188", "199", "177")
_EDUCATION = ("小学", "初中", "初中", "初中", "高中", "中专", "大专")
_SKILLS = ("电焊", "砌筑", "钢筋工", "厨师", "家政服务", "叉车", "电工", "缝纫", "挖掘机", "育婴", "保安", "种植养殖")
_POVERTY = ("脱贫户", "脱贫户", "监测户", "一般户")
_EMPLOYMENT = ("省外务工", "省内务工", "县内务工", "灵活就业", "未就业")
_EMPLOYERS = ("佛山市顺德区美的电器", "宁波舜宇光电", "成都建工集团", "昭觉县扶贫车间", "东莞立讯精密", "")
_REGIONS = ("广东省", "浙江省", "江苏省", "福建省", "四川省内", "凉山州内")
_JOBS = ("电子装配", "建筑施工", "餐饮服务", "家政保洁", "物流仓储", "农业种植")


def id_number(rng: random.Random, male: bool) -> str:
    """An 18-digit resident ID (GB 11643) with a valid check digit; odd sequence digit for men."""
    birth = f"{rng.randint(1966, 2004)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    seq = rng.randrange(1 if male else 0, 1000, 2)
    body = f"{COUNTY}{birth}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


def people(seed: int = 1, count: int = 100) -> Iterator[dict[str, Any]]:
    """Yield `count` people as field → value dicts; `skills` is a list, everything else a scalar."""
    rng = random.Random(seed)
    for i in range(count):
        male = rng.random() < 0.55
        yi = rng.random() < 0.7
        if yi:
            name = rng.choice(_YI_NAMES) + rng.choice(_YI_GIVEN)
        else:
            name = rng.choice(_HAN_SURNAMES) + "".join(rng.choices(_HAN_GIVEN, k=rng.choice((1, 2))))
        employment = rng.choice(_EMPLOYMENT)
        yield {
            "name": name,
            "id_number": id_number(rng, male),
            "gender": "男" if male else "女",
            "ethnicity": "彝族" if yi else "汉族",
            "phone": rng.choice(_PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}",
            "education": rng.choice(_EDUCATION),
            "skills": sorted(rng.sample(_SKILLS, rng.randint(1, 3))),
            "address": f"{ADDRESS}{rng.randint(1, 6)}组{rng.randint(1, 60)}号",
            "poverty_status": rng.choice(_POVERTY),
            "employment_status": employment,
            "employer": "" if employment == "未就业" else rng.choice(_EMPLOYERS),
            "monthly_pay": 0 if employment == "未就业" else rng.randrange(2500, 9000, 100),
            "intention_region": rng.choice(_REGIONS),
            "intention_job": rng.choice(_JOBS),
            "village": VILLAGE,
        }


def row_id(seed: int, i: int) -> bytes:
    """A deterministic 16-byte row id (the replica would use random ones of the same size)."""
    return hashlib.sha256(f"person/{seed}/{i}".encode()).digest()[:16]
