"""Debian's Chromium driven by Playwright, launched as RECIPES.md says (never `playwright install`)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1366, "height": 768}


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: Browser, base_url: str, **kw: Any) -> Page:
    page = browser.new_page(viewport=VIEWPORT, base_url=base_url, accept_downloads=True, **kw)  # type: ignore[arg-type]
    page.set_default_timeout(15_000)
    return page


def login(page: Page, user: str, password: str, root: str = "") -> None:
    """Sign in through the login form of the app at `root` (the console's is "/console")."""
    page.goto(f"{root}/login")
    page.fill("#in-name", user)
    page.fill("#in-password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{root}/")


@contextmanager
def signed_in(browser: Browser, base_url: str, user: str, password: str, root: str = "") -> Iterator[Page]:
    """A new page of `browser` on the app at `base_url`, signed in at `root`; closed afterwards."""
    page = new_page(browser, base_url)
    try:
        login(page, user, password, root=root)
        yield page
    finally:
        page.context.close()
