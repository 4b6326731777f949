"""A `Table` as a printable PDF (fpdf2) with an embedded CJK font: the register (一村一册) on A4
landscape, the card (一人一卡) on A4 portrait. The font is the system's WenQuanYi Micro Hei or Noto
Sans CJK (`make` and CI install fonts-wqy-microhei); without one, a clear error says what to install.
"""
from __future__ import annotations

import os
from pathlib import Path

from hub.filings.table import Table
from protocol.errors import ConfigError

FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
)


def font_path() -> str:
    for f in (os.environ.get("LAOWU_CJK_FONT", ""), *FONTS):
        if f and Path(f).is_file():
            return f
    raise ConfigError("没有中文字体,无法生成PDF:请安装 fonts-wqy-microhei (apt-get install fonts-wqy-microhei) / "
                      "no CJK font for the PDF: install fonts-wqy-microhei or set LAOWU_CJK_FONT")


def write(t: Table, out: Path) -> Path:
    # fpdf2 (and the fontTools it brings) takes about a second to import: every hub process and CLI
    # command would pay it, so it is loaded when a PDF is written.
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    portrait = t.name == "card"
    pdf = FPDF(orientation="P" if portrait else "L", unit="mm", format="A4")
    pdf.add_font("cjk", "", font_path())
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_page()
    pdf.set_font("cjk", size=16)
    pdf.cell(0, 10, t.title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=10)
    pdf.cell(0, 6, t.period, align="C", new_x="LMARGIN", new_y="NEXT")
    half = pdf.epw / 2
    pdf.cell(half, 6, f"填报单位:{t.unit}")
    pdf.cell(half, 6, f"填报日期:{t.filed_on}", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    labels = ["序号", *(c.label for c in t.cols)]
    weights = [5, *(c.width for c in t.cols)]
    widths = tuple(w * pdf.epw / sum(weights) for w in weights)
    pdf.set_font("cjk", size=9 if portrait else 7)
    with pdf.table(col_widths=widths, text_align="LEFT", line_height=5 if portrait else 4, repeat_headings=1,
                   first_row_as_headings=True,
                   headings_style=FontFace(emphasis="", fill_color=(235, 235, 235))) as table:
        table.row([str(x) for x in labels])
        for rec in t.records():
            table.row([str(x) for x in rec])
        if t.has_totals():
            table.row([str(x) for x in t.total_row()])
    for note in t.notes:
        pdf.multi_cell(0, 5, note, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(out))
    return out
