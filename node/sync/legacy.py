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

A 0.2.0 hub signs its answers but binds session tokens to the client's address, not its key
(`protocol.session`). A current hub binds them to the key whenever the hello promises to prove,
and that promise is signed, so no network can strip it. Still, once a hub key has given this node
a key-bound token in a signed welcome, that is pinned too (lw_meta `hub_binds:…`, `pin_binding`):
an address-bound token from that key later (the hub rolled back to 0.2.0, or whatever a network
could make of it) is refused and nothing is synced (docs/trust.md §9).
"""
from __future__ import annotations

import time
from contextlib import nullcontext

from sqlalchemy import Connection, bindparam, select

from node.engine import tables as t
from node.engine.db import upsert
from node.engine.store import Store
from protocol import codec

PIN = "hub_signs:"  # lw_meta key: this + the hub key's first 24 bytes in hex (keys fit 64 characters) → when (ms)
BINDS = "hub_binds:"  # the same for "this hub has bound a session token to this node's key"
PATHS = frozenset({"/v1/hello", "/v1/pull", "/v1/push"})
NOTE = ("平台应答未签名(0.1.0 版平台),兼容模式同步:未保存同步进度,请升级县级平台 / the hub signs no answers "
        "(release 0.1.0): synced in compatibility mode, no progress saved; upgrade the hub")


UNBOUND = ("该平台以前给本机的会话都绑定本机密钥,这次只绑定网络地址:可能有人在网络中间篡改,或平台被换回了旧版本。"
           "本次没有同步任何内容;请县里确认平台版本(laowu-hub --version)并升级,或换一个网络再同步 / this hub has bound "
           "its sessions to this laptop's key before, and now offers one bound only to the network address: a network "
           "in between is tampering, or the hub was rolled back to an older release. Nothing was synced; ask the county "
           "to check the hub's release (laowu-hub --version) and upgrade it, or sync from another network")


def _key(hub: bytes, kind: str = PIN) -> str:
    return kind + hub[:24].hex()


_META = select(t.meta.c.key).where(t.meta.c.key == bindparam("key"))  # built once: building it cost more than the lookup


def _pinned(store: Store, key: str, conn: Connection | None = None) -> bool:
    with store.engine.connect() if conn is None else nullcontext(conn) as conn:
        return conn.execute(_META, {"key": key}).first() is not None


def _pin(store: Store, key: str) -> None:
    if not _pinned(store, key):
        with store.transaction() as conn:
            conn.execute(upsert(conn.dialect.name, t.meta, ["key"]),
                         {"key": key, "value": codec.pack(int(time.time() * 1000))})


def signs(store: Store, hub: bytes, conn: Connection | None = None) -> bool:
    """Whether this node has seen `hub` sign an answer (read on `conn` when given: `node.sync.prior`)."""
    return _pinned(store, _key(hub), conn)


def pin(store: Store, hub: bytes) -> None:
    """Remember that `hub` signs its answers: no unsigned answer from it is taken again."""
    _pin(store, _key(hub))


def binds(store: Store, hub: bytes, conn: Connection | None = None) -> bool:
    """Whether `hub` has given this node a key-bound session token in a signed welcome."""
    return _pinned(store, _key(hub, BINDS), conn)


def pin_binding(store: Store, hub: bytes) -> None:
    """Remember that `hub` binds session tokens to this node's key: no address-bound one is taken again."""
    _pin(store, _key(hub, BINDS))


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
