"""`laowu-node broker|job|placement|followup|return ...`: the work that follows a person card.

    broker apply --id-number X --name 李四 --phone 139... [--already-filed --date 2021-03-01]
    broker advance --id-number X --event recommend|first_review|pass_exam|certify|notice|file|reject|revoke
    broker list [--stage filed]
    job post --employer-uscc CODE [--employer-name ...] --title 普工 --positions 20 --region-class 省外
    job list [--all]
    placement add --id-number PERSON --broker-id-number B --employer NAME --start 2026-12-01 ...
    placement advance --id-number PERSON --event sign|start|confirm_stable|end|revoke
    placement list [--id-number PERSON]
    followup add --id-number PERSON --method 电话 --still-employed
    return add --id-number PERSON --reason 节日探亲 --holiday 春节 --need 技能培训   (返乡登记)

A broker is named by ID number, a placement by its person; when a person has several standing
ones, `--row` (shown by the list commands) picks one. Every check is the domain's (`ops`).
"""
from __future__ import annotations

import argparse
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from node.domain import validate
from node.cli.view import day, find_person, given, mask, one, rows, table
from node.domain import broker as brk
from node.domain import employer as emp
from node.domain import ops
from node.domain import placement as plc
from node.domain import returns as ret
from node.domain.workflow import Workflow
from protocol.errors import InvalidValue

if TYPE_CHECKING:
    from node.nodedir import Node
    from node.engine.store import Store

Row = dict[str, Any]
REGIONS = " ".join(validate.REGION_CLASS)
POSTING_DAYS = 30  # a posting's default life: the seeds want current information, not standing ads


def _stage(wf: Workflow, stage: str | None) -> str:
    return f"{wf.labels.get(stage or '', '?')} {stage}"


def _pick(found: list[Row], standing: list[Row], what: str) -> Row:
    if len(standing) == 1:
        return standing[0]
    if len(standing) > 1:
        listed = ", ".join(r["id"] for r in standing)
        raise InvalidValue("row", f"有{len(standing)}条在办的{what},请用 --row 指明 / {len(standing)} standing "
                           f"records: pick one with --row ({listed})")
    if not found:
        raise InvalidValue("id_number", f"本机没有此人的{what} / no {what} record of this person here")
    return found[-1]  # all closed: the workflow says why nothing more can happen


def find_broker(store: Store, id_number: str | None, row: str | None) -> Row:
    if row:
        return one(store, "broker", row, "经纪人")
    if not id_number:
        raise InvalidValue("id_number", "须指明经纪人 / name the broker: --id-number or --row")
    found = sorted(rows(store, "broker", id_number=validate.id_number(id_number).number),
                   key=lambda b: b.get("applied_on") or b.get("filed_on") or "")
    return _pick(found, [b for b in found if b.get("stage") in brk.ACTIVE], "经纪人申请")


def find_placement(store: Store, id_number: str | None, row: str | None) -> Row:
    if row:
        return one(store, "placement", row, "安置")
    if not id_number:
        raise InvalidValue("id_number", "须指明人员 / name the person: --id-number or --row")
    found = sorted(rows(store, "placement", person=find_person(store, id_number)["id"]),
                   key=lambda p: p["start_date"])
    return _pick(found, [p for p in found if p.get("stage") != "revoked"], "安置")


# -- brokers ---------------------------------------------------------------------------------------


def cmd_broker_apply(args: argparse.Namespace, node: Node) -> dict[str, Any]:
    store = node.store()
    when = "filed_on" if args.already_filed else "applied_on"
    fields = given(id_number=args.id_number, name=args.name, phone=args.phone, hukou=args.hukou,
                   background=args.background, certificate_no=args.certificate_no, **{when: args.date})
    try:  # a broker with a card here is linked to it; a bad number is the domain's to refuse
        fields["person"] = find_person(store, args.id_number)["id"]
    except InvalidValue:
        pass
    row = ops.broker_apply(store, fields, scope=args.village, already_filed=args.already_filed)
    b = one(store, "broker", row.hex(), "经纪人")
    return {"经纪人 broker": f"{b['name']} {mask(b['id_number'])}", "阶段 stage": _stage(brk.FILING, b["stage"]),
            "村 village": b["scope"], "编号 row": row.hex()}


def cmd_broker_advance(args: argparse.Namespace, node: Node) -> dict[str, Any]:
    store = node.store()
    b = find_broker(store, args.id_number, args.row)
    stage = ops.broker_advance(store, bytes.fromhex(b["id"]), args.event, on=day(args.date), reason=args.reason,
                               certificate_no=args.certificate_no)
    return {"经纪人 broker": f"{b['name']} {mask(b['id_number'])}", "阶段 stage": _stage(brk.FILING, stage)}


def cmd_broker_list(args: argparse.Namespace, node: Node) -> Any:
    found = [{**b, "id_number": mask(b["id_number"])} for b in rows(node.store(), "broker")
             if args.stage is None or b.get("stage") == args.stage]
    found.sort(key=lambda b: (b["scope"], b["name"]))
    if args.json:
        return found
    shown = [{**b, "stage": _stage(brk.FILING, b.get("stage"))} for b in found]
    return table(shown, {"name": "姓名", "id_number": "身份证号", "phone": "手机", "stage": "阶段",
                         "scope": "村", "filed_on": "备案日期", "id": "编号"})


# -- employers and jobs ----------------------------------------------------------------------------


def cmd_job_post(args: argparse.Namespace, node: Node) -> dict[str, Any]:
    store = node.store()
    uscc = validate.uscc(args.employer_uscc, field="employer_uscc")
    known = rows(store, "employer", uscc=uscc)
    employer = known[0]["id"] if known else emp.employer_row_id(args.scope or store.home, uscc).hex()
    valid_until = args.valid_until or (date.today() + timedelta(days=POSTING_DAYS)).isoformat()
    fields = given(employer=employer, title=args.title, positions=args.positions, pay_low=args.pay_low,
                   pay_high=args.pay_high, region_class=args.region_class, industry=args.industry,
                   gig=args.gig or None, valid_until=valid_until, requirements=args.requirements,
                   contact_phone=args.contact_phone)
    if not known:
        if not args.employer_name:
            raise InvalidValue("employer_name", "此单位本机尚未登记,请填写 --employer-name / this employer is new "
                               "here: give --employer-name")
        emp.clean_posting(fields, today=date.today())  # refuse a bad posting before the employer is written
        ops.register_employer(store, given(uscc=args.employer_uscc, name=args.employer_name,
                                           industry=args.employer_industry, address=args.employer_address,
                                           contact_name=args.employer_contact, contact_phone=args.employer_phone),
                              scope=args.scope)
    row = ops.post_job(store, fields, scope=args.scope)
    name = one(store, "employer", employer, "单位")["name"]
    return {"已发布 posted": f"{name} {args.title} {args.positions}人", "有效期至 valid until": valid_until,
            "编号 row": row.hex()}


def cmd_job_list(args: argparse.Namespace, node: Node) -> Any:
    store = node.store()
    names = {e["id"]: e["name"] for e in rows(store, "employer")}
    found = [{**j, "employer_name": names.get(j.get("employer") or "", "")} for j in rows(store, "job_posting")
             if args.all or emp.is_open(j, date.today())]
    found.sort(key=lambda j: j.get("posted_on") or "", reverse=True)
    if args.json:
        return found
    shown = [{**j, "pay": f"{j.get('pay_low') or ''}-{j.get('pay_high') or ''}"} for j in found]
    return table(shown, {"title": "岗位", "employer_name": "单位", "positions": "人数", "pay": "工资",
                         "region_class": "地域", "gig": "零工", "valid_until": "有效期至", "id": "编号"})


# -- placements, follow-ups, returns ---------------------------------------------------------------


def cmd_placement_add(args: argparse.Namespace, node: Node) -> dict[str, Any]:
    store = node.store()
    person = find_person(store, args.id_number)
    broker = find_broker(store, args.broker_id_number, args.broker_row) if (
        args.broker_id_number or args.broker_row) else None
    employer, employer_name = None, args.employer
    if args.employer_uscc:
        known = rows(store, "employer", uscc=validate.uscc(args.employer_uscc))
        if not known:
            raise InvalidValue("employer_uscc", "本机没有这个单位,请先登记 / no such employer here: register it first")
        employer = known[0]
        employer_name = employer_name or employer["name"]
    fields = given(person=person["id"], broker=broker["id"] if broker else None,
                   employer=employer["id"] if employer else None, employer_name=employer_name,
                   position=args.position, start_date=args.start, contract_months=args.contract_months,
                   social_insurance=args.social_insurance, region_class=args.region_class,
                   monthly_pay=args.monthly_pay, fare_yuan=args.fare_yuan, fare_receipt=args.fare_receipt)
    row = ops.add_placement(store, fields, event=args.stage, on=day(args.date))
    p = one(store, "placement", row.hex(), "安置")
    return {"已安置 placed": f"{person['name']} {mask(person['id_number'])} → {p['employer_name']}",
            "阶段 stage": _stage(plc.STAGES, p["stage"]), "编号 row": row.hex()}


def cmd_placement_advance(args: argparse.Namespace, node: Node) -> dict[str, Any]:
    store = node.store()
    p = find_placement(store, args.id_number, args.row)
    stage = ops.placement_advance(store, bytes.fromhex(p["id"]), args.event, on=day(args.date), reason=args.reason)
    return {"安置 placement": f"{p['employer_name']} {p['start_date']}", "阶段 stage": _stage(plc.STAGES, stage)}


def cmd_placement_list(args: argparse.Namespace, node: Node) -> Any:
    store = node.store()
    people = {p["id"]: p for p in rows(store, "person")}
    found = rows(store, "placement", **({"person": find_person(store, args.id_number)["id"]} if args.id_number else {}))
    found.sort(key=lambda p: p["start_date"])
    if args.json:
        return found
    shown = [{**p, "who": f"{people[p['person']]['name']} {mask(people[p['person']]['id_number'])}"
              if p["person"] in people else p["person"][:8], "stage": _stage(plc.STAGES, p.get("stage"))}
             for p in found]
    return table(shown, {"who": "人员", "employer_name": "单位", "position": "岗位", "start_date": "开始",
                         "contract_months": "合同月数", "social_insurance": "社保", "stage": "阶段", "id": "编号"})


def cmd_followup_add(args: argparse.Namespace, node: Node) -> dict[str, Any]:
    store = node.store()
    p = find_placement(store, args.id_number, args.row)
    row = ops.add_followup(store, given(placement=p["id"], visited_on=args.date, method=args.method,
                                        still_employed=args.still_employed, monthly_pay=args.monthly_pay,
                                        satisfaction=args.satisfaction, issues=args.issue, note=args.note))
    return {"已回访 followed up": f"{p['employer_name']} {p['start_date']}", "编号 row": row.hex()}


def cmd_return_add(args: argparse.Namespace, node: Node) -> dict[str, Any]:
    store = node.store()
    person = find_person(store, args.id_number)
    row = ops.add_return(store, given(person=person["id"], returned_on=args.date, reason=args.reason,
                                      holiday=args.holiday, going_out_again=args.going_out_again,
                                      leaving_on=args.leaving_on, needs=args.need, note=args.note))
    return {"返乡登记 return registered": f"{person['name']} {mask(person['id_number'])}", "编号 row": row.hex()}


# -- the parsers -----------------------------------------------------------------------------------


def _group(sub: Any, name: str, help: str) -> Any:
    return sub.add_parser(name, help=help).add_subparsers(dest="action", required=True)


def add_commands(sub: Any, add: Any) -> None:
    bsub = _group(sub, "broker", "劳务经纪人 brokers: apply, advance, list")
    sp = add("apply", cmd_broker_apply, "经纪人申请 a broker's application (附件1)", bsub)
    sp.add_argument("--id-number", required=True)
    sp.add_argument("--name", required=True)
    sp.add_argument("--phone", required=True)
    sp.add_argument("--hukou", help="household registration division code (default: from the ID number)")
    sp.add_argument("--background", help=" ".join(brk.BACKGROUND))
    sp.add_argument("--certificate-no")
    sp.add_argument("--date", help="application date (with --already-filed: the filing date), YYYY-MM-DD")
    sp.add_argument("--already-filed", action="store_true", help="filed before 2023-12-31: entered as filed")
    sp.add_argument("--village", help="the village's code (default: this node's place)")
    sp = add("advance", cmd_broker_advance, "备案下一步 one step of the filing workflow", bsub)
    sp.add_argument("--id-number")
    sp.add_argument("--row", help="the application's row id, when one person has several")
    sp.add_argument("--event", required=True, help=" ".join(brk.FILING.events))
    sp.add_argument("--reason", help="required to reject or revoke")
    sp.add_argument("--certificate-no", help="required to certify")
    sp.add_argument("--date", help="YYYY-MM-DD (default today)")
    sp = add("list", cmd_broker_list, "经纪人名单 list brokers", bsub)
    sp.add_argument("--stage", help=" ".join(brk.FILING.labels))

    jsub = _group(sub, "job", "用工信息 job postings: post, list")
    sp = add("post", cmd_job_post, "发布用工信息 post a job", jsub)
    sp.add_argument("--employer-uscc", required=True, help="the employer's unified social credit code")
    sp.add_argument("--employer-name", help="needed when the employer is new here")
    sp.add_argument("--employer-industry")
    sp.add_argument("--employer-address")
    sp.add_argument("--employer-contact")
    sp.add_argument("--employer-phone")
    sp.add_argument("--title", required=True)
    sp.add_argument("--positions", required=True, help="how many people")
    sp.add_argument("--pay-low", help="yuan a month (a day for gig work)")
    sp.add_argument("--pay-high")
    sp.add_argument("--region-class", required=True, help=REGIONS)
    sp.add_argument("--industry")
    sp.add_argument("--gig", action="store_true", help="零工: short, local work")
    sp.add_argument("--valid-until", help=f"YYYY-MM-DD (default: {POSTING_DAYS} days from today)")
    sp.add_argument("--requirements")
    sp.add_argument("--contact-phone")
    sp.add_argument("--scope", help="where it is posted (default: this node's place; a county reaches its villages)")
    sp = add("list", cmd_job_list, "用工信息 list open postings", jsub)
    sp.add_argument("--all", action="store_true", help="closed and expired ones too")

    lsub = _group(sub, "placement", "转移就业 placements: add, advance, list")
    sp = add("add", cmd_placement_add, "登记转移就业 place a person in a job", lsub)
    sp.add_argument("--id-number", required=True, help="the person's ID number")
    sp.add_argument("--broker-id-number", help="the filed broker who organized it")
    sp.add_argument("--broker-row", help="the broker's row id, when one person has several applications")
    sp.add_argument("--employer", help="employer name (default: the registered employer's)")
    sp.add_argument("--employer-uscc", help="link a registered employer")
    sp.add_argument("--position")
    sp.add_argument("--start", required=True, help="contract start, YYYY-MM-DD")
    sp.add_argument("--contract-months")
    sp.add_argument("--social-insurance", action=argparse.BooleanOptionalAction)
    sp.add_argument("--region-class", help=REGIONS)
    sp.add_argument("--monthly-pay")
    sp.add_argument("--fare-yuan", help="the fare on the travel receipt, yuan (transport subsidy)")
    sp.add_argument("--fare-receipt", help="the travel receipt's number")
    sp.add_argument("--stage", default="plan", choices=("plan", "sign", "start"), help="where it stands (default plan)")
    sp.add_argument("--date", help="the day of that stage, YYYY-MM-DD (default today)")
    sp = add("advance", cmd_placement_advance, "安置下一步 sign, start, confirm_stable, end, revoke", lsub)
    sp.add_argument("--id-number")
    sp.add_argument("--row", help="the placement's row id, when the person has several")
    sp.add_argument("--event", required=True, help=" ".join(plc.STAGES.events))
    sp.add_argument("--reason", help="why it ended (optional) or was revoked (required)")
    sp.add_argument("--date", help="YYYY-MM-DD (default today)")
    sp = add("list", cmd_placement_list, "安置名单 list placements", lsub)
    sp.add_argument("--id-number")

    fsub = _group(sub, "followup", "跟踪服务 follow-up visits")
    sp = add("add", cmd_followup_add, "登记回访 record a follow-up visit", fsub)
    sp.add_argument("--id-number", help="the person placed")
    sp.add_argument("--row", help="the placement's row id, when the person has several")
    sp.add_argument("--method", required=True, help=" ".join(plc.METHODS))
    sp.add_argument("--still-employed", action=argparse.BooleanOptionalAction, required=True)
    sp.add_argument("--monthly-pay")
    sp.add_argument("--satisfaction", help=" ".join(plc.SATISFACTION))
    sp.add_argument("--issue", action="append", help=" ".join(plc.ISSUES) + "; repeatable")
    sp.add_argument("--note")
    sp.add_argument("--date", help="the visit, YYYY-MM-DD (default today)")

    rsub = _group(sub, "return", "返乡登记 return-home registration")
    sp = add("add", cmd_return_add, "返乡登记 register a worker back home", rsub)
    sp.add_argument("--id-number", required=True)
    sp.add_argument("--reason", required=True, help=" ".join(ret.REASONS))
    sp.add_argument("--holiday", help=" ".join(ret.HOLIDAYS))
    sp.add_argument("--going-out-again", action=argparse.BooleanOptionalAction)
    sp.add_argument("--leaving-on", help="YYYY-MM-DD")
    sp.add_argument("--need", action="append", help=" ".join(ret.NEEDS) + "; repeatable")
    sp.add_argument("--note")
    sp.add_argument("--date", help="the day of return, YYYY-MM-DD (default today)")
