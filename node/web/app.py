"""`make_app`: the Starlette app both screens are built on, and `page`, the wrapper of every handler.

    app = make_app(routes, engine=store.engine, template_dirs=[DESK_TEMPLATES], title="村级劳务工作台",
                   nav=[("/", "一村一册"), ...], context=lambda request: {"badge": ...})

`page(role=...)` makes a handler require a signed-in account holding `role`, parses a POSTed form
and refuses it unless it carries the session's CSRF token, and hands the handler the form. Every
error ends as a page in plain Chinese: `InvalidValue` and other `LaowuError`s say what was wrong
and what to do; anything else is logged on the server and shown as "出错了" with no traceback.
A page rendered with `flash` says at its top that something was done (green); with `alert`, that it
was not, why and what to do instead, one line each (red, `role="alert"`): base.html shows both.
An action says so across its redirect with `back(request, path, flash=...)` or `alert=...`: the words
stay on the server (`node.web.notices`), the URL carries only a reference, and `render` shows them once.
"""
from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import jinja2
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from node.web import accounts, audit, charts, messages, notices, sessions, tables
from node.web.accounts import Account
from protocol.errors import LaowuError

log = logging.getLogger("laowu.web")
HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

Handler = Callable[..., Awaitable[Response]]


class Forbidden(LaowuError):
    code = "forbidden"


def make_app(routes: Sequence[BaseRoute], *, engine: Engine, title: str, nav: Sequence[tuple[str, str]],
             template_dirs: Sequence[Path] = (), context: Callable[[Request], dict[str, Any]] | None = None,
             home: str = "/", on_close: Sequence[Callable[[], None]] = (), cli: str = "laowu-node",
             on_login: Callable[[accounts.Account], None] | None = None) -> Starlette:
    """The screen's app: its routes plus login, logout, the access log page and static files.

    The app may be mounted under a prefix (the console lives at /console/ inside the hub): every
    link and redirect the foundation makes starts with `root`, the mount's `root_path` ("" at the
    top). `nav` and `home` are given without it; `cli` names the command that creates accounts;
    `on_login` is called after a broker's own account signs in (the desk records the login-day)."""
    tables.ensure(engine)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader([*map(str, template_dirs), str(TEMPLATES)]),
                             autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["local_time"] = messages.local_time
    env.filters["yes_no"] = messages.yes_no
    env.globals.update(labels=messages.LABELS, role_names=accounts.ROLE_NAMES, bars=charts.bars)
    own = [Route("/login", login, methods=["GET", "POST"]), Route("/logout", logout, methods=["POST"]),
           Route("/audit", audit_page), Mount("/static", StaticFiles(directory=STATIC), name="static")]
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        for close in on_close:
            close()

    app = Starlette(routes=[*own, *routes], lifespan=lifespan, exception_handlers={
        LaowuError: _laowu_error, HTTPException: _http_error, Exception: _server_error})
    app.state.engine = engine
    app.state.env = env
    app.state.title = title
    app.state.nav = list(nav)
    app.state.context = context
    app.state.home = home
    app.state.cli = cli
    app.state.on_login = on_login
    return app


def root(request: Request) -> str:
    """The prefix the app is mounted under ("" when it is not mounted)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def back(request: Request, path: str, flash: str = "", *, alert: str = "", **extra: str) -> RedirectResponse:
    """Redirect to `path` (under `root`) saying what the action did: `flash` when it was done (green),
    `alert` when it was not (red; `notices.failure` words it), `extra` values the page shows once.
    The words stay on the server, bound to this session; the URL carries only a reference to them."""
    said = notices.Said(flash="" if alert else flash, alert=alert, extra=dict(extra))
    ref = notices.keep(request.app.state.engine, sessions.digest(request), said)
    joint = "&" if "?" in path else "?"
    return RedirectResponse(f"{root(request)}{path}{joint}{notices.PARAM}={ref}", status_code=303)


def said(request: Request) -> notices.Said:
    """What the action that led here said (`back`), once per request; `Said()` when nothing was."""
    found = getattr(request.state, "said", None)
    if found is None:
        ref = request.query_params.get(notices.PARAM, "")
        found = notices.take(request.app.state.engine, sessions.digest(request), ref) if ref else notices.Said()
        request.state.said = found
    assert isinstance(found, notices.Said)
    return found


def render(request: Request, template: str, status_code: int = 200, **ctx: Any) -> HTMLResponse:
    st = request.app.state
    user = getattr(request.state, "user", None)
    extra = st.context(request) if st.context and user else {}
    shown = said(request)
    values = {"flash": shown.flash, "alert": shown.alert, **extra, **ctx}
    html = st.env.get_template(template).render(
        request=request, title=st.title, nav=st.nav, user=user, csrf=getattr(request.state, "csrf", ""),
        root=root(request), path=request.url.path[len(root(request)):] or "/", home=st.home, cli=st.cli,
        **values)
    return HTMLResponse(html, status_code=status_code)


def page(role: str = "viewer") -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Wrap a handler `async def h(request, user, form)`: signed in, role held, CSRF checked on POST."""
    def wrap(fn: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def handler(request: Request) -> Response:
            engine = request.app.state.engine
            found = sessions.current(engine, request)
            if found is None:
                return RedirectResponse(root(request) + "/login?next=" + request.url.path, status_code=303)
            user, csrf = found
            request.state.user, request.state.csrf = user, csrf
            if not user.may(role):
                raise Forbidden(f"账号“{user.name}”没有此操作的权限(需要{accounts.ROLE_NAMES[role]}) / "
                                f"account {user.name} may not do this (needs the {role} role)")
            form = FormData()
            if request.method == "POST":
                form = await request.form(max_files=4, max_fields=500)
            try:
                if request.method == "POST" and not sessions.same(str(form.get("csrf") or ""), csrf):
                    raise Forbidden("表单已过期或来源不明,请刷新页面后再提交 / the form is stale or did not come "
                                    "from this screen (CSRF): reload the page and submit again")
                return await fn(request, user, form)
            finally:
                await form.close()  # uploaded files are spooled to disk: closed, whatever happened
        handler.__name__ = fn.__name__
        handler.__doc__ = fn.__doc__
        return handler
    return wrap


async def login(request: Request) -> Response:
    engine = request.app.state.engine
    nxt = request.query_params.get("next", "")
    nxt = nxt if nxt.startswith("/") and not nxt.startswith("//") else root(request) + request.app.state.home
    token = sessions.pre_token(request)
    error = ""
    if request.method == "POST":
        form = await request.form(max_files=0, max_fields=10)
        if not sessions.same(str(form.get("csrf") or ""), request.cookies.get(sessions.PRE_COOKIE)):
            error = "表单已过期,请再输入一次 / the form expired: enter it again"
        else:
            acct = accounts.login(engine, str(form.get("name") or ""), str(form.get("password") or ""))
            if acct is not None:
                if acct.broker and request.app.state.on_login is not None:
                    try:
                        request.app.state.on_login(acct)
                    except LaowuError:  # the login stands (it is in the audit table); only the day is lost
                        pass
                resp: Response = RedirectResponse(nxt, status_code=303)
                sessions.open_session(engine, acct, resp)
                return resp
            error = "账号或密码不对 / wrong account name or password"
    resp = render(request, "login.html", status_code=401 if error else 200, next=nxt, error=error, pre=token,
                  no_accounts=accounts.count(engine) == 0)
    sessions.set_pre_token(resp, token)
    return resp


@page()
async def logout(request: Request, user: Account, form: FormData) -> Response:
    resp = RedirectResponse(root(request) + "/login", status_code=303)
    audit.record(request.app.state.engine, user.name, "logout", "web_account", None, "退出 / logout")
    sessions.close_session(request.app.state.engine, request, resp)
    return resp


@page("viewer")
async def audit_page(request: Request, user: Account, form: FormData) -> Response:
    q = request.query_params
    pg = max(1, int(q.get("page", "1") or 1) if q.get("page", "1").isdigit() else 1)
    entries, total = audit.entries(request.app.state.engine, actor=q.get("actor") or None,
                                   row=q.get("row") or None, action=q.get("action") or None,
                                   text=q.get("q") or None, limit=50, offset=(pg - 1) * 50)
    return render(request, "audit.html", entries=entries, total=total, page=pg, pages=max(1, -(-total // 50)),
                  actions=audit.ACTIONS, q=q)


# What every error page says to do next, by status: the operator is never left with only what went wrong.
NEXT = {
    400: "点“返回上一页”,按上面的原因改好后再提交 / go back, correct it as said above and submit again",
    403: "您没有权限做这件事;如工作需要,请联系县里劳务办的工作人员开通 / you may not do this: "
         "if your work needs it, ask the county office staff",
    404: "点“返回上一页”或“回到首页”重新查找;如确实应能看到,请联系县里劳务办 / go back or start again "
         "from the home page; if you should see it, call the county office",
    405: "点“返回上一页”或“回到首页”,用页面上的按钮操作 / go back and use the page's own buttons",
}
WHAT = {403: "没有权限,操作没有完成 / not allowed, nothing was done",
        404: "打不开这个页面 / this page cannot be shown"}
NOT_FOUND = "没有这个页面:这条记录不存在,或不在您的管辖范围内 / no such page: the record does not exist or " \
            "is outside your area"


async def _laowu_error(request: Request, exc: Exception) -> Response:
    status = 403 if isinstance(exc, Forbidden) else 400
    return _error_page(request, status, str(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    text = {404: NOT_FOUND, 405: "不能这样访问此页面 / method not allowed"}.get(exc.status_code, str(exc.detail))
    return _error_page(request, exc.status_code, text)


async def _server_error(request: Request, exc: Exception) -> Response:
    at = time.strftime("%H:%M")  # the machine's local time, as the operator's clock shows it
    log.exception("%s %s failed (shown to the operator as %s)", request.method, request.url.path, at)
    return _error_page(request, 500, f"系统出错,已记录(时间 {at}),数据没有丢失 / something went wrong on our "
                       f"side at {at}; it is logged and nothing was lost",
                       then=f"请重试一次;如仍出错,请联系县里劳务办,并告知出错时间 {at} 和您刚才做的操作 / try "
                            f"again; if it fails again, call the county office and tell them the time {at}",
                       what="出错了,本次操作没有完成 / something went wrong, nothing was done")


def _error_page(request: Request, status: int, why: str, *, then: str = "", what: str = "") -> Response:
    """Every error page: what was not done, why, and what to do next (`notices.failure`, the red box),
    with the links back; never a traceback."""
    then = then or NEXT.get(status, NEXT[400])
    what = what or WHAT.get(status, "操作没有完成 / nothing was done")
    alert = notices.failure(what, why, then)
    try:
        return render(request, "error.html", status_code=status, alert=alert, flash="")
    except Exception:  # the error page itself failed: still no traceback for the operator
        log.exception("error page failed")
        lines = "".join(f"<p>{jinja2.utils.markupsafe.escape(line)}</p>" for line in alert.splitlines())
        return HTMLResponse(f'<div role="alert">{lines}</div><p><a href="/">回到首页 / home</a></p>',
                            status_code=status)
