"""Every error page and refused upload says, in Debian's Chromium against a real desk (uvicorn on loopback),
what happened and what to do next (a 下一步 line in the red box, node.web.app._error_page and
notices.failure), Chinese first, with a way back, and never a traceback."""
from __future__ import annotations

import re
import time
from pathlib import Path

from browserkit import login, new_page
from deskkit import DeskWorld
from playwright.sync_api import Browser, Page
from test_import import as_csv, sheet
from test_page_messages import says_error

from node.web import accounts

VIEWER = "zhaoli"


def has_a_way_back(page: Page) -> None:
    assert page.locator("#go-back").inner_text() == "返回上一页"
    assert page.locator("#go-home").get_attribute("href") == "/"
    assert "Traceback" not in page.content()


def test_a_record_that_is_not_there_says_so_and_what_to_do(desk: Page) -> None:
    shown = desk.goto("/person/" + "ab" * 16)
    assert shown is not None and shown.status == 404
    says_error(desk, "打不开这个页面", "不存在,或不在您的管辖范围内", "回到首页")
    has_a_way_back(desk)


def test_a_page_the_account_may_not_open_says_whom_to_ask(browser: Browser, world: DeskWorld) -> None:
    assert world.desk is not None
    store = world.node.store()
    accounts.create(store.engine, VIEWER, "viewer-pass-123", scope=world.place, role="viewer", display="赵丽")
    store.close()
    p = new_page(browser, world.desk.url)
    try:
        login(p, VIEWER, "viewer-pass-123")
        shown = p.goto("/import")
        assert shown is not None and shown.status == 403
        says_error(p, "没有权限", "没有此操作的权限", "联系县里劳务办的工作人员")
        has_a_way_back(p)
    finally:
        p.context.close()


def test_a_failure_on_our_side_says_when_and_what_to_do_without_a_traceback(
        desk: Page, world: DeskWorld, tmp_path: Path) -> None:
    """The desk keeps an uploaded register in its node folder's imports/; a file lying where that folder
    should be (a disk or permission fault, from outside) makes the upload fail on the server."""
    folder = world.node.dir / "imports"
    aside = world.node.dir / "imports.aside"
    if folder.exists():
        folder.rename(aside)
    folder.write_text("not a folder")
    csv = tmp_path / "名单.csv"
    csv.write_bytes(as_csv(sheet(2, 21, bad_line=False)).encode("gbk"))
    try:
        desk.goto("/import")
        desk.set_input_files("#import-file", str(csv))
        before = time.strftime("%H:%M")
        with desk.expect_response(lambda r: r.url.endswith("/import") and r.request.method == "POST") as sent:
            desk.click("#preview-import")
        after = time.strftime("%H:%M")
        assert sent.value.status == 500
        says_error(desk, "出错了,本次操作没有完成", "数据没有丢失", "请重试", "联系县里劳务办")
        at = re.findall(r"出错时间 (\d\d:\d\d)", desk.inner_text(".alert"))
        assert at and at[0] in (before, after)
        has_a_way_back(desk)
    finally:
        folder.unlink()
        if aside.exists():
            aside.rename(folder)


def test_an_import_with_refused_rows_says_how_many_why_and_what_to_do(desk: Page, tmp_path: Path) -> None:
    rows = sheet(4, 22)  # four good rows and one whose ID number's check digit is wrong
    csv = tmp_path / "花名册.csv"
    csv.write_bytes(as_csv(rows).encode("gbk"))
    desk.goto("/import")
    desk.set_input_files("#import-file", str(csv))
    desk.click("#preview-import")
    desk.click("#confirm-import")
    says_error(desk, "有 1 行没有导入", "拒绝 1 行,登记 4 人", "第4行", "校验位", "已登记的 4 人已经保存",
               "改好被拒绝的这 1 行,再导入一次", "不会重复登记")
    assert "登记 4 人" in desk.inner_text("#import-summary")
    desk.goto("/import")  # the words are true: the same file again registers nobody twice
    desk.set_input_files("#import-file", str(csv))
    desk.click("#preview-import")
    assert "可以导入 0 行" in desk.inner_text("#import-preview")
    assert desk.locator("#preview-rows tr.bad", has_text="已登记").count() == 4


def test_a_bundle_upload_without_a_file_says_so_in_red_with_what_to_do(desk: Page) -> None:
    desk.goto("/sync")
    desk.click("#import-bundle")
    desk.wait_for_url("**/sync?said=*")
    says_error(desk, "同步包没有导入", "没有选择文件", "选U盘里的同步包")


def test_an_import_without_a_file_says_so_in_red_with_what_to_do(desk: Page) -> None:
    desk.goto("/import")
    desk.click("#preview-import")
    says_error(desk, "文件没有读入,没有保存任何内容", "没有选择文件", "点“选择文件”")
