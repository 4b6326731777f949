"""`laowu-node desk` and `laowu-node user`: the village desk in a browser, and its accounts.

    laowu-node desk [--port 8421] [--no-browser]       serve the desk on 127.0.0.1 and open it
    laowu-node desk --create-user NAME                  first run: make the first account, then serve
    laowu-node user add --name NAME [--role operator] [--broker ROW]     another account
    laowu-node user list

Passwords are read from the terminal (twice), or from LAOWU_DESK_PASSWORD for scripts and the
demo. The desk listens on loopback only: other machines on the village network cannot reach it.
"""
from __future__ import annotations

import argparse
import getpass
import os
import socket
import sys
import threading
import webbrowser
from typing import TYPE_CHECKING, Any

from node.web import accounts
from protocol.errors import ConfigError, InvalidValue

if TYPE_CHECKING:
    from node.nodedir import Node

DEFAULT_PORT = 8421


def _password() -> str:
    value = os.environ.get("LAOWU_DESK_PASSWORD")
    if value is not None:
        return value
    if not sys.stdin.isatty():
        raise ConfigError("请设置LAOWU_DESK_PASSWORD或在终端里运行 / set LAOWU_DESK_PASSWORD or run in a terminal "
                          "to type the new account's password")
    first = getpass.getpass("新账号的密码 new password: ")
    if getpass.getpass("再输入一次 again: ") != first:
        raise InvalidValue("password", "两次输入的密码不一样 / the two passwords differ")
    return first


def _add(node: Node, name: str, role: str, display: str | None, broker: str | None) -> dict[str, Any]:
    store = node.store()
    try:
        acct = accounts.create(store.engine, name, _password(), scope=store.home, role=role, display=display,
                               broker=broker)
    finally:
        store.close()
    return {"account": acct.name, "role": acct.role, "scope": acct.scope, "broker": acct.broker}


def cmd_user_add(args: argparse.Namespace, node: Node) -> dict[str, Any]:
    return _add(node, args.name, args.role, args.display, args.broker)


def cmd_user_list(args: argparse.Namespace, node: Node) -> list[dict[str, Any]]:
    store = node.store()
    try:
        from node.web import tables

        tables.ensure(store.engine)
        return [{"account": a.name, "display": a.display, "role": a.role, "scope": a.scope, "broker": a.broker}
                for a in accounts.listing(store.engine)]
    finally:
        store.close()


def _port(wanted: int) -> int:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", wanted))
        except OSError:
            s.bind(("127.0.0.1", 0))  # taken (a second desk?): any free port, printed below
        return int(s.getsockname()[1])


def cmd_desk(args: argparse.Namespace, node: Node) -> None:
    import uvicorn

    from node.web.desk.app import desk_app

    node.config()  # a clear error before anything else when this is not a node
    if args.create_user:
        print(_add(node, args.create_user, "administrator", None, None))
    app = desk_app(node)
    if accounts.count(app.state.engine) == 0:
        raise ConfigError("这台电脑还没有账号:先运行 laowu-node desk --create-user 账号名 / no account yet: "
                          "run `laowu-node desk --create-user NAME` first")
    port = _port(args.port)
    url = f"http://127.0.0.1:{port}/"
    print(f"村级劳务工作台 desk: {url}  (Ctrl+C 退出 to stop)", flush=True)
    if not args.no_browser:
        threading.Timer(1.0, webbrowser.open, (url,)).start()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def add_commands(sub: Any, add: Any) -> None:
    sp = add("desk", cmd_desk, "村级劳务工作台 serve the desk in a browser")
    sp.add_argument("--port", type=int, default=DEFAULT_PORT)
    sp.add_argument("--no-browser", action="store_true", help="do not open a browser")
    sp.add_argument("--create-user", metavar="NAME", help="first run: create this administrator account first")
    users = sub.add_parser("user", help="工作台账号 desk accounts: add, list")
    usub = users.add_subparsers(dest="action", required=True)
    sp = add("add", cmd_user_add, "新建账号 add an account", usub)
    sp.add_argument("--name", required=True)
    sp.add_argument("--display", help="the person's name as shown")
    sp.add_argument("--role", default="operator", choices=accounts.ROLES)
    sp.add_argument("--broker", help="the broker card's row id, for a broker's own account")
    add("list", cmd_user_list, "账号列表 list accounts", usub)
