"""What a page says after an action, carried across the redirect-after-POST without its words in the URL.

An action ends with `app.back(request, "/held", flash="已放行…")` (done: green) or `alert=failure(what,
why, then)` (not done: red, `role="alert"`). The words are kept here, in the machine's own `web_note`
table, under a random reference bound to the session that did the action, for `TTL_MS`; the redirect
carries only `?said=REF`. The page it lands on takes them (`take`) and shows them once: the reference is
deleted as it is read. So a hand-made link shows nothing: the query's own `flash=` or `alert=` is never
read, a reference nobody made (or one made for another session, or an old one) names nothing, and
a page reloaded says nothing twice.

    ref = keep(engine, session, Said(alert=failure("未能拒绝…", "它已不在隔离区", "刷新本页")))
    take(engine, session, ref)  # that Said, once; then Said()
"""
from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field

from sqlalchemy import Engine, delete, select

from node.web import tables

PARAM = "said"  # the query parameter that carries the reference
TTL_MS = 10 * 60 * 1000  # long enough for a slow page, short enough that an old link says nothing
_KEY = "said/"  # web_note keys: said/{ms:013d}-{token}: the time first, so old ones go by a range


@dataclass(frozen=True)
class Said:
    """A page's message: `flash` that it was done, `alert` that it was not (one line each: what, why,
    what to do), and `extra` values the page shows once beside them (a one-time code, a download)."""

    flash: str = ""
    alert: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def failure(what: str, why: str, then: str, *more: str) -> str:
    """The words of an action that was not done: what was not, why in plain words, anything more
    the operator must know, and what to do next; one line each, as the red box shows them."""
    return "\n".join([what, f"原因:{why}", *more, f"下一步:{then}"])


def plain(message: str) -> str:
    """The Chinese half of a bilingual message ("中文 / english"), for the screen."""
    return message.split(" / ")[0].strip()


def _now() -> int:
    return int(time.time() * 1000)


def keep(engine: Engine, session: str, said: Said) -> str:
    """Keep `said` for the session whose digest is `session`; the reference the redirect carries."""
    now = _now()
    ref = f"{now:013d}-{secrets.token_urlsafe(16)}"
    value = json.dumps({"session": session, "flash": said.flash, "alert": said.alert, "extra": said.extra},
                       ensure_ascii=False)
    n = tables.notes.c
    with engine.begin() as conn:  # the old ones nobody came back for go first
        conn.execute(delete(tables.notes).where(n.key >= _KEY, n.key < f"{_KEY}{now - TTL_MS:013d}"))
        conn.execute(tables.notes.insert(), {"key": _KEY + ref, "value": value})
    return ref


def take(engine: Engine, session: str, ref: str) -> Said:
    """What was kept under `ref` for this session, once (the reference is gone after); `Said()` for
    anything else: unknown, made for another session, or older than `TTL_MS`."""
    if not session or not ref or len(ref) > 48 or not ref[:13].isdigit() or _now() - int(ref[:13]) > TTL_MS:
        return Said()
    n = tables.notes.c
    with engine.begin() as conn:
        row = conn.execute(select(n.value).where(n.key == _KEY + ref)).first()
        if row is None:
            return Said()
        kept = json.loads(row.value)
        if not secrets.compare_digest(str(kept.get("session")), session):
            return Said()  # another session's: not shown here, and still there for its own
        conn.execute(delete(tables.notes).where(n.key == _KEY + ref))
    return Said(str(kept.get("flash") or ""), str(kept.get("alert") or ""),
                {str(k): str(v) for k, v in dict(kept.get("extra") or {}).items()})
