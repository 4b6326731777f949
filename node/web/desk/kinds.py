"""The work records the desk keeps, declared once: table, form fields, how a new one is written,
which columns its list shows, and the workflow its rows move through.

Every `create` is a function of the domain's write API (`node.domain.ops`, `ops_watch`), which
checks what was typed; the desk adds nothing but the picking of the person, the employer or the
broker the record hangs on (`refs.py`).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from node.domain import validate
from node.domain import arrears, broker, monitoring, ops, ops_watch, order, placement, returns, training
from node.domain.workflow import Workflow
from node.engine.store import Store
from node.web.forms import Field

Create = Callable[[Store, Mapping[str, Any]], bytes]

EVENTS = {
    "plan": "计划输出", "sign": "签合同", "start": "到岗", "confirm_stable": "确认稳定就业满1年", "end": "离职",
    "revoke": "作废", "accept": "接单", "complete": "完成", "pay": "结算", "cancel": "取消", "apply": "申请",
    "recommend": "村推荐", "first_review": "县初审合格", "pass_exam": "培训考试合格", "certify": "发电子合格证",
    "notice": "公示", "file": "备案", "reject": "不予通过", "enter_filed": "补录已备案",
}
PERSON = Field("person", "人员", "person", required=True, hint="输入姓名、拼音或身份证号后4位")


@dataclass(frozen=True)
class Kind:
    key: str  # URL path: /placements, /placements/new
    title: str
    table: str
    fields: tuple[Field, ...]
    create: Create
    columns: tuple[tuple[str, str], ...]
    order_by: str
    workflow: Workflow | None = None
    creatable: bool = True


def _job(store: Store, f: Mapping[str, Any]) -> bytes:
    return ops.post_job(store, f)


KINDS: dict[str, Kind] = {k.key: k for k in (
    Kind("jobs", "岗位信息(用工、零工)", "job_posting", (
        Field("employer", "用人单位", "employer", required=True), Field("title", "岗位名称", required=True),
        Field("positions", "招聘人数", "number", required=True), Field("pay_low", "月薪下限(元)", "number"),
        Field("pay_high", "月薪上限(元)", "number"),
        Field("region_class", "工作地点", "choice", validate.REGION_CLASS, required=True),
        Field("industry", "行业"), Field("gig", "零工", "flag"),
        Field("valid_until", "有效期至", "date", required=True), Field("requirements", "要求", "textarea"),
        Field("contact_phone", "联系电话")),
        _job, (("title", "岗位"), ("employer", "单位"), ("positions", "人数"), ("pay_low", "月薪下限"),
               ("pay_high", "月薪上限"), ("region_class", "地点"), ("gig", "零工"), ("valid_until", "有效期至")),
        "valid_until"),
    Kind("employers", "用人单位", "employer", (
        Field("uscc", "统一社会信用代码", required=True), Field("name", "单位名称", required=True),
        Field("industry", "行业"), Field("address", "地址"), Field("contact_name", "联系人"),
        Field("contact_phone", "联系电话")),
        lambda s, f: ops.register_employer(s, f),
        (("name", "单位"), ("uscc", "信用代码"), ("industry", "行业"), ("contact_name", "联系人"),
         ("contact_phone", "电话")), "name"),
    Kind("placements", "转移就业", "placement", (
        PERSON, Field("broker", "经纪人", "broker"), Field("employer", "用人单位(已登记的)", "employer"),
        Field("employer_name", "单位名称", required=True), Field("position", "岗位"),
        Field("start_date", "开始日期", "date", required=True), Field("contract_months", "合同期限(月)", "number"),
        Field("labor_contract", "签劳动合同", "flag"), Field("social_insurance", "缴社保", "flag"),
        Field("region_class", "就业地域", "choice", validate.REGION_CLASS), Field("monthly_pay", "月薪(元)", "number")),
        lambda s, f: ops.add_placement(s, f, event="start" if str(f.get("start_date", "9")) <= date.today().isoformat()
                                       else "plan"),
        (("person", "人员"), ("employer_name", "单位"), ("position", "岗位"), ("start_date", "开始"),
         ("region_class", "地域"), ("stage", "阶段"), ("broker", "经纪人")), "start_date", placement.STAGES),
    Kind("followups", "跟踪服务", "follow_up", (
        Field("placement", "转移就业记录", "placement", required=True), Field("visited_on", "回访日期", "date"),
        Field("method", "方式", "choice", placement.METHODS, required=True),
        Field("still_employed", "仍在岗", "flag", required=True), Field("monthly_pay", "月薪(元)", "number"),
        Field("satisfaction", "满意度", "choice", placement.SATISFACTION),
        Field("issues", "反映的问题", "tags", hint="、".join(placement.ISSUES)), Field("note", "备注", "textarea")),
        lambda s, f: ops.add_followup(s, f),
        (("person", "人员"), ("visited_on", "日期"), ("method", "方式"), ("still_employed", "仍在岗"),
         ("satisfaction", "满意度"), ("issues", "问题")), "visited_on"),
    Kind("training", "培训记录", "training_record", (
        PERSON, Field("course", "课程", required=True), Field("provider", "培训机构"),
        Field("start_date", "开始日期", "date", required=True), Field("days", "天数", "number", required=True),
        Field("certificate_obtained", "取得证书", "flag"), Field("certificate_name", "证书名称"),
        Field("subsidy_class", "补贴类别", "choice", training.SUBSIDY_CLASS, required=True)),
        lambda s, f: ops.add_training(s, f),
        (("person", "人员"), ("course", "课程"), ("start_date", "开始"), ("days", "天数"),
         ("certificate_obtained", "证书"), ("subsidy_class", "补贴类别")), "start_date"),
    Kind("training-needs", "培训需求", "training_need", (
        PERSON, Field("course", "想学的课程", required=True), Field("mode", "方式", "choice", training.MODES),
        Field("registered_on", "登记日期", "date"), Field("note", "备注", "textarea")),
        lambda s, f: ops.add_training_need(s, f),
        (("person", "人员"), ("course", "课程"), ("mode", "方式"), ("registered_on", "登记"), ("met", "已满足")),
        "registered_on"),
    Kind("returns", "返乡登记", "return_registration", (
        PERSON, Field("returned_on", "返乡日期", "date"), Field("reason", "原因", "choice", returns.REASONS, required=True),
        Field("holiday", "节假日", "choice", returns.HOLIDAYS), Field("going_out_again", "还要外出", "flag"),
        Field("leaving_on", "预计外出日期", "date"), Field("needs", "需要的服务", "tags", hint="、".join(returns.NEEDS)),
        Field("note", "备注", "textarea")),
        lambda s, f: ops.add_return(s, f),
        (("person", "人员"), ("returned_on", "返乡"), ("reason", "原因"), ("holiday", "节假日"),
         ("going_out_again", "还外出"), ("needs", "需要")), "returned_on"),
    Kind("monitoring", "脱贫人口月度监测", "employment_check", (
        PERSON, Field("month", "月份", hint="YYYY-MM", required=True),
        Field("status", "就业状态", "choice", monitoring.STATUS, required=True),
        Field("checked_by", "核查人", required=True), Field("method", "方式", "choice", monitoring.METHODS, required=True),
        Field("checked_on", "核查日期", "date"), Field("note", "备注", "textarea")),
        lambda s, f: ops_watch.record_check(s, f),
        (("person", "人员"), ("month", "月份"), ("status", "状态"), ("method", "方式"), ("checked_by", "核查人")),
        "month"),
    Kind("arrears", "欠薪线索", "wage_arrears", (
        Field("person", "人员(可不填)", "person"), Field("claimant", "反映人", required=True),
        Field("employer_name", "欠薪单位", required=True), Field("amount_yuan", "金额(元)", "number", required=True),
        Field("months", "拖欠月数", "number", required=True), Field("reported_on", "反映日期", "date"),
        Field("status", "处理状态", "choice", arrears.STATUS), Field("handled_by", "经办人"),
        Field("note", "备注", "textarea")),
        lambda s, f: ops_watch.add_arrears_lead(s, f),
        (("claimant", "反映人"), ("employer_name", "单位"), ("amount_yuan", "金额"), ("months", "月数"),
         ("reported_on", "反映"), ("status", "状态")), "reported_on"),
    Kind("orders", "服务订单", "service_order", (), lambda s, f: b"",
         (("title", "订单"), ("kind", "类别"), ("items", "数量"), ("pay_per_item", "单价"), ("due_on", "截止"),
          ("stage", "阶段"), ("broker", "经纪人"), ("completed_items", "完成数")), "posted_on", order.STAGES,
         creatable=False),
    Kind("broker", "经纪人备案", "broker", (
        Field("name", "姓名", required=True), Field("id_number", "身份证号", required=True),
        Field("phone", "手机号", required=True), Field("hukou", "户籍地区代码", hint="6位,不填则取身份证号前6位"),
        Field("background", "身份", "choice", broker.BACKGROUND), Field("person", "本村人员卡片", "person")),
        lambda s, f: ops.broker_apply(s, f),
        (("name", "姓名"), ("phone", "手机"), ("background", "身份"), ("stage", "阶段"), ("applied_on", "申请"),
         ("filed_on", "备案")), "applied_on", broker.FILING),
)}

EXTRA_EVENT_FIELDS = {"certify": "certificate_no", "complete": "completed_items", "accept": "broker"}
