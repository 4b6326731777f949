"""Bundle files (node/sync/bundles.py): envelopes, certificates and revocations on a USB stick."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from storekit import NOW_MS, SIBLING, VILLAGE, Province, dump, files_in, person

from node.sync.bundles import export_bundle, import_bundle
from node.engine.store import Store
from protocol import bundle, certs
from protocol.errors import Truncated
from protocol.keys import KeyPair

MakeStore = Callable[..., Store]


def village_with_history(make_store: MakeStore, n: int = 3) -> Store:
    """village-a with `n` sealed changesets, one registration each."""
    village = make_store("village-a")
    for i in range(n):
        row, id_number = person(i)
        village.write("person", row, {"id_number": id_number, "name": f"工人{i}"})
        village.seal()
    return village


def test_an_exported_bundle_imports_into_a_fresh_store(make_store: MakeStore, tmp_path: Path) -> None:
    village, county = village_with_history(make_store), make_store("county")
    assert export_bundle(village, tmp_path / "stick.laowu") == 3
    summary = import_bundle(county, tmp_path / "stick.laowu")
    assert (summary.envelopes, summary.counts, summary.notes) == (3, {"accepted": 3}, [])
    assert county.values() == village.values()


def test_an_export_for_a_vector_carries_only_what_the_receiver_lacks(make_store: MakeStore, tmp_path: Path) -> None:
    village, county = village_with_history(make_store), make_store("county")
    export_bundle(village, tmp_path / "first.laowu")
    import_bundle(county, tmp_path / "first.laowu")
    row, id_number = person(7)
    village.write("person", row, {"id_number": id_number, "name": "新人"})
    village.seal()
    assert export_bundle(village, tmp_path / "next.laowu", for_vector=county.vector(), for_home=county.home) == 1


def test_an_export_for_a_home_leaves_out_what_it_may_not_see(make_store: MakeStore, tmp_path: Path) -> None:
    village, sibling, county = village_with_history(make_store), make_store("sibling"), make_store("county")
    row, id_number = person(8, SIBLING)
    sibling.write("person", row, {"id_number": id_number, "name": "邻村"})
    sibling.seal()
    export_bundle(village, tmp_path / "v.laowu")
    export_bundle(sibling, tmp_path / "s.laowu")
    import_bundle(county, tmp_path / "v.laowu")
    import_bundle(county, tmp_path / "s.laowu")
    assert export_bundle(county, tmp_path / "down.laowu", for_home=VILLAGE) == 3
    fresh = make_store("village-b")
    assert import_bundle(fresh, tmp_path / "down.laowu").counts == {"accepted": 3}


def test_importing_a_bundle_twice_changes_nothing(make_store: MakeStore, tmp_path: Path) -> None:
    village, county = village_with_history(make_store), make_store("county")
    export_bundle(village, tmp_path / "stick.laowu")
    import_bundle(county, tmp_path / "stick.laowu")
    before = dump(county)
    summary = import_bundle(county, tmp_path / "stick.laowu")
    assert (summary.counts, summary.certificates, summary.revocations) == ({"duplicate": 3}, 0, 0)
    assert dump(county) == before


def test_an_import_releases_changesets_that_arrive_before_their_predecessors(make_store: MakeStore, tmp_path: Path) -> None:
    village, county = village_with_history(make_store), make_store("county")
    export_bundle(village, tmp_path / "stick.laowu")
    b = bundle.decode((tmp_path / "stick.laowu").read_bytes())
    reversed_ = bundle.Bundle(b.sender, b.created, b.vector, b.envelopes[::-1], b.certs, b.revocations)
    (tmp_path / "reversed.laowu").write_bytes(bundle.encode(reversed_))
    summary = import_bundle(county, tmp_path / "reversed.laowu", batch=1)
    assert (summary.counts, summary.released) == ({"pending": 2, "accepted": 1}, 2)
    assert county.values() == village.values()


def test_a_bundle_brings_the_certificates_the_receiver_lacks(make_store: MakeStore, province: Province, tmp_path: Path) -> None:
    village = village_with_history(make_store)
    export_bundle(village, tmp_path / "stick.laowu")
    own_chain = [province.box.members["510000000000"].cert, province.members["county"].cert, province.members["township"].cert]
    township = Store.create(str(tmp_path / "t.db"), province.members["township"].key, province.home("township"),
                            province.box.root.public, own_chain)
    try:
        summary = import_bundle(township, tmp_path / "stick.laowu")
        assert summary.counts == {"accepted": 3}
        assert province.members["village-a"].key.public in township.trust.certs
        assert summary.certificates == len(province.certs()) - len(own_chain)
    finally:
        township.close()


def test_a_certificate_that_fails_verification_is_skipped_with_a_note(make_store: MakeStore, province: Province, tmp_path: Path) -> None:
    village, county = village_with_history(make_store), make_store("county")
    export_bundle(village, tmp_path / "stick.laowu")
    b = bundle.decode((tmp_path / "stick.laowu").read_bytes())
    village_key = province.members["village-a"].key
    stranger = KeyPair.from_seed(b"tests/node stranger")
    # A village may not issue certificates: decodes and verifies its signature, refused by the chain rules.
    foreign = certs.issue(village_key, stranger.public, "village", [VILLAGE], NOW_MS, NOW_MS + 1, 99)
    broken = bundle.Bundle(b.sender, b.created, b.vector, b.envelopes, [b"not a certificate", foreign, *b.certs], [])
    (tmp_path / "broken.laowu").write_bytes(bundle.encode(broken))
    summary = import_bundle(county, tmp_path / "broken.laowu")
    assert len(summary.notes) == 2 and all("ignored" in n for n in summary.notes)
    assert summary.counts == {"accepted": 3}


def test_a_bundle_brings_the_revocations_the_receiver_lacks(make_store: MakeStore, province: Province, tmp_path: Path) -> None:
    county, township = make_store("county"), make_store("township")
    rev = certs.revoke(province.members["county"].key, province.members["sibling"].key.public, {SIBLING: 0}, NOW_MS, "laptop stolen")
    county.add_revocation(rev)
    export_bundle(county, tmp_path / "stick.laowu")
    assert import_bundle(township, tmp_path / "stick.laowu").revocations == 1
    assert township.revocations() == [rev]


def test_a_revocation_that_fails_verification_is_skipped_with_a_note(make_store: MakeStore, province: Province, tmp_path: Path) -> None:
    village, county = village_with_history(make_store), make_store("county")
    export_bundle(village, tmp_path / "stick.laowu")
    b = bundle.decode((tmp_path / "stick.laowu").read_bytes())
    forged = certs.revoke(province.members["sibling"].key, province.members["village-a"].key.public, {VILLAGE: 0}, NOW_MS, "spite")
    (tmp_path / "forged.laowu").write_bytes(bundle.encode(bundle.Bundle(b.sender, b.created, b.vector, b.envelopes, b.certs, [forged])))
    summary = import_bundle(county, tmp_path / "forged.laowu")
    assert summary.revocations == 0 and len(summary.notes) == 1 and "revocation ignored" in summary.notes[0]
    assert county.revocations() == [] and summary.counts == {"accepted": 3}


def test_a_bundle_cut_short_is_refused_before_anything_is_applied(make_store: MakeStore, tmp_path: Path) -> None:
    village, county = village_with_history(make_store), make_store("county")
    export_bundle(village, tmp_path / "stick.laowu")
    data = (tmp_path / "stick.laowu").read_bytes()
    (tmp_path / "cut.laowu").write_bytes(data[: len(data) - 100])
    before = dump(county)
    with pytest.raises(Truncated):
        import_bundle(county, tmp_path / "cut.laowu")
    assert dump(county) == before


def test_an_export_replaces_the_file_whole_and_leaves_no_temporary(make_store: MakeStore, tmp_path: Path) -> None:
    village = village_with_history(make_store)
    out = tmp_path / "usb"
    out.mkdir()
    export_bundle(village, out / "stick.laowu", for_vector=village.vector())
    export_bundle(village, out / "stick.laowu")
    assert files_in(out) == ["stick.laowu"]
    assert len(bundle.decode((out / "stick.laowu").read_bytes()).envelopes) == 3
