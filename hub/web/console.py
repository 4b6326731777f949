"""The console app: its routes on the shared foundation, around the hub that serves it.

    app = console_app(hub)        # mounted at /console by `hub.app.create_app`, same process as /v1
"""
from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import BaseRoute

from hub.web import bundles, conflicts, enrollment, figures, filings, held, people, resolutions, transfers
from hub.web.app import LEVEL_NAMES, NAV, TEMPLATES, Serving
from node.web.app import make_app
from protocol import scope as scopes


def routes() -> list[BaseRoute]:
    return [*figures.routes(), *enrollment.routes(), *conflicts.routes(), *resolutions.routes(), *transfers.routes(), *held.routes(), *bundles.routes(),
            *filings.routes(), *people.routes()]


def console_app(hub: Serving) -> Starlette:
    home = hub.store.home
    level = scopes.level(home)
    title = "省级劳务管理台" if level == "province" else "县级劳务管理台"

    def context(request: Request) -> dict[str, object]:
        return {"place_name": f"{home}({LEVEL_NAMES.get(level, level)}级平台)"}

    app = make_app(routes(), engine=hub.store.engine, title=title, nav=NAV, template_dirs=[TEMPLATES],
                   context=context, cli="laowu-hub")
    app.state.hub = hub
    return app


