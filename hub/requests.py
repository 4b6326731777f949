"""Enrollment requests waiting for a county operator: brought as a file, or sent online without a code.

A node makes its key and a signed `EnrollRequest`; today it reaches the county as a file on a USB
stick (`laowu-node init` writes it) or online (`/v1/enroll`). A request that comes with a valid
one-time code is approved on the spot (`hub.enroll`); every other one waits here until an operator
approves or refuses it in the console, having checked the place, the operator's name and the
key's short id read aloud on the phone against what the node shows. The table is local to the hub
(never replicated); approving issues the certificate through `hub.enroll.approve` and keeps the
chain for the operator to hand back (a file download).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import BigInteger, Column, Engine, LargeBinary, MetaData, String, Table, Text, func, select, update

from hub import enroll
from node.engine.store import Store
from node.web.tables import ensure
from protocol import messages, scope
from protocol.errors import InvalidValue, OutOfScope, TooLarge
from protocol.keys import short_id

MAX_PENDING = 1000  # requests cost nothing to make (a fresh key each): the queue an operator reads stays bounded
metadata = MetaData()
requests = Table(
    "hub_enroll_request",
    metadata,
    Column("pub", LargeBinary(32), primary_key=True),
    Column("raw", LargeBinary, nullable=False),  # the signed request, verbatim
    Column("code", String(12), nullable=False),
    Column("role", String(16), nullable=False),
    Column("operator", Text, nullable=False),
    Column("via", String(8), nullable=False),  # file | online
    Column("received", BigInteger, nullable=False),
    Column("state", String(12), nullable=False),  # pending | approved | refused
    Column("decided_by", String(64)),
    Column("decided_at", BigInteger),
    Column("note", Text),
    Column("chain", LargeBinary),  # the certificate chain issued on approval, for the download
)


@dataclass(frozen=True)
class Pending:
    pub: bytes
    code: str
    role: str
    operator: str
    via: str
    received: int
    state: str
    decided_by: str | None
    note: str | None

    @property
    def short(self) -> str:
        return short_id(self.pub)

    @property
    def fingerprint(self) -> str:
        """The whole key in groups of four, for a careful operator to compare character by character."""
        h = self.pub.hex()
        return " ".join(h[i:i + 4] for i in range(0, len(h), 4))


def _ensure(engine: Engine) -> None:
    ensure(engine, metadata)


def add(store: Store, raw: bytes, via: str) -> Pending:
    """Queue a request (its signature is checked on decode); the same key asking twice is one entry."""
    _ensure(store.engine)
    req = messages.EnrollRequest.decode(raw)
    if not scope.contains(store.home, req.code):
        raise OutOfScope(f"申请的地点{req.code}不在本平台范围{store.home}内 / the request is for {req.code}, "
                         f"outside this hub's {store.home}")
    with store.engine.begin() as conn:
        if conn.execute(select(requests.c.pub).where(requests.c.pub == req.pub)).first() is None:
            waiting = conn.execute(select(func.count()).select_from(requests).where(requests.c.state == "pending"))
            if waiting.scalar_one() >= MAX_PENDING:
                raise TooLarge(f"已有{MAX_PENDING}份登记申请等待批准,请县里先处理 / {MAX_PENDING} requests are already "
                               "waiting: the county decides those first")
            conn.execute(requests.insert(), {"pub": req.pub, "raw": raw, "code": req.code, "role": req.role,
                                             "operator": req.operator, "via": via, "received": int(time.time() * 1000),
                                             "state": "pending"})
    found = get(store, req.pub)
    assert found is not None
    return found


def _row(r: object) -> Pending:
    m = r._mapping  # type: ignore[attr-defined]
    return Pending(m["pub"], m["code"], m["role"], m["operator"], m["via"], m["received"], m["state"],
                   m["decided_by"], m["note"])


def get(store: Store, pub: bytes) -> Pending | None:
    _ensure(store.engine)
    with store.engine.connect() as conn:
        r = conn.execute(select(requests).where(requests.c.pub == pub)).first()
    return _row(r) if r else None


def listing(store: Store, prefix: str = "") -> list[Pending]:
    """Every request inside the code prefix, pending first, newest first."""
    _ensure(store.engine)
    q = select(requests).where(requests.c.code.startswith(prefix)).order_by(requests.c.received.desc())
    with store.engine.connect() as conn:
        rows = [_row(r) for r in conn.execute(q)]
    return sorted(rows, key=lambda p: p.state != "pending")


def approve(store: Store, pub: bytes, actor: str) -> bytes:
    """Issue the certificate of a pending request; returns the chain file's bytes for the node."""
    from node.files import chain_bytes

    with store.engine.connect() as conn:
        r = conn.execute(select(requests.c.raw, requests.c.state).where(requests.c.pub == pub)).first()
    if r is None or r.state != "pending":
        raise InvalidValue("request", "没有这份待批准的申请(可能已处理)/ no such pending request (already decided?)")
    req = messages.EnrollRequest.decode(r.raw)
    enroll.approve(store, req)
    chain = chain_bytes(store.trust.chains({req.pub}))
    _decide(store, pub, "approved", actor, None, chain)
    return chain


def rekey(store: Store, old: bytes, raw: bytes, actor: str) -> bytes:
    """A restored laptop's new request: successor certificate, the old key revoked at our heads; the chain."""
    from node.files import chain_bytes

    req = add(store, raw, "file")
    enroll.rekey(store, old, messages.EnrollRequest.decode(raw))
    chain = chain_bytes(store.trust.chains({req.pub}))
    _decide(store, req.pub, "approved", actor, f"更换密钥 / rekey of {short_id(old)}", chain)
    return chain


def refuse(store: Store, pub: bytes, actor: str, note: str) -> None:
    found = get(store, pub)
    if found is None or found.state != "pending":
        raise InvalidValue("request", "没有这份待处理的申请 / no such pending request")
    _decide(store, pub, "refused", actor, note, None)


def chain_of(store: Store, pub: bytes) -> bytes | None:
    with store.engine.connect() as conn:
        r = conn.execute(select(requests.c.chain).where(requests.c.pub == pub)).first()
    return r.chain if r else None


def _decide(store: Store, pub: bytes, state: str, actor: str, note: str | None, chain: bytes | None) -> None:
    with store.engine.begin() as conn:
        conn.execute(update(requests).where(requests.c.pub == pub).values(
            state=state, decided_by=actor, decided_at=int(time.time() * 1000), note=note, chain=chain))
