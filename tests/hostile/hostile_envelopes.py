"""Hostile envelopes, pushed inside valid sessions: each category and the answer it must get.

Every envelope here reaches `/v1/push` inside a well-formed Push with a live session token, so the
hub must judge the envelope itself. The verdict per category (status, code):

    env-random, env-truncated,       refused  malformed | truncated | unknown-version
    env-trailing, env-huge-length,
    env-duplicate-key, env-ext
    env-bitflip                      refused  those, or bad-signature (a genuine next link, flipped)
    env-forged-sig, env-author-swap  refused  bad-signature
    env-unenrolled                   refused  unknown-author     (a valid signature by a stranger)
    env-sibling-scope, env-wider-    refused  out-of-scope       (certificate or carrier forbids it)
      scope, env-far-scope
    env-expired-cert                 refused  certificate-expired
    env-revoked                      refused  revoked            (past the stolen laptop's cut-off)
    env-structure, env-nan, env-deep refused  malformed | unknown-version (signed by the genuine key)
    env-bad-set-op, env-bad-delete   refused  malformed          (the genuine next link, bad ops)
    env-oversized                    refused  too-large
    env-ruling-by-village            refused  not-allowed        (a release ruling needs a county key)
    env-redaction-by-village         refused  not-allowed | …    (a redaction record not by an issuer)
    env-v2                           refused  malformed | too-large | truncated (body v2 signed by the
                                              genuine key: zip bombs, damaged or extra zstd frames,
                                              payloads off their one form, numbers nobody gave)
    env-future                       quarantined clock-ahead     (lw_quarantine grows by one each)
    env-fork, env-broken             fork     fork               (lw_fork grows by one each)
    env-gap                          pending                     (a genuine link after a gap: held,
                                                                 never applied; lw_log grows by one
                                                                 `pending` row each, DESIGN §4)
    env-replayed                     duplicate (own or a covering carrier) | refused out-of-scope

A genuine key's odd *value* in an lww field (NaN, a wrong type) is accepted by design (kept in the
merge state, shown empty: node/engine/store.py `_fits`), so values only appear here where a rule refuses
them: set operations, the delete marker, sizes, nesting past `protocol.admit.MAX_VALUE_DEPTH`.
"""
from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable
from typing import Any

import msgpack
import zstandard

from hostilekit import (
    COUNTY,
    FAR_VILLAGE,
    PERSON_ROW,
    PROVINCE,
    SIBLING,
    TOWNSHIP,
    VILLAGE,
    Envelope,
    HostileWorld,
)
from protocol import body2, clock, redaction
from protocol import release as ruling
from protocol.changeset import MAX_CHANGES, MAX_VALUE_BYTES, redacted_envelope
from protocol.keys import KeyPair

DECODE = frozenset({"malformed", "truncated", "unknown-version"})
MALFORMED = frozenset({"malformed"})


def pack(obj: Any) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def raw_map(items: list[tuple[Any, Any]], raw_values: dict[int, bytes] | None = None) -> bytes:
    """A msgpack map written pair by pair: repeated keys, and raw bytes for the value at some index."""
    n = len(items)
    head = bytes([0x80 | n]) if n < 16 else b"\xde" + n.to_bytes(2, "big")
    raw_values = raw_values or {}
    return head + b"".join(pack(k) + raw_values.get(i, b"") if i in raw_values else pack(k) + pack(v)
                           for i, (k, v) in enumerate(items))


def nested(depth: int, rng: random.Random) -> bytes:
    """`depth` arrays or maps inside each other, as bytes: deeper than msgpack will decode, if asked."""
    layer = b"\x91" if rng.random() < 0.5 else b"\x81\xa1k"
    return layer * depth + b"\xc0"


def huge_header(rng: random.Random, more_than: int) -> bytes:
    """A bin, str, array or map header announcing more bytes or items than `more_than`."""
    if more_than < 0xFFFF and rng.random() < 0.3:
        return rng.choice([b"\xc5", b"\xda", b"\xdc", b"\xde"]) + b"\xff\xff"
    n = rng.choice([2**32 - 1, rng.randint(more_than + 1, 2**32 - 1)])
    return rng.choice([b"\xc6", b"\xdb", b"\xdd", b"\xdf"]) + n.to_bytes(4, "big")


def depth(rng: random.Random) -> int:
    """How deep to nest: shallow, just under msgpack's own limit (~1024, where recursive code such as
    repr() overflows), or far past it."""
    return rng.choice([rng.randint(2, 64), rng.randint(900, 1023), rng.randint(1000, 1023), rng.randint(1024, 200_000)])


def flip(data: bytes, rng: random.Random, bits: int) -> bytes:
    """`bits` distinct bits flipped: never the same one twice, which would give the original back."""
    out = bytearray(data)
    for bit in rng.sample(range(len(out) * 8), min(bits, len(out) * 8)):
        out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


BAD_SET_OPS: list[Any] = [
    ["*", "焊工"], ["+"], ["+", "焊工", "x"], ["-", "焊工"], ["-", "焊工", "tags"], ["-", "焊工", [["h", b"a"]]],
    ["-", "焊工", [[-1, b"a"]]], ["-", "焊工", [[True, b"a"]]], ["-", "焊工", [[1]]], ["+", 1.5], ["+", True],
    ["+", None], ["+", [1]], ["+", {"a": 1}], ["+", math.nan], ["+", math.inf], ["+", b"bytes"], "焊工", 5, None,
    [], {"+": "焊工"}, [b"+", "焊工"], ["add", "焊工"], ["-", math.nan, []],
]
SET_FIELDS = [("person", "skills"), ("person", "certificates"), ("service_station", "staff"),
              ("return_registration", "needs")]


class EnvelopeGen:
    """Builds one hostile envelope per call of a category; `self.w.heads` is the village feed held."""

    def __init__(self, w: HostileWorld, rng: random.Random) -> None:
        self.w = w
        self.rng = rng
        self.k = w.keys
        self.gap_seq = 10  # every gap envelope gets a seq of its own, far past the head (3)
        self.made = 0
        self.categories: dict[str, Callable[[], Envelope]] = {
            name.replace("_", "-"): getattr(self, name) for name in dir(self) if name.startswith("env_")
        }

    # -- building blocks ----------------------------------------------------------------------------

    def hlc(self, ahead_ms: int = 0) -> int:
        return clock.pack(clock.wall_ms() + ahead_ms)

    def change(self, hlc: int | None = None) -> list[Any]:
        self.made += 1
        return ["job_posting", self.rng.randbytes(16), "title", f"hostile posting {self.made}", hlc or self.hlc()]

    def body(self, key: KeyPair, **over: Any) -> dict[str, Any]:
        """The village feed's next link (seq 4 after the held head) unless `over` says otherwise."""
        m: dict[str, Any] = {"v": 1, "author": key.public, "scope": VILLAGE, "seq": 4, "prev": self.w.heads[3].id,
                             "schema": 1, "changes": [self.change()]}
        m.update(over)
        return m

    def seal(self, key: KeyPair, body: dict[str, Any] | bytes, sig: bytes | None = None) -> bytes:
        raw = body if isinstance(body, bytes) else pack(body)
        return pack({"body": raw, "sig": key.sign(raw) if sig is None else sig})

    def next_link(self) -> bytes:
        """A genuine envelope the hub would accept: only ever sent after it is damaged."""
        return self.seal(self.k.village, self.body(self.k.village))

    def refused(self, category: str, data: bytes, codes: frozenset[str], carrier: str = "village") -> Envelope:
        return Envelope(category, data, "refused", codes, carrier)

    # -- bytes that are not an envelope ---------------------------------------------------------------

    def env_random(self) -> Envelope:
        n = self.rng.choice([1, 2, self.rng.randint(3, 40), self.rng.randint(41, 600)])
        return self.refused("env-random", self.rng.randbytes(n), DECODE)

    def env_truncated(self) -> Envelope:
        good = self.next_link()
        return self.refused("env-truncated", good[: self.rng.randrange(len(good))], frozenset({"truncated"}))

    def env_trailing(self) -> Envelope:
        return self.refused("env-trailing", self.next_link() + self.rng.randbytes(self.rng.randint(1, 40)), MALFORMED)

    def env_huge_length(self) -> Envelope:
        """A length or count header, where an item starts, announcing more than the bytes that follow."""
        raw = pack(self.body(self.k.village))
        header = huge_header(self.rng, len(raw) + 200)
        items: list[tuple[Any, Any]] = [("body", raw), ("sig", self.k.village.sign(raw))]
        data = self.rng.choice([raw_map(items, {self.rng.randrange(2): header}), header + raw_map(items),
                                self.seal(self.k.village, raw_map(list(self.body(self.k.village).items()), {6: header}))])
        return self.refused("env-huge-length", data, frozenset({"truncated"}))

    def env_bitflip(self) -> Envelope:
        data = flip(self.next_link(), self.rng, self.rng.randint(1, 4))
        return self.refused("env-bitflip", data, DECODE | {"bad-signature"})

    def env_duplicate_key(self) -> Envelope:
        """`{body: junk, body: genuine, sig}` and kin: once accepted, relayed with the junk inside."""
        raw = pack(self.body(self.k.village))
        sig = self.k.village.sign(raw)
        junk = self.rng.choice([b"", b"junk", pack(self.body(self.k.stranger))])
        items = self.rng.choice([
            [("body", junk), ("body", raw), ("sig", sig)],
            [("body", raw), ("sig", bytes(64)), ("sig", sig)],
            [("body", raw), ("sig", sig), ("body", raw)],
        ])
        return self.refused("env-duplicate-key", raw_map(items), MALFORMED)

    def env_ext(self) -> Envelope:
        body = self.body(self.k.village, changes=[["person", PERSON_ROW, "name", msgpack.ExtType(self.rng.randrange(128), b"x"), self.hlc()]])
        outer = self.rng.choice([self.seal(self.k.village, body), pack(msgpack.ExtType(1, b"envelope"))])
        return self.refused("env-ext", outer, MALFORMED)

    # -- forged, or genuine signatures by keys that may not write this -----------------------------------

    def env_forged_sig(self) -> Envelope:
        body = self.body(self.k.village)
        raw = pack(body)
        sig = self.rng.choice([self.k.stranger.sign(raw), self.k.sibling.sign(raw), self.rng.randbytes(64), bytes(64),
                               self.k.village.sign(raw + b"x")])
        return self.refused("env-forged-sig", self.seal(self.k.village, raw, sig), frozenset({"bad-signature"}))

    def env_author_swap(self) -> Envelope:
        victim = self.rng.choice([self.k.sibling, self.k.township, self.k.county, self.k.root])
        body = self.body(victim, scope=VILLAGE, seq=1, prev=None)
        return self.refused("env-author-swap", self.seal(self.k.village, body), frozenset({"bad-signature"}))

    def env_unenrolled(self) -> Envelope:
        stranger = self.rng.choice([self.k.stranger, KeyPair.from_seed(self.rng.randbytes(8))])
        body = self.body(stranger, seq=1, prev=None)
        return self.refused("env-unenrolled", self.seal(stranger, body), frozenset({"unknown-author"}))

    def env_sibling_scope(self) -> Envelope:
        if self.rng.random() < 0.5:  # genuine for the sibling, handed over by the village: the carrier check
            env = self.seal(self.k.sibling, self.body(self.k.sibling, scope=SIBLING, seq=1, prev=None))
        else:  # the village key writing its sibling's feed: the certificate check
            env = self.seal(self.k.village, self.body(self.k.village, scope=SIBLING, seq=1, prev=None))
        return self.refused("env-sibling-scope", env, frozenset({"out-of-scope"}))

    def env_wider_scope(self) -> Envelope:
        key, wider = self.rng.choice([(self.k.village, TOWNSHIP), (self.k.village, COUNTY), (self.k.village, PROVINCE),
                                      (self.k.village, "513225000000"), (self.k.township, TOWNSHIP),
                                      (self.k.township, COUNTY)])
        env = self.seal(key, self.body(key, scope=wider, seq=1, prev=None))
        return self.refused("env-wider-scope", env, frozenset({"out-of-scope"}))

    def env_far_scope(self) -> Envelope:
        env = self.seal(self.k.far, self.body(self.k.far, scope=FAR_VILLAGE, seq=1, prev=None))
        return self.refused("env-far-scope", env, frozenset({"out-of-scope"}), self.rng.choice(["village", "township"]))

    def env_expired_cert(self) -> Envelope:
        key = self.rng.choice([self.k.expired, self.k.early])
        env = self.seal(key, self.body(key, seq=1, prev=None))
        return self.refused("env-expired-cert", env, frozenset({"certificate-expired"}))

    def env_revoked(self) -> Envelope:
        seq = self.rng.randint(3, 50)
        prev = self.rng.randbytes(32)
        env = self.seal(self.k.stolen, self.body(self.k.stolen, seq=seq, prev=prev))
        return self.refused("env-revoked", env, frozenset({"revoked"}))

    # -- signed by the genuine key, refused for what they say -----------------------------------------

    def env_structure(self) -> Envelope:
        v = self.k.village
        rng = self.rng
        hlc = self.hlc()
        row = rng.randbytes(16)
        bad: list[tuple[dict[str, Any], frozenset[str]]] = [
            ({"v": rng.choice([0, 2, 3, 255, 2**32, 2**64 - 1, -1])}, frozenset({"unknown-version"})),
            ({"v": rng.choice(["1", 1.0, True, None, b"\x01", [1]])}, MALFORMED),
            ({"seq": rng.choice([0, -1, 2**63, 2**64 - 1, "4", 4.0, None, True, b"\x04"])}, MALFORMED),
            ({"prev": rng.choice([None, b"", rng.randbytes(31), rng.randbytes(33), "prev", 0])}, MALFORMED),
            ({"seq": 1, "prev": self.w.heads[3].id}, MALFORMED),
            ({"schema": rng.choice([-1, 2**16, 2**40, "1", 1.0, None])}, MALFORMED),
            ({"scope": rng.choice(["513225-103-201", "51322510320", "5132251032011", "000000000000", "", 513225103201,
                                   b"513225103201", None, "51322510320a", "513225103201 "])}, MALFORMED),
            ({"changes": rng.choice([None, {}, "changes", 0, b"", [[]], [None], [{}], [["job_posting"]]])}, MALFORMED),
            ({"changes": [["job_posting", row, "title", "x", h] for h in [rng.choice([-1, 2**63, 2**64 - 1, "1", 1.5, None, True])]]}, MALFORMED),
            ({"changes": [[rng.choice(["", "t" * 65, 5, None, b"job_posting"]), row, "title", "x", hlc]]}, MALFORMED),
            ({"changes": [["job_posting", rng.choice([row[:15], row + b"\x00", row.hex(), None, 16]), "title", "x", hlc]]}, MALFORMED),
            ({"changes": [["job_posting", row, rng.choice(["", "f" * 65, 7, None]), "x", hlc]]}, MALFORMED),
            ({"changes": [["job_posting", row, "title", "x", hlc, "extra"]]}, MALFORMED),
            ({"changes": [["job_posting", row, "title", "x"]]}, MALFORMED),
        ]
        mode = rng.random()
        if mode < 0.25:  # the map itself: a key dropped, added, swapped or repeated
            items = list(self.body(v).items())
            how = rng.choice(["drop", "extra", "swap", "repeat"])
            if how == "drop":
                items.pop(rng.randrange(len(items)))
            elif how == "extra":
                items.insert(rng.randrange(len(items) + 1), (rng.choice(["note", "V", "sig", "changes2"]), 1))
            elif how == "swap":
                i = rng.randrange(len(items) - 1)
                items[i], items[i + 1] = items[i + 1], items[i]
            else:
                items.insert(rng.randrange(len(items) + 1), items[rng.randrange(len(items))])
            raw, codes = raw_map(items), MALFORMED
        elif mode < 0.35:  # not canonical: the seq as a uint64, or the table name as a str8
            body = self.body(v)
            if rng.random() < 0.5:
                raw = raw_map(list(body.items()), {3: b"\xcf" + (4).to_bytes(8, "big")})
            else:
                rest = b"".join(pack(x) for x in body["changes"][0][1:])
                raw = raw_map(list(body.items()), {6: b"\x91\x95\xd9\x0bjob_posting" + rest})
            assert raw != pack(body)
            codes = MALFORMED
        else:
            over, codes = rng.choice(bad)
            raw = pack(self.body(v, **over))
        return self.refused("env-structure", self.seal(v, raw), codes)

    def env_nan(self) -> Envelope:
        nan = self.rng.choice([math.nan, math.inf, -math.inf, -0.0, 0.0, 1e308])
        field = self.rng.choice(["v", "seq", "schema", "hlc", "prev", "scope"])
        if field == "hlc":
            body = self.body(self.k.village, changes=[["job_posting", self.rng.randbytes(16), "title", "x", nan]])
        else:
            body = self.body(self.k.village, **{field: nan})
        return self.refused("env-nan", self.seal(self.k.village, body), MALFORMED)

    def env_deep(self) -> Envelope:
        """Nesting where a scalar belongs, or past msgpack's own depth limit anywhere."""
        levels = depth(self.rng)
        body = self.body(self.k.village)
        at = self.rng.choice([1, 2, 3, 5, 6, 7])  # author, scope, seq, schema, changes, or the value below
        if at == 7:  # a value nested past protocol.admit.MAX_VALUE_DEPTH (or past what msgpack decodes)
            change = [pack(x) for x in ["job_posting", self.rng.randbytes(16), "title"]]
            value = nested(max(levels, 33), self.rng)
            raw_changes = b"\x91\x95" + b"".join(change) + value + pack(self.hlc())
            raw = raw_map(list(body.items()), {6: raw_changes})
        else:
            raw = raw_map(list(body.items()), {at: nested(levels, self.rng)})
        if self.rng.random() < 0.2:
            return self.refused("env-deep", nested(levels, self.rng), MALFORMED)
        return self.refused("env-deep", self.seal(self.k.village, raw), MALFORMED)

    def env_bad_set_op(self) -> Envelope:
        table, field = self.rng.choice(SET_FIELDS)
        op = self.rng.choice(BAD_SET_OPS)
        if self.rng.random() < 0.15:  # nested ~1000 deep, a set op overflowed repr() in its error: a 500
            deep = msgpack.unpackb(nested(min(depth(self.rng), 1010), self.rng))  # packs inside 4 more
            op = self.rng.choice([["+", deep], deep, ["-", "焊工", [deep]], [deep, "焊工"]])
        row = PERSON_ROW if table == "person" else self.rng.randbytes(16)
        body = self.body(self.k.village, changes=[self.change(), [table, row, field, op, self.hlc()]])
        return self.refused("env-bad-set-op", self.seal(self.k.village, body), MALFORMED)

    def env_bad_delete(self) -> Envelope:
        value = self.rng.choice(["erase", "DELETE", "", None, True, 1, b"delete", ["delete"], "delete "])
        body = self.body(self.k.village, changes=[["person", PERSON_ROW, "*", value, self.hlc()]])
        return self.refused("env-bad-delete", self.seal(self.k.village, body), MALFORMED)

    def env_ruling_by_village(self) -> Envelope:
        """A village's own release ruling (protocol.release): releasing its 2099 work, or cancelling a
        county's ruling. Only province/prefecture/county/township keys may carry one."""
        field, value = self.rng.choice([(ruling.CAP, 1), (ruling.CAP, 2**62), (ruling.CHANGESET, self.rng.randbytes(32)),
                                        (ruling.CAP, "soon"), (ruling.CHANGESET, b"")])
        row = ruling.row_id(VILLAGE, self.rng.randbytes(32))
        body = self.body(self.k.village, changes=[[ruling.TABLE, row, field, value, self.hlc()], self.change()])
        return self.refused("env-ruling-by-village", self.seal(self.k.village, body), frozenset({"not-allowed"}))

    def env_redaction_by_village(self) -> Envelope:
        """The village's genuine next link presented as redacted under a record the village signed
        itself (or one naming no item of it): a redaction needs an issuer above the village."""
        m = self.body(self.k.village)
        body, erased = pack(m), (m["changes"][0][0], m["changes"][0][1])
        redacted = redaction.redact_body(body, {erased})
        assert redacted is not None
        item = redaction.Item(hashlib.sha256(body).digest(), m["author"], m["scope"], m["seq"], m["prev"],
                              hashlib.sha256(redacted).digest())  # well formed: only its issuer is wrong
        issuer = self.rng.choice([self.k.village, self.k.sibling, self.k.stranger])
        rec = redaction.make(issuer, VILLAGE, [erased], [item], clock.wall_ms(), "hostile")
        env = redacted_envelope(redacted, self.k.village.sign(body), rec)
        return self.refused("env-redaction-by-village", env, frozenset({"not-allowed", "unknown-author"}))

    def env_oversized(self) -> Envelope:
        how = self.rng.choice(["value", "value", "envelope", "changes"])
        hlc = self.hlc()
        if how == "value":
            big: str | bytes = self.rng.choice(["x" * (MAX_VALUE_BYTES + 1), b"\0" * (MAX_VALUE_BYTES + self.rng.randint(1, 9999))])
            changes = [["person", PERSON_ROW, "name", big, hlc]]
        elif how == "envelope":
            changes = [["person", PERSON_ROW, f"f{i}", "x" * MAX_VALUE_BYTES, hlc] for i in range(17)]
        else:
            changes = [["job_posting", self.rng.randbytes(16), "t", 0, hlc] for _ in range(MAX_CHANGES + 1)]
        env = self.seal(self.k.village, self.body(self.k.village, changes=changes))
        return self.refused("env-oversized", env, frozenset({"too-large"}))

    def env_v2(self) -> Envelope:
        """A body v2 (docs/wire-format.md) the genuine key signed, whose compressed payload is hostile."""
        hlc = self.hlc()
        row = self.rng.randbytes(16)
        good = [2, [[body2.CODEBOOK.table_code("job_posting", 2), [[row, [3, "hostile", hlc]]]]]]
        zst = zstandard.ZstdCompressor(level=self.rng.choice([1, 3, 19]))
        how = self.rng.choice(["bomb", "flip", "random", "frames", "no-size", "spelt", "number", "chunk", "top", "cut"])
        top, frame = hlc, zst.compress(pack(good))
        if how == "bomb":
            frame = zst.compress(self.rng.choice([b"\x90", b"\x00", b"\xc0"]) * self.rng.choice([(2 << 20), (64 << 20)]))
        elif how == "flip":  # the declared size, lying (a bit flipped anywhere could spell another valid value)
            lied = bytearray(body2.stored_frame(pack(good)))
            lied[self.rng.randint(5, 8)] ^= 1 << self.rng.randint(0, 7)
            frame = bytes(lied)
        elif how == "random":
            frame = self.rng.choice([b"", b"\x28\xb5\x2f\xfd"]) + self.rng.randbytes(self.rng.randint(1, 200))
        elif how == "frames":
            frame = self.rng.choice([frame + frame, frame + self.rng.randbytes(3),
                                     (0x184D2A50).to_bytes(4, "little") + (1).to_bytes(4, "little") + b"x" + frame])
        elif how == "no-size":
            frame = zstandard.ZstdCompressor(write_content_size=False).compress(pack(good))
        elif how == "spelt":
            frame = zst.compress(pack([2, [["job_posting", [[row, ["title", "hostile", hlc]]]]]]))
        elif how == "number":
            frame = zst.compress(pack([2, [[self.rng.randint(100, 10**6), [[row, [1, "x", hlc]]]]]]))
        elif how == "top":
            top = hlc - self.rng.randint(1, 1 << 30)
        elif how == "cut":
            frame = body2.stored_frame(pack(good)[: self.rng.randint(1, 20)])
        pieces = [frame[i:i + body2.CHUNK] for i in range(0, len(frame), body2.CHUNK)] or [b""]
        if how == "chunk" and len(frame) > 2:
            pieces = [frame[:1], frame[1:]]
        changes = [[body2.CARRIER_TABLE, body2.CARRIER_ROW, body2.CARRIER_FIELD, p, top] for p in pieces]
        body = self.body(self.k.village, schema=body2.CARRIER_SCHEMA, changes=changes)
        return self.refused("env-v2", self.seal(self.k.village, body), frozenset({"malformed", "too-large", "truncated"}))

    # -- genuine, and answered without being applied -----------------------------------------------------

    def env_future(self) -> Envelope:
        ahead = self.rng.choice([11 * 60_000 + self.rng.randint(0, 60_000), self.rng.randint(3600_000, 100 * 365 * 86400_000)])
        hlc = clock.MAX_HLC if self.rng.random() < 0.05 else self.hlc(ahead)
        body = self.body(self.k.village, changes=[self.change(hlc)])
        return Envelope("env-future", self.seal(self.k.village, body), "quarantined", frozenset({"clock-ahead"}), grows="quarantine")

    def env_fork(self) -> Envelope:
        seq = self.rng.randint(1, 3)
        body = self.body(self.k.village, seq=seq, prev=None if seq == 1 else self.w.heads[seq - 1].id)
        return Envelope("env-fork", self.seal(self.k.village, body), "fork", frozenset({"fork"}), grows="forks")

    def env_broken(self) -> Envelope:
        prev = self.rng.choice([self.rng.randbytes(32), self.w.heads[1].id, self.w.heads[2].id])
        body = self.body(self.k.village, prev=prev)
        return Envelope("env-broken", self.seal(self.k.village, body), "fork", frozenset({"fork"}), grows="forks")

    def env_gap(self) -> Envelope:
        self.gap_seq += 1
        body = self.body(self.k.village, seq=self.gap_seq, prev=self.rng.randbytes(32))
        return Envelope("env-gap", self.seal(self.k.village, body), "pending", frozenset({""}), grows="log_pending")

    def env_replayed(self) -> Envelope:
        env = self.rng.choice([*(cs.envelope for cs in self.w.heads.values()), *self.w.stolen_feed])
        carrier = self.rng.choice(["village", "township", "sibling"])
        if carrier == "sibling":
            return self.refused("env-replayed", env, frozenset({"out-of-scope"}), carrier)
        return Envelope("env-replayed", env, "duplicate", frozenset({""}), carrier)
