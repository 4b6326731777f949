"""Syncing with a hub of release 0.1.0, which signs none of its answers (docs/trust.md §9).

A 0.2.0 node verifies the hub's signature on every answer before it uses anything in it. A 0.1.0
hub gives none, and a network attacker can strip a signature as easily as an old hub omits one, so
the node cannot tell the two apart by looking. The rule is therefore built so that stripping
signatures from a current hub gains an attacker nothing that dropping the traffic would not:

1. **Pinned.** The first signed answer from a hub key is remembered in the node's database (lw_meta
   `hub_signs:` + the key's first 24 bytes); from then on an unsigned answer from that key is a
   downgrade attack and is refused like a bad signature.
2. **Only hello, pull and push.** A time (`/v1/time`) or a snapshot (`/v1/snapshot`) is never taken
   unsigned: a clock or a whole database cannot be checked by the node itself.
3. **Only what carries its own signatures.** From unsigned answers the node applies changesets,
   certificates and revocations (each signed by its author or issuer, checked against the pinned
   root key, as from any hub); it does not correct its clock from the hub's time, and it saves no
   cursor: a skipped pull cursor or a forged "accepted" lives for one exchange and the next
   starts again from the last signed position (duplicates are answered as such).
4. **Not for a restored laptop** until it has synced once with a hub that signs: it continues its
   feed from the heads the hub signs (DESIGN §4), and an unsigned welcome could hide them.

The cost of compatibility mode is bandwidth: each exchange re-sends what the old hub already
holds since the last signed one. Upgrade hubs first (docs/operations.md).
"""
from __future__ import annotations

import time

from sqlalchemy import select

from node.engine import tables as t
from node.engine.db import upsert
from node.engine.store import Store
from protocol import codec

PIN = "hub_signs:"  # lw_meta key: this + the hub key's first 24 bytes in hex (keys fit 64 characters) → when (ms)
PATHS = frozenset({"/v1/hello", "/v1/pull", "/v1/push"})
NOTE = ("平台应答未签名(0.1.0 版平台),兼容模式同步:未保存同步进度,请升级县级平台 / the hub signs no answers "
        "(release 0.1.0): synced in compatibility mode, no progress saved; upgrade the hub")


def _key(hub: bytes) -> str:
    return PIN + hub[:24].hex()


def signs(store: Store, hub: bytes) -> bool:
    """Whether this node has seen `hub` sign an answer."""
    with store.engine.connect() as conn:
        return conn.execute(select(t.meta.c.key).where(t.meta.c.key == _key(hub))).first() is not None


def pin(store: Store, hub: bytes) -> None:
    """Remember that `hub` signs its answers: no unsigned answer from it is taken again."""
    if not signs(store, hub):
        with store.transaction() as conn:
            conn.execute(upsert(conn.dialect.name, t.meta, ["key"]),
                         {"key": _key(hub), "value": codec.pack(int(time.time() * 1000))})


def refusal(store: Store, hub: bytes, path: str, restored: bool) -> str | None:
    """Why an unsigned answer from `hub` to `path` may not be taken, or None when it may."""
    if path not in PATHS:
        return f"{path} 的应答必须签名 a {path} answer is never taken unsigned"
    if signs(store, hub):
        return ("该平台以前的应答都有签名,这次没有:可能有人在网络中间篡改 this hub has signed its answers "
                "before: an unsigned one is a downgrade attack")
    if restored:
        return ("本机从备份恢复后须先与签名的平台同步一次 a laptop restored from a backup syncs first with a hub "
                "that signs its answers (upgrade the hub, or sync with the province hub)")
    return None
