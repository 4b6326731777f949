"""A `Table` as the .xlsx a Chinese office expects (xlsxwriter).

Layout, top to bottom: the title merged across the width (bold, 16 pt); the period; 填报单位 on the
left and 填报日期 on the right; the header — two rows when columns are grouped, a group's heading
merged across its columns and a lone column's label merged down both rows; the rows with 序号; a
合计 row; then the notes. Printing: A4 landscape, fit to one page wide, the header rows repeated at
the top of every page, the panes frozen below the header and right of 序号.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import xlsxwriter

from hub.filings.table import Table, header_rows, two_rows


def write(table: Table, out: Path) -> Path:
    """constant_memory: each row goes to disk as the next begins, so memory stays flat however long
    the list (a province's subsidy list); it needs the rows written in order, which `_sheet` does."""
    wb = xlsxwriter.Workbook(str(out), {"strings_to_numbers": False, "strings_to_formulas": False,
                                            "strings_to_urls": False, "constant_memory": True})
    try:
        _sheet(wb, table)
    finally:
        wb.close()
    return out


def _sheet(wb: Any, t: Table) -> None:
    ws = wb.add_worksheet(re.sub(r"[\[\]:*?/\\]", "", t.title)[:31])  # Excel forbids these in sheet names
    width = len(t.cols) + 1
    last = width - 1
    title = wb.add_format({"bold": True, "font_size": 16, "align": "center", "valign": "vcenter",
                           "font_name": "宋体"})
    plain = wb.add_format({"font_name": "宋体", "font_size": 11})
    right = wb.add_format({"font_name": "宋体", "font_size": 11, "align": "right"})
    head = wb.add_format({"bold": True, "border": 1, "align": "center", "valign": "vcenter", "text_wrap": True,
                          "font_name": "黑体", "bg_color": "#F2F2F2"})
    cell = wb.add_format({"border": 1, "valign": "vcenter", "font_name": "宋体", "num_format": "#,##0"})
    tot = wb.add_format({"border": 1, "bold": True, "font_name": "宋体", "num_format": "#,##0"})

    ws.merge_range(0, 0, 0, last, t.title, title)
    ws.set_row(0, 30)
    ws.merge_range(1, 0, 1, last, t.period, wb.add_format({"align": "center", "font_name": "宋体"}))
    half = max(1, width // 2)
    ws.merge_range(2, 0, 2, half - 1, f"填报单位:{t.unit}", plain) if half > 1 else ws.write(2, 0, f"填报单位:{t.unit}", plain)
    if last >= half:
        if last > half:
            ws.merge_range(2, half, 2, last, f"填报日期:{t.filed_on}", right)
        else:
            ws.write(2, half, f"填报日期:{t.filed_on}", right)

    top, bottom = header_rows(t.cols)
    h0 = 3
    grouped = two_rows(t.cols)
    h_last = h0 + (1 if grouped else 0)
    # constant_memory writes each row out once the next one starts, so the header goes row by row:
    # the top row's values and its merges first, then the second row.
    for c in range(width):
        ws.write_string(h0, c, top[c], head)
    spans: list[tuple[int, int]] = []  # groups: (first, last) column
    c = 1
    while c < width:
        g = t.cols[c - 1].group
        end = c
        while g and end + 1 < width and t.cols[end].group == g:
            end += 1
        spans.append((c, end))
        c = end + 1
    for first, end in spans:
        if end > first:
            ws.merge_range(h0, first, h0, end, top[first], head)
    if grouped:
        for k in range(width):
            if k == 0 or not t.cols[k - 1].group:
                # A lone column merged down both rows. merge_range refuses a range starting on a row
                # already written out, so the range is recorded as merge_range records it (its value
                # is already in the top row) and the lower cell written blank in the header format.
                ws.merge.append([h0, k, h_last, k])
                ws.write_blank(h_last, k, None, head)
            else:
                ws.write_string(h_last, k, bottom[k], head)

    ws.set_column(0, 0, 6)
    for i, col in enumerate(t.cols, 1):
        ws.set_column(i, i, col.width)
    r = h_last + 1
    # One format for every data cell (its number format only touches numbers); text columns hold
    # strings and number columns numbers already (`Table.records`), so a row goes out in one call.
    for rec in t.records():
        ws.write_row(r, 0, rec, cell)
        r += 1
    if t.has_totals():
        for k, v in enumerate(t.total_row()):
            if isinstance(v, int | float):
                ws.write_number(r, k, v, tot)
            else:
                ws.write_string(r, k, str(v), tot)
        r += 1
    for note in t.notes:
        r += 1
        ws.merge_range(r, 0, r, last, note, wb.add_format({"font_name": "宋体", "text_wrap": False})) if last > 0 \
            else ws.write(r, 0, note)

    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(h0, h_last)
    ws.freeze_panes(h_last + 1, 1)
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.set_footer("&C第 &P 页,共 &N 页")
