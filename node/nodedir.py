"""A node directory (key, database, config) and the secrets that open it.

Kept apart from `node.cli.main` so the command modules (`node.cli_*`) can take a `Node` without
importing the command line that imports them.
"""
from __future__ import annotations

import getpass
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from node.engine import db
from node.files import write_atomic
from node.engine.store import Store
from protocol import sealed
from protocol.errors import ConfigError
from protocol.keys import KeyPair


@dataclass
class Node:
    """A node directory: key, database, config."""

    dir: Path

    @property
    def keyfile(self) -> Path:
        return self.dir / "node.key"

    @property
    def dbfile(self) -> Path:
        return self.dir / "node.sqlite"

    @property
    def configfile(self) -> Path:
        return self.dir / "config.json"

    def config(self) -> dict[str, Any]:
        if not self.configfile.exists():
            raise ConfigError(f"{self.dir} is not a Laowu node: run `laowu-node init` first")
        return dict(json.loads(self.configfile.read_text()))

    def save_config(self, cfg: dict[str, Any]) -> None:
        write_atomic(self.configfile, json.dumps(cfg, ensure_ascii=False, indent=2).encode())

    def key(self) -> KeyPair:
        return KeyPair.load(self.keyfile, passphrase())

    def store(self, **kw: Any) -> Store:
        """The node's store. Its database is encrypted under a key derived from the node's key (itself
        sealed under the passphrase); a database made before encryption opens as it is until
        `laowu-node encrypt-db`, and `status` says so."""
        from node.domain.rules import RULES

        key = self.key()
        engine_kw = {} if db.is_plaintext(self.dbfile) else {"db_key": db_key(key)}
        return Store.open(self.dbfile, key, rules=RULES, engine_kw=engine_kw, **kw)


def db_key(key: KeyPair) -> bytes:
    return sealed.derive(key.raw(), b"node-db/v1")


def passphrase() -> str:
    value = os.environ.get("LAOWU_PASSPHRASE")
    if value is None:
        if not sys.stdin.isatty():
            raise ConfigError("set LAOWU_PASSPHRASE or run in a terminal: the key is encrypted")
        value = getpass.getpass("口令 passphrase: ")
    if len(value) < 8:
        raise ConfigError("the passphrase must be at least 8 characters")
    return value


def bundle_passphrase() -> str:
    """Bundles are encrypted under LAOWU_BUNDLE_PASSPHRASE when set (one the village and the county
    agree on by phone), else under the operator's own passphrase."""
    value = os.environ.get("LAOWU_BUNDLE_PASSPHRASE")
    return passphrase() if value is None else value
