"""Ed25519 keys: a replica's identity. The 32-byte public key *is* the author id.

On a laptop the private key file is encrypted under the operator's passphrase (scrypt + AES-GCM,
`protocol.sealed`) and written 0600, so a stolen laptop cannot sign; hubs may keep an unencrypted
key on a locked-down server (passphrase None), but an empty passphrase is refused everywhere. Key
files of 0.1.0 (PKCS#8 under PBKDF2) still open and are rewritten in the new format on that unlock.
"""
from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from protocol import sealed
from protocol.errors import BadPassphrase, BadSignature, ConfigError

AUTHOR_LEN = 32
SIG_LEN = 64


def short_id(author: bytes) -> str:
    """8 characters people can read aloud on the phone to a county operator."""
    return base64.b32encode(hashlib.sha256(author).digest()[:5]).decode().lower()


@dataclass(frozen=True)
class KeyPair:
    private: Ed25519PrivateKey
    public: bytes

    @classmethod
    def generate(cls) -> KeyPair:
        return cls.from_private(Ed25519PrivateKey.generate())

    @classmethod
    def from_private(cls, private: Ed25519PrivateKey) -> KeyPair:
        public = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return cls(private=private, public=public)

    @classmethod
    def from_seed(cls, seed: bytes) -> KeyPair:
        """Deterministic keys for tests and replayable simulations only."""
        return cls.from_private(Ed25519PrivateKey.from_private_bytes(hashlib.sha256(seed).digest()))

    @property
    def author(self) -> bytes:
        return self.public

    @property
    def short(self) -> str:
        return short_id(self.public)

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data)

    def raw(self) -> bytes:
        return self.private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                          serialization.NoEncryption())

    def save(self, path: Path, passphrase: str | None) -> None:
        """Write the key, mode 0600: sealed under `passphrase` (scrypt), or PKCS#8 PEM in the clear when
        it is None (a hub on a locked-down server). An empty or short passphrase is refused."""
        if passphrase is None:
            data = self.private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption())
        else:
            data = sealed.armor(sealed.seal(passphrase, self.raw(), b"key"))
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        os.chmod(path, 0o600)

    @classmethod
    def load(cls, path: Path, passphrase: str | None) -> KeyPair:
        path = Path(path)
        if not path.exists():
            raise ConfigError(f"no key file at {path}: run `init` first")
        if passphrase is not None:
            sealed.check_passphrase(passphrase)
        data = path.read_bytes()
        inner = sealed.unarmor(data)
        if inner is not None:
            return cls.from_private(Ed25519PrivateKey.from_private_bytes(
                sealed.open_sealed(passphrase, inner, b"key", f"key file {path}")))
        try:
            private = serialization.load_pem_private_key(data, passphrase.encode() if passphrase else None)
        except (ValueError, TypeError) as exc:
            raise BadPassphrase(f"cannot open {path}: wrong passphrase or not a key file") from exc
        if not isinstance(private, Ed25519PrivateKey):
            raise ConfigError(f"{path} holds a key that is not Ed25519")
        key = cls.from_private(private)
        if passphrase is not None:  # a 0.1.0 key file under PBKDF2: rewritten under scrypt now
            key.save(path, passphrase)
        return key


def verify(author: bytes, sig: bytes, data: bytes) -> None:
    """Raise BadSignature unless `sig` is `author`'s signature over exactly `data`."""
    if len(author) != AUTHOR_LEN or len(sig) != SIG_LEN:
        raise BadSignature("signature or key has the wrong length")
    try:
        Ed25519PublicKey.from_public_bytes(author).verify(sig, data)
    except InvalidSignature as exc:
        raise BadSignature(
            f"signature does not match the bytes for key {short_id(author)}: altered or forged"
        ) from exc
