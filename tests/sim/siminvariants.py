"""The invariants a finished (healed) schedule must satisfy, checked against the real databases.

* merge: every replica's rows are exactly `conflict.row.merge_row` of the changesets it applied
  (plus its open changes), computed from scratch: incremental merging loses nothing;
* convergence: every live replica applied exactly the province's changesets of the feeds it may
  see (its subtree and its ancestors), except on a feed that forked, where it may hold the other
  branch (reported, never merged);
* no acknowledged change lost: every change a `Store.write` acknowledged is in a changeset the
  province applied, or in a reported fork, unless it died with its laptop before leaving it
  (restored from an old backup, stolen) or was written by a revoked key past its cut-off;
* no sibling leak: no village database holds a feed, a fork proof or a person of a place that is
  neither inside it nor above it;
* no revoked write accepted: no replica applied a changeset of a revoked key past the cut-off;
* forks reported: two different changesets for one (feed, seq) that both left their laptop are
  in some replica's `lw_fork`;
* nothing stuck: after healing no live replica holds quarantined or gap-pending changesets on a
  feed that did not fork, no hub answered a request with a 500, and healing came to rest (a round
  in which nothing moved: staff whose decision settles nothing would decide again every round);
* erased values are nowhere: on every live replica, no stored body (log of any status, quarantine,
  fork proofs), no open change and no merge state carries a value of a row a redaction record
  erased (an acknowledged change of an erased row is erased, not lost);
* edits that crossed a transfer are kept: a card closed by a transfer whose values differ from what
  the transfer handed over (its village edited it offline) is queued as `transfer-edit` on every live
  replica that holds it, and a card that matches is not (the edits themselves are acknowledged
  changes: the check above finds them at the province).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import msgpack
from sqlalchemy import or_, select

from conflict.row import RowState, merge_row, row_values
from node.engine import tables as t
from node.engine import schema, widestate
from node.domain.person import TRANSFERRED, digest
from node.domain.rules import TransferEdit
from node.engine.redact import erased_rows
from node.engine.store import Store
from protocol import scope as scopes
from protocol.changeset import Change, Changeset, envelope_parts, open_envelope
from protocol.redaction import redact_body
from simworld import HEAL_ROUNDS, ChangeKey, Node, World, change_key, open_changes


@dataclass
class Verdict:
    seed: int
    villages: int = 0
    lost: list[str] = field(default_factory=list)
    merge: list[str] = field(default_factory=list)
    divergent: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    cross: list[str] = field(default_factory=list)  # a change landed through another place's feed
    revoked: list[str] = field(default_factory=list)
    unreported_forks: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    erased: list[str] = field(default_factory=list)
    crossed: list[str] = field(default_factory=list)  # an edit that crossed a transfer, neither matched nor queued
    failures: list[str] = field(default_factory=list)
    forks: int = 0
    acked: int = 0
    lost_with_laptop: int = 0
    bytes_per_day: list[float] = field(default_factory=list)
    heal_rounds: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def problems(self) -> list[str]:
        return (self.lost + self.merge + self.divergent + self.leaks + self.cross + self.revoked
                + self.unreported_forks + self.stuck + self.erased + self.crossed + self.failures)

    @property
    def converged(self) -> bool:
        return not self.problems


def applied(store: Store) -> list[Changeset]:
    with store.engine.connect() as conn:
        q = select(t.log.c.envelope).where(t.log.c.status == "applied", t.log.c.envelope.is_not(None)).order_by(t.log.c.pos)
        return [open_envelope(r.envelope) for r in conn.execute(q)]


def fork_proofs(store: Store) -> tuple[set[bytes], set[tuple[bytes, str, int]]]:
    ids: set[bytes] = set()
    keys: set[tuple[bytes, str, int]] = set()
    with store.engine.connect() as conn:
        for r in conn.execute(select(t.forks)):
            keys.add((r.author, r.scope, r.seq))
            for env in (r.held, r.incoming):
                if env:
                    ids.add(open_envelope(env).id)
    return ids, keys


def oracle(changesets: Iterable[Changeset], extra: Iterable[tuple[Change, bytes]] = ()) -> dict[tuple[str, bytes], Any]:
    """Values from scratch: merge_row over every change, per row."""
    registry = schema.registry()
    by_row: dict[tuple[str, bytes], list[tuple[Change, bytes]]] = {}
    for cs in changesets:
        for c in cs.changes:
            by_row.setdefault((c.table, c.row), []).append((c, cs.author))
    for c, author in extra:
        by_row.setdefault((c.table, c.row), []).append((c, author))
    out: dict[tuple[str, bytes], Any] = {}
    for key, changes in sorted(by_row.items()):
        st, _ = merge_row(RowState(), key[0], changes, registry)
        out[key] = None if st.deleted else row_values(st, key[0], registry)
    return out


def check(w: World, heal_rounds: int) -> Verdict:
    v = Verdict(w.seed, villages=sum(1 for n in w.nodes.values() if n.kind == "village"), heal_rounds=heal_rounds,
                counts=dict(w.counts))
    v.failures = list(w.net.failures)
    if heal_rounds >= HEAL_ROUNDS:
        v.stuck.append(f"healing never came to rest: something moved in each of {HEAL_ROUNDS} rounds")
    for node in w.nodes.values():
        w.collect(node)
    province = applied(w.province.store)
    p_ids = {cs.id for cs in province}
    reported: set[bytes] = set()
    fork_keys: set[tuple[bytes, str, int]] = set()
    for node in w.nodes.values():
        ids, keys = fork_proofs(node.store)
        reported |= ids
        fork_keys |= keys
    v.forks = len(fork_keys)
    forked_feeds = {(a, s) for a, s, _ in fork_keys}
    revocations = w.province.store.trust.revocations

    erased = set().union(*(erased_rows(n.store) for n in w.nodes.values() if not n.retired))
    v.counts["erased_rows"] = len(erased)

    # -- acknowledged changes ------------------------------------------------------------------
    kept: dict[bytes, set[ChangeKey]] = {}
    for cs in w.sealed.values():
        if cs.id in p_ids or cs.id in reported:
            # (A changeset lost with a laptop can come back: sealing the same open changes again
            # after a restore signs the same bytes.)
            kept.setdefault(cs.author, set()).update(change_key(c) for c in cs.changes)
        elif cs.author not in w.stolen and cs.id not in w.lost_ids:
            v.lost.append(f"changeset {cs.id.hex()[:12]} ({cs.author.hex()[:8]}/{cs.scope}#{cs.seq}) never reached "
                          "the province and is reported nowhere")
    for author, changes in w.acked.items():
        v.acked += len(changes)
        if author in w.stolen:
            continue
        # A change written under a clock far ahead is re-stamped before it is sealed
        # (Store.restamp_ahead): the same value of the same field by the same author, stamped earlier.
        restamped: dict[tuple[str, bytes, str, bytes], int] = {}
        for k in kept.get(author, set()):
            restamped[(k[0], k[1], k[2], k[3])] = min(k[4], restamped.get((k[0], k[1], k[2], k[3]), k[4]))
        for c in changes:
            if c in kept.get(author, set()) or (c[0], c[1]) in erased:
                continue
            if restamped.get((c[0], c[1], c[2], c[3]), c[4]) < c[4]:
                continue
            if (author, c) in w.lost_changes:
                v.lost_with_laptop += 1
            else:
                v.lost.append(f"acknowledged change {c[0]}/{c[1].hex()[:8]}.{c[2]} by {author.hex()[:8]} is lost")
    v.lost_with_laptop += sum(1 for a, _ in w.lost_changes if a in w.stolen)

    # -- no cross-village write lands -------------------------------------------------------------
    for hub, status, code in w.attacks:
        # Refused at once, whatever the writer's clock: a laptop at 2099 is judged on ownership before
        # the quarantine (it was quarantined, and every release refused it and kept it there: soak
        # seeds 372 and 502). Admission judges the certificate before ownership: a write that arrives
        # after the writer's certificate ran out is refused for that (soak seed 333), and the log
        # check below still proves it landed nowhere.
        if (status, code) not in (("refused", "not-owner"), ("refused", "certificate-expired")):
            v.cross.append(f"{hub} answered a sibling's write with {status} {code}")

    # -- per replica ---------------------------------------------------------------------------
    for node in w.nodes.values():
        mine = province if node is w.province else applied(node.store)
        for cs in mine:
            wrong = [c for c in cs.changes if schema.row_place(c.row) not in (None, cs.scope)]
            if wrong:
                v.cross.append(f"{node.name} applied {cs.author.hex()[:8]}/{cs.scope}#{cs.seq} changing "
                               f"{wrong[0].table} of {schema.row_place(wrong[0].row)}")
        if not node.thief:
            for cs in mine:
                rev = revocations.get(cs.author)
                if rev is not None and cs.author != node.author and not rev.allows(cs.scope, cs.seq):
                    v.revoked.append(f"{node.name} applied {cs.author.hex()[:8]}/{cs.scope}#{cs.seq}, past its "
                                     f"revocation cut-off {rev.cutoffs.get(cs.scope, 0)}")
        if node.kind == "village":
            v.leaks += leaks(node)
        if node.retired:
            continue
        extra = [(Change(c[0], c[1], c[2], _unpack(c[3]), c[4]), node.author) for c in open_changes(node.store)]
        if oracle(mine, extra) != node.store.values():
            v.merge.append(f"{node.name}: rows differ from a merge from scratch of what it applied")
        want = {cs.id for cs in province if scopes.visible_to(node.home, cs.scope)}
        have = {cs.id for cs in mine}
        odd = [cs for cs in province + mine if (cs.id in want) != (cs.id in have) and cs.feed not in forked_feeds]
        if odd:
            cs = odd[0]
            v.divergent.append(f"{node.name}: {len(odd)} changesets differ from the province's, e.g. "
                               f"{cs.author.hex()[:8]}/{cs.scope}#{cs.seq} {'missing' if cs.id in want else 'extra'}")
        if not node.thief:
            v.erased += erased_values(node, erased)
            v.crossed += crossed_transfers(node)
        st = node.store.status()
        if st.quarantined:
            v.stuck.append(f"{node.name}: {st.quarantined} quarantined after healing")
        stuck = pending_feeds(node.store) - forked_feeds
        if stuck:
            v.stuck.append(f"{node.name}: changesets waiting for a gap on {len(stuck)} feeds after healing")

    # -- forks -----------------------------------------------------------------------------------
    seen: dict[tuple[bytes, str, int], set[bytes]] = {}
    for cs in w.sealed.values():
        if cs.id not in w.lost_ids:
            seen.setdefault((cs.author, cs.scope, cs.seq), set()).add(cs.id)
    for key, ids in seen.items():
        if len(ids) > 1 and key not in fork_keys and key[0] not in w.stolen:
            v.unreported_forks.append(f"{key[0].hex()[:8]}/{key[1]}#{key[2]}: {len(ids)} changesets, no fork reported")

    days = w.shape.days
    for node in w.nodes.values():
        if node.kind == "village" and "~" not in node.name:
            v.bytes_per_day.append(sum(b for link, b in w.net.sent.items() if link.split("~")[0] == node.home) / days)
    return v


def _unpack(raw: bytes) -> Any:
    return msgpack.unpackb(raw)


def erased_values(node: Node, erased: set[tuple[str, bytes]]) -> list[str]:
    """Where `node` still holds a value of an erased row."""
    if not erased:
        return []
    out = []
    with node.store.engine.connect() as conn:
        bodies = [(f"log {r.status}", r.envelope) for r in conn.execute(select(t.log.c.status, t.log.c.envelope))]
        bodies += [("quarantine", r.envelope) for r in conn.execute(select(t.quarantine.c.envelope))]
        bodies += [("fork", env) for r in conn.execute(select(t.forks.c.held, t.forks.c.incoming)) for env in r]
        states = [(r.tbl, r.row) for q in (select(t.fields.c.tbl, t.fields.c.row), select(t.set_tags.c.tbl, t.set_tags.c.row))
                  for r in conn.execute(q)]
        for tb, fields in widestate.current().items():  # the declared fields' state: one wide row per record
            st = widestate.table(tb, fields)
            held = or_(*[st.c[widestate.col(f, part)].is_not(None) for f in fields for part in ("val", "mat")])
            states += [(tb, r.row) for r in conn.execute(select(st.c.row).where(held))]
    for where, env in bodies:
        if env and redact_body(envelope_parts(env)[0], erased) is not None:
            cs = open_envelope(env)
            out.append(f"{node.name}: {where} {cs.author.hex()[:8]}/{cs.scope}#{cs.seq} keeps an erased value")
    for tbl, row in sorted(set(states)):
        if (tbl, row) in erased:
            out.append(f"{node.name}: merge state of erased {tbl}/{row.hex()[:8]} keeps fields")
    for c in open_changes(node.store):
        if (c[0], c[1]) in erased and c[2] != "*":
            out.append(f"{node.name}: an open change keeps a value of erased {c[0]}/{c[1].hex()[:8]}")
    return out


def crossed_transfers(node: Node) -> list[str]:
    """Cards closed by a transfer on `node` whose conflict queue disagrees with their values."""
    with node.store.engine.connect() as conn:
        queued = {frozenset(msgpack.unpackb(r.rows)) for r in conn.execute(select(t.conflicts.c.rows).where(
            t.conflicts.c.kind == TransferEdit.kind, t.conflicts.c.resolved.is_(None)))}
    person: Any = schema.TABLES["person"].__table__  # type: ignore[attr-defined]
    with node.store.engine.connect() as conn:  # the cards the rules judge: a row whose creation never
        # arrived (it died with a laptop) waits in the merge state, shown nowhere and judged by no rule
        shown = {bytes.fromhex(r.id) for r in conn.execute(select(person.c.id))}
    out = []
    for (_, row), values in node.store.values("person").items():
        successor = values.get("successor") if values else None
        if row not in shown or not values or values.get("closed_reason") != TRANSFERRED or not isinstance(successor, str):
            continue
        edited = digest(values, successor) != values.get("copied")
        if edited != (frozenset((row, bytes.fromhex(successor))) in queued):
            out.append(f"{node.name}: transferred card {row.hex()[:8]} {'edited after' if edited else 'unchanged since'} "
                       f"its transfer is {'not ' if edited else ''}queued as transfer-edit")
    return out


def pending_feeds(store: Store) -> set[tuple[bytes, str]]:
    with store.engine.connect() as conn:
        q = select(t.log.c.author, t.log.c.scope).where(t.log.c.status == "pending")
        return {(r.author, r.scope) for r in conn.execute(q)}


def leaks(node: Node) -> list[str]:
    home = node.home
    out = []
    with node.store.engine.connect() as conn:
        scopes_held = {r.scope for r in conn.execute(select(t.log.c.scope).distinct())}
        scopes_held |= {r.scope for r in conn.execute(select(t.quarantine.c.scope).distinct())}
        scopes_held |= {r.scope for r in conn.execute(select(t.forks.c.scope).distinct())}
        person: Any = schema.TABLES["person"].__table__  # type: ignore[attr-defined]
        scopes_held |= {r.scope for r in conn.execute(select(person.c.scope).distinct())}
    for s in sorted(scopes_held):
        if not scopes.visible_to(home, s):
            out.append(f"village {node.name} holds records of {s}")
    return out
