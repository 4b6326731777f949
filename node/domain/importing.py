"""Reading a register someone kept in a spreadsheet: CSV or .xlsx, Chinese or English headers, any
of the encodings Chinese offices save CSV in; one parser for `laowu-node person import` and the desk.

Nothing is written here. `read` turns a file into rows of card fields (text typed as the model
holds it, `node.cli.view.typed`); `preview` checks every row with the domain's own check
(`card.clean_person`) and against the cards already here and the rows above it, so the operator
sees each row's problem before anything is saved; `commit` registers the good rows through
`ops.register_person`, one transaction each, and counts what happened.

Encodings: UTF-8 with or without a BOM is tried first (it fails loudly on anything else);
otherwise charset-normalizer decides, and its GBK or GB2312 answer is read as GB18030, their
superset, so a rare character in a name does not turn the whole file into mojibake.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from charset_normalizer import from_bytes
from sqlalchemy import select

from node.cli.view import PERSON_FIELDS, PERSON_LABELS, typed
from node.domain import card, ops
from node.domain.person import Person
from node.engine.store import Store
from protocol.errors import InvalidValue

MAX_ROWS = 20_000

# Header words an office spreadsheet uses for a card field, besides the field's own name and label.
SYNONYMS = {
    "id_number": ("身份证", "身份证号码", "公民身份号码", "证件号码"), "name": ("姓 名", "名字"),
    "phone": ("手机号", "手机号码", "联系电话", "电话", "联系方式"), "education": ("文化程度",),
    "household_address": ("address", "家庭住址", "住址", "户籍所在地"), "poverty_status": ("poverty", "是否脱贫户", "脱贫户"),
    "willing_to_migrate": ("willing", "外出务工意愿", "是否愿意外出"), "skills": ("技能特长", "专业技能"),
    "employment": ("就业状态", "就业情况"), "monthly_pay": ("月收入", "月工资", "工资"), "health": ("健康状况",),
    "household_size": ("家庭人口数",), "employer": ("就业单位", "工作单位"), "two_after": ("是否两后生",),
}


def _headers() -> dict[str, str]:
    out: dict[str, str] = {}
    for name in PERSON_FIELDS:
        out[name] = name
        label = PERSON_LABELS.get(name, "")
        if label:
            out[label.split(" ")[0]] = name
            out[label] = name
        for word in SYNONYMS.get(name, ()):
            out[word] = name
    return out


HEADERS = _headers()


@dataclass
class Table:
    columns: list[str]  # card field per column, "" for a column we do not take
    unknown: list[str]  # headers we did not recognise (their columns are left out, and said so)
    rows: list[tuple[int, dict[str, str]]]  # (line or spreadsheet row number, field → text)
    encoding: str


@dataclass
class Row:
    line: int
    fields: dict[str, Any]
    error: str = ""
    field: str = ""
    duplicate_of: str = ""


@dataclass
class Preview:
    table: Table
    rows: list[Row] = field(default_factory=list)

    @property
    def good(self) -> list[Row]:
        return [r for r in self.rows if not r.error]

    @property
    def bad(self) -> list[Row]:
        return [r for r in self.rows if r.error]


def decode(data: bytes) -> tuple[str, str]:
    """The text of a CSV file and the encoding it was read in."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "UTF-8 (BOM)"
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    enc = (best.encoding if best else "gb18030").lower()
    if enc.replace("_", "") in ("gbk", "gb2312", "gb18030", "hz", "cp936"):
        enc = "gb18030"
    try:
        return data.decode(enc), enc.upper()
    except (UnicodeDecodeError, LookupError):
        raise InvalidValue("file", "读不出这个文件的编码,请在Excel中另存为“CSV UTF-8”或.xlsx / cannot tell this "
                           "file's encoding: save it as CSV UTF-8 or .xlsx") from None


def _cells_xlsx(data: bytes) -> Iterable[tuple[int, list[str]]]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise InvalidValue("file", f"不是有效的.xlsx文件 / not a valid .xlsx workbook ({type(exc).__name__})") from None
    ws = wb.worksheets[0]
    for n, row in enumerate(ws.iter_rows(values_only=True), 1):
        yield n, ["" if v is None else (v.isoformat() if isinstance(v, date) else str(v)) for v in row]
    wb.close()


def read(data: bytes, filename: str) -> Table:
    """The rows of a CSV or .xlsx file as card fields; the first non-empty row is the header."""
    if filename.lower().endswith((".xlsx", ".xlsm")):
        cells, encoding = list(_cells_xlsx(data)), "xlsx"
    else:
        text, encoding = decode(data)
        reader = csv.reader(io.StringIO(text, newline=""))
        cells = [(reader.line_num, row) for row in reader]
    cells = [(n, c) for n, c in cells if any(x.strip() for x in c)]
    if not cells:
        raise InvalidValue("file", "文件是空的 / the file is empty")
    header = [h.strip() for h in cells[0][1]]
    columns = [HEADERS.get(h, HEADERS.get(h.lower(), "")) for h in header]
    if "id_number" not in columns or "name" not in columns:
        raise InvalidValue("file", "表头须有“身份证号”和“姓名”两列 / the header needs an ID number column and a name "
                           f"column; found: {'、'.join(header)}")
    dup = sorted({c for c in columns if c and columns.count(c) > 1})
    if dup:
        raise InvalidValue("file", f"表头有重复的列:{'、'.join(dup)} / a column appears twice: {', '.join(dup)}")
    if len(cells) - 1 > MAX_ROWS:
        raise InvalidValue("file", f"一次最多导入{MAX_ROWS}行 / at most {MAX_ROWS} rows at a time")
    rows = []
    for n, c in cells[1:]:
        if len(c) > len(header) and any(x.strip() for x in c[len(header):]):
            rows.append((n, {"": "这一行的列数多于表头"}))
            continue
        rows.append((n, {col: v.strip() for col, v in zip(columns, c) if col and v.strip()}))
    return Table(columns, [h for h, c in zip(header, columns) if not c], rows, encoding)


def preview(store: Store, table: Table, *, today: date | None = None) -> Preview:
    """Every row checked as registering it would check it, nothing written."""
    day = today or date.today()
    out = Preview(table)
    p: Any = Person.__table__  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        here = {r.id_number: r.name for r in conn.execute(select(p.c.id_number, p.c.name))}
    seen: dict[str, int] = {}
    for line, cells in table.rows:
        row = Row(line, {})
        try:
            if "" in cells:
                raise InvalidValue("file", cells[""])
            row.fields = {k: typed(Person, k, v) for k, v in cells.items()}
            values, _, _ = card.clean_person(row.fields, today=day)
            number = str(values["id_number"])
            if number in here:
                row.duplicate_of = here[number]
                raise InvalidValue("id_number", f"此身份证号已登记({here[number]}) / already registered")
            if number in seen:
                raise InvalidValue("id_number", f"与第{seen[number]}行的身份证号重复 / same ID number as line {seen[number]}")
            seen[number] = line
        except InvalidValue as exc:
            row.error, row.field = exc.message, exc.field
        out.rows.append(row)
    return out


def commit(store: Store, pv: Preview, *, scope: str | None = None) -> tuple[int, list[Row]]:
    """Register the rows the preview passed; returns how many, and the rows refused now after all."""
    done, refused = 0, []
    for row in pv.good:
        try:
            ops.register_person(store, row.fields, scope=scope)
            done += 1
        except InvalidValue as exc:
            row.error, row.field = exc.message, exc.field
            refused.append(row)
    return done, refused


def read_file(path: str | Path) -> Table:
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise InvalidValue("file", f"没有这个文件 / no such file: {p}") from None
    except IsADirectoryError:
        raise InvalidValue("file", f"这是一个文件夹,不是文件 / this is a folder, not a file: {p}") from None
    return read(data, p.name)
