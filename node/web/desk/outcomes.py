"""Sync and bundle outcomes in plain Chinese, each with what to do next (pure: no I/O).

A line is (kind, text, next): kind is ok | warn | bad, the colour the page gives it.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from node.sync.bundles import ImportSummary
from node.sync.hubs import SyncRun, unreachable
from node.engine.store import Status
from node.web.messages import SYNC_OUTCOMES, refusal

Line = tuple[str, str, str]


def _say(kind: str, code: str, extra: str = "") -> Line:
    text, nxt = SYNC_OUTCOMES[code]
    return kind, text + (f":{extra}" if extra else ""), nxt


def of_sync(run: SyncRun, status: Status, delivered: int = 0) -> list[Line]:
    """`delivered`: records the badge counted before that no longer wait."""
    lines: list[Line] = []
    for hub, exc in run.failures:
        if unreachable(exc):
            lines.append(("warn", f"{hub.name}({hub.url})连不上", SYNC_OUTCOMES["unreachable"][1]))
        elif exc.error == "revoked":
            lines.append(_say("bad", "revoked"))
        elif exc.error == "bad-signature":
            lines.append(_say("bad", "bad-signature", hub.url))
        else:
            lines.append(("bad", f"{hub.name}没有完成同步:{exc}", SYNC_OUTCOMES["failed"][1]))
    if run.report is not None and run.hub is not None:
        r = run.report
        lines.append(("ok", f"已与{run.hub.name}同步:送出 {delivered} 条记录({r.pushed} 批),收到 {r.pulled} 批",
                      "无需操作。"))
        lines += of_refused(r.refused)
    lines += of_status(status)
    return lines


def of_refused(refused: Iterable[Mapping[str, Any]]) -> list[Line]:
    out: list[Line] = []
    for o in refused:
        code = str(o.get("code") or "")
        kind = "revoked" if code == "revoked" else "refused"
        out.append(("bad", f"一批记录被拒收:{refusal(code, o.get('reason'))}", SYNC_OUTCOMES[kind][1]))
    return out


def of_status(status: Status) -> list[Line]:
    out: list[Line] = []
    if status.quarantined:
        out.append(_say("warn", "quarantined", f"{status.quarantined} 批"))
    if status.pending:
        out.append(_say("warn", "pending", f"{status.pending} 批"))
    if status.forks:
        out.append(("bad", f"发现 {status.forks} 处分叉(同一台电脑的记录出现两份)", "请联系县里劳务办核对。"))
    return out


def of_import(s: ImportSummary) -> list[Line]:
    names = {"accepted": "导入", "duplicate": "已有", "pending": "等待前序", "held": "新版本暂存",
             "quarantined": "隔离", "fork": "分叉", "refused": "拒收"}
    counts = ",".join(f"{names.get(k, k)} {v}" for k, v in sorted(s.counts.items()))
    out: list[Line] = [("ok", f"同步包共 {s.envelopes} 批记录:{counts or '无'}", "下次联网同步时会一并发给县里。")]
    for o in s.problems:
        status = str(o.get("status"))
        if status == "pending":
            out.append(_say("warn", "pending"))
        elif status == "quarantined":
            out.append(_say("warn", "quarantined", refusal(o.get("code"), o.get("reason"))))
        else:
            out.append(("bad", f"一批记录未导入:{refusal(o.get('code'), o.get('reason'))}", SYNC_OUTCOMES["refused"][1]))
    out += [("warn", f"证书或吊销记录未采用:{n}", "把同步包交给县里核对。") for n in s.notes]
    return out
