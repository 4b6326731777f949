"""Village labor brokers (乡村劳务经纪人): the filing workflow, eligibility and the two-year review.

Rules from 川人社规〔2023〕17号 (seeds/000):

* Eligibility at application: Sichuan household registration (四川省户籍) and aged 18 to 65
  inclusive on the application date, the age counted from the ID number. The registration place
  (`hukou`, a division code) decides; when it is not given, the ID number's region code stands in
  for it. An ID number only says where it was first issued: someone born in Chongqing whose hukou
  moved to Sichuan is eligible, someone born in Sichuan whose hukou moved away is not.
* Filing: apply → the village of residence recommends → the county migrant-worker service centre
  reviews (初审) → online training and exam → e-certificate → public notice (公示) → filed (备案).
  Brokers filed before the notice took effect are entered directly as filed, not retrained.
* Every two years the county reviews filed brokers: fewer than 10 successful transfers a year for
  two consecutive years cancels the filing (`review_verdict`). False job information or subsidy
  fraud cancels it too (a revoke with that reason).

Stage ranks (the merge `Lattice`): applied < recommended < first_reviewed < trained < certified <
noticed < filed < rejected, and revoked absorbs. `rejected` ranks above every stage of the path on
purpose: a refusal (the village will not recommend, the county's review fails, the public notice
draws an objection) is a decision a stale or concurrent advance must never silently undo. If one
replica files a broker while another records an objection to the notice, the objection wins and
staff decide again. A refused person who applies again starts a new application row. `revoked` is
the cancellation of a filing and absorbs everything, including `rejected`.

Broker rows have random ids: two applications by one person are two rows, and `rules.py` reports
them to county staff (one broker filed in two villages) instead of silently merging them.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, ClassVar

from sqlmodel import Field

from conflict.lattice import Lattice
from node.domain import validate
from node.domain.forms import Form
from node.domain.workflow import Workflow
from node.engine.schema import Record, derived_row_id, replicated
from protocol.changeset import Value
from protocol.errors import InvalidValue

PROVINCE = "51"  # Sichuan
MIN_AGE, MAX_AGE = 18, 65
MIN_TRANSFERS = 10  # successful transfers a year below which a year counts against the broker
BACKGROUND = ("村干部", "致富带头人", "乡村能工巧匠", "网格员", "其他")
REVIEW_REASON = ("连续两年组织转移就业成功人数低于10人次/年 / "
                 "fewer than 10 successful transfers a year for two consecutive years")

STAGES = ("applied", "recommended", "first_reviewed", "trained", "certified", "noticed", "filed", "rejected")
STAGE = Lattice(STAGES, absorbing="revoked")
ACTIVE = frozenset(STAGES) - {"rejected"}  # an application or filing still standing
_PATH = STAGES[:6]  # the stages a reviewer may still refuse from

FILING = Workflow(
    name="经纪人备案 / broker filing",
    lattice=STAGE,
    transitions={
        (None, "apply"): "applied",  # the person fills in 附件1
        (None, "enter_filed"): "filed",  # filed before 2023-12-31: entered without retraining
        ("applied", "recommend"): "recommended",  # village (community) of residence
        ("recommended", "first_review"): "first_reviewed",  # county service centre, 初审合格
        ("first_reviewed", "pass_exam"): "trained",  # online training done, exam passed
        ("trained", "certify"): "certified",  # 电子合格证 issued
        ("certified", "notice"): "noticed",  # public notice starts
        ("noticed", "file"): "filed",  # no objection: filed and entered into the platform
        **{(s, "reject"): "rejected" for s in _PATH},  # refused at any step before filing
        ("filed", "revoke"): "revoked",  # review failed, false information, subsidy fraud
    },
    labels={"applied": "已申请", "recommended": "村推荐", "first_reviewed": "县初审合格",
            "trained": "培训考试合格", "certified": "已发电子合格证", "noticed": "公示中",
            "filed": "已备案", "rejected": "未通过", "revoked": "已取消备案"},
    dates={"apply": "applied_on", "enter_filed": "filed_on", "recommend": "recommended_on",
           "first_review": "reviewed_on", "pass_exam": "exam_passed_on", "certify": "certified_on",
           "notice": "noticed_on", "file": "filed_on", "reject": "rejected_on", "revoke": "revoked_on"},
)
REASONS = {"reject": ("rejected_reason", True), "revoke": ("revoked_reason", True)}  # event → (field, required)

KEEP, CANCEL, NOT_DUE = "保留备案", "取消备案", "未到复核期"


@replicated
class Broker(Record, table=True):
    """One application, and once filed, one filing. `scope` is the village the broker serves."""

    __tablename__ = "broker"
    __merge__: ClassVar[dict[str, str | Lattice]] = {
        **dict.fromkeys(("id_number", "name", "sex", "birth_date", "phone", "hukou", "background",
                         "person", "certificate_no", "rejected_reason", "revoked_reason"), "lww"),
        **dict.fromkeys(FILING.dates.values(), "lww"),
        "stage": STAGE,
    }

    # Required: a row seen only through another feed's edit waits, unlisted, for its application.
    id_number: str = Field(index=True, max_length=18)
    name: str
    sex: str | None = None
    birth_date: str | None = None
    phone: str | None = None
    hukou: str | None = None  # division code of the household registration (户籍地)
    background: str | None = None
    person: str | None = None  # the broker's own Person row, when they have a card here
    stage: str | None = None
    applied_on: str | None = None
    recommended_on: str | None = None
    reviewed_on: str | None = None
    exam_passed_on: str | None = None
    certificate_no: str | None = None  # 电子合格证编号
    certified_on: str | None = None
    noticed_on: str | None = None
    filed_on: str | None = None
    rejected_on: str | None = None
    rejected_reason: str | None = None
    revoked_on: str | None = None
    revoked_reason: str | None = None


@replicated
class BrokerReview(Record, table=True):
    """One year of a broker's record at review: successful transfers and, in a review year, the outcome."""

    __tablename__ = "broker_review"
    __merge__: ClassVar[dict[str, str | Lattice]] = dict.fromkeys(
        ("broker", "year", "transfers", "outcome", "reviewed_on"), "lww")

    broker: str = Field(index=True, max_length=32)
    year: int
    transfers: int | None = None  # 组织转移就业成功人次
    outcome: str | None = None  # KEEP, CANCEL or NOT_DUE
    reviewed_on: str | None = None


def review_row_id(place: str, broker_row: bytes, year: int) -> bytes:
    """One review row per broker and year, whoever enters it: county staff on two machines converge.
    It is owned by the broker's place."""
    return derived_row_id(place, b"broker_review", broker_row, year.to_bytes(2, "big"))


def hukou_code(raw: str, field: str = "hukou") -> str:
    """A division code of the registration place: 12 digits, or 6 (a county) padded with zeros."""
    code = raw.strip() if isinstance(raw, str) else ""
    if code.isascii() and code.isdigit() and len(code) == 6:
        code = code.ljust(12, "0")
    if not (code.isascii() and code.isdigit() and len(code) == 12 and code[:2] != "00"):
        raise InvalidValue(field, f"户籍地应为12位区划代码 / household registration must be a 12-digit "
                           f"division code, got {raw!r}")
    return code


def check_eligible(id_number: str, applied_on: date, hukou: str | None = None, *,
                   check_age: bool = True) -> validate.IdInfo:
    """Sichuan hukou and age 18-65 on `applied_on`; the checked ID number, or InvalidValue."""
    info = validate.id_number(id_number, today=applied_on)
    where, field = (hukou_code(hukou), "hukou") if hukou else (info.region, "id_number")
    if not where.startswith(PROVINCE):
        raise InvalidValue(field, f"须为四川省户籍,户籍地代码{where}不在四川(51) / "
                           f"a broker must have Sichuan household registration; {where} is outside "
                           "Sichuan (51)")
    age = validate.age_on(info, applied_on)
    if check_age and not MIN_AGE <= age <= MAX_AGE:
        raise InvalidValue("id_number", f"申请之日年龄{age}岁,须在{MIN_AGE}至{MAX_AGE}岁之间 / "
                           f"aged {age} on the application date; brokers must be {MIN_AGE} to {MAX_AGE}")
    return info


def clean_application(fields: Mapping[str, Any], *, today: date,
                      already_filed: bool = False) -> dict[str, Value]:
    """An application form (附件1), eligibility included. `already_filed` enters a broker filed
    before 2023-12-31: their age was judged when they were filed, so only the hukou is checked."""
    f = Form(fields)
    day = f.day("applied_on" if not already_filed else "filed_on", hi=today) or today
    raw = f.raw("id_number", need=True)
    hukou = f.raw("hukou")
    info = check_eligible(raw, day, hukou, check_age=not already_filed)
    f.out.update(id_number=info.number, sex=info.sex, birth_date=info.birth.isoformat())
    if hukou is not None:
        f.out["hukou"] = hukou_code(hukou)
    f.text("name", need=True, max_len=30)
    f.mobile("phone", need=True)  # the platform is used by smartphone (川人社规 一(一))
    f.choice("background", BACKGROUND)
    f.row("person")
    f.text("certificate_no", max_len=50)
    out = f.done()
    out["applied_on" if not already_filed else "filed_on"] = day.isoformat()
    return out


def review_verdict(transfers: Mapping[int, int], year: int, filed_on: date | None = None) -> str:
    """The two-year rule, judged at the end of `year`: CANCEL when `year - 1` and `year` both had
    fewer than 10 successful transfers (a year with no record had none), else KEEP; NOT_DUE while
    the broker has not been filed for two whole calendar years by the end of `year` (the part-year
    of filing does not count against anyone)."""
    if filed_on is not None:
        first_whole = filed_on.year + (0 if (filed_on.month, filed_on.day) == (1, 1) else 1)
        if year - 1 < first_whole:
            return NOT_DUE
    low = [y for y in (year - 1, year) if transfers.get(y, 0) < MIN_TRANSFERS]
    return CANCEL if len(low) == 2 else KEEP
