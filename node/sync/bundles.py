"""Bundle files: a store's envelopes on a USB stick when there is no network at all (DESIGN §8).

`protocol.bundle` encodes and decodes the bytes and stays pure; this module owns the files. An
export writes what the receiver lacks (everything applied, when its vector is unknown) together
with the certificates and revocations a receiver needs to verify it. The file appears whole or not
at all: it is written beside its final name, fsynced, then renamed over it, so a stick pulled out
mid-copy leaves either the old file or the new one, and a cut copy fails the bundle checksum.

An import adds the certificates and revocations it does not know (one that fails verification is
skipped with a note, it does not abort the import), then applies the envelopes through
`Store.apply` in batches, each batch one transaction. Importing a bundle twice changes nothing:
every envelope is then a duplicate.

    >>> n = export_bundle(village, "/media/usb/to-county.laowu", for_home="513225000000")
    >>> summary = import_bundle(county, "/media/usb/to-county.laowu")
    >>> summary.counts
    {'accepted': 12}
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from node.files import fsync_dir
from node.engine.store import Store
from protocol import bundle, sealed
from protocol.certs import Certificate, decode_certificate
from protocol.errors import RemoteError
from protocol.feed import Vector

BATCH = 100  # envelopes per apply() transaction: bounded memory, and progress survives a crash


@dataclass(frozen=True)
class ImportSummary:
    """What one import did: outcomes counted by status, and what was skipped and why."""

    envelopes: int  # records in the bundle
    counts: dict[str, int]  # accepted | duplicate | pending | held | quarantined | fork | refused
    released: int  # pending changesets this import completed and applied
    certificates: int  # certificates added or renewed
    revocations: int  # revocations added
    notes: list[str] = field(default_factory=list)  # certificates or revocations ignored, and why
    problems: list[dict[str, object]] = field(default_factory=list)  # each envelope not accepted: status, code, reason


def export_bundle(store: Store, path: str | Path, for_vector: Vector | None = None, for_home: str | None = None,
                  *, passphrase: str | None = None) -> int:
    """Write a bundle of what a replica at `for_home` holding `for_vector` lacks; return its envelope count.

    Without a vector every applied envelope goes; without a home, everything this store holds
    (its own feeds, its subtree's and its ancestors'), for a peer of the same place.
    """
    envelopes, _ = store.envelopes_for(dict(for_vector or {}), for_home or store.home)
    data = bundle.encode(bundle.Bundle(
        sender=store.author,
        created=store.hlc.physical(),
        vector=store.vector(),
        envelopes=envelopes,
        certs=store.trust.export(),
        revocations=store.revocations(),
    ))
    if passphrase is not None:  # a lost USB stick yields no ID numbers (protocol.sealed: scrypt + AES-GCM)
        data = sealed.seal(passphrase, data, b"bundle")
    _write_atomically(Path(path), data)
    return len(envelopes)


def import_bundle(store: Store, path: str | Path, *, batch: int = BATCH, passphrase: str | None = None) -> ImportSummary:
    """Read a bundle file and apply it; a damaged file raises before anything is applied."""
    raw = Path(path).read_bytes()
    if sealed.is_sealed(raw):  # encrypted bundles need the passphrase they were exported under; plain ones still import
        raw = sealed.open_sealed(passphrase, raw, b"bundle", f"bundle {path}")
    b = bundle.decode(raw)
    notes: list[str] = []
    certs = _add_certificates(store, b.certs, notes)
    revs = _add_revocations(store, b.revocations, notes)
    counts: dict[str, int] = {}
    problems: list[dict[str, object]] = []
    released = 0
    for i in range(0, len(b.envelopes), batch):
        for outcome in store.apply(b.envelopes[i : i + batch]):
            counts[outcome["status"]] = counts.get(outcome["status"], 0) + 1
            released += outcome.get("released", 0)
            if outcome["status"] not in ("accepted", "duplicate"):
                problems.append(outcome)
    return ImportSummary(len(b.envelopes), counts, released, certs, revs, notes, problems)


def _add_certificates(store: Store, raws: list[bytes], notes: list[str]) -> int:
    """Add the certificates we lack or hold an older serial of, issuers first whatever the order."""
    todo: list[tuple[bytes, Certificate]] = []
    for raw in raws:
        try:
            cert = decode_certificate(raw)
        except RemoteError as exc:
            notes.append(f"certificate ignored: {exc}")
            continue
        known = store.trust.certs.get(cert.subject)
        if known is None or cert.digest != known.digest:
            todo.append((raw, cert))
    added = 0
    while todo:
        failed: list[tuple[bytes, Certificate, RemoteError]] = []
        for raw, cert in todo:
            try:
                store.add_certificate(raw)
                added += 1
            except RemoteError as exc:  # its issuer may come later in this bundle: retry below
                failed.append((raw, cert, exc))
        if len(failed) == len(todo):
            notes += [f"certificate {cert.describe()} ignored: {exc}" for _, cert, exc in failed]
            break
        todo = [(raw, cert) for raw, cert, _ in failed]
    return added


def _add_revocations(store: Store, raws: list[bytes], notes: list[str]) -> int:
    have = set(store.revocations())
    added = 0
    for raw in raws:
        if raw in have:
            continue
        try:
            store.add_revocation(raw)
        except RemoteError as exc:
            notes.append(f"revocation ignored: {exc}")
            continue
        have.add(raw)
        added += 1
    return added


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    fsync_dir(path.parent)  # the rename itself survives a power cut (skipped where a platform cannot)
