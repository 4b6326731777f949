"""Every fuzz seed and every input that ever crashed a decoder, replayed through the same target
functions the fuzzer runs (tests/fuzz/fuzz_decoders.py), on every run and without atheris.

An input passes when its target succeeds or refuses it with a RemoteError. The crashers are kept for
good: tests/fixtures/fuzz-crashers/<target>/ gains a file whenever `make fuzz` finds a crash.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from fuzz_decoders import CORPUS, CRASHERS, TARGETS, check


def inputs(root: Path) -> list[tuple[str, str]]:
    return sorted((p.parent.name, p.name) for p in root.glob("*/*") if p.is_file())


@pytest.mark.parametrize("target,name", inputs(CRASHERS))
def test_a_former_crasher_is_now_accepted_or_refused(target: str, name: str) -> None:
    check(target, (CRASHERS / target / name).read_bytes())


@pytest.mark.parametrize("target,name", inputs(CORPUS))
def test_a_seed_is_accepted_or_refused(target: str, name: str) -> None:
    check(target, (CORPUS / target / name).read_bytes())


def test_every_target_has_seeds_and_every_crasher_a_target() -> None:
    assert {t for t, _ in inputs(CORPUS)} == set(TARGETS)
    assert {t for t, _ in inputs(CRASHERS)} <= set(TARGETS)


def test_the_seeds_reach_past_the_signature() -> None:
    """The genuine seeds are accepted: mutations start from inputs that pass every check."""
    from fuzz_decoders import TRUST, NOW_MS, admit, bundle, certs, messages

    assert admit((CORPUS / "admit" / "seq1").read_bytes(), TRUST, NOW_MS).seq == 1
    assert certs.decode_certificate((CORPUS / "cert" / "village").read_bytes()).role == "village"
    assert len(bundle.decode((CORPUS / "bundle" / "full").read_bytes()).envelopes) == 2
    assert messages.Hello.decode((CORPUS / "messages" / "hello").read_bytes()).cursor == 3
    assert admit((CORPUS / "admit" / "v2").read_bytes(), TRUST, NOW_MS).body == 2
    TARGETS["changeset-v2"]((CORPUS / "changeset-v2" / "card").read_bytes())  # admitted: no refusal raised
    for target, name in [("answer", "pull"), ("session", "key-bound"), ("redaction", "record"),
                         ("redaction-signed", "record"), ("ruling-signed", "cap")]:
        TARGETS[target]((CORPUS / target / name).read_bytes())  # the genuine message passes every check
