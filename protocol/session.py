"""Session tokens bound to the key that earned them (issue 9 item 4, docs/threat-model.md).

A hello proves the client holds its key once; the token it gets back then stands for that key for
30 minutes. A token alone must not be enough: read off the wire (a hub without TLS), it would let
anyone sync as that village. So every request made with a **key-bound token** carries a proof, the
`x-laowu-proof` header: the client key's Ed25519 signature over the request path, the token and
the request body. The hub checks it against the key named in the token, so

* a thief with the token but not the key cannot make a request of its own (nor reuse the proof for
  another body or path: it covers them);
* the client's address does not matter: a laptop behind NAT, or one that moves between networks,
  keeps its session.

**The promise to prove travels signed.** A current node makes its hello's nonce begin with
`PROMISE` (`promising_nonce`): the nonce is covered by the hello's signature, so no network can
remove the promise without the hub refusing the hello as forged, and a hello captured and replayed
from another address (the original dropped) still earns only a key-bound token, useless without
the key. A 0.1.0 or 0.2.0 hub reads the nonce as random bytes. The `x-laowu-proof: key` header on
the hello is still sent and still honoured (builds between 0.2.0 and this one promised only by it).
A hello promising neither way (a 0.1.0 or 0.2.0 node) gets a token bound to the client's address.
A node pins a hub that has given it a key-bound token in a signed welcome (`node.sync.legacy`) and
refuses an address-bound one from it later (a rolled-back hub, or a network between them).

**Each proof is fresh** (docs/trust.md §10). The proof also signs a sequence number, counted from 1
for each token, and the time the node sent the request at (its clock, corrected by the hub's signed
welcome). The header reads `seq.sent_ms.signature`. The hub refuses a time more than
`FRESH_MS` old or `AHEAD_MS` ahead of its own, and keeps, per token, which sequence numbers it has
seen (`hub.replay`), so a whole request captured off the wire and sent again, byte for byte, is
refused: within the window as a duplicate, after it as stale.

Token layout (opaque to clients but for `is_key_bound`):
`author (32) ‖ home (12) ‖ expiry ms (8, big-endian) ‖ HMAC-SHA256 (32)` bound to an address, and
`author ‖ home ‖ expiry ‖ kind (1) ‖ session id (8, random) ‖ HMAC` bound to a key: the random id
makes each hello's token its own, so two sessions of one key in one millisecond do not share the
hub's replay memory. The MAC of a key-bound token covers its payload; that of an address-bound
token, its payload and the client's address. Pure but for the session id: the hub's secret is passed in.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass

from protocol.errors import BadSignature, Unauthorized
from protocol.keys import AUTHOR_LEN, SIG_LEN, KeyPair, verify

PROOF_HEADER = "x-laowu-proof"
WILL_PROVE = "key"  # the hello's proof header: "give me a key-bound token"
PROMISE = b"lwK\x01"  # a hello nonce beginning so promises, under the hello's signature, to prove every request
PROOF_CONTEXT = b"laowu/request/v2\x00"  # v1 (no sequence number, no time) never shipped in a release
FRESH_MS = 2 * 60 * 1000  # a proof older than this (by the hub's clock) is stale: a replay, or a clock gone wrong
AHEAD_MS = 60 * 1000  # a proof dated further ahead is refused too (it would stay fresh longer)
MAX_SEQ = (1 << 63) - 1
_PROOF = re.compile(r"([0-9]{1,19})\.([0-9]{1,19})\.([0-9a-f]{%d})" % (2 * SIG_LEN))
HOME_LEN = 12
KEY_BOUND = 1
_PAYLOAD = AUTHOR_LEN + HOME_LEN + 8
SID_LEN = 8
ADDRESS_BOUND_LEN = _PAYLOAD + 32
KEY_BOUND_LEN = _PAYLOAD + 1 + SID_LEN + 32


@dataclass(frozen=True)
class Proof:
    """What a request's `x-laowu-proof` header claims: its place in the session and when it was sent."""

    seq: int
    sent_ms: int
    sig: bytes


@dataclass(frozen=True)
class Session:
    author: bytes
    home: str
    key_bound: bool
    proof: Proof | None = None  # this request's checked proof (None: address-bound, or checked earlier)


def promising_nonce(length: int) -> bytes:
    """A fresh hello nonce that promises, under the hello's signature, to prove every request."""
    return PROMISE + os.urandom(length - len(PROMISE))


def promises(nonce: bytes) -> bool:
    """Whether a hello with this (signed) nonce promised to prove every request."""
    return nonce.startswith(PROMISE)


def mint(secret: bytes, author: bytes, home: str, expiry_ms: int, *, key_bound: bool, address: str = "",
         sid: bytes | None = None) -> bytes:
    """A token for `author` subscribed as `home` until `expiry_ms`: bound to the key (every request
    proves it; `sid`, random unless given, makes it this session's own) or, for clients that cannot
    prove, to the client's address."""
    payload = author + home.encode() + expiry_ms.to_bytes(8, "big")
    if key_bound:
        payload += bytes([KEY_BOUND]) + (os.urandom(SID_LEN) if sid is None else sid)
        return payload + _mac(secret, payload)
    return payload + _mac(secret, payload + b"\x00" + address.encode())


def open_token(secret: bytes, token: bytes, now_ms: int, *, address: str, path: str, body: bytes,
               proof: str, proven: bool = False) -> Session:
    """The session `token` stands for, if this request may use it: raise Unauthorized otherwise.
    `proven`: the caller already checked this request's proof (once per request is enough)."""
    if len(token) == KEY_BOUND_LEN and token[_PAYLOAD] == KEY_BOUND:
        payload, mac = token[:-32], token[-32:]
        if not hmac.compare_digest(mac, _mac(secret, payload)):
            raise Unauthorized("session token not issued by this hub (or the hub restarted): say hello again")
    elif len(token) == ADDRESS_BOUND_LEN:
        payload, mac = token[:-32], token[-32:]
        if not hmac.compare_digest(mac, _mac(secret, payload + b"\x00" + address.encode())):
            raise Unauthorized("session token not issued by this hub to this client (or the hub restarted): "
                               "say hello again")
    else:
        raise Unauthorized("session token malformed: say hello again")
    if int.from_bytes(payload[AUTHOR_LEN + HOME_LEN:_PAYLOAD], "big") < now_ms:
        raise Unauthorized("session token expired: say hello again")
    author = payload[:AUTHOR_LEN]
    bound = len(token) == KEY_BOUND_LEN
    checked = check_proof(author, proof, path, token, body) if bound and not proven else None
    return Session(author, payload[AUTHOR_LEN:AUTHOR_LEN + HOME_LEN].decode(), bound, checked)


def is_key_bound(token: bytes) -> bool:
    """Whether every request made with `token` must prove its key."""
    return len(token) == KEY_BOUND_LEN and token[_PAYLOAD] == KEY_BOUND


def proof_bytes(path: str, token: bytes, body: bytes, seq: int, sent_ms: int) -> bytes:
    return (PROOF_CONTEXT + path.encode() + b"\x00" + hashlib.sha256(token).digest() + hashlib.sha256(body).digest()
            + seq.to_bytes(8, "big") + sent_ms.to_bytes(8, "big"))


def prove(key: KeyPair, path: str, token: bytes, body: bytes, seq: int, sent_ms: int) -> str:
    """The `x-laowu-proof` header of the `seq`-th request made with `token`, sent at `sent_ms`."""
    return f"{seq}.{sent_ms}.{key.sign(proof_bytes(path, token, body, seq, sent_ms)).hex()}"


def parse_proof(header: str) -> Proof:
    """The proof a header claims, not yet checked; Unauthorized when it is not one."""
    m = _PROOF.fullmatch(header)
    if m is None or not 1 <= int(m[1]) <= MAX_SEQ or int(m[2]) > MAX_SEQ:
        if re.fullmatch(r"[0-9a-f]{%d}" % (2 * SIG_LEN), header):
            raise Unauthorized("会话证明缺少序号和时间,本机程序版本过旧,请升级 the request's key proof carries no "
                               "sequence number and time (a build older than this hub's): upgrade the node")
        raise Unauthorized("会话需要密钥证明 this session is bound to its key: each request must carry the key's "
                           f"signature with its sequence number and time ({PROOF_HEADER}: seq.time.signature); "
                           "a token alone is not enough")
    return Proof(int(m[1]), int(m[2]), bytes.fromhex(m[3]))


def check_proof(author: bytes, proof: str, path: str, token: bytes, body: bytes) -> Proof:
    """The request's proof, if `author` signed it over this path, token and body; Unauthorized otherwise.
    Whether it is fresh (time, sequence number) is the hub's replay memory's to say (`hub.replay`)."""
    got = parse_proof(proof)
    try:
        verify(author, got.sig, proof_bytes(path, token, body, got.seq, got.sent_ms))
    except BadSignature:
        raise Unauthorized("会话密钥证明不符 the request is not signed by the key this session was issued to: "
                           "say hello with your own key") from None
    return got


def _mac(secret: bytes, data: bytes) -> bytes:
    return hmac.new(secret, data, hashlib.sha256).digest()
