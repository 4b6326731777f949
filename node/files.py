"""Small files that travel between operators: the province file, enrollment requests, certificate chains.

The province file carries the pinned root certificate. It is handed out with the software, like a CA
bundle. (0.1.0 files also carried a "person key" that hashed ID numbers into row ids; nothing is derived
from an ID number any more, and the key in an old file is ignored.)
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from protocol import certs, codec
from protocol.errors import ConfigError, RemoteError


@dataclass(frozen=True)
class ProvinceFile:
    root_cert: bytes
    # The province hub's own certificate (its serving key, certified by the root): a node falls back
    # to the province hub with it when its county hub is down. Absent in files made before it.
    hub_cert: bytes | None = None

    @property
    def hub_key(self) -> bytes | None:
        return certs.decode_certificate(self.hub_cert).subject if self.hub_cert else None

    @property
    def root(self) -> bytes:
        return certs.decode_certificate(self.root_cert).subject


def fsync_dir(folder: Path | str) -> None:
    """Make a rename in `folder` survive a power cut, where the platform allows it.

    POSIX needs the directory itself fsynced; Windows cannot open a directory as a file (NTFS
    journals the rename's metadata itself), and some USB sticks' file systems refuse it: there it
    is skipped rather than failing a write that did happen."""
    if os.name == "nt":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: Path | str, data: bytes, mode: int = 0o644) -> None:
    """Write beside, fsync, rename over, fsync the folder. `mode` restricts who may read the file on
    POSIX; on Windows the file inherits the folder's access rules (the user's profile), which is the
    platform's equivalent."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def save_province(path: Path | str, pf: ProvinceFile) -> None:
    body: dict[str, object] = {"v": 2, "root_cert": pf.root_cert}
    if pf.hub_cert is not None:
        body["hub_cert"] = pf.hub_cert
    write_atomic(path, codec.pack(body), 0o600)


def load_province(path: Path | str) -> ProvinceFile:
    try:
        raw = codec.unpack(Path(path).read_bytes(), max_bytes=1 << 16, what="province file")
        old = isinstance(raw, dict) and raw.get("v") == 1  # 0.1.0 files carry a person key, now unused
        keys = ("v", "root_cert", *(("person_key",) if old else ()),
                *(("hub_cert",) if isinstance(raw, dict) and "hub_cert" in raw else ()))
        m = codec.expect_map(raw, keys, "province file", version=1 if old else 2)
        hub_cert = codec.expect(m["hub_cert"], bytes, "hub_cert") if "hub_cert" in m else None
        pf = ProvinceFile(codec.expect(m["root_cert"], bytes, "root_cert"), hub_cert)
        cert = certs.decode_certificate(pf.root_cert)
        if hub_cert is not None and certs.decode_certificate(hub_cert).issuer != cert.subject:
            raise ConfigError(f"{path}: the province hub's certificate is not issued by the province root")
    except FileNotFoundError as exc:
        raise ConfigError(f"no province file at {path}") from exc
    except RemoteError as exc:
        raise ConfigError(f"{path} is not a valid province file: {exc}") from exc
    if cert.subject != cert.issuer or cert.role != "province":
        raise ConfigError(f"{path} does not hold a self-signed province root certificate")
    return pf


def chain_bytes(chain: list[bytes]) -> bytes:
    """A certificate file's contents (what `install-certs` reads), for a download or a USB stick."""
    return codec.pack({"v": 1, "certs": chain})


def save_chain(path: Path | str, chain: list[bytes]) -> None:
    write_atomic(path, chain_bytes(chain))


def load_chain(path: Path | str) -> list[bytes]:
    try:
        m = codec.expect_map(codec.unpack(Path(path).read_bytes(), max_bytes=1 << 20, what="certificate file"),
                             ("v", "certs"), "certificate file")
    except FileNotFoundError as exc:
        raise ConfigError(f"no certificate file at {path}") from exc
    return [codec.expect(c, bytes, "certs[]") for c in codec.expect(m["certs"], list, "certs")]
