"""Secrets at rest under a passphrase: scrypt (memory-hard) + AES-256-GCM, one format for key files
and bundles.

A stolen laptop or USB stick must yield neither a key that signs nor an ID number. PBKDF2 at 2,048
iterations (what PKCS#8's "best available" encryption gave) costs a guesser with a graphics card
almost nothing; scrypt makes every guess cost memory as well as time.

Layout (binary; `armor` wraps it in base64 lines for key files):

    magic   b"LAOWUSEAL"   9 bytes
    version 1              1 byte
    log2 n  15             1 byte    scrypt cost: n = 2**15, r = 8, p = 1 → 32 MiB and ~0.1 s per try
    r, p    8, 1           2 bytes
    salt                   16 bytes  random per file
    nonce                  12 bytes  random per file
    sealed                 AES-256-GCM ciphertext + 16-byte tag; the header above and a context
                           string ("key", "bundle") are the associated data, so a key file cannot be
                           passed off as a bundle or have its parameters changed unnoticed

The parameters are read back from each file, so they can be raised later without breaking old
files; a file asking for more than `MAX_LOG2_N` is refused before any work (a bundle is someone
else's bytes). A wrong passphrase and a damaged file are the same error: the tag does not match.
"""
from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from protocol.errors import BadPassphrase, ConfigError

MAGIC = b"LAOWUSEAL"
VERSION = 1
LOG2_N, R, P = 15, 8, 1
MAX_LOG2_N, MAX_R, MAX_P = 20, 16, 4
MIN_PASSPHRASE = 8
HEADER_LEN = len(MAGIC) + 1 + 3 + 16 + 12
ARMOR_BEGIN = b"-----BEGIN LAOWU ENCRYPTED KEY-----"
ARMOR_END = b"-----END LAOWU ENCRYPTED KEY-----"


def check_passphrase(passphrase: str) -> str:
    """Refuse an empty or short passphrase everywhere: `LAOWU_PASSPHRASE=""` once wrote a plaintext key."""
    if not passphrase or not passphrase.strip():
        raise ConfigError("口令为空 the passphrase is empty: set one of at least 8 characters "
                          "(a hub key left unencrypted on purpose needs LAOWU_PASSPHRASE unset, not empty)")
    if len(passphrase) < MIN_PASSPHRASE:
        raise ConfigError(f"口令太短 the passphrase must be at least {MIN_PASSPHRASE} characters")
    return passphrase


def _key(passphrase: str, salt: bytes, log2n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=1 << log2n, r=r, p=p).derive(passphrase.encode())


def seal(passphrase: str, plaintext: bytes, context: bytes) -> bytes:
    check_passphrase(passphrase)
    salt, nonce = os.urandom(16), os.urandom(12)
    header = MAGIC + bytes([VERSION, LOG2_N, R, P]) + salt + nonce
    return header + AESGCM(_key(passphrase, salt, LOG2_N, R, P)).encrypt(nonce, plaintext, header + context)


def is_sealed(data: bytes) -> bool:
    return data.startswith(MAGIC)


def open_sealed(passphrase: str | None, data: bytes, context: bytes, what: str) -> bytes:
    """The plaintext, or BadPassphrase (wrong passphrase, or the file was altered or cut)."""
    if passphrase is None:
        raise BadPassphrase(f"{what} 已加密 is encrypted: set LAOWU_PASSPHRASE (or run in a terminal)")
    check_passphrase(passphrase)
    if len(data) < HEADER_LEN + 16 or not is_sealed(data):
        raise BadPassphrase(f"{what} 已损坏 is damaged or not a Laowu encrypted file")
    version, log2n, r, p = data[len(MAGIC) : len(MAGIC) + 4]
    if version != VERSION or not (1 <= log2n <= MAX_LOG2_N and 1 <= r <= MAX_R and 1 <= p <= MAX_P):
        raise BadPassphrase(f"{what}: unknown format or scrypt parameters out of bounds")
    header = data[:HEADER_LEN]
    salt, nonce = header[-28:-12], header[-12:]
    try:
        return AESGCM(_key(passphrase, salt, log2n, r, p)).decrypt(nonce, data[HEADER_LEN:], header + context)
    except InvalidTag as exc:
        raise BadPassphrase(f"口令错误或文件已损坏 cannot open {what}: wrong passphrase, or the file was altered") from exc


def armor(data: bytes) -> bytes:
    text = base64.encodebytes(data)
    return ARMOR_BEGIN + b"\n" + text + ARMOR_END + b"\n"


def unarmor(text: bytes) -> bytes | None:
    """The sealed bytes inside an armored key file; None when `text` is not one."""
    if not text.startswith(ARMOR_BEGIN):
        return None
    body = text[len(ARMOR_BEGIN) :].split(ARMOR_END)[0]
    try:
        return base64.decodebytes(body)
    except ValueError:
        return b""


def derive(secret: bytes, label: bytes) -> bytes:
    """A 32-byte key for one purpose from a secret (a node's private key → its database key)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"laowu/" + label).derive(secret)
