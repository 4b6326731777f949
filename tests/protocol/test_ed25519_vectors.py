"""The one verifier's decisions on Ed25519's edge cases, pinned.

Ed25519 implementations agree on honest signatures and disagree on crafted ones: small-order public
keys (A) or commitments (R), non-canonical point encodings, S >= L, and the cofactored versus the
cofactorless equation. Replicas that decide these differently would hold different registers, so every
replica verifies with `protocol.keys.verify` (libsodium) and these tests pin what it decides on the 12
vectors of Chalkias, Garillot and Nikolaenko, "Taming the many EdDSAs" (SSR 2020), table 6.

Each vector's shape is not taken on trust: `_shape` recomputes it (S against L, the order of A and R,
whether their encodings are canonical) with the curve arithmetic below, so the label a test carries is
what the bytes are. The arithmetic is a slow textbook version kept to classify 24 points here.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from protocol.errors import BadSignature
from protocol.keys import verify

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)
Point = tuple[int, int]
IDENTITY: Point = (0, 1)

# (message, public key A, signature R || S): table 6 of the paper, in its order.
VECTORS = [
    ("8c93255d71dcab10e8f379c26200f3c7bd5f09d9bc3068d3ef4edeb4853022b6",
     "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
     "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"
     "0000000000000000000000000000000000000000000000000000000000000000"),
    ("9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79",
     "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
     "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43"
     "a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04"),
    ("aebf3f2601a0c8c5d39cc7d8911642f740b78168218da8471772b35f9d35b9ab",
     "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
     "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"
     "8c4bd45aecaca5b24fb97bc10ac27ac8751a7dfe1baff8b953ec9f5833ca260e"),
    ("9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79",
     "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
     "9046a64750444938de19f227bb80485e92b83fdb4b6506c160484c016cc1852f"
     "87909e14428a7a1d62e9f22f3d3ad7802db02eb2e688b6c52fcd6648a98bd009"),
    ("e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c",
     "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
     "160a1cb0dc9c0258cd0a7d23e94d8fa878bcb1925f2c64246b2dee1796bed512"
     "5ec6bc982a269b723e0668e540911a9a6a58921d6925e434ab10aa7940551a09"),
    ("e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c",
     "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
     "21122a84e0b5fca4052f5b1235c80a537878b38f3142356b2c2384ebad4668b7"
     "e40bc836dac0f71076f9abe3a53f9c03c1ceeeddb658d0030494ace586687405"),
    ("85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40",
     "442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623",
     "e96f66be976d82e60150baecff9906684aebb1ef181f67a7189ac78ea23b6c0e"
     "547f7690a0e2ddcd04d87dbc3490dc19b3b3052f7ff0538cb68afb369ba3a514"),
    ("85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40",
     "442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623",
     "8ce5b96c8f26d0ab6c47958c9e68b937104cd36e13c33566acd2fe8d38aa1942"
     "7e71f98a473474f2f13f06f97c20d58cc3f54b8bd0d272f42b695dd7e89a8c22"),
    ("9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41",
     "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
     "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
     "03be9678ac102edcd92b0210bb34d7428d12ffc5df5f37e359941266a4e35f0f"),
    ("9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41",
     "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
     "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
     "ca8c5b64cd208982aa38d4936621a4775aa233aa0505711d8fdcfdaa943d4908"),
    ("e96b7021eb39c1a163b6da4e3093dcd3f21387da4cc4572be588fafae23c155b",
     "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
     "a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dc"
     "a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04"),
    ("39a591f5321bbe07fd5a23dc2f39d025d74526615746727ceefd6e82ae65c06f",
     "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
     "a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dc"
     "a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04"),
]

# What the verifier decides, and the shape of the vector that explains it (recomputed by `_shape`).
# OpenSSL (the `cryptography` package, our verifier until 0.3.0) accepted vectors 0, 1, 2, 3 and 11.
DECISIONS = [
    (0, "refused", "S=0, A small, R small"),
    (1, "refused", "A small, R mixed"),
    (2, "refused", "A mixed, R small"),
    (3, "accepted", "A mixed, R mixed"),  # holds cofactorless too: a torsion component alone is not refused
    (4, "refused", "A mixed, R mixed"),  # holds only with the cofactored equation
    (5, "refused", "A mixed, R prime"),  # holds only with the cofactored equation
    (6, "refused", "S>=L, A prime, R prime"),
    (7, "refused", "S>=L, A prime, R prime"),
    (8, "refused", "A mixed, R small non-canonical"),
    (9, "refused", "A mixed, R small non-canonical"),
    (10, "refused", "A small non-canonical, R mixed"),
    (11, "refused", "A small non-canonical, R mixed"),
]


def _add(p: Point, q: Point) -> Point:
    (x1, y1), (x2, y2) = p, q
    t = D * x1 * x2 * y1 * y2 % P
    return ((x1 * y2 + x2 * y1) * pow(1 + t, P - 2, P) % P, (y1 * y2 + x1 * x2) * pow(1 - t, P - 2, P) % P)


def _mul(n: int, p: Point) -> Point:
    out = IDENTITY
    while n:
        if n & 1:
            out = _add(out, p)
        p, n = _add(p, p), n >> 1
    return out


def _decode(enc: bytes) -> tuple[Point, bool]:
    """The point an encoding names, decoded leniently, and whether the encoding is the canonical one
    (y < p, and no sign bit on x = 0)."""
    n = int.from_bytes(enc, "little")
    y, sign = n & ((1 << 255) - 1), n >> 255
    canonical = y < P
    y %= P
    u, v = (y * y - 1) % P, (D * y * y + 1) % P
    x = u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P) % P
    if v * x * x % P != u:
        x = x * SQRT_M1 % P
    assert v * x * x % P == u, "not a point of the curve"
    if x == 0 and sign:
        canonical = False
    elif x & 1 != sign:
        x = P - x
    return (x, y), canonical


def _order(enc: bytes) -> str:
    point, canonical = _decode(enc)
    kind = "small" if _mul(8, point) == IDENTITY else "prime" if _mul(L, point) == IDENTITY else "mixed"
    return kind if canonical else f"{kind} non-canonical"


def _shape(pub: bytes, sig: bytes) -> str:
    s = int.from_bytes(sig[32:], "little")
    parts = ["S=0"] if s == 0 else ["S>=L"] if s >= L else []
    return ", ".join(parts + [f"A {_order(pub)}", f"R {_order(sig[:32])}"])


@pytest.mark.parametrize(("n", "decision", "shape"), DECISIONS, ids=[f"{n}-{d}" for n, d, _ in DECISIONS])
def test_the_one_verifier_decides_each_edge_vector_as_pinned(n: int, decision: str, shape: str) -> None:
    msg, pub, sig = (bytes.fromhex(h) for h in VECTORS[n])
    assert _shape(pub, sig) == shape
    if decision == "accepted":
        verify(pub, sig, msg)
    else:
        with pytest.raises(BadSignature):
            verify(pub, sig, msg)


def test_the_identity_key_cannot_sign_every_message() -> None:
    """A = R = the identity point and S = 0 satisfy S·B = R + k·A for every message k: an
    implementation without a small-order check would take it as anybody's signature of anything."""
    identity = (1).to_bytes(32, "little")
    for msg in (b"", b"monthly_pay=8300", bytes(range(256))):
        with pytest.raises(BadSignature):
            verify(identity, identity + bytes(32), msg)


ROOT = Path(__file__).resolve().parents[2]
_SIGNATURE_LIBRARIES = ("nacl", "cryptography.hazmat.primitives.asymmetric.ed25519")


def test_every_replica_verifies_through_protocol_keys_verify_alone() -> None:
    """No module of the node, hub or protocol but `protocol/keys.py` imports an Ed25519 library, so a
    node, a hub, its verify workers, bundle import and snapshot checks all decide through one function."""
    offenders = []
    for package in ("protocol", "node", "hub", "conflict"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == ROOT / "protocol" / "keys.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                offenders += [f"{path.relative_to(ROOT)}: {name}" for name in names
                              if name.startswith(_SIGNATURE_LIBRARIES)]
    assert offenders == []
