"""Small files that travel between operators: the province file, enrollment requests, certificate chains.

The province file carries the pinned root certificate and the province's person key (the key of the
hash that turns an ID number into a row id). It is handed out with the software, like a CA bundle.
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
    person_key: bytes

    @property
    def root(self) -> bytes:
        return certs.decode_certificate(self.root_cert).subject


def write_atomic(path: Path | str, data: bytes, mode: int = 0o644) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_province(path: Path | str, pf: ProvinceFile) -> None:
    write_atomic(path, codec.pack({"v": 1, "root_cert": pf.root_cert, "person_key": pf.person_key}), 0o600)


def load_province(path: Path | str) -> ProvinceFile:
    try:
        m = codec.expect_map(codec.unpack(Path(path).read_bytes(), max_bytes=1 << 16, what="province file"),
                             ("v", "root_cert", "person_key"), "province file")
        pf = ProvinceFile(codec.expect(m["root_cert"], bytes, "root_cert"), codec.expect(m["person_key"], bytes, "person_key"))
        cert = certs.decode_certificate(pf.root_cert)
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
