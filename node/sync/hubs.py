"""Which hub to sync with, and falling back to the province hub when the county's is unreachable.

A node may sync with any hub whose scope covers it (DESIGN §8): its county hub normally, the
province hub when the county's is down. The county hub's key is in the node's config; the
province hub's key is the province root key pinned from the province file, so falling back needs
only the province hub's address (`province_hub` in the config). A hub given by address alone
(`laowu-node sync --hub URL`) is the county hub if the address is the configured one, the
province hub otherwise: no 64-hex key has to be typed, which is what made `sync --hub` to the
province end in "bad-signature".

Only an unreachable hub (no answer at all) moves on to the next: a hub that answered and refused
has said something the operator must see, and asking another hub would hide it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from node.engine.store import Store
from protocol.errors import ConfigError
from protocol.keys import short_id

if TYPE_CHECKING:  # the client (and httpx) when a sync runs: `laowu-node init` reads a hub key from here
    from node.sync.client import SyncClient, SyncFailed, SyncReport


@dataclass(frozen=True)
class HubAddress:
    url: str
    key: bytes
    name: str  # 县级平台 / 省级平台

    @property
    def short(self) -> str:
        return short_id(self.key)


@dataclass
class SyncRun:
    """The outcome of trying the hubs in turn: the report of the one that answered, the failures before it."""

    report: SyncReport | None = None
    hub: HubAddress | None = None
    failures: list[tuple[HubAddress, SyncFailed]] = field(default_factory=list)


def hex_key(text: str, what: str = "hub key") -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ConfigError(f"{what}应为64位十六进制 / the {what} must be 64 hex characters, got {text.strip()[:70]!r}")
    return key


def addresses(store: Store, config: dict[str, Any], only: str | None = None) -> list[HubAddress]:
    """The hubs to try, county first; `only` is an address given on the command line."""
    if str(config.get("hub_key", "")).startswith("short:"):
        raise ConfigError("还没有县级平台的完整密钥:先完成登记(enroll 或 install-certs)/ the county hub's key is known "
                          "only by its short id until this node is enrolled: run enroll or install-certs first")
    county = HubAddress(str(config["hub"]).rstrip("/"), hex_key(str(config["hub_key"]), "county hub key"), "县级平台")
    province_url = str(config.get("province_hub") or "").rstrip("/")
    key = config.get("province_hub_key")
    province_key = hex_key(str(key), "province hub key") if key else store.trust.root
    province = HubAddress(province_url, province_key, "省级平台") if province_url else None
    if only:
        url = only.rstrip("/")
        if url == county.url:
            return [county]
        return [HubAddress(url, province_key, "省级平台")]
    return [county, *([province] if province else [])]


def unreachable(exc: SyncFailed) -> bool:
    return exc.status is None and exc.error is None and "/v1/time" not in str(exc)


def sync(store: Store, hubs: list[HubAddress], progress: Callable[[str, int, int], None] | None = None,
         make: Callable[[Store, str, bytes], SyncClient] | None = None) -> SyncRun:
    """Sync with the first hub that answers. `report` stays None when none did, or when one refused
    the whole exchange (its failure is the last in `failures`); local data is never at risk."""
    from node.sync.client import SyncClient, SyncFailed

    run = SyncRun()
    for hub in hubs:
        client = make(store, hub.url, hub.key) if make else SyncClient(store, hub.url, hub.key)
        try:
            run.report, run.hub = client.sync(progress), hub
            return run
        except SyncFailed as exc:
            run.failures.append((hub, exc))
            if not unreachable(exc):
                break
        finally:
            client.close()
    return run
