"""Accounts of this desk, for its administrator: who may sign in, in what role, and which broker
card an account is (a broker's logins count in the points ranking through that link)."""
from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from node.web import accounts, audit
from node.web.accounts import Account
from node.web.app import back, page, render
from node.web.desk import refs
from node.web.desk.state import Desk
from protocol.errors import InvalidValue


@page("administrator")
async def users(request: Request, user: Account, form: FormData) -> Response:
    desk: Desk = request.app.state.desk
    engine = desk.store.engine
    values = {k: str(form.get(k) or "") for k in ("name", "display", "role", "broker")}
    error = ""
    if request.method == "POST":
        try:
            made = accounts.create(engine, values["name"], str(form.get("password") or ""), scope=desk.place,
                                   role=values["role"] or "operator", display=values["display"] or None,
                                   broker=values["broker"] or None)
        except InvalidValue as exc:
            error = exc.message
        else:
            audit.record(engine, user.name, "create", "web_account", made.broker, f"新账号 / new account {made.name}")
            return back(request, "/users", f"已新建账号“{made.name}”。")
    brokers = refs.options(engine, "broker")
    names = dict(brokers)
    return render(request, "users.html", status_code=422 if error else 200, accounts=accounts.listing(engine),
                  brokers=brokers, broker_names=names, values=values, error=error,
                  roles=accounts.ROLES)


def routes() -> list[Route]:
    return [Route("/users", users, methods=["GET", "POST"])]
