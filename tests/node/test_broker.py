"""Specs of the broker filing (node/domain/broker.py, 川人社规〔2023〕17号): eligibility, the one
transition table, how stages merge, and the two-year review. One behaviour per test.
"""
from __future__ import annotations

from datetime import date
from itertools import product

import pytest
from domainkit import TODAY, filed_broker, ident
from storekit import VILLAGE

from conflict.lattice import Lattice
from conflict.types import Incoming
from node.domain import broker, ops
from node.domain.broker import CANCEL, FILING, KEEP, NOT_DUE, STAGE, check_eligible, review_verdict
from node.domain.workflow import Workflow
from node.engine.store import Store
from protocol.errors import InvalidValue

BORN = date(1990, 3, 7)
PATH = ["apply", "recommend", "first_review", "pass_exam", "certify", "notice", "file"]
STAGES = [None, *broker.STAGES, "revoked"]


def application(**more: object) -> dict[str, object]:
    return {"id_number": ident(BORN), "name": "李秀英", "phone": "13912345678", "applied_on": "2024-05-01", **more}


def advance(store: Store, row: bytes, *events: str) -> str:
    stage = ""
    for e in events:
        stage = ops.broker_advance(store, row, e, on=TODAY, reason="材料不实" if e in ("reject", "revoke") else None,
                                   certificate_no="SC2024-0001" if e == "certify" else None)
    return stage


def refusal(fn: object, *args: object, **kw: object) -> InvalidValue:
    with pytest.raises(InvalidValue) as info:
        fn(*args, **kw)  # type: ignore[operator]
    return info.value


# -- eligibility -------------------------------------------------------------------------------------


def test_a_sichuan_id_number_without_hukou_is_eligible() -> None:
    assert check_eligible(ident(BORN), date(2024, 5, 1)).number == ident(BORN)


def test_a_hukou_outside_sichuan_is_refused() -> None:
    err = refusal(check_eligible, ident(BORN), date(2024, 5, 1), "500101000000")
    assert err.field == "hukou" and "四川" in err.message and "Sichuan" in err.message


def test_an_id_number_from_outside_sichuan_without_hukou_is_refused() -> None:
    err = refusal(check_eligible, ident(BORN, region="500101"), date(2024, 5, 1))
    assert err.field == "id_number" and "Sichuan" in err.message


def test_the_hukou_decides_over_the_id_numbers_region() -> None:
    """Born in Chongqing, registered in Sichuan now: eligible."""
    assert check_eligible(ident(BORN, region="500101"), date(2024, 5, 1), "513225103201")


def test_a_six_digit_hukou_is_read_as_a_county() -> None:
    assert broker.hukou_code("513225") == "513225000000"


def test_age_17_on_the_application_date_is_refused() -> None:
    err = refusal(check_eligible, ident(date(2006, 5, 2)), date(2024, 5, 1))  # 18 tomorrow
    assert "17" in err.message and "18" in err.message


def test_age_18_on_the_18th_birthday_is_accepted() -> None:
    assert check_eligible(ident(date(2006, 5, 1)), date(2024, 5, 1))


def test_age_65_on_the_day_before_the_66th_birthday_is_accepted() -> None:
    assert check_eligible(ident(date(1958, 5, 2)), date(2024, 5, 1))


def test_age_66_is_refused() -> None:
    err = refusal(check_eligible, ident(date(1958, 5, 1)), date(2024, 5, 1))
    assert "66" in err.message and "65" in err.message


def test_an_application_with_a_bad_check_digit_is_refused(village: Store) -> None:
    bad = ident(BORN)[:-1] + ("0" if ident(BORN)[-1] != "0" else "1")
    assert refusal(ops.broker_apply, village, application(id_number=bad), today=TODAY).field == "id_number"


def test_an_application_is_written_as_applied_with_derived_sex_and_birth(village: Store) -> None:
    row = ops.broker_apply(village, application(), today=TODAY)
    b = ops.get(village, "broker", row)
    assert b is not None
    assert (b["stage"], b["applied_on"], b["sex"], b["birth_date"], b["scope"]) == (
        "applied", "2024-05-01", "男", "1990-03-07", VILLAGE)


def test_a_broker_belongs_to_a_village_not_a_county(county: Store) -> None:
    assert refusal(ops.broker_apply, county, application(), today=TODAY).field == "scope"


def test_a_brokers_stage_cannot_be_edited_directly(village: Store) -> None:
    row = ops.broker_apply(village, application(), today=TODAY)
    assert refusal(ops.edit_broker, village, row, {"stage": "filed"}).field == "stage"


def test_a_broker_filed_before_the_notice_is_entered_as_filed(village: Store) -> None:
    b = ops.get(village, "broker", filed_broker(village))
    assert b is not None and (b["stage"], b["filed_on"]) == ("filed", "2021-03-01")


# -- the transition table ----------------------------------------------------------------------------


@pytest.mark.parametrize(("stage", "event"), sorted(FILING.transitions, key=str))
def test_every_transition_in_the_table_is_allowed(stage: str | None, event: str) -> None:
    assert FILING.next(stage, event) == FILING.transitions[(stage, event)]


@pytest.mark.parametrize(("stage", "event"), [
    (s, e) for s, e in product(STAGES, FILING.events) if (s, e) not in FILING.transitions])
def test_every_transition_not_in_the_table_is_refused(stage: str | None, event: str) -> None:
    err = refusal(FILING.next, stage, event)
    assert err.field == "stage" and "cannot" in err.message


def test_an_unknown_event_is_refused_naming_the_events() -> None:
    assert "recommend" in refusal(FILING.next, "applied", "approve").message


def test_the_whole_path_files_a_broker(village: Store) -> None:
    row = ops.broker_apply(village, application(), today=TODAY)
    assert advance(village, row, *PATH[1:]) == "filed"
    b = ops.get(village, "broker", row)
    assert b is not None and (b["certificate_no"], b["filed_on"]) == ("SC2024-0001", TODAY.isoformat())


def test_skipping_a_step_is_refused_and_changes_nothing(village: Store) -> None:
    row = ops.broker_apply(village, application(), today=TODAY)
    err = refusal(ops.broker_advance, village, row, "file", on=TODAY)
    assert "已申请" in err.message and "allowed: recommend, reject" in err.message
    assert ops.get(village, "broker", row)["stage"] == "applied"  # type: ignore[index]


def test_a_rejection_needs_a_reason(village: Store) -> None:
    row = ops.broker_apply(village, application(), today=TODAY)
    assert refusal(ops.broker_advance, village, row, "reject", on=TODAY).field == "reason"


def test_a_rejection_records_its_reason(village: Store) -> None:
    row = ops.broker_apply(village, application(), today=TODAY)
    advance(village, row, "recommend", "reject")
    b = ops.get(village, "broker", row)
    assert b is not None and (b["stage"], b["rejected_reason"]) == ("rejected", "材料不实")


def test_a_rejected_application_is_final(village: Store) -> None:
    row = ops.broker_apply(village, application(), today=TODAY)
    advance(village, row, "reject")
    assert "final" in refusal(ops.broker_advance, village, row, "recommend", on=TODAY).message


def test_only_a_filed_broker_can_be_revoked(village: Store) -> None:
    row = ops.broker_apply(village, application(), today=TODAY)
    refusal(ops.broker_advance, village, row, "revoke", on=TODAY, reason="虚假用工信息")
    assert advance(village, filed_broker(village), "revoke") == "revoked"


def test_certifying_needs_the_certificate_number(village: Store) -> None:
    row = ops.broker_apply(village, application(), today=TODAY)
    advance(village, row, "recommend", "first_review", "pass_exam")
    assert refusal(ops.broker_advance, village, row, "certify", on=TODAY).field == "certificate_no"


@pytest.mark.parametrize("wf", [FILING, ops.plc.STAGES, ops.odr.STAGES], ids=lambda w: w.name)
def test_no_transition_lowers_the_stage_rank(wf: Workflow) -> None:
    for (stage, _), nxt in wf.transitions.items():
        assert stage is None or wf.lattice.rank(nxt) >= wf.lattice.rank(stage)


def test_a_workflow_that_would_lower_a_rank_cannot_be_built() -> None:
    with pytest.raises(ValueError, match="lower the rank"):
        Workflow("t", Lattice(("a", "b")), {("b", "undo"): "a"}, {}, {"undo": "undone_on"})


# -- merging stages ----------------------------------------------------------------------------------


def merged(*values: str) -> object:
    state = None
    for i, v in enumerate(values):
        state = STAGE.merge(state, Incoming(v, 1000 - i, bytes([i])))  # later in the list = older stamp
    assert state is not None
    return STAGE.value(state)


def test_a_concurrent_rejection_beats_filing() -> None:
    assert merged("filed", "rejected") == merged("rejected", "filed") == "rejected"


def test_revoked_absorbs_every_stage() -> None:
    assert merged("revoked", "rejected", "filed") == merged("filed", "revoked") == "revoked"


def test_a_stale_earlier_stage_never_undoes_a_later_one() -> None:
    assert merged("recommended", "noticed") == "noticed"


# -- the two-year review -----------------------------------------------------------------------------


def test_two_consecutive_years_under_10_cancel_the_filing() -> None:
    assert review_verdict({2022: 9, 2023: 3}, 2023) == CANCEL


def test_one_year_under_10_keeps_the_filing() -> None:
    assert review_verdict({2022: 9, 2023: 10}, 2023) == KEEP


def test_a_year_without_a_record_counts_as_none_transferred() -> None:
    assert review_verdict({2023: 4}, 2023) == CANCEL


def test_the_part_year_of_filing_is_not_judged() -> None:
    assert review_verdict({}, 2023, filed_on=date(2022, 6, 1)) == NOT_DUE
    assert review_verdict({}, 2024, filed_on=date(2022, 6, 1)) == CANCEL


def test_a_failed_review_revokes_the_filing_with_the_reason(village: Store) -> None:
    row = filed_broker(village)
    assert ops.broker_review(village, row, 2022, 12, on=TODAY) == NOT_DUE  # filed 2021-03
    assert ops.broker_review(village, row, 2023, 9, on=TODAY) == KEEP
    assert ops.broker_review(village, row, 2024, 2, on=TODAY) == CANCEL
    b = ops.get(village, "broker", row)
    assert b is not None and (b["stage"], b["revoked_reason"]) == ("revoked", broker.REVIEW_REASON)


def test_a_review_row_per_broker_and_year_converges(village: Store) -> None:
    row = filed_broker(village)
    ops.broker_review(village, row, 2022, 12, on=TODAY)
    ops.broker_review(village, row, 2022, 14, on=TODAY)  # corrected: same row, not a second one
    rows = [k for k in village.values("broker_review")]
    assert rows == [("broker_review", broker.review_row_id(VILLAGE, row, 2022))]
