"""Running a filing for a person or a program: check the request, build the table, write the file.

Used by `laowu-hub filing` and the hub's download route. The format follows the file's suffix
(.xlsx, .csv, .pdf). Personal data is masked unless `full` is asked for; a full export is written to
the store's audit log (`lw_audit`) with who asked, which filing, which scope — before the file is
written, so no full export exists that the log does not show.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from hub.filings import FILINGS, csvout, pdf, xlsx
from hub.filings.common import Ctx
from hub.filings.table import Table
from node.engine.store import Store
from protocol import scope as scopes
from protocol.errors import InvalidValue, Malformed

WRITERS: dict[str, Callable[[Table, Path], Path]] = {".xlsx": xlsx.write, ".csv": csvout.write, ".pdf": pdf.write}
PDF_ONLY_SENSIBLE = ("card", "register")


def check(store: Store, name: str, scope: str, year: int, month: int | None, suffix: str) -> None:
    """Refuse a request that cannot be filed, saying why (Chinese / English) and what to do."""
    if name not in FILINGS:
        raise InvalidValue("name", f"没有这个报表“{name}” / no filing named {name!r}; known: {', '.join(FILINGS)}")
    try:
        scopes.check_code(scope)
    except Malformed:
        raise InvalidValue("scope", f"范围应为12位区划代码 / scope must be a 12-digit division code, got {scope!r}") from None
    if not scopes.contains(store.home, scope):
        raise InvalidValue("scope", f"本枢纽({store.home})不持有{scope}的数据 / this hub holds {store.home}'s "
                           f"subtree, not {scope}: file it at a hub that covers it")
    if not 2000 <= year <= 2100:
        raise InvalidValue("year", f"年份{year}不合理 / year {year} is out of range")
    if month is not None and not 1 <= month <= 12:
        raise InvalidValue("month", f"月份应为1至12 / month must be 1 to 12, got {month}")
    if suffix not in WRITERS:
        raise InvalidValue("out", f"输出文件应以 .xlsx、.csv 或 .pdf 结尾 / the output must end in .xlsx, .csv or .pdf, "
                           f"got {suffix or 'no suffix'}")


def build(store: Store, name: str, ctx: Ctx) -> Table:
    with store.engine.connect() as conn:
        try:
            return FILINGS[name][1](conn, ctx)
        except ValueError as exc:
            raise InvalidValue("month", str(exc)) from None


def export(store: Store, name: str, ctx: Ctx, out: Path, actor: str,
           progress: Callable[[str], None] | None = None) -> Path:
    check(store, name, ctx.scope, ctx.year, ctx.month, out.suffix.lower())
    step = progress or (lambda _: None)
    if ctx.full:
        store.audit(actor, "export-full", "filing", None,
                    f"完整导出 full export: {name} scope={ctx.scope} year={ctx.year} month={ctx.month} → {out.name}")
    step("查询 query")
    table = build(store, name, ctx)
    step("写出 write")
    out.parent.mkdir(parents=True, exist_ok=True)
    return WRITERS[out.suffix.lower()](table, out)


def export_all(store: Store, ctx: Ctx, folder: Path, actor: str) -> list[Path]:
    """Every filing of the scope and year into `folder` (the demo's last step): .xlsx, and the card
    and register also as .pdf. The card is skipped when no `person` option is given."""
    out = []
    month = ctx.month or date.today().month
    for name in FILINGS:
        if name == "card" and not ctx.options.get("person"):
            continue
        c = Ctx(ctx.scope, ctx.year, month if name in ("monitoring",) else (12 if name == "station-effect" else None),
                ctx.today, ctx.unit, ctx.full, ctx.options)
        out.append(export(store, name, c, folder / f"{name}.xlsx", actor))
        if name in PDF_ONLY_SENSIBLE:
            out.append(export(store, name, c, folder / f"{name}.pdf", actor))
    return out
