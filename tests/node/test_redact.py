"""Specs of erasure in the store (node/engine/redact.py): values gone from every table and file, feeds intact.

A village registers a person with a distinctive name and ID number and the county erases them. The
county's files, then the village's once it applies the county's changesets, then a replica that
joins afterwards, must hold neither value in any form, while every feed still verifies.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from erasurekit import files_under, found, needles
from sqlalchemy import select
from storekit import TOWNSHIP, VILLAGE, Province

from conflict.row import SALT
from node.engine import tables as t
from node.domain import erase as erasing
from node.domain.erase import person_rows
from node.engine.redact import erase, verify_feeds
from node.engine.store import Store
from node.web.desk import search
from node.web.tables import ensure
from protocol import codec, keys
from protocol import redaction as rd
from protocol.changeset import Change, envelope_parts, seal
from protocol.errors import BadSignature, ConfigError

MakeStore = Callable[..., Store]
NAME = "欧阳翠兰"
ID_NUMBER = "513225198807154426"
PHONE = "13912345678"
PERSON = int(VILLAGE).to_bytes(5, "big") + b"\x7e" * 11
OTHER = int(VILLAGE).to_bytes(5, "big") + b"\x7f" * 11


def secrets() -> list[bytes]:
    return needles(NAME, ID_NUMBER, PHONE)


def registered(make_store: MakeStore) -> tuple[Store, Store]:
    """A village that registered the person and a neighbour, and a county that applied both."""
    village, county = make_store("village-a"), make_store("county")
    village.write("person", PERSON, {"id_number": ID_NUMBER, "name": NAME, "phone": PHONE, "health": "良好"})
    village.write("person", OTHER, {"id_number": "513225199001011237", "name": "张三"})
    village.write("person", PERSON, {"monthly_pay": 4321})
    county.apply([cs.envelope for cs in village.seal()])
    return village, county


def files(tmp_path: Path, name: str) -> list[Path]:
    return [p for p in files_under(tmp_path) if p.name.startswith(name)]


def test_an_erasure_leaves_no_value_in_the_county_files(make_store: MakeStore, tmp_path: Path) -> None:
    _, county = registered(make_store)
    assert found(files(tmp_path, "county"), secrets())  # the search finds them before
    done = erase(county, person_rows(county, PERSON), "本人申请删除")
    assert done.changesets == 1 and done.record is not None
    assert found(files(tmp_path, "county"), secrets()) == []
    assert county.values("person")[("person", PERSON)] is None
    assert county.values("person")[("person", OTHER)] == {"id_number": "513225199001011237", "name": "张三",
                                                          "scope": VILLAGE}
    assert verify_feeds(county) == 1


def test_a_write_to_an_erased_row_signs_none_of_its_values_into_a_body(make_store: MakeStore, tmp_path: Path) -> None:
    """Found by test_redact_convergence: the county re-registered an erased card before sealing, and
    its own body carried the name and ID number (the delete absorbs them on merge, the body kept them)."""
    _, county = registered(make_store)
    erase(county, person_rows(county, PERSON), "本人申请删除")
    county.write("person", PERSON, {"id_number": ID_NUMBER, "name": NAME})
    bodies = [envelope_parts(cs.envelope)[0] for cs in county.seal()]
    assert all(rd.redact_body(b, {("person", PERSON)}) is None for b in bodies)
    assert found(files(tmp_path, "county"), secrets()) == []
    assert county.values("person")[("person", PERSON)] is None


def test_the_village_forgets_when_the_county_s_changesets_arrive(make_store: MakeStore, tmp_path: Path) -> None:
    village, county = registered(make_store)
    village.write("person", PERSON, {"phone": "13700000000"})  # an edit made offline, not sealed yet
    village.audit("村干部", "view-full", "person", PERSON.hex(), f"查看 {NAME} {ID_NUMBER}")
    village.audit("村干部", "export", "person", None, f"导出名单含 {NAME}")
    ensure(village.engine, search.metadata)  # the desk's pinyin index copies names
    assert search.refresh(village.engine) == 2
    erase(county, [("person", PERSON)], "本人申请删除")
    outcomes = village.apply([cs.envelope for cs in county.seal()])
    assert [o["status"] for o in outcomes] == ["accepted"]
    assert found(files(tmp_path, "village-a"), secrets() + needles("13700000000")) == []
    assert village.status().open_changes == 0
    with village.engine.connect() as conn:
        details = [r.detail for r in conn.execute(select(t.audit.c.detail))]
    assert len(details) == 2 and not any(NAME in d or ID_NUMBER in d for d in details)
    assert verify_feeds(village) == 2
    assert village.values("person") == county.values("person")


def test_a_replica_joining_later_never_receives_the_values(make_store: MakeStore, tmp_path: Path) -> None:
    _, county = registered(make_store)
    erase(county, [("person", PERSON)], "本人申请删除")
    county.seal()
    served, _ = county.envelopes_for({}, VILLAGE)
    assert not any(n in env for env in served for n in secrets())
    late = make_store("village-b")
    assert {o["status"] for o in late.apply(served)} == {"accepted"}
    assert found(files(tmp_path, "village-b"), secrets()) == []
    assert late.values("person") == county.values("person")
    assert verify_feeds(late) == 2


def test_an_original_arriving_after_its_redaction_is_stored_redacted(make_store: MakeStore, tmp_path: Path) -> None:
    village = make_store("village-a")
    village.write("person", PERSON, {"id_number": ID_NUMBER, "name": NAME, "phone": PHONE})
    old_stick = [cs.envelope for cs in village.seal()]
    county = make_store("county")
    county.apply(old_stick)
    erase(county, [("person", PERSON)], "本人申请删除")
    township = make_store("township")
    township.apply([cs.envelope for cs in county.seal()])  # the county's feed first: the record alone
    assert [o["status"] for o in township.apply(old_stick)] == ["accepted"]  # then an old USB stick
    assert found(files(tmp_path, "township"), secrets()) == []
    assert township.values("person") == county.values("person")
    assert verify_feeds(township) == 2


def test_erasing_twice_and_a_second_person_keeps_every_feed_verifiable(make_store: MakeStore, tmp_path: Path) -> None:
    village, county = registered(make_store)
    erase(county, [("person", PERSON)], "本人申请删除")
    erase(county, [("person", OTHER)], "重复登记")  # the same changeset again, now for the other row too
    village.apply([cs.envelope for cs in county.seal()])
    for name in ("county", "village-a"):
        assert found(files(tmp_path, name), secrets() + needles("张三", "513225199001011237")) == []
    assert verify_feeds(village) == 2


def test_only_a_key_above_the_village_may_erase(make_store: MakeStore) -> None:
    village, _ = registered(make_store)
    with pytest.raises(ConfigError, match="county"):
        erase(village, [("person", PERSON)], "本人申请删除")
    assert village.values("person")[("person", PERSON)] is not None


def test_a_forged_record_inside_a_changeset_redacts_nothing(make_store: MakeStore, tmp_path: Path) -> None:
    village, county = registered(make_store)
    county.write("lw_redaction", PERSON, {"record": codec.pack({"body": b"x", "sig": bytes(64)})}, scope=VILLAGE)
    village.apply([cs.envelope for cs in county.seal()])
    assert found(files(tmp_path, "village-a"), needles(NAME))  # still there: nothing valid asked otherwise


def test_values_written_offline_after_the_erasure_are_erased_by_the_county_on_arrival(
        make_store: MakeStore, tmp_path: Path) -> None:
    village, county = registered(make_store)
    erase(county, [("person", PERSON)], "本人申请删除")
    village.write("person", PERSON, {"phone": "13611112222", "name": NAME})  # offline: not heard of it yet
    late = [cs.envelope for cs in village.seal()]
    assert [o["status"] for o in county.apply(late)] == ["accepted"]
    assert found(files(tmp_path, "county"), secrets() + needles("13611112222")) == []
    village.apply([cs.envelope for cs in county.seal()])
    assert found(files(tmp_path, "village-a"), secrets() + needles("13611112222")) == []
    assert verify_feeds(village) == verify_feeds(county) == 3  # two village changesets, one of the county


def test_an_erasure_purges_a_replica_holding_the_other_branch_of_the_village_s_forked_feed(
        make_store: MakeStore, province: Province, tmp_path: Path) -> None:
    """Soak seed 12: the village asked for the erasure (its delete and request are its seq 2) while a
    laptop restored from a backup had signed another seq 2, which a USB stick took to the township.
    The township never applies the village's seq 2 (it holds one already; a fork is reported, never
    merged), so the delete in it never reaches the township; the county's record redacted the bodies there but left the values in
    its merge state. The county writes its own delete of every row it erases, in the record's
    changeset: wherever the record goes, the delete goes."""
    village, county, township = make_store("village-a"), make_store("county"), make_store("township")
    village.write("person", PERSON, {"id_number": ID_NUMBER, "name": NAME, "phone": PHONE})
    [first] = village.seal()
    county.apply([first.envelope])
    township.apply([first.envelope])
    restored = seal(province.members["village-a"].key, VILLAGE, 2, first.id,
                    [Change("person", PERSON, "phone", "13700000000", village.hlc.now())])
    assert township.apply([restored.envelope])[0]["status"] == "accepted"  # the stick from the restored laptop
    req = erasing.request(village, PERSON, "本人申请删除")
    county.apply([cs.envelope for cs in village.seal()])
    erasing.approve(county, req.row)
    county.seal()
    envelopes, _ = county.envelopes_for(township.vector(), TOWNSHIP)
    township.apply(envelopes)
    assert township.values("person")[("person", PERSON)] is None  # a tombstone: no value kept
    assert found(files(tmp_path, "township"), secrets()) == []


def test_two_issuers_erasing_one_changeset_apart_converge_on_a_body_free_of_both(
        make_store: MakeStore, tmp_path: Path) -> None:
    village, county = registered(make_store)
    township = make_store("township")
    township.apply([cs.envelope for cs in village.seal()] or county.envelopes_for({}, VILLAGE)[0])
    erase(township, [("person", OTHER)], "重复登记")  # the township erases one row of the changeset...
    erase(county, [("person", PERSON)], "本人申请删除")  # ...the county the other, neither knowing
    county.apply([cs.envelope for cs in township.seal()])  # the county redoes both at once
    township.apply([cs.envelope for cs in county.seal()])
    village.apply(county.envelopes_for(village.vector(), VILLAGE)[0])
    for name in ("county", "township", "village-a"):
        assert found(files(tmp_path, name), secrets() + needles("张三", "513225199001011237")) == [], name
    assert township.values("person") == county.values("person") == village.values("person")


def test_a_v2_body_is_redacted_to_the_same_bytes_on_the_county_and_the_village(make_store: MakeStore,
                                                                             tmp_path: Path) -> None:
    """Each replica redacts its own copy of a compressed body (docs/wire-format.md): stored, not
    recompressed, so both get the bytes the county's record names and nobody is left to redo."""
    village, county = make_store("village-a"), make_store("county")
    for store in (village, county):
        store.learn_bodies((1, 2))  # as after a hello from a hub that reads v2
    village.write("person", PERSON, {"id_number": ID_NUMBER, "name": NAME, "phone": PHONE})
    village.write("person", OTHER, {"id_number": "513225199001011237", "name": "张三"})
    [sealed] = village.seal()
    assert sealed.body == 2
    county.apply([sealed.envelope])
    assert erase(county, person_rows(county, PERSON), "本人申请删除").changesets == 1
    assert [o["status"] for o in village.apply([cs.envelope for cs in county.seal()])] == ["accepted"]
    held = []
    for store in (village, county):
        with store.engine.connect() as conn:
            env = conn.execute(select(t.log.c.envelope).where(t.log.c.id == sealed.id)).scalar_one()
        assert codec.unpack(env, max_bytes=1 << 20, what="envelope").keys() == {"body", "sig", "redaction"}
        body = codec.unpack(env, max_bytes=1 << 20, what="envelope")["body"]
        assert rd.redact_body(body, {("person", PERSON)}) is None  # no value of the erased row left
        held.append(env)
        assert verify_feeds(store) >= 1
    assert held[0] == held[1]
    assert found(files(tmp_path, "village-a") + files(tmp_path, "county"), secrets()) == []
    assert village.values("person") == county.values("person")


def test_a_redacted_id_number_correction_cannot_be_confirmed_by_guessing(make_store: MakeStore) -> None:
    """The attack of docs/erasure.md on a changeset whose only erased value is an ID number (a
    correction): put the right number back into the redacted body where it is nil. Neither does the
    result hash to the original id the feed keeps, nor does the author's kept signature check: the
    body's random salt was erased with the number, so no guess can be confirmed."""
    village, county = registered(make_store)
    corrected = "513225198807154434"
    village.write("person", PERSON, {"id_number": corrected})
    [fix] = village.seal()
    assert sorted(c.field for c in fix.changes) == ["id_number", SALT]
    county.apply([fix.envelope])
    erase(county, person_rows(county, PERSON), "本人申请删除")
    with county.engine.connect() as conn:
        env = conn.execute(select(t.log.c.envelope).where(t.log.c.id == fix.id)).scalar_one()
    body, sig = envelope_parts(env)
    m = codec.unpack(body, max_bytes=len(body), what="changeset")
    assert sorted((c[2], c[3]) for c in m["changes"]) == [("id_number", None), (SALT, None)]
    salt = next(c.value for c in fix.changes if c.field == SALT)

    def filled(salt_guess: object) -> bytes:
        back = {"id_number": corrected, SALT: salt_guess}
        return codec.pack({**m, "changes": [[c[0], c[1], c[2], back[c[2]], c[4]] for c in m["changes"]]})

    assert hashlib.sha256(filled(salt)).digest() == fix.id  # the method is right: only the salt is missing
    guess = filled(None)
    assert hashlib.sha256(guess).digest() != fix.id
    with pytest.raises(BadSignature):
        keys.verify(fix.author, sig, guess)
