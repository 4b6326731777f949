"""Ed25519 keys: a replica's identity. The 32-byte public key *is* the author id.

Every replica signs and verifies with one implementation, libsodium (through PyNaCl), so that all of
them accept and refuse exactly the same signatures: Ed25519 implementations differ on edge cases
(small-order keys or R, non-canonical encodings, S >= L), and a hub that took what a village refuses
would fork the register. libsodium's rules are the strict ones: it refuses small-order A and R,
non-canonical A, and S >= L (tests/protocol/test_ed25519_vectors.py pins each decision; the choice and
its measurements are in docs/trust.md). Signatures are deterministic (RFC 8032), so keys and signatures
are byte for byte those of any other Ed25519: nothing stored was migrated when we moved off OpenSSL.

On a laptop the private key file is encrypted under the operator's passphrase (scrypt + AES-GCM,
`protocol.sealed`) and written 0600, so a stolen laptop cannot sign; hubs may keep an unencrypted
key on a locked-down server (passphrase None), but an empty passphrase is refused everywhere. Key
files of 0.1.0 (PKCS#8 under PBKDF2) still open and are rewritten in the new format on that unlock.
"""
from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import nacl.bindings as sodium
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nacl.exceptions import BadSignatureError

from protocol import sealed
from protocol.errors import BadPassphrase, BadSignature, ConfigError

AUTHOR_LEN = 32
SIG_LEN = 64


def short_id(author: bytes) -> str:
    """8 characters people can read aloud on the phone to a county operator."""
    return base64.b32encode(hashlib.sha256(author).digest()[:5]).decode().lower()


@dataclass(frozen=True)
class KeyPair:
    """An Ed25519 key pair. `seed` is RFC 8032's 32-byte private key; `secret` is libsodium's signing
    key made from it (seed and public key). Neither appears in a repr."""

    seed: bytes = field(repr=False)
    public: bytes
    secret: bytes = field(repr=False)

    @classmethod
    def generate(cls) -> KeyPair:
        return cls.from_raw(os.urandom(32))

    @classmethod
    def from_raw(cls, seed: bytes) -> KeyPair:
        """The key pair of a 32-byte private key (as `raw()` gives it)."""
        if len(seed) != 32:
            raise ConfigError(f"an Ed25519 private key is 32 bytes, not {len(seed)}")
        public, secret = sodium.crypto_sign_seed_keypair(seed)
        return cls(seed=bytes(seed), public=public, secret=secret)

    @classmethod
    def from_seed(cls, seed: bytes) -> KeyPair:
        """Deterministic keys for tests and replayable simulations only."""
        return cls.from_raw(hashlib.sha256(seed).digest())

    @property
    def author(self) -> bytes:
        return self.public

    @property
    def short(self) -> str:
        return short_id(self.public)

    def sign(self, data: bytes) -> bytes:
        return sodium.crypto_sign(data, self.secret)[:SIG_LEN]

    def raw(self) -> bytes:
        return self.seed

    def pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM: the file format of a hub key without passphrase."""
        return Ed25519PrivateKey.from_private_bytes(self.seed).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())

    def save(self, path: Path, passphrase: str | None) -> None:
        """Write the key, mode 0600: sealed under `passphrase` (scrypt), or PKCS#8 PEM in the clear when
        it is None (a hub on a locked-down server). An empty or short passphrase is refused."""
        if passphrase is None:
            data = self.pem()
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
            return cls.from_raw(sealed.open_sealed(passphrase, inner, b"key", f"key file {path}"))
        try:
            private = serialization.load_pem_private_key(data, passphrase.encode() if passphrase else None)
        except (ValueError, TypeError) as exc:
            raise BadPassphrase(f"cannot open {path}: wrong passphrase or not a key file") from exc
        if not isinstance(private, Ed25519PrivateKey):
            raise ConfigError(f"{path} holds a key that is not Ed25519")
        key = cls.from_raw(private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                                 serialization.NoEncryption()))
        if passphrase is not None:  # a 0.1.0 key file under PBKDF2: rewritten under scrypt now
            key.save(path, passphrase)
        return key


def verify(author: bytes, sig: bytes, data: bytes) -> None:
    """Raise BadSignature unless `sig` is `author`'s signature over exactly `data`.

    The one verifier of every replica (node, hub, bundle import, snapshot, hub verify workers):
    libsodium's `crypto_sign_open`, which refuses S >= L, small-order A or R and non-canonical A."""
    if len(author) != AUTHOR_LEN or len(sig) != SIG_LEN:
        raise BadSignature("signature or key has the wrong length")
    try:
        sodium.crypto_sign_open(sig + data, author)
    except BadSignatureError as exc:
        raise BadSignature(
            f"signature does not match the bytes for key {short_id(author)}: altered or forged"
        ) from exc
