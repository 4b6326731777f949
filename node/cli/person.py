"""`laowu-node person ...`: the person card (一人一卡) at the village station.

    person add --id-number X --name 张三 [--phone --education --skill 电工 ... --set field=value]
    person edit --id-number X --set phone=13990001111 [--add-skill 焊工] [--remove-skill 电工]
    person show --id-number X [--full]      masked; --full shows all and is written to the audit log
    person list [--village CODE] [--employed | --unemployed | --willing]
    person import --csv FILE                one card a row; refused rows are listed, the rest kept
    person erase --id-number X --reason R   delete the card here and ask the county to erase it everywhere
    person transfer --id-number X --to VILLAGE [--reason 婚嫁]
                                            a township/county node moves the person at once; a village
                                            files a request the county approves (`laowu-hub transfer`)

Lists and plain views mask the ID number, birth date, health and income (`node.domain.privacy`).
"""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from node.domain import validate
from node.cli.view import PERSON_LABELS, card, find_person, given, mask, rows, settings, table
from node.domain import identity, ops, transfers
from node.domain.person import EMPLOYMENT, Person
from node.domain.privacy import mask_person, show_person
from protocol import scope as scopes
from protocol.errors import InvalidValue

if TYPE_CHECKING:
    from node.nodedir import Node

EMPLOYED = EMPLOYMENT[1:]  # 已就业, 灵活就业, 自主创业
LIST_COLUMNS = {"id_number": "身份证号", "name": "姓名", "sex": "性别", "birth_date": "出生", "phone": "手机",
                "education": "学历", "employment": "就业", "skills": "技能"}


def _form(args: argparse.Namespace) -> dict[str, Any]:
    return {**given(id_number=args.id_number, name=args.name, phone=args.phone, education=args.education,
                    health=args.health, household_address=args.address, poverty_status=args.poverty,
                    employment=args.employment, region_class=args.region_class, employer=args.employer,
                    position=args.position, monthly_pay=args.monthly_pay, skills=args.skill,
                    certificates=args.certificate, two_after=args.two_after or None,
                    willing_to_migrate=args.willing or None),
            **settings(Person, args.set)}


def _who(p: dict[str, Any]) -> str:
    return f"{p.get('name')} {mask(p.get('id_number'))}"


def cmd_add(args: argparse.Namespace, node: Node) -> dict[str, Any]:
    store = node.store()
    row = ops.register_person(store, _form(args), scope=args.village)
    p = find_person(store, args.id_number)
    return {"已登记 registered": _who(p), "村 village": p["scope"], "编号 row": row.hex()}


def cmd_edit(args: argparse.Namespace, node: Node) -> dict[str, Any]:
    store = node.store()
    cur = find_person(store, args.id_number)
    fields = settings(Person, args.set)
    if args.add_skill:
        fields["skills"] = [*fields.get("skills", []), *args.add_skill]
    for skill in args.remove_skill or ():  # checked before anything is written
        if skill not in (cur.get("skills") or []):
            raise InvalidValue("skills", f"此卡没有“{skill}”这项技能 / this card has no skill {skill!r}")
    if not fields and not args.remove_skill:
        raise InvalidValue("set", "没有要修改的内容 / nothing to change: give --set, --add-skill or --remove-skill")
    row = bytes.fromhex(cur["id"])
    if fields:
        ops.edit_person(store, row, fields)
    for skill in args.remove_skill or ():
        ops.remove_skill(store, row, skill)
    changed = [*fields, *(["skills"] if args.remove_skill and "skills" not in fields else [])]
    return {"已修改 edited": _who(rows(store, "person", id=cur["id"])[0]), "字段 fields": ", ".join(changed)}


def cmd_show(args: argparse.Namespace, node: Node) -> dict[str, Any]:
    store = node.store()
    cur = find_person(store, args.id_number)
    actor = node.config().get("operator") or f"node {store.key.short if store.key else '?'}"
    shown = show_person(store, bytes.fromhex(cur["id"]), actor, full=args.full)
    assert shown is not None  # found just above
    if args.json:
        return shown
    note = {"审计 audit": f"完整查看已记入审计日志 / full view logged for {actor}"} if args.full else {}
    return {**card(shown, PERSON_LABELS), **note}


def cmd_list(args: argparse.Namespace, node: Node) -> Any:
    found = [p for p in rows(node.store(), "person") if args.closed or not p.get("closed_on")]
    if args.village:
        scopes.check_code(args.village, "village")
        found = [p for p in found if scopes.contains(args.village, p["scope"])]
    if args.employed:
        found = [p for p in found if p.get("employment") in EMPLOYED]
    if args.unemployed:
        found = [p for p in found if p.get("employment") == "未就业"]
    if args.willing:
        found = [p for p in found if p.get("willing_to_migrate") is True]
    people = [mask_person(p) for p in sorted(found, key=lambda p: (p["scope"], p.get("household_address") or "",
                                                                    p["name"]))]
    if args.json:
        return people
    return [*table(people, LIST_COLUMNS), f"共 {len(people)} 人 / {len(people)} people"]


def cmd_transfer(args: argparse.Namespace, node: Node) -> dict[str, Any]:
    """Move a person to village `--to`: directly where this node's key covers both villages, else a
    request filed here for the county."""
    store = node.store()
    mine = store.trust.certs.get(store.author)
    here = [p for p in rows(store, "person", id_number=validate.id_number(args.id_number).number)
            if not p.get("closed_on")]
    if here and mine is not None and mine.may_write(here[0]["scope"]) and mine.may_write(args.to) \
            and scopes.level(store.home) != "village":
        new = identity.transfer(store, bytes.fromhex(here[0]["id"]), args.to)
        return {"已迁移 transferred": _who(here[0]), "迁入 to": args.to, "新卡 new card": new.hex(),
                "下一步 next": "同步后两村可见 / both villages see it after their next sync"}
    fields = ({"person": here[0]["id"]} if here else {"id_number": args.id_number})
    row = transfers.request(store, {**fields, "to_place": args.to, "reason": args.reason})
    return {"已申请 requested": f"{mask(args.id_number)} → {args.to}", "申请编号 request": row.hex(),
            "下一步 next": "同步后由县级审批 / the county approves it after your next sync"}


def cmd_import(args: argparse.Namespace, node: Node) -> dict[str, Any]:
    """CSV or .xlsx, Chinese or English headers, UTF-8/GBK/GB18030 (`node.domain.importing`, shared with the desk)."""
    from node.domain import importing  # with its encoding detector: for this command only, not every start-up

    table = importing.read_file(args.csv)
    store = node.store()
    pv = importing.preview(store, table)
    refused = pv.bad
    imported = 0
    if not args.preview:
        imported, late = importing.commit(store, pv, scope=args.village)
        refused = sorted([*refused, *late], key=lambda r: r.line)
    out: dict[str, Any] = {"导入 imported": imported, "拒绝 refused": len(refused), "编码 encoding": table.encoding}
    if args.preview:
        out["可导入 would import"] = len(pv.good)
    if table.unknown:
        out["未用的列 ignored columns"] = "、".join(table.unknown)
    if refused:
        listed = [{"行 line": r.line, "字段 field": r.field, "原因 reason": f"{r.field}: {r.error}"} for r in refused]
        out["拒绝的行 refused rows"] = listed if args.json else "".join(
            f"\n  第{r.line}行 line {r.line}: {r.field}: {r.error}" for r in refused)
    return out


def cmd_erase(args: argparse.Namespace, node: Node) -> dict[str, Any]:
    from node.domain import erase

    store = node.store()
    cur = find_person(store, args.id_number)
    req = erase.request(store, bytes.fromhex(cur["id"]), args.reason, actor=args.operator or "")
    # Nothing personal is printed: the output may end up in a log.
    return {"已删除 deleted": f"{len(req.rows)} 条记录 records", "申请 request": req.row.hex(),
            "下一步 next": "同步后县里会从所有副本清除 / sync: the county then erases it from every replica"}


def add_commands(sub: Any, add: Any) -> None:
    people = sub.add_parser("person", help="人员 一人一卡: add, edit, show, list, import, transfer")
    psub = people.add_subparsers(dest="action", required=True)

    sp = add("add", cmd_add, "登记一人 register a person", psub)
    sp.add_argument("--id-number", required=True, help="18-digit resident ID number")
    sp.add_argument("--name", required=True)
    sp.add_argument("--phone")
    sp.add_argument("--education", help=" ".join(validate.EDUCATION))
    sp.add_argument("--health", help=" ".join(validate.HEALTH))
    sp.add_argument("--address", help="household address")
    sp.add_argument("--poverty", help=" ".join(validate.POVERTY))
    sp.add_argument("--two-after", action="store_true", help="两后生")
    sp.add_argument("--employment", help=" ".join(EMPLOYMENT))
    sp.add_argument("--region-class", help=" ".join(validate.REGION_CLASS))
    sp.add_argument("--employer")
    sp.add_argument("--position")
    sp.add_argument("--monthly-pay", help="yuan a month")
    sp.add_argument("--willing", action="store_true", help="willing to go out to work")
    sp.add_argument("--skill", action="append", help="repeatable")
    sp.add_argument("--certificate", action="append", help="repeatable")
    sp.add_argument("--set", action="append", metavar="FIELD=VALUE", help="any other card field; repeatable")
    sp.add_argument("--village", help="the village's code (default: this node's place)")

    sp = add("edit", cmd_edit, "修改卡片 edit a card", psub)
    sp.add_argument("--id-number", required=True)
    sp.add_argument("--set", action="append", metavar="FIELD=VALUE", help="repeatable, e.g. phone=13990001111")
    sp.add_argument("--add-skill", action="append", help="repeatable")
    sp.add_argument("--remove-skill", action="append", help="repeatable")

    sp = add("show", cmd_show, "查看卡片 show a card (masked)", psub)
    sp.add_argument("--id-number", required=True)
    sp.add_argument("--full", action="store_true", help="unmasked; written to the audit log")

    sp = add("list", cmd_list, "人员名单 list people (masked)", psub)
    sp.add_argument("--village", help="a village (or township) code")
    which = sp.add_mutually_exclusive_group()
    which.add_argument("--employed", action="store_true", help="已就业, 灵活就业 or 自主创业")
    which.add_argument("--unemployed", action="store_true", help="未就业")
    which.add_argument("--willing", action="store_true", help="willing to go out to work")
    sp.add_argument("--closed", action="store_true", help="closed cards too (transferred, duplicate, merged)")

    sp = add("transfer", cmd_transfer, "迁移 move a person to another village (or ask the county to)", psub)
    sp.add_argument("--id-number", required=True)
    sp.add_argument("--to", required=True, help="the village's 12-digit code")
    sp.add_argument("--reason", help="e.g. 婚嫁, 搬迁")

    sp = add("erase", cmd_erase, "删除个人信息 delete a card and ask the county to erase it (PIPL)", psub)
    sp.add_argument("--id-number", required=True)
    sp.add_argument("--reason", required=True, help="e.g. 本人申请删除")
    sp.add_argument("--operator", help="who asked, for the audit")

    sp = add("import", cmd_import, "批量登记 register people from a CSV or .xlsx file", psub)
    sp.add_argument("--csv", "--file", dest="csv", required=True,
                    help="CSV (UTF-8, GBK or GB18030) or .xlsx; Chinese or English headers (身份证号, 姓名, ...)")
    sp.add_argument("--preview", action="store_true", help="check every row and write nothing")
    sp.add_argument("--village", help="the village's code (default: this node's place)")
