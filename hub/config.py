"""A hub's settings: a TOML file, environment variables over it, command-line flags over both.

    laowu-hub serve --config /etc/laowu/hub.toml
    laowu-hub config check /etc/laowu/hub.toml

The file (every key optional except `hub.dir`; docs/operations.md has a commented example):

    [hub]
    dir = "/var/lib/laowu/county"            # key, logs (and hub.sqlite unless `database` is set)
    database = "postgresql://laowu@/laowu"   # any SQLAlchemy URL; default DIR/hub.sqlite
    host = "0.0.0.0"
    port = 8700
    [upstream]                               # county hubs relay to the province hub
    url = "https://province.example:8700"
    key = "64 hex characters: the province hub's author id"
    relay_interval = 5.0                     # seconds
    [tls]
    cert = "/etc/laowu/tls/hub.crt"
    key = "/etc/laowu/tls/hub.key"
    [limits]
    max_ahead_minutes = 10                   # changesets stamped further ahead are quarantined (DESIGN §5)
    max_connections = 2048
    verify_workers = 1                       # processes verifying pushed signatures beside the writer (hub.verify)
    [log]
    file = "/var/log/laowu/hub.log"          # default DIR/logs/laowu-hub.log
    verbose = false

Every setting also reads an environment variable, which wins over the file: LAOWU_HUB_DIR,
LAOWU_HUB_DATABASE, LAOWU_HUB_HOST, LAOWU_HUB_PORT, LAOWU_HUB_UPSTREAM_URL, LAOWU_HUB_UPSTREAM_KEY,
LAOWU_HUB_RELAY_INTERVAL, LAOWU_HUB_TLS_CERT, LAOWU_HUB_TLS_KEY, LAOWU_HUB_MAX_AHEAD_MINUTES,
LAOWU_HUB_MAX_CONNECTIONS, LAOWU_HUB_VERIFY_WORKERS, LAOWU_HUB_LOG_FILE, LAOWU_HUB_VERBOSE. A mistake is reported all at
once, each in Chinese and English, naming the key and what it should be.
"""
from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.verify import MAX_WORKERS
from protocol.errors import ConfigError


@dataclass(frozen=True)
class Setting:
    name: str          # attribute and argparse dest
    path: tuple[str, str]  # [section] key in the file
    kind: type
    default: Any
    zh: str


SETTINGS = [
    Setting("dir", ("hub", "dir"), Path, None, "枢纽目录"),
    Setting("db", ("hub", "database"), str, None, "数据库地址"),
    Setting("host", ("hub", "host"), str, "127.0.0.1", "监听地址"),
    Setting("port", ("hub", "port"), int, 8700, "端口"),
    Setting("upstream", ("upstream", "url"), str, None, "上级枢纽地址"),
    Setting("upstream_key", ("upstream", "key"), str, None, "上级枢纽公钥"),
    Setting("relay_interval", ("upstream", "relay_interval"), float, 5.0, "转发间隔(秒)"),
    Setting("tls_cert", ("tls", "cert"), Path, None, "TLS 证书文件"),
    Setting("tls_key", ("tls", "key"), Path, None, "TLS 私钥文件"),
    Setting("max_ahead_minutes", ("limits", "max_ahead_minutes"), float, 10.0, "时钟超前上限(分钟)"),
    Setting("max_connections", ("limits", "max_connections"), int, 2048, "最大连接数"),
    Setting("verify_workers", ("limits", "verify_workers"), int, 0, "验签进程数"),
    Setting("log_file", ("log", "file"), Path, None, "日志文件"),
    Setting("verbose", ("log", "verbose"), bool, False, "详细日志"),
]
KNOWN = {s.path for s in SETTINGS}


def env_name(s: Setting) -> str:
    """LAOWU_HUB_ + the key (hub, limits, log sections), or + SECTION_KEY (upstream, tls; log.file)."""
    if s.path[0] == "upstream":
        return "LAOWU_HUB_" + ("UPSTREAM_URL" if s.path[1] == "url" else "UPSTREAM_KEY" if s.path[1] == "key"
                              else s.path[1].upper())
    if s.path[0] == "tls":
        return f"LAOWU_HUB_TLS_{s.path[1].upper()}"
    if s.path == ("log", "file"):
        return "LAOWU_HUB_LOG_FILE"
    if s.path == ("hub", "database"):
        return "LAOWU_HUB_DATABASE"
    return f"LAOWU_HUB_{s.path[1].upper()}"


def _convert(s: Setting, raw: Any, where: str, base: Path, problems: list[str]) -> Any:
    key = f"{where} {'.'.join(s.path)}"
    if isinstance(raw, str) and s.kind is not str and s.kind is not Path:
        text = raw.strip().lower()
        try:
            raw = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}[text] \
                if s.kind is bool else s.kind(text)
        except (KeyError, ValueError):
            problems.append(f"{key}: {s.zh}应为{_kind_zh(s.kind)},实际为 {raw!r} / must be {_kind_en(s.kind)}, got {raw!r}")
            return None
    ok = isinstance(raw, s.kind) or (s.kind is float and isinstance(raw, int) and not isinstance(raw, bool)) or \
        (s.kind is Path and isinstance(raw, str))
    if s.kind is int and isinstance(raw, bool):
        ok = False
    if not ok:
        problems.append(f"{key}: {s.zh}应为{_kind_zh(s.kind)},实际为 {raw!r} / must be {_kind_en(s.kind)}, got {raw!r}")
        return None
    if s.kind is Path:
        p = Path(raw).expanduser()
        return p if p.is_absolute() else (base / p)
    return float(raw) if s.kind is float else raw


def _kind_zh(kind: type) -> str:
    return {int: "整数", float: "数字", bool: "true 或 false", str: "文字", Path: "文件路径"}[kind]


def _kind_en(kind: type) -> str:
    return {int: "a whole number", float: "a number", bool: "true or false", str: "text", Path: "a file path"}[kind]


def read(path: Path | str | None, env: Mapping[str, str] = os.environ) -> tuple[dict[str, Any], list[str]]:
    """Settings from the file (if any) with the environment over it, and every problem found."""
    problems: list[str] = []
    data: dict[str, Any] = {}
    base = Path.cwd()
    if path is not None:
        p = Path(path)
        base = p.resolve().parent
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}, [f"{p}: 找不到配置文件 / no such config file"]
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            return {}, [f"{p}: 不是有效的 TOML 文件 / not valid TOML: {exc}"]
        for section, body in data.items():
            if not isinstance(body, dict):
                problems.append(f"{p} {section}: 应为 [{section}] 小节 / must be a [{section}] section")
                continue
            for key in body:
                if (section, key) not in KNOWN:
                    problems.append(f"{p} {section}.{key}: 不认识的设置 / unknown setting "
                                    f"(known: {', '.join('.'.join(k) for k in sorted(KNOWN))})")
    out: dict[str, Any] = {}
    for s in SETTINGS:
        table = data.get(s.path[0])
        if isinstance(table, dict) and s.path[1] in table:
            out[s.name] = _convert(s, table[s.path[1]], str(path), base, problems)
        if env_name(s) in env and env[env_name(s)] != "":
            out[s.name] = _convert(s, env[env_name(s)], f"${env_name(s)}", Path.cwd(), problems)
    _check(out, problems)
    return out, problems


def _check(out: dict[str, Any], problems: list[str]) -> None:
    port = out.get("port")
    if isinstance(port, int) and not 0 < port < 65536:
        problems.append(f"hub.port: 端口应在 1–65535 之间 / must be between 1 and 65535, got {port}")
    key = out.get("upstream_key")
    if key is not None:
        try:
            ok = len(bytes.fromhex(key)) == 32
        except ValueError:
            ok = False
        if not ok:
            problems.append("upstream.key: 应为64位十六进制(上级枢纽的公钥)/ must be 64 hex characters "
                            "(the upstream hub's author id)")
    if (out.get("upstream") is None) != (key is None):
        problems.append("upstream: url 和 key 须同时设置 / url and key go together")
    url = out.get("upstream")
    if url is not None and not url.startswith(("http://", "https://")):
        problems.append(f"upstream.url: 应以 http:// 或 https:// 开头 / must start with http:// or https://, got {url!r}")
    if (out.get("tls_cert") is None) != (out.get("tls_key") is None):
        problems.append("tls: cert 和 key 须同时设置 / cert and key go together")
    for name in ("tls_cert", "tls_key"):
        p = out.get(name)
        if isinstance(p, Path) and not p.is_file():
            problems.append(f"tls.{name[4:]}: 找不到文件 {p} / no such file")
    for name, lo in (("relay_interval", 0.1), ("max_ahead_minutes", 1.0), ("max_connections", 1)):
        v = out.get(name)
        if isinstance(v, (int, float)) and v < lo:
            problems.append(f"{name}: 不能小于 {lo} / must be at least {lo}, got {v}")
    workers = out.get("verify_workers")
    if isinstance(workers, int) and not 0 <= workers <= MAX_WORKERS:
        problems.append(f"limits.verify_workers: 验签进程数应在 0–{MAX_WORKERS} 之间 / must be 0 to {MAX_WORKERS}, got {workers}")
    d = out.get("dir")
    if isinstance(d, Path) and d.exists() and not d.is_dir():
        problems.append(f"hub.dir: {d} 不是目录 / is not a directory")


def apply(args: Any, path: Path | str | None, env: Mapping[str, str] = os.environ) -> None:
    """Fill what the command line left unset (None) from the file and the environment, then the
    defaults. Raises ConfigError listing every problem."""
    values, problems = read(path, env)
    if problems:
        raise ConfigError("配置有误 the configuration has problems:\n  " + "\n  ".join(problems))
    for s in SETTINGS:
        if getattr(args, s.name, None) is None:
            setattr(args, s.name, values.get(s.name, s.default))
    if getattr(args, "dir", None) is None:
        raise ConfigError("缺少枢纽目录:用 --dir 或配置文件的 hub.dir 指定 / no hub directory: give --dir or hub.dir "
                          "in the config file")


def check(path: Path | str, env: Mapping[str, str] = os.environ) -> tuple[dict[str, Any], list[str]]:
    """`laowu-hub config check`: the settings as they would apply, and every problem."""
    values, problems = read(path, env)
    if "dir" not in values and not problems:
        problems.append("hub.dir: 必须设置枢纽目录 / the hub directory must be set")
    return {s.name: values.get(s.name, s.default) for s in SETTINGS}, problems
