"""The console app: its routes on the shared foundation, around the hub that serves it.

    app = console_app(hub)        # mounted at /console by `hub.app.create_app`, same process as /v1

The console shares the hub's store (and its write lock, for every change it makes), so an
approval, a release or a resolution is seen by the next sync at once, with no restart.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import BaseRoute

from node.web.app import make_app
from protocol import scope as scopes

if TYPE_CHECKING:
    from hub.app import Hub

T = TypeVar("T")
TEMPLATES = Path(__file__).parent / "templates"
PREFIX = "/console"
LEVEL_NAMES = {"province": "省", "prefecture": "市", "county": "县", "township": "乡镇", "village": "村"}
NAV = [("/", "概览"), ("/enroll", "登记与密钥"), ("/conflicts", "冲突处理"), ("/held", "隔离与等待"),
       ("/bundles", "U盘同步包"), ("/filings", "报表下载"), ("/people", "人员查询")]


def routes() -> list[BaseRoute]:
    from hub.web import bundles, conflicts, enrollment, figures, held, people

    return [*figures.routes(), *enrollment.routes(), *conflicts.routes(), *held.routes(), *bundles.routes(),
            *people.routes()]


def console_app(hub: Hub) -> Starlette:
    home = hub.store.home
    level = scopes.level(home)
    title = "省级劳务管理台" if level == "province" else "县级劳务管理台"

    def context(request: Request) -> dict[str, object]:
        return {"place_name": f"{home}({LEVEL_NAMES.get(level, level)}级平台)"}

    app = make_app(routes(), engine=hub.store.engine, title=title, nav=NAV, template_dirs=[TEMPLATES],
                   context=context, cli="laowu-hub")
    app.state.hub = hub
    return app


def hub_of(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


async def write(request: Request, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
    """Run a change to the store under the hub's write lock, off the event loop (as a push does)."""
    hub = hub_of(request)
    async with hub.lock:
        return await run_in_threadpool(fn, *args, **kw)
