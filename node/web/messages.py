"""The words on the screens: field labels, outcomes and what to do next, in plain Chinese.

Times are stored in UTC milliseconds and always shown in the machine's local time (a village
laptop's clock zone, Asia/Shanghai in practice), never as UTC.
"""
from __future__ import annotations

import time
from typing import Any

from node.cli.view import PERSON_LABELS

# Person fields: the CLI's labels ("姓名 name") without their English half, one source for both.
LABELS: dict[str, str] = {k: v.split(" ")[0] for k, v in PERSON_LABELS.items()}
LABELS.update({
    "birth_date": "出生日期", "household_address": "户籍地址", "scope": "所在村", "updated_on": "上次更新",
    "password": "密码", "role": "角色", "display": "姓名", "csrf": "表单", "file": "文件",
    "person": "人员", "job": "岗位", "employer_name": "单位名称", "uscc": "统一社会信用代码", "title": "岗位名称",
    "start_date": "开始日期", "end_date": "结束日期", "contract_months": "合同期限(月)", "social_insurance": "社会保险",
    "broker": "经纪人", "stage": "阶段", "reason": "原因", "on": "日期", "date": "日期", "note": "备注",
    "holiday": "节假日", "pay": "月薪", "headcount": "人数", "region": "地域", "industry": "行业",
})

SYNC_OUTCOMES: dict[str, tuple[str, str]] = {
    # code → (what happened, what to do next)
    "ok": ("同步完成", "无需操作。"),
    "unreachable": ("连不上县级平台", "检查网线或无线网络;县里平台可能正在维护。已自动尝试省级平台。也可以用U盘导出同步包。"),
    "refused": ("平台拒收了部分记录", "把下面的原因告诉县里劳务办,他们会处理。本机的数据都还在。"),
    "revoked": ("本机密钥已被吊销", "请马上打电话给县里劳务办:这台电脑不能再同步,需要重新登记。"),
    "quarantined": ("有记录被暂时隔离", "通常是电脑时间不准。请把电脑时间调准;县里工作人员也可以放行。"),
    "pending": ("有记录在等前面的记录", "等待下一次同步补齐即可,不会丢失。"),
    "stale": ("电脑时间和平台差得太多", "已按平台时间校正后重试;如果仍失败,请把电脑日期和时间调准。"),
    "failed": ("同步没有完成", "本机数据没有丢失。稍后再试;多次失败请联系县里劳务办。"),
    "bad-signature": ("平台的身份核对不上", "检查配置的平台地址和密钥是否来自县里;不要连接来路不明的地址。"),
}

REFUSAL_CODES: dict[str, str] = {
    "bad-signature": "签名不对,记录可能被改动过",
    "unknown-author": "平台不认识写这条记录的密钥(未登记)",
    "certificate-expired": "证书已过期",
    "not-allowed": "证书不允许写这个地点",
    "out-of-scope": "记录的地点超出了本机的范围",
    "revoked": "密钥已被吊销",
    "chain-broken": "记录的前后顺序对不上",
    "fork": "同一序号出现了两份不同的记录(可能用了旧备份)",
    "not-owner": "记录不属于写它的这个村(只能改本村自己的记录)",
    "clock-ahead": "记录的时间比平台快太多(电脑时间不准)",
    "malformed": "记录格式不对",
    "duplicate-id": "身份证号重复",
}


def local_time(ms: int | None, *, seconds: bool = False) -> str:
    """UTC milliseconds as local 'YYYY-MM-DD HH:MM', or '从未' for never."""
    if not ms:
        return "从未"
    return time.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M", time.localtime(ms / 1000))


def refusal(code: Any, reason: Any = None) -> str:
    """A refused envelope's reason in plain Chinese, the technical reason after it for the county."""
    text = REFUSAL_CODES.get(str(code), f"被拒收({code})")
    return f"{text}{'(' + str(reason) + ')' if reason else ''}"


def yes_no(value: Any) -> str:
    return "" if value is None else ("是" if value else "否")
