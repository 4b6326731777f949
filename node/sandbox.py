"""A throwaway province: a root key, a county, its villages, and their certificates.

Used by the demo, the property tests and the benchmarks, so they all exercise real keys and real
certificate chains. Keys are derived from a seed so a simulation replays exactly.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from protocol import certs
from protocol.keys import KeyPair

YEAR_MS = 365 * 24 * 3600 * 1000
NOT_BEFORE = 1_600_000_000_000  # 2020-09
NOT_AFTER = NOT_BEFORE + 20 * YEAR_MS


@dataclass
class Member:
    key: KeyPair
    role: str
    scopes: tuple[str, ...]
    cert: bytes


@dataclass
class Sandbox:
    root: KeyPair
    members: dict[str, Member] = field(default_factory=dict)
    serial: int = 1

    @classmethod
    def create(cls, province: str = "510000000000", seed: str = "laowu") -> Sandbox:
        root = KeyPair.from_seed(f"{seed}/root".encode())
        box = cls(root=root)
        cert = certs.issue(root, root.public, "province", [province], NOT_BEFORE, NOT_AFTER, 1)
        box.members[province] = Member(root, "province", (province,), cert)
        box._seed = seed  # type: ignore[attr-defined]
        return box

    def enroll(self, code: str, role: str, issuer_code: str, scopes: tuple[str, ...] | None = None) -> Member:
        issuer = self.members[issuer_code]
        key = KeyPair.from_seed(f"{getattr(self, '_seed', 'laowu')}/{code}/{self.serial}".encode())
        self.serial += 1
        scopes = scopes or (code,)
        cert = certs.issue(issuer.key, key.public, role, list(scopes), NOT_BEFORE, NOT_AFTER, self.serial)
        member = Member(key, role, scopes, cert)
        self.members[code] = member
        return member

    def trust(self) -> certs.Trust:
        """A Trust pinned at our root that knows every certificate issued so far."""
        t = certs.Trust(self.root.public)
        for m in sorted(self.members.values(), key=lambda m: certs.ROLES.index(m.role)):
            t.add_certificate(m.cert)
        return t
