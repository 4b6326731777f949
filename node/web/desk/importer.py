"""Import a register from a spreadsheet: upload, preview with each row's problem, then import.

The parsing and checking are `node.domain.importing`'s (the CLI's `person import` uses the same). The
uploaded file waits in the node's `imports/` folder under a random name between the preview
and the confirmation, and is deleted once imported; nothing reaches the register before the
operator has seen the preview and confirmed it.
"""
from __future__ import annotations

import secrets
from pathlib import Path

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from node.domain import importing
from node.web import audit
from node.web.accounts import Account
from node.web.app import page, render
from node.web.messages import LABELS
from node.web.notices import failure, plain
from node.web.desk.state import Desk
from protocol.errors import InvalidValue

MAX_FILE = 20 << 20
SHOWN = 200  # rows shown in the preview; the counts cover them all
NOT_READ = "文件没有读入,没有保存任何内容。"
CHOOSE = "点“选择文件”,选要导入的名单(.xlsx 或 .csv),再点“预览”。"


def _folder(desk: Desk) -> Path:
    d = Path(desk.node.dir) / "imports"
    d.mkdir(exist_ok=True)
    return d


def _held(desk: Desk, token: str) -> tuple[Path, str]:
    if not token.isalnum():
        raise InvalidValue("file", "预览已过期,请重新选择文件 / the preview expired: choose the file again")
    matches = list(_folder(desk).glob(token + ".*"))
    if not matches:
        raise InvalidValue("file", "预览已过期,请重新选择文件 / the preview expired: choose the file again")
    return matches[0], matches[0].name.split(".", 1)[1]


@page("operator")
async def upload(request: Request, user: Account, form: FormData) -> Response:
    desk: Desk = request.app.state.desk
    if request.method == "GET":
        return render(request, "import.html", pv=None, token="", name="", done=None)
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        return render(request, "import.html", status_code=422, pv=None, token="", name="", done=None,
                      alert=failure(NOT_READ, "没有选择文件", CHOOSE))
    data = await file.read(MAX_FILE + 1)
    name = Path(file.filename).name
    try:
        if len(data) > MAX_FILE:
            raise InvalidValue("file", "文件太大(超过20MB),请分成几个文件 / the file is over 20 MB: split it")
        table = importing.read(data, name)
        pv = importing.preview(desk.store, table)
    except InvalidValue as exc:
        return render(request, "import.html", status_code=422, pv=None, token="", name=name, done=None,
                      alert=failure(NOT_READ, plain(exc.message), "按上面的原因改好文件(或另存为 .xlsx)后," + CHOOSE))
    token = secrets.token_hex(12)
    suffix = "xlsx" if name.lower().endswith((".xlsx", ".xlsm")) else "csv"
    (_folder(desk) / f"{token}.{suffix}").write_bytes(data)
    return render(request, "import.html", pv=pv, token=token, name=name, done=None, shown=SHOWN)


@page("operator")
async def confirm(request: Request, user: Account, form: FormData) -> Response:
    desk: Desk = request.app.state.desk
    path, suffix = _held(desk, str(form.get("token") or ""))
    name = str(form.get("name") or path.name)
    pv = importing.preview(desk.store, importing.read(path.read_bytes(), "upload." + suffix))
    imported, late = importing.commit(desk.store, pv)
    path.unlink(missing_ok=True)
    refused = sorted([*pv.bad, *late], key=lambda r: r.line)
    audit.record(desk.store.engine, user.name, "import", "person", None,
                 f"导入 {name}:{imported} 人,拒绝 {len(refused)} 行 / imported {imported}, refused {len(refused)}")
    return render(request, "import.html", pv=None, token="", name=name, alert=refused_words(imported, refused),
                  done={"imported": imported, "refused": refused, "encoding": pv.table.encoding})


def refused_words(imported: int, refused: list[importing.Row], first: int = 3) -> str:
    """The red box of an import some rows of which were refused ("" when none was): how many, the first
    reasons in plain words, that the rows taken are saved, and what to do. Importing the corrected file
    again does not register anyone twice: `importing.preview` refuses an ID number already here."""
    if not refused:
        return ""
    reasons = ";".join(f"第{r.line}行 {LABELS.get(r.field, r.field)}:{plain(r.error)}" for r in refused[:first])
    more = f"等(共 {len(refused)} 行,见下表)" if len(refused) > first else ""
    return failure(f"有 {len(refused)} 行没有导入:拒绝 {len(refused)} 行,登记 {imported} 人", reasons + more,
                   f"已登记的 {imported} 人已经保存。在原文件里改好被拒绝的这 {len(refused)} 行,再导入一次;"
                   "已登记的人再导入时会显示“已登记”而跳过,不会重复登记。")


def routes() -> list[Route]:
    return [Route("/import", upload, methods=["GET", "POST"]), Route("/import/confirm", confirm, methods=["POST"])]
