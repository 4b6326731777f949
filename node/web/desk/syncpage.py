"""The sync page: what is waiting, each last outcome in plain Chinese, "sync now", USB bundles.

"Sync now" tries the county hub, then the province hub (`node.sync.hubs`). The last outcome is kept
in `web_note` so it is still on the page after a restart. A bundle is exported as a download
(the browser saves it where the operator chooses, a USB stick) and imported by upload; a
township desk imports its villages' bundles and its next sync carries them to the county.
"""
from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from sqlalchemy import select
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from node.sync import hubs
from node.sync.bundles import export_bundle, import_bundle
from node.engine.db import upsert
from node.web import audit, tables
from node.web.accounts import Account
from node.web.app import back, page, render
from node.web.desk import outcomes
from node.web.desk.state import Desk
from node.web.notices import failure
from protocol.errors import LaowuError

MAX_BUNDLE = 512 << 20


def _note(desk: Desk, key: str, value: dict[str, object] | None = None) -> dict[str, object] | None:
    engine = desk.store.engine
    if value is not None:
        with engine.begin() as conn:
            conn.execute(upsert(engine, tables.notes, ["key"]), {"key": key, "value": json.dumps(value, ensure_ascii=False)})
        return value
    with engine.connect() as conn:
        r = conn.execute(select(tables.notes.c.value).where(tables.notes.c.key == key)).first()
    return json.loads(r.value) if r else None


@page()
async def sync_page(request: Request, user: Account, form: FormData) -> Response:
    desk: Desk = request.app.state.desk
    addrs = hubs.addresses(desk.store, desk.config)
    return render(request, "sync.html", status=desk.store.status(), last=_note(desk, "sync"),
                  bundle=_note(desk, "bundle"), hubs=addrs, unsynced=desk.unsynced())


@page("operator")
async def sync_now(request: Request, user: Account, form: FormData) -> Response:
    desk: Desk = request.app.state.desk
    before = desk.unsynced()
    run = hubs.sync(desk.store, hubs.addresses(desk.store, desk.config))
    desk.prober.online = run.report is not None and run.hub is not None and run.hub.url == desk.hub
    lines = outcomes.of_sync(run, desk.store.status(), max(0, before - desk.unsynced()))
    _note(desk, "sync", {"at": int(time.time() * 1000), "ok": run.report is not None, "lines": lines})
    audit.record(desk.store.engine, user.name, "sync", "lw_peer", None,
                 "同步 / sync: " + ("成功 ok via " + run.hub.url if run.report and run.hub else "失败 failed"))
    return RedirectResponse("/sync", status_code=303)


@page("operator")
async def export(request: Request, user: Account, form: FormData) -> Response:
    desk: Desk = request.app.state.desk
    desk.store.seal()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bundle.laowu"
        n = export_bundle(desk.store, path)
        data = path.read_bytes()
    name = f"laowu-{desk.place}-{time.strftime('%Y%m%d-%H%M')}.laowu"
    audit.record(desk.store.engine, user.name, "export", "lw_log", None, f"导出同步包 / bundle: {n} 批, {name}")
    return Response(data, media_type="application/octet-stream",
                    headers={"content-disposition": f'attachment; filename="{name}"'})


NO_FILE = failure("同步包没有导入", "没有选择文件", "点“选择文件”,选U盘里的同步包(.laowu 文件),再点“导入同步包”。")


@page("operator")
async def import_(request: Request, user: Account, form: FormData) -> Response:
    desk: Desk = request.app.state.desk
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return back(request, "/sync", alert=NO_FILE)
    data = await upload.read(MAX_BUNDLE + 1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.laowu"
        path.write_bytes(data[:MAX_BUNDLE])
        try:
            summary = import_bundle(desk.store, path)
            lines = outcomes.of_import(summary)
        except LaowuError as exc:
            lines = [("bad", f"{upload.filename} 不是完整的同步包:{exc}", "重新从对方电脑导出一次,确认拷贝完成后再拔U盘。")]
    audit.record(desk.store.engine, user.name, "import", "lw_log", None, f"导入同步包 / bundle {upload.filename}")
    _note(desk, "bundle", {"at": int(time.time() * 1000), "lines": lines})
    return RedirectResponse("/sync#bundle", status_code=303)


def routes() -> list[Route]:
    return [Route("/sync", sync_page), Route("/sync/now", sync_now, methods=["POST"]),
            Route("/sync/export", export, methods=["POST"]), Route("/sync/import", import_, methods=["POST"])]

