"""What every console page shares: where it is mounted, its navigation, the hub it serves from.

The app itself is built in `hub.web.console`. The console shares the hub's store (and its write lock, for every change it makes), so an
approval, a release or a resolution is seen by the next sync at once, with no restart.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from hub.telemetry import Telemetry
from node.engine.store import Store

T = TypeVar("T")
TEMPLATES = Path(__file__).parent / "templates"
PREFIX = "/console"
LEVEL_NAMES = {"province": "省", "prefecture": "市", "county": "县", "township": "乡镇", "village": "村"}
NAV = [("/", "概览"), ("/enroll", "登记与密钥"), ("/conflicts", "冲突处理"), ("/transfers", "迁移申请"), ("/held", "隔离与等待"),
       ("/bundles", "U盘同步包"), ("/filings", "报表下载"), ("/people", "人员查询")]


class Serving(Protocol):
    """What the console needs of the hub it is mounted in (`hub.app.Hub`): its store and write lock."""

    store: Store
    lock: asyncio.Lock
    telemetry: Telemetry
    upstream: Any  # the relay loop (`node.sync.client.Background`) of a county hub, or None


def hub_of(request: Request) -> Serving:
    hub: Serving = request.app.state.hub
    return hub


async def write(request: Request, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
    """Run a change to the store under the hub's write lock, off the event loop (as a push does)."""
    hub = hub_of(request)
    async with hub.lock:
        return await run_in_threadpool(fn, *args, **kw)
