"""USB bundles at the hub: a village with no network brings its bundle on a stick; staff import it here.

The upload is spooled to a temporary file and imported by `node.sync.bundles.import_bundle` under the
hub's write lock, exactly as `laowu-hub import-bundle` does; the page shows each envelope that was
not accepted with its reason in plain Chinese. A damaged file is refused before anything is applied.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from hub.web.app import hub_of, write
from node.sync.bundles import import_bundle
from node.web import audit
from node.web.accounts import Account
from node.web.app import back, page, render
from node.web.messages import refusal
from node.web.notices import failure
from protocol.errors import InvalidValue

MAX_BUNDLE = 256 << 20
STATUS = {"accepted": "已接收", "duplicate": "已有(重复)", "pending": "等待前面的记录", "held": "新版本格式,暂存",
          "quarantined": "已隔离(时间超前)", "fork": "分叉", "refused": "拒收"}


NO_FILE = failure("同步包没有导入", "没有选择文件", "点“选择文件”,选U盘里的同步包(.laowu 文件),再点“导入”。")


def routes() -> list[BaseRoute]:
    return [Route("/bundles", bundles, methods=["GET", "POST"])]


@page("viewer")
async def bundles(request: Request, user: Account, form: FormData) -> Response:
    if request.method == "GET":
        return render(request, "bundles.html", summary=None, problems=[], status_names=STATUS, name="")
    if not user.may("operator"):
        from node.web.app import Forbidden
        raise Forbidden("导入需要经办权限 / importing needs the operator role")
    f = form.get("file")
    if not isinstance(f, UploadFile) or not f.filename:
        return back(request, "/bundles", alert=NO_FILE)
    store = hub_of(request).store
    with tempfile.TemporaryDirectory(prefix="laowu-bundle-") as d:
        path = Path(d) / "bundle.laowu"
        size = 0
        with path.open("wb") as out:
            while chunk := await f.read(1 << 20):
                size += len(chunk)
                if size > MAX_BUNDLE:
                    raise InvalidValue("file", "文件太大,不是同步包 / the file is too large for a bundle")
                out.write(chunk)
        summary = await write(request, import_bundle, store, path)
    problems = [{"status": STATUS.get(str(p.get("status")), str(p.get("status"))),
                 "why": refusal(p.get("code"), p.get("reason")) if p.get("code") else "", "id": _hex(p.get("id"))}
                for p in summary.problems]
    counts = ", ".join(f"{STATUS.get(k, k)} {v}" for k, v in sorted(summary.counts.items()))
    audit.record(store.engine, user.name, "import", "bundle", None,
                 f"导入同步包 / bundle imported: {f.filename},共 {summary.envelopes} 条:{counts}")
    return render(request, "bundles.html", summary=summary, problems=problems, status_names=STATUS, name=f.filename)


def _hex(value: object) -> str:
    return value.hex()[:16] if isinstance(value, bytes) else ""
