"""`laowu-hub filing`: one official table or list out of the hub's replica, or all of them.

    laowu-hub filing annex3 --dir P --scope 513200000000 --year 2026 --out 附件3.xlsx
    laowu-hub filing monitoring --dir C --year 2026 --month 5 --out 监测.csv
    laowu-hub filing card --dir C --person 513225199003070031 --out 卡.pdf
    laowu-hub filing all --dir P --year 2026 --out filings/     every filing into a folder
    laowu-hub filing list                                         what can be filed

ID numbers, phones, health and income are masked unless --full is given; a full export is written to
the hub's audit log with --actor (default: the login name). A progress bar runs on a terminal.
"""
from __future__ import annotations

import argparse
import getpass
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any


def add(sub: Any, db_of: Any) -> None:
    sp = sub.add_parser("filing", help="produce an official table or list (laowu-hub filing list)")
    sp.add_argument("name", help="the filing (list: show them all; all: every filing into --out as a folder)")
    sp.add_argument("--dir", help="the hub's directory")
    sp.add_argument("--db", help="SQLAlchemy URL instead of DIR/hub.sqlite (e.g. postgresql://...)")
    sp.add_argument("--scope", help="12-digit division code (default: the hub's own)")
    sp.add_argument("--year", type=int, default=date.today().year)
    sp.add_argument("--month", type=int)
    sp.add_argument("--out", help="the file (.xlsx, .csv, .pdf), or a folder for `all`")
    sp.add_argument("--unit", default="", help="填报单位 as printed (default: the scope code)")
    sp.add_argument("--full", action="store_true", help="ID numbers and phones whole (logged in the audit log)")
    sp.add_argument("--actor", default=os.environ.get("USER") or getpass.getuser(), help="who asks (audit log)")
    sp.add_argument("--broker", help="annex2: one broker's row id")
    sp.add_argument("--person", help="card: the card's row id or an ID number")
    sp.add_argument("--holiday", help="returns: only this holiday (春节, 元旦, …)")
    sp.set_defaults(fn=lambda args: run(args, db_of))


def run(args: argparse.Namespace, db_of: Any) -> dict[str, object]:
    # The filings (xlsxwriter, every table's query) are imported here, by the one command using them:
    # every other `laowu-hub` run would pay for them at start-up.
    from hub.filings import FILINGS
    from hub.filings.access import export, export_all
    from hub.filings.common import Ctx
    from node.engine.store import Store

    if args.name == "list":
        return {name: text for name, (text, _) in FILINGS.items()}
    from protocol.errors import InvalidValue

    if not args.out:
        raise InvalidValue("out", "请用 --out 指定输出文件 / give --out FILE (.xlsx, .csv or .pdf)")
    if not (args.dir or args.db):
        raise InvalidValue("dir", "请用 --dir 或 --db 指定枢纽 / give the hub with --dir or --db")
    store = Store.open(db_of(args), None)
    try:
        opts = {k: v for k, v in (("broker", args.broker), ("person", args.person), ("holiday", args.holiday)) if v}
        ctx = Ctx(args.scope or store.home, args.year, args.month, date.today(), args.unit, args.full, opts)
        if args.name == "all":
            paths = export_all(store, ctx, Path(args.out), args.actor)
            return {"写出 written": len(paths), "目录 folder": str(Path(args.out).resolve())}
        out = Path(args.out)
        if sys.stderr.isatty():
            from rich.progress import Progress

            with Progress(transient=True) as bar:
                task = bar.add_task(f"{args.name} {ctx.scope}", total=2)
                export(store, args.name, ctx, out, args.actor, progress=lambda step: bar.update(task, advance=1,
                                                                                                 description=step))
        else:
            export(store, args.name, ctx, out, args.actor)
        return {"报表 filing": args.name, "范围 scope": ctx.scope, "文件 file": str(out.resolve()),
                "完整 full": args.full}
    finally:
        store.close()
