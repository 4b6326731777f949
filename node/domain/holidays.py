"""When a holiday is, for return-home registration (Guizhou, seeds/004 三(四): 元旦、春节 and the other
national holidays and minority festivals).

A registration that says "returned for 元旦" on 20 May is a typing mistake: it is refused. A holiday
return is accepted inside a window around the holiday's day in that year (or the next, for returns
ahead of New Year or Spring Festival): people come home before a holiday and stay a while after it.

Windows (days before, days after) — our reading, the seed gives none: 春节 30 before / 15 after
(migrant workers travel for weeks ahead of 春运's peak); 国庆节 and 劳动节, whose holidays last 5 to 7
days, 10 / 10; the others 7 / 7. Lunar holidays come from `lunardate` (春节 1/1, 端午 5/5, 中秋
8/15); 清明 is taken as 4 April (it falls on 4–6 April, inside the window). 民族节庆 (minority
festivals) vary by place and are not checked.
"""
from __future__ import annotations

from datetime import date, timedelta

from lunardate import LunarDate

WINDOWS: dict[str, tuple[int, int]] = {
    "元旦": (7, 7), "春节": (30, 15), "清明节": (7, 7), "劳动节": (10, 10),
    "端午节": (7, 7), "中秋节": (7, 7), "国庆节": (10, 10),
}
_LUNAR = {"春节": (1, 1), "端午节": (5, 5), "中秋节": (8, 15)}
_SOLAR = {"元旦": (1, 1), "清明节": (4, 4), "劳动节": (5, 1), "国庆节": (10, 1)}


def day_of(holiday: str, year: int) -> date:
    """The holiday's (first) day in `year`."""
    if holiday in _LUNAR:
        m, d = _LUNAR[holiday]
        return LunarDate(year, m, d).to_solar_date()
    m, d = _SOLAR[holiday]
    return date(year, m, d)


def matches(holiday: str, on: date) -> bool:
    """Whether a return on `on` fits `holiday` (unchecked holidays always fit)."""
    if holiday not in WINDOWS:
        return True
    before, after = WINDOWS[holiday]
    for year in (on.year, on.year + 1):
        day = day_of(holiday, year)
        if day - timedelta(days=before) <= on <= day + timedelta(days=after):
            return True
    return False
