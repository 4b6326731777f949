"""The village desk's app: its routes on the shared foundation, around one open node.

    app = desk_app(Node(Path("~/.laowu")))          # what `laowu-node desk` serves on 127.0.0.1
"""
from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from node.domain import ops_watch
from node.domain.broker_login import login_day
from node.engine.store import Store
from node.web.accounts import Account
from node.web.app import make_app
from node.web.desk import card, register, search, transfer
from node.web.desk.state import Desk, NodeDir, Prober
from node.web.tables import ensure
from protocol import scope as scopes

TEMPLATES = Path(__file__).parent / "templates"
NAV = [("/", "一村一册"), ("/person/new", "登记新人员"), ("/worklist", "一年一更新"), ("/jobs", "岗位信息"),
       ("/placements", "转移就业"), ("/followups", "跟踪服务"), ("/training", "培训"), ("/returns", "返乡登记"),
       ("/monitoring", "月度监测"), ("/arrears", "欠薪线索"), ("/orders", "服务订单"), ("/broker", "经纪人备案"),
       ("/import", "批量导入"), ("/sync", "同步"), ("/users", "账号")]

GET_POST = ["GET", "POST"]


def routes() -> list[Route]:
    from node.web.desk import importer, syncpage, users, work

    return [
        Route("/", register.register),
        Route("/person/new", card.new, methods=GET_POST),
        Route("/person/{row:str}", card.show, methods=GET_POST),
        Route("/person/{row:str}/edit", card.edit, methods=GET_POST),
        Route("/person/{row:str}/print", card.printable),
        Route("/person/{row:str}/confirm", card.confirm, methods=["POST"]),
        Route("/person/{row:str}/transfer", transfer.move, methods=["POST"]),
        Route("/worklist", card.worklist),
        *work.routes(),
        *syncpage.routes(),
        *importer.routes(),
        *users.routes(),
    ]


def desk_app(node: NodeDir, *, probe: bool = True) -> Starlette:
    store = node.store()
    config = node.config()
    ensure(store.engine)
    ensure(store.engine, search.metadata)
    prober = Prober(config["hub"])
    desk = Desk(node, store, config, prober)
    level = scopes.level(store.home)
    title = "乡镇劳务工作台" if level == "township" else "村级劳务工作台"

    def context(request: Request) -> dict[str, object]:
        return {"badge": desk.badge(), "place_name": f"{store.home}({'乡镇' if level == 'township' else '村'})"}

    app = make_app(routes(), engine=store.engine, title=title, nav=NAV, template_dirs=[TEMPLATES], context=context,
                   on_close=[prober.stop, store.close],
                   on_login=lambda acct: _login_day(store, acct))
    app.state.desk = desk
    if probe:
        prober.start()
    return app


def _login_day(store: Store, acct: Account) -> None:
    """A broker's login-day as a replicated record, so the hub's points ranking sees it (the audit
    table that also holds the login stays on this laptop)."""
    if acct.broker:
        ops_watch.record_login(store, acct.broker, login_day())
