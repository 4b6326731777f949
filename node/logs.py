"""Structured logs for nodes and hubs (issue 14): one JSON object a line, rotated, never personal data.

Library code logs through `logging.getLogger("laowu.…")` and names what happened in `event(...)`:

    event(log, "sync", hub=url, pushed=3, pulled=0, refused=0)

and only the command lines (`laowu-node`, `laowu-hub`) call `setup()`, which sends every record to a
rotating file as JSON lines and the important ones to stderr as one readable line. What goes in a log
is counts, codes, place codes, short key and changeset ids, reasons — never a name, an ID number or a
phone. As a second line of defence every line written is passed through `mask()`, which blanks
anything shaped like an ID number or a mobile number, whatever code wrote it (an exception's text can
carry a value). Third-party loggers that narrate every HTTP request (httpx, uvicorn's access log) are
kept at WARNING unless `--verbose`.
"""
from __future__ import annotations

import json
import logging
import logging.handlers
import re
import sys
import time
from pathlib import Path
from typing import Any

MAX_BYTES = 10 << 20  # per file; with BACKUPS kept, a node's logs stay under 60 MB on a small laptop disk
BACKUPS = 5
QUIET = ("httpx", "httpcore", "uvicorn.access", "hpack", "asyncio", "multipart", "alembic")

_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9A-Za-z+])(?:\+?86)?1[3-9]\d{9}(?![0-9A-Za-z])")
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


def mask(text: str) -> str:
    """Blank whatever looks like an 18-character ID number or a mainland mobile number."""
    return _MOBILE.sub("[phone]", _ID_NUMBER.sub("[id-number]", text))


def event(logger: logging.Logger, name: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log one thing that happened, by name, with its fields (counts, codes, ids: no personal data)."""
    logger.log(level, name, extra={"event": name, **{k: v for k, v in fields.items() if k not in _STANDARD}})


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and k != "event"}


def _local(ts: float) -> str:
    """Local time with its offset (operators read local time; the offset keeps it unambiguous)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(ts)) + f".{int(ts % 1 * 1000):03d}" + \
        time.strftime("%z", time.localtime(ts))


class JsonLines(logging.Formatter):
    """`{"time", "level", "logger", "event", ...fields, "message"?, "error"?}` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {"time": _local(record.created), "level": record.levelname.lower(), "logger": record.name}
        name = getattr(record, "event", None)
        out["event"] = name or "message"
        out.update(fields_of(record))
        if not name:
            out["message"] = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            out["error"] = self.formatException(record.exc_info)
        return mask(json.dumps(out, ensure_ascii=False, default=str))


class Readable(logging.Formatter):
    """`2026-11-28 09:12:01 warning sync.failed hub=… status=503` for a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        name = getattr(record, "event", None)
        head = f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(record.created))} {record.levelname.lower()}"
        body = name or record.getMessage()
        extra = " ".join(f"{k}={v}" for k, v in fields_of(record).items())
        text = f"{head} {body}" + (f" {extra}" if extra else "")
        if record.exc_info and record.exc_info[1] is not None:
            text += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
        return mask(text)


def setup(log_file: Path | str | None, *, verbose: bool = False, stderr_level: int = logging.WARNING) -> None:
    """Configure the process's logging once, from a command line's main: the rotating JSON file (when
    given), stderr at `stderr_level` (INFO with --verbose), third-party chatter quieted."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_laowu", False):
            root.removeHandler(h)
            h.close()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    if log_file is not None:
        path = Path(log_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = logging.handlers.RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
        fh.setFormatter(JsonLines())
        fh._laowu = True  # type: ignore[attr-defined]
        root.addHandler(fh)
    sh = logging.StreamHandler(sys.stderr)
    sh.setLevel(logging.DEBUG if verbose else stderr_level)
    sh.setFormatter(Readable())
    sh._laowu = True  # type: ignore[attr-defined]
    root.addHandler(sh)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.WARNING)
