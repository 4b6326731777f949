"""Where a node lives on its laptop, from a settings file in the platform's usual place.

A node's identity (place, hub, hub key) stays in DIR/config.json, written by `laowu-node init`. This
file only says where DIR is and how to log, so an operator types no `--dir`:

    ~/.config/laowu/node.toml (Linux), %LOCALAPPDATA%\\laowu\\node.toml (Windows), per platformdirs

    [node]
    dir = "D:/laowu/513225103201"   # default: ~/.laowu if it exists (where 0.1.0 kept it), else the
                                    # platform's data folder (~/.local/share/laowu, %LOCALAPPDATA%\\laowu)
    verbose = false

Environment variables win over the file: LAOWU_NODE_CONFIG (another settings file), LAOWU_HOME (the
node directory), LAOWU_VERBOSE=1. The command line (`--dir`, `--verbose`) wins over both.
"""
from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import platformdirs

from protocol.errors import ConfigError

APP = "laowu"


def settings_file() -> Path:
    given = os.environ.get("LAOWU_NODE_CONFIG")
    return Path(given) if given else Path(platformdirs.user_config_dir(APP, appauthor=False)) / "node.toml"


def load() -> dict[str, Any]:
    """The [node] table of the settings file ({} when there is none); a broken file is a ConfigError."""
    path = settings_file()
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: 不是有效的 TOML 文件 / not valid TOML: {exc}") from exc
    node = data.get("node", {})
    unknown = sorted(set(node) - {"dir", "verbose"}) + sorted(set(data) - {"node"})
    if not isinstance(node, dict) or unknown:
        raise ConfigError(f"{path}: 不认识的设置 {', '.join(unknown)} / unknown settings (known: [node] dir, verbose)")
    return node


def default_dir(node: dict[str, Any]) -> str:
    if os.environ.get("LAOWU_HOME"):
        return os.environ["LAOWU_HOME"]
    if node.get("dir"):
        return str(Path(str(node["dir"])).expanduser())
    legacy = Path.home() / ".laowu"
    return str(legacy if legacy.exists() else Path(platformdirs.user_data_dir(APP, appauthor=False)))


def default_verbose(node: dict[str, Any]) -> bool:
    env = os.environ.get("LAOWU_VERBOSE", "").lower()
    if env:
        return env in ("1", "true", "yes")
    return bool(node.get("verbose", False))
