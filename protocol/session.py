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

The hub issues a key-bound token when the hello says the client will prove (the header with the
value `key`). A hello without it (a 0.1.0 or 0.2.0 node) gets a token bound to the client's address,
as before; so does a current node whose promise a network stripped (it cannot tell that from an
older hub, which answers the same: docs/threat-model.md says what that leaves).

Token layout (opaque to clients but for `is_key_bound`):
`author (32) ‖ home (12) ‖ expiry ms (8, big-endian) ‖ kind (1, key-bound only) ‖ HMAC-SHA256 (32)`.
The MAC of a key-bound token covers its payload; that of an address-bound token, its payload and the
client's address. Pure: the hub's secret is passed in.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from protocol.errors import BadSignature, Unauthorized
from protocol.keys import AUTHOR_LEN, SIG_LEN, KeyPair, verify

PROOF_HEADER = "x-laowu-proof"
WILL_PROVE = "key"  # the hello's proof header: "give me a key-bound token"
PROOF_CONTEXT = b"laowu/request/v1\x00"
HOME_LEN = 12
KEY_BOUND = 1
_PAYLOAD = AUTHOR_LEN + HOME_LEN + 8
ADDRESS_BOUND_LEN = _PAYLOAD + 32
KEY_BOUND_LEN = _PAYLOAD + 1 + 32


@dataclass(frozen=True)
class Session:
    author: bytes
    home: str
    key_bound: bool


def mint(secret: bytes, author: bytes, home: str, expiry_ms: int, *, key_bound: bool, address: str = "") -> bytes:
    """A token for `author` subscribed as `home` until `expiry_ms`: bound to the key (every request
    proves it) or, for clients that cannot prove, to the client's address."""
    payload = author + home.encode() + expiry_ms.to_bytes(8, "big")
    if key_bound:
        payload += bytes([KEY_BOUND])
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
    if bound and not proven:
        check_proof(author, proof, path, token, body)
    return Session(author, payload[AUTHOR_LEN:AUTHOR_LEN + HOME_LEN].decode(), bound)


def is_key_bound(token: bytes) -> bool:
    """Whether every request made with `token` must prove its key."""
    return len(token) == KEY_BOUND_LEN and token[_PAYLOAD] == KEY_BOUND


def proof_bytes(path: str, token: bytes, body: bytes) -> bytes:
    return PROOF_CONTEXT + path.encode() + b"\x00" + hashlib.sha256(token).digest() + hashlib.sha256(body).digest()


def prove(key: KeyPair, path: str, token: bytes, body: bytes) -> str:
    """The `x-laowu-proof` header of one request made with `token`."""
    return key.sign(proof_bytes(path, token, body)).hex()


def check_proof(author: bytes, proof: str, path: str, token: bytes, body: bytes) -> None:
    try:
        sig = bytes.fromhex(proof)
    except ValueError:
        sig = b""
    if len(sig) != SIG_LEN:
        raise Unauthorized("会话需要密钥证明 this session is bound to its key: each request must carry the key's "
                           f"signature ({PROOF_HEADER}); a token alone is not enough")
    try:
        verify(author, sig, proof_bytes(path, token, body))
    except BadSignature:
        raise Unauthorized("会话密钥证明不符 the request is not signed by the key this session was issued to: "
                           "say hello with your own key") from None


def _mac(secret: bytes, data: bytes) -> bytes:
    return hmac.new(secret, data, hashlib.sha256).digest()
